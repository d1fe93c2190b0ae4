package emu_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// R2.5a, R2.5b: the first access to @u, @us or a session-less @s creates
// "_uid.N" and "_uid_ses.N", whatever the operation, with or without the
// create flag (Ex-1, Ex-3, Ex-5).
func TestUserKeyringsCreatedOnFirstAccess(t *testing.T) {
	for i, tc := range []struct {
		name  string
		touch func(th *emu.Thread) error
	}{
		{"GetKeyringID(@u, false)", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atU, false); return err }},
		{"GetKeyringID(@us, false)", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atUS, false); return err }},
		{"Describe(@u)", func(th *emu.Thread) error { _, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, atU); return err }},
		{"Describe(@us)", func(th *emu.Thread) error { _, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, atUS); return err }},
		{"GetKeyringID(@s, false) without session", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atS, false); return err }},
		{"GetKeyringID(@s, true) without session", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atS, true); return err }},
		{"AddKey to @s without session", func(th *emu.Thread) error { _, err := th.AddKey("user", "a", []byte("b"), atS); return err }},
		{"AddKey to @u", func(th *emu.Thread) error { _, err := th.AddKey("user", "a", []byte("b"), atU); return err }},
		{"Read(@us)", func(th *emu.Thread) error { _, err := readKey(th, atUS); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := emu.New(emu.Config{})
			uid := uint32(50201 + i)
			n := strconv.Itoa(int(uid))
			th := proc(sys, uid)
			require.Empty(t, keyUsers(sys, n), "/proc/key-users line of %s before any access", n)

			require.NoError(t, tc.touch(th), tc.name)

			// A second process of the uid sees the pair without creating
			// anything: both are in its user session keyring fallback.
			viewer := proc(sys, uid)
			uline := procLine(sys, viewer, "_uid."+n)
			sline := procLine(sys, viewer, "_uid_ses."+n)
			require.NotEmpty(t, uline, "/proc/keys has no _uid.%s after %s", n, tc.name)
			require.NotEmpty(t, sline, "/proc/keys has no _uid_ses.%s after %s", n, tc.name)
			// R2.1 table: owner uid, no group (65534), perm 1f3f0000, in quota.
			assert.Contains(t, uline, "I--Q--- ", "flags of _uid.%s", n)
			assert.Contains(t, uline, " perm 1f3f0000 "+pad5(n)+" 65534 keyring ", "_uid.%s line %q", n, uline)
			assert.Contains(t, sline, " perm 1f3f0000 "+pad5(n)+" 65534 keyring ", "_uid_ses.%s line %q", n, sline)
		})
	}
}

func pad5(s string) string {
	for len(s) < 5 {
		s = " " + s
	}
	return s
}

// R2.5a: names, owners, permissions, the _uid_ses.N -> _uid.N link, and
// the quota they cost (Ex-1: 2 keys, 11+15 description bytes and one
// 4-byte link).
func TestUserKeyringsShape(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50210)

	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	assert.NotEqual(t, u, us, "@u and @us are distinct keyrings")
	assert.Equal(t, "keyring;50210;65534;1f3f0000;_uid.50210", describe(th, atU), "KeyctlString(DESCRIBE, @u)")
	assert.Equal(t, "keyring;50210;65534;1f3f0000;_uid_ses.50210", describe(th, atUS), "KeyctlString(DESCRIBE, @us)")
	assert.Equal(t, ints(u), ring(t, th, atUS), "Read(@us): _uid_ses.N links _uid.N")
	assert.Equal(t, []int{}, ring(t, th, atU), "Read(@u): empty")
	assert.Equal(t, "2/2 2/200 30/20000", keyUsers(sys, "50210"), "/proc/key-users 50210")

	// R7.4: a key in @u costs its description+1, its payload and a link.
	addKey(t, th, "user", "persist-test", "hello", atU)
	assert.Equal(t, "3/3 3/200 52/20000", keyUsers(sys, "50210"), "/proc/key-users 50210 after AddKey to @u (Ex-1)")
}

// R2.5 (Ex-0, Ex-1): the namespace's register ".user_reg" holds every
// UID's pair; root's pair exists from boot.
func TestUserRegisterGainsTwoLinksPerUID(t *testing.T) {
	sys := emu.New(emu.Config{})
	root := proc(sys, 0)
	before := procLine(sys, root, ".user_reg")
	require.NotEmpty(t, before, "/proc/keys has .user_reg at boot")
	assert.Contains(t, before, "I--Q--- * perm 0c030000     0 65534 keyring   .user_reg: 2", "boot .user_reg line")
	assert.Equal(t, "keyring;0;65534;1f3f0000;_uid.0", describe(root, atU), "root's @u")

	th := proc(sys, 50211)
	getID(t, th, atU, false)
	assert.Contains(t, procLine(sys, root, ".user_reg"), ".user_reg: 4", ".user_reg after uid 50211's first @u")
}

// R3.4 case 1 and 2 (Ex-3, Ex-37): a session-less @s lookup without
// CREATE installs the user session keyring; with CREATE (add_key, or
// GetKeyringID(@s, true)) a fresh "_ses" replaces it, so add_key to @s
// lands in a new private keyring and not in _uid_ses.N.
func TestSessionlessAtS(t *testing.T) {
	sys := emu.New(emu.Config{})
	const uid = 50212
	th := proc(sys, uid)

	s1 := getID(t, th, atS, false)
	assert.Equal(t, "keyring;50212;65534;1f3f0000;_uid_ses.50212", describe(th, atS), "Describe(@s) after a read-only @s lookup")
	us := getID(t, th, atUS, false)
	assert.Equal(t, us, s1, "GetKeyringID(@s, false) = %d, want @us %d", s1, us)
	assert.Equal(t, s1, getID(t, th, atS, false), "second GetKeyringID(@s, false)")

	k := addKey(t, th, "user", "a", "b", atS)
	s3 := getID(t, th, atS, false)
	assert.NotEqual(t, us, s3, "GetKeyringID(@s) after AddKey(@s) still the user session keyring")
	assert.Equal(t, "keyring;50212;50212;3f030000;_ses", describe(th, atS), "Describe(@s) after AddKey(@s)")
	assert.Equal(t, ints(getID(t, th, atU, false)), ring(t, th, atUS), "Read(@us): the key did not land in _uid_ses")
	assert.Equal(t, ints(k), ring(t, th, atS), "Read(@s)")
	assert.Equal(t, s3, getID(t, th, atS, true), "GetKeyringID(@s, true) once a _ses is installed")

	// A new process: CREATE from no session at all makes a _ses directly,
	// and the user session keyring stays the same.
	th2 := proc(sys, uid)
	s := getID(t, th2, atS, true)
	assert.Equal(t, "keyring;50212;50212;3f030000;_ses", describe(th2, atS), "Describe(@s) after GetKeyringID(@s, true)")
	assert.NotEqual(t, s3, s, "a second process's _ses is its own")
	assert.Equal(t, us, getID(t, th2, atUS, false), "GetKeyringID(@us) in the second process")

	// And add_key straight from no session.
	th3 := proc(sys, uid)
	k3 := addKey(t, th3, "user", "a", "b", atS)
	assert.Equal(t, "keyring;50212;50212;3f030000;_ses", describe(th3, atS), "Describe(@s) after AddKey(@s) from no session")
	assert.Equal(t, ints(k3), ring(t, th3, atS), "Read(@s)")
}

// R3.4 case 2 (Ex-37): GetKeyringID(@s, true) while the session keyring is
// _uid_ses.N makes a new _ses; asking again returns that same _ses.
func TestGetKeyringIDCreateReplacesUserSession(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50213)
	us := getID(t, th, atS, false)
	s := getID(t, th, atS, true)
	assert.NotEqual(t, us, s, "GetKeyringID(@s, true) = user session keyring %d, want a new _ses", us)
	assert.Equal(t, "keyring;50213;50213;3f030000;_ses", describe(th, atS), "Describe(@s)")
	assert.Equal(t, s, getID(t, th, atS, true), "second GetKeyringID(@s, true)")
}

// R3.4 case 2 (Ex-34): _uid.N joined by name is a UID keyring too; a
// create-flag @s lookup replaces it with a fresh _ses.
func TestJoinedUserKeyringReplacedOnCreate(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50214)
	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	j, err := th.KeyctlJoinSessionKeyring("_uid.50214")
	require.NoError(t, err, "KeyctlJoinSessionKeyring(_uid.50214)")
	assert.Equal(t, u, j, "KeyctlJoinSessionKeyring(_uid.50214) = %d, want @u %d", j, u)
	assert.Equal(t, u, getID(t, th, atS, false), "GetKeyringID(@s) after joining _uid.N")

	addKey(t, th, "user", "z", "v", atS)
	s := getID(t, th, atS, false)
	assert.NotEqual(t, u, s, "@s after AddKey(@s) is still _uid.N")
	assert.Equal(t, "keyring;50214;50214;3f030000;_ses", describe(th, atS), "Describe(@s)")

	j, err = th.KeyctlJoinSessionKeyring("_uid_ses.50214")
	require.NoError(t, err, "KeyctlJoinSessionKeyring(_uid_ses.50214)")
	assert.Equal(t, us, j, "KeyctlJoinSessionKeyring(_uid_ses.50214)")
}

// R4.1, R4.2 (Ex-6): request_key searches the user session keyring (and
// through it the user keyring) only while the thread has no session
// keyring; once one is installed, only what it links is reached.
func TestRequestKeyUserSessionFallback(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50215)
	k1 := addKey(t, th, "user", "in-us", "v1", atUS)
	k2 := addKey(t, th, "user", "in-u", "v2", atU)

	type step struct {
		desc string
		want int // 0: ENOKEY
	}
	check := func(th *emu.Thread, when string, steps ...step) {
		t.Helper()
		for _, st := range steps {
			got, err := reqNull(th, "user", st.desc, 0)
			if st.want == 0 {
				assert.Equal(t, "ENOKEY", ename(err), "%s: request_key(user, %s, NULL, 0) = %d, %v; want ENOKEY", when, st.desc, got, err)
				continue
			}
			if assert.NoError(t, err, "%s: request_key(user, %s, NULL, 0)", when, st.desc) {
				assert.Equal(t, st.want, got, "%s: request_key(user, %s, NULL, 0)", when, st.desc)
			}
		}
	}
	check(th, "no session", step{"in-us", k1}, step{"in-u", k2}, step{"nothere", 0})

	child := th.Fork().Main()
	check(child, "forked, no session", step{"in-us", k1})
	joinAnon(t, child)
	check(child, "after join NULL", step{"in-us", 0}, step{"in-u", 0})
	assert.Equal(t, "OK", keyctl(child, emu.KEYCTL_LINK, atU, atS), "KEYCTL_LINK(@u, @s)")
	check(child, "after linking @u into @s", step{"in-u", k2})
}

// R4.1 (Ex-6): searching never creates the user keyrings, and a session-
// less request_key does not install a session keyring.
func TestRequestKeyCreatesNothing(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50216)
	_, err := reqNull(th, "user", "x", 0)
	assert.Equal(t, "ENOKEY", ename(err), "request_key(user, x, NULL, 0)")
	assert.Empty(t, keyUsers(sys, "50216"), "/proc/key-users line of 50216 after a session-less search")
	assert.Equal(t, "keyring;50216;65534;1f3f0000;_uid_ses.50216", describe(th, atS), "Describe(@s) afterwards")
}

// R3.1: KEY_SPEC_USER_SESSION_KEYRING is -5 and names _uid_ses.N in every
// operation that takes an ID.
func TestUserSessionSpecialID(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50217)
	assert.Equal(t, -5, emu.KEY_SPEC_USER_SESSION_KEYRING, "KEY_SPEC_USER_SESSION_KEYRING")
	us := getID(t, th, -5, false)
	k := addKey(t, th, "user", "x", "v", -5)
	assert.Equal(t, ints(k, getID(t, th, atU, false)), ring(t, th, us), "Read(%d) after AddKey(-5)", us)
	got, err := th.KeyctlSearch(-5, "user", "x", 0)
	require.NoError(t, err, "KeyctlSearch(-5, user, x, 0)")
	assert.Equal(t, k, got, "KeyctlSearch(-5, user, x, 0)")
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_UNLINK, k, -5), "KEYCTL_UNLINK(k, -5)")
	assert.Equal(t, ints(getID(t, th, atU, false)), ring(t, th, -5), "Read(-5) after unlink")
}

// R2.5d (Ex-1): in the modern profile the user keyrings live in the
// namespace register and outlive every process of the UID, through fork,
// exec and exit: a later process gets the same serials and contents.
func TestUserKeyringsOutliveProcesses(t *testing.T) {
	sys := emu.New(emu.Config{})
	const uid = 50218
	th := proc(sys, uid)
	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	k := addKey(t, th, "user", "persist-test", "hello", atU)

	child := th.Fork().Main()
	child.Exec()
	assert.Equal(t, u, getID(t, child, atU, false), "@u in a forked and exec'd child")
	assert.Equal(t, us, getID(t, child, atUS, false), "@us in a forked and exec'd child")
	child.Exit()
	th.Process().Exit()
	sys.Advance(2 * gcDelay)

	th2 := proc(sys, uid)
	assert.Equal(t, u, getID(t, th2, atU, false), "@u after every process of the uid exited")
	assert.Equal(t, us, getID(t, th2, atUS, false), "@us after every process of the uid exited")
	got, err := th2.KeyctlSearch(atU, "user", "persist-test", 0)
	require.NoError(t, err, "KeyctlSearch(@u, user, persist-test, 0)")
	assert.Equal(t, k, got, "KeyctlSearch(@u, user, persist-test, 0)")
	b, err := readKey(th2, got)
	require.NoError(t, err, "Read(persist-test)")
	assert.Equal(t, "hello", string(b), "Read(persist-test)")
}

// R2.6, R2.6a: in the legacy profile the user keyrings hang off the UID
// record: they survive while any credential of the UID exists, die with
// the last one, and a later process gets new ones.
func TestLegacyUserKeyringsDieWithLastProcess(t *testing.T) {
	sys := emu.New(emu.Config{Profile: emu.ProfileLegacy})
	const uid = 50219
	p1 := proc(sys, uid)
	p2 := proc(sys, uid)
	u := getID(t, p1, atU, false)
	us := getID(t, p1, atUS, false)
	assert.Equal(t, "keyring;50219;65534;1f3f0000;_uid.50219", describe(p1, atU), "legacy Describe(@u)")
	assert.Equal(t, ints(u), ring(t, p1, atUS), "legacy Read(@us)")
	assert.Equal(t, u, getID(t, p2, atU, false), "@u of a second live process")

	p1.Process().Exit()
	assert.Equal(t, u, getID(t, p2, atU, false), "@u while another process of the uid lives")
	p2.Process().Exit()

	p3 := proc(sys, uid)
	u3 := getID(t, p3, atU, false)
	us3 := getID(t, p3, atUS, false)
	assert.NotEqual(t, u, u3, "legacy @u after the uid's last process exited is the old keyring")
	assert.NotEqual(t, us, us3, "legacy @us after the uid's last process exited is the old keyring")
	_, err := p3.KeyctlGetKeyringID(u, false)
	assert.Equal(t, "ENOKEY", ename(err), "GetKeyringID(old _uid.N)")
	assert.Equal(t, ints(u3), ring(t, p3, atUS), "new _uid_ses.N links the new _uid.N")
}

// R2.6a: in the legacy profile a link from a keyring that outlives the
// UID's processes pins the user keyring indefinitely, and the next login
// finds it again by name (R2.6), contents included.
func TestLegacyPinnedUserKeyringFoundByName(t *testing.T) {
	sys := emu.New(emu.Config{Profile: emu.ProfileLegacy})
	const uid = 50220
	root := proc(sys, 0)
	pin := addKey(t, root, "keyring", "pin", "", atS)
	require.NoError(t, root.KeyctlSetperm(pin, 0x3f3f3f3f), "KeyctlSetperm(pin, 0x3f3f3f3f)")

	th := proc(sys, uid)
	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	k := addKey(t, th, "user", "pinned", "data", atU)
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_LINK, atU, pin), "KEYCTL_LINK(@u, pin)")
	th.Process().Exit()
	sys.Advance(2 * gcDelay)

	th2 := proc(sys, uid)
	assert.Equal(t, u, getID(t, th2, atU, false), "legacy @u pinned by a link is found again by name")
	us2 := getID(t, th2, atUS, false)
	assert.NotEqual(t, us, us2, "unpinned _uid_ses.N died with the uid's last process")
	assert.Equal(t, ints(u), ring(t, th2, atUS), "the new _uid_ses.N links the pinned _uid.N")
	got, err := th2.KeyctlSearch(atU, "user", "pinned", 0)
	require.NoError(t, err, "KeyctlSearch(@u, user, pinned, 0)")
	assert.Equal(t, k, got, "KeyctlSearch(@u, user, pinned, 0)")
}

// R2.6a: a session keyring that links @u (as pam_keyinit's does) pins it
// only while the session keyring itself lives.
func TestLegacySessionLinkPinsOnlyWhileSessionLives(t *testing.T) {
	sys := emu.New(emu.Config{Profile: emu.ProfileLegacy})
	const uid = 50221
	th := proc(sys, uid)
	joinAnon(t, th)
	u := getID(t, th, atU, false)
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_LINK, atU, atS), "KEYCTL_LINK(@u, @s)")

	th.Process().Exit()
	th2 := proc(sys, uid)
	assert.NotEqual(t, u, getID(t, th2, atU, false), "legacy @u linked only from a dead session keyring")
}

// R2.6c: in the modern profile each user namespace has its own pair; in
// the legacy profile the record is per kernel UID, so the same keyring is
// found from every namespace.
func TestUserKeyringsPerNamespace(t *testing.T) {
	for _, tc := range []struct {
		profile emu.Profile
		same    bool
	}{
		{emu.ProfileModern, false},
		{emu.ProfileLegacy, true},
	} {
		t.Run(tc.profile.String(), func(t *testing.T) {
			sys := emu.New(emu.Config{Profile: tc.profile})
			const uid = 50222
			th := proc(sys, uid)
			u := getID(t, th, atU, false)
			p := th.Fork()
			require.NoError(t, p.UnshareUser([]emu.IDMap{{Inside: uid, Outside: uid, Count: 1}}, []emu.IDMap{{Inside: uid, Outside: uid, Count: 1}}), "UnshareUser")
			inner := getID(t, p.Main(), atU, false)
			assert.Equal(t, tc.same, u == inner, "@u inside a new user namespace = %d, outside %d", inner, u)
			assert.Equal(t, "keyring;50222;65534;1f3f0000;_uid.50222", describe(p.Main(), atU), "Describe(@u) inside")
		})
	}
}

// R2.5c (Ex-17): a UID with no mapping in its namespace gets
// "_uid.4294967295", shown as owned by 65534.
func TestUnmappedUIDUserKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50223)
	outer := getID(t, th, atU, false)
	p := th.Fork()
	require.NoError(t, p.UnshareUser(nil, nil), "UnshareUser with no maps")
	in := p.Main()
	assert.NotEqual(t, outer, getID(t, in, atU, false), "@u in an unmapped namespace")
	assert.Equal(t, "keyring;65534;65534;1f3f0000;_uid.4294967295", describe(in, atU), "Describe(@u)")
	assert.Equal(t, "keyring;65534;65534;1f3f0000;_uid_ses.4294967295", describe(in, atS), "Describe(@s)")
}

// Ex-20, R2.4a, R2.5a: setresuid keeps the session keyring (pointer and
// owner) while @u and @us follow the new real UID; a session-less thread
// whose @s was the old UID's user session keyring keeps it as its session.
func TestSetuidKeepsSessionSwitchesUserKeyrings(t *testing.T) {
	t.Run("with a session keyring", func(t *testing.T) {
		sys := emu.New(emu.Config{})
		th := proc(sys, 0)
		s := joinAnon(t, th)
		tk := getID(t, th, atT, true)
		pk := getID(t, th, atP, true)
		u0 := getID(t, th, atU, false)
		assert.Equal(t, "keyring;0;0;3f010000;_tid", describe(th, atT), "Describe(@t) as root")
		require.NoError(t, th.Process().Setresgid(50224, 50224, 50224), "Setresgid")
		require.NoError(t, th.Process().Setresuid(50224, 50224, 50224), "Setresuid")

		// R2.2a: only the thread keyring follows the fsuid/fsgid.
		assert.Equal(t, "keyring;50224;50224;3f010000;_tid", describe(th, atT), "Describe(@t) after setresuid")
		assert.Equal(t, "keyring;0;0;3f010000;_pid", describe(th, atP), "Describe(@p) after setresuid")
		assert.Equal(t, "keyring;0;0;3f030000;_ses", describe(th, atS), "Describe(@s) after setresuid")
		assert.Equal(t, s, getID(t, th, atS, false), "@s after setresuid")
		assert.Equal(t, tk, getID(t, th, atT, false), "@t after setresuid")
		assert.Equal(t, pk, getID(t, th, atP, false), "@p after setresuid")
		u := getID(t, th, atU, false)
		assert.NotEqual(t, u0, u, "@u after setresuid is still root's")
		assert.Equal(t, "keyring;50224;65534;1f3f0000;_uid.50224", describe(th, atU), "Describe(@u) after setresuid")
	})
	t.Run("@u follows the real uid, new keys the fsuid", func(t *testing.T) {
		for _, tc := range []struct {
			r, e, s int
			wantU   string
			wantKey string
		}{
			{50225, 50225, 0, "keyring;50225;65534;1f3f0000;_uid.50225", "user;50225;0;3f010000;owner-is-fsuid"},
			{0, 50226, 0, "keyring;0;65534;1f3f0000;_uid.0", "user;50226;0;3f010000;owner-is-fsuid"},
		} {
			sys := emu.New(emu.Config{})
			th := proc(sys, 0)
			joinAnon(t, th)
			require.NoError(t, th.Process().Setresuid(tc.r, tc.e, tc.s), "Setresuid(%d, %d, %d)", tc.r, tc.e, tc.s)
			assert.Equal(t, tc.wantU, describe(th, atU), "Describe(@u) after Setresuid(%d, %d, %d)", tc.r, tc.e, tc.s)
			k := addKey(t, th, "user", "owner-is-fsuid", "v", atS)
			assert.Equal(t, tc.wantKey, describe(th, k), "Describe(new key) after Setresuid(%d, %d, %d)", tc.r, tc.e, tc.s)
		}
	})
	t.Run("session-less", func(t *testing.T) {
		// Measured on 6.18: @s stays root's _uid_ses.0 after setresuid;
		// @us is the new uid's; add_key to @s then makes a _ses.
		sys := emu.New(emu.Config{})
		th := proc(sys, 0)
		s0 := getID(t, th, atS, false)
		require.NoError(t, th.Process().Setresgid(50227, 50227, 50227), "Setresgid")
		require.NoError(t, th.Process().Setresuid(50227, 50227, 50227), "Setresuid")
		assert.Equal(t, s0, getID(t, th, atS, false), "@s after setresuid")
		assert.Equal(t, "keyring;0;65534;1f3f0000;_uid_ses.0", describe(th, atS), "Describe(@s) after setresuid")
		assert.Equal(t, "keyring;50227;65534;1f3f0000;_uid_ses.50227", describe(th, atUS), "Describe(@us) after setresuid")
		addKey(t, th, "user", "a", "b", atS)
		assert.Equal(t, "keyring;50227;50227;3f030000;_ses", describe(th, atS), "Describe(@s) after AddKey(@s)")
	})
}

// R2.1 (Ex-35): anchors are owned by the real uid, keys by the fsuid.
func TestAnchorsOwnedByRealUID(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	require.NoError(t, th.Process().Setresuid(50228, 0, 0), "Setresuid(50228, 0, 0)")
	joinAnon(t, th)
	getID(t, th, atT, true)
	getID(t, th, atP, true)
	k := addKey(t, th, "user", "fsown", "v", atS)
	for _, tc := range []struct {
		id   int
		want string
	}{
		{atS, "keyring;50228;0;3f030000;_ses"},
		{atT, "keyring;50228;0;3f010000;_tid"},
		{atP, "keyring;50228;0;3f010000;_pid"},
		{k, "user;0;0;3f010000;fsown"},
		{atU, "keyring;50228;65534;1f3f0000;_uid.50228"},
	} {
		assert.Equal(t, tc.want, describe(th, tc.id), "Describe(%d)", tc.id)
	}
}

// R2.5e (Ex-36): revoking one's own @u makes every @u, @us and
// session-less @s lookup fail ENOKEY until the collector unlinks it; then
// a new _uid.N appears that the surviving _uid_ses.N does not link, so the
// session-less search no longer reaches the user keyring.
func TestRevokedUserKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	const uid = 50229
	th := proc(sys, uid)
	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, atU), "KEYCTL_REVOKE(@u)")

	broken := func(th *emu.Thread, when string) {
		t.Helper()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"GetKeyringID(@u)", func() error { _, err := th.KeyctlGetKeyringID(atU, false); return err }},
			{"GetKeyringID(@us)", func() error { _, err := th.KeyctlGetKeyringID(atUS, false); return err }},
			{"Describe(@us)", func() error { _, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, atUS); return err }},
			{"AddKey(@u)", func() error { _, err := th.AddKey("user", "x", []byte("v"), atU); return err }},
			{"Read(@us)", func() error { _, err := readKey(th, atUS); return err }},
			{"Invalidate(@us)", func() error { _, err := th.KeyctlInt(emu.KEYCTL_INVALIDATE, atUS, 0, 0, 0); return err }},
			{"GetKeyringID(@s) without session", func() error { _, err := th.KeyctlGetKeyringID(atS, false); return err }},
		} {
			assert.Equal(t, "ENOKEY", ename(tc.call()), "%s: %s", when, tc.name)
		}
	}
	broken(th, "right after revoking @u")
	sys.Advance(gcDelay / 2)
	broken(proc(sys, uid), "a new process before gc_delay")

	sys.Advance(gcDelay)
	th2 := proc(sys, uid)
	u2 := getID(t, th2, atU, false)
	assert.NotEqual(t, u, u2, "@u after GC is the revoked keyring")
	assert.Equal(t, "keyring;50229;65534;1f3f0000;_uid.50229", describe(th2, atU), "Describe(@u) after GC")
	assert.Equal(t, us, getID(t, th2, atUS, false), "@us after GC: the old _uid_ses.N survives")
	assert.Equal(t, []int{}, ring(t, th2, atUS), "Read(@us) after GC: not relinked to the new _uid.N")

	addKey(t, th2, "user", "after-revoke", "v", atU)
	_, err := reqNull(th2, "user", "after-revoke", 0)
	assert.Equal(t, "ENOKEY", ename(err), "session-less request_key of a key in the new @u")
}

// R2.5e (measured on 6.18 as uid 50270): invalidating one's own @u is
// collected at once: the next @u is a new _uid.N, and the surviving
// _uid_ses.N is left empty.
func TestInvalidatedUserKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50270)
	u := getID(t, th, atU, false)
	us := getID(t, th, atUS, false)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_INVALIDATE, atU), "KEYCTL_INVALIDATE(@u)")
	u2 := getID(t, th, atU, false)
	assert.NotEqual(t, u, u2, "@u after invalidating it")
	assert.Equal(t, "keyring;50270;65534;1f3f0000;_uid.50270", describe(th, atU), "Describe(new @u)")
	assert.Equal(t, us, getID(t, th, atUS, false), "@us after invalidating @u")
	assert.Equal(t, []int{}, ring(t, th, atUS), "Read(@us) after invalidating @u")
}
