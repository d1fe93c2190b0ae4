package emu_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// R1.14, R1.12, R5.2 step 12, R5.2b, R9.3 (Ex-12): UPDATE and the add_key
// update path clear a user key's timeout and keep its serial; add_key of
// an existing keyring name makes a new keyring that displaces the old.
func TestUpdateClearsTimeoutAndKeyringDisplacement(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "exptest", "v1", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, k, 1000), "KEYCTL_SET_TIMEOUT(exptest, 1000)")
	assert.Contains(t, procLine(sys, th, "exptest"), "I--Q--- *  16m 3f010000     0     0 user      exptest: 2", "/proc/keys exptest with 1000 s left")

	_, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(k), emu.Buffer([]byte("v2")), emu.Int(2))
	require.NoError(t, err, "KEYCTL_UPDATE(exptest, v2)")
	assert.Contains(t, procLine(sys, th, "exptest"), " perm 3f010000 ", "/proc/keys exptest after UPDATE")

	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, k, 1000), "KEYCTL_SET_TIMEOUT(exptest, 1000)")
	assert.Equal(t, k, addKey(t, th, "user", "exptest", "v3", atS), "AddKey of an existing user key returns its serial")
	assert.Contains(t, procLine(sys, th, "exptest"), " perm 3f010000 ", "/proc/keys exptest after add_key update")
	b, err := readKey(th, k)
	require.NoError(t, err, "Read(exptest)")
	assert.Equal(t, "v3", string(b), "Read(exptest) after the add_key update")

	r := addKey(t, th, "keyring", "ringexp", "", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, r, 100), "KEYCTL_SET_TIMEOUT(ringexp, 100)")
	assert.Contains(t, procLine(sys, th, "ringexp"), "   1m 3f010000 ", "/proc/keys ringexp with 100 s left")
	r2 := addKey(t, th, "keyring", "ringexp", "", atS)
	assert.NotEqual(t, r, r2, "AddKey of an existing keyring name returns the old serial")
	assert.Equal(t, ints(k, r2), ring(t, th, atS), "Read(@s) after the keyring was displaced")
	assert.Contains(t, procLine(sys, th, "ringexp"), " perm 3f010000 ", "/proc/keys the new ringexp")
}

// R9.3: the timeout column picks the largest unit and truncates.
func TestProcKeysTimeoutColumn(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	for _, tc := range []struct {
		secs int
		want string
	}{
		{1, "  1s"}, {59, " 59s"}, {60, "  1m"}, {3599, " 59m"}, {3600, "  1h"},
		{86399, " 23h"}, {86400, "  1d"}, {604799, "  6d"}, {604800, "  1w"},
	} {
		k := addKey(t, th, "user", "to", "v", atS)
		require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, k, tc.secs), "KEYCTL_SET_TIMEOUT(%d)", tc.secs)
		l := procLine(sys, th, "to:")
		if assert.Len(t, l, 55+len("to: 1"), "/proc/keys line") {
			assert.Equal(t, tc.want, l[19:23], "/proc/keys timeout column for %d s", tc.secs)
		}
	}
}

// R1.20, R1.21, R8.1-R8.3, R9.2 (Ex-22, gc_delay 2 s): a revoked key shows
// R and expd at once with a zero payload size; an expired key fails
// EKEYEXPIRED; both are unlinked and gone once gc_delay has passed.
func TestGarbageCollectionTimeline(t *testing.T) {
	sys := emu.New(emu.Config{GCDelay: 2 * time.Second})
	th := proc(sys, 0)
	joinAnon(t, th)
	r := addKey(t, th, "user", "gcrev", "v", atS)
	e := addKey(t, th, "user", "gcexp", "v", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, r), "KEYCTL_REVOKE(gcrev)")
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, e, 1), "KEYCTL_SET_TIMEOUT(gcexp, 1)")
	assert.Contains(t, procLine(sys, th, "gcrev"), "IR-Q--- * expd 3f010000     0     0 user      gcrev: 0", "/proc/keys gcrev after REVOKE")
	assert.Contains(t, procLine(sys, th, "gcexp"), "I--Q--- *   1s 3f010000     0     0 user      gcexp: 1", "/proc/keys gcexp after SET_TIMEOUT 1")
	assert.Equal(t, ints(r, e), ring(t, th, atS), "Read(@s) right away")

	sys.Advance(1500 * time.Millisecond)
	assert.Contains(t, procLine(sys, th, "gcexp"), "I--Q--- * expd 3f010000 ", "/proc/keys gcexp after 1.5 s")
	assert.Equal(t, "error EKEYEXPIRED", describe(th, e), "Describe(gcexp) after 1.5 s")
	assert.Equal(t, ints(r, e), ring(t, th, atS), "Read(@s) after 1.5 s: still linked")

	sys.Advance(3 * time.Second)
	assert.Equal(t, []int{}, ring(t, th, atS), "Read(@s) after gc_delay")
	assert.Equal(t, "error ENOKEY", describe(th, r), "Describe(gcrev) after gc_delay")
	assert.Equal(t, "error ENOKEY", describe(th, e), "Describe(gcexp) after gc_delay")
	assert.Empty(t, procLine(sys, th, "gc"), "/proc/keys after gc_delay")
}

// R2.2-R2.4, R2.2b, R2.4a (Ex-18): keyrings are per thread: an existing
// thread does not see a process keyring or session made later by a
// sibling; a thread cloned by a thread with a thread keyring gets a fresh
// one; fork and exec keep only the session keyring.
func TestThreadsForkExec(t *testing.T) {
	sys := emu.New(emu.Config{})
	main := proc(sys, 0)
	s1 := joinAnon(t, main)
	early := main.Clone()

	tk := getID(t, main, atT, true)
	pk := getID(t, main, atP, true)
	s2 := joinAnon(t, main)
	require.NotEqual(t, s1, s2, "second join NULL")

	_, err := early.KeyctlGetKeyringID(atT, false)
	assert.Equal(t, "ENOKEY", ename(err), "early thread @t")
	_, err = early.KeyctlGetKeyringID(atP, false)
	assert.Equal(t, "ENOKEY", ename(err), "early thread @p")
	assert.Equal(t, s1, getID(t, early, atS, false), "early thread @s")

	late := main.Clone()
	lt := getID(t, late, atT, false)
	assert.NotEqual(t, tk, lt, "late thread @t is the creator's thread keyring")
	assert.Equal(t, "keyring;0;0;3f010000;_tid", describe(late, atT), "late thread Describe(@t)")
	assert.Equal(t, []int{}, ring(t, late, atT), "late thread's new @t is empty")
	assert.Equal(t, pk, getID(t, late, atP, false), "late thread @p")
	assert.Equal(t, s2, getID(t, late, atS, false), "late thread @s")

	child := main.Fork().Main()
	_, err = child.KeyctlGetKeyringID(atT, false)
	assert.Equal(t, "ENOKEY", ename(err), "fork child @t")
	_, err = child.KeyctlGetKeyringID(atP, false)
	assert.Equal(t, "ENOKEY", ename(err), "fork child @p")
	assert.Equal(t, s2, getID(t, child, atS, false), "fork child @s")

	main.Exec()
	_, err = main.KeyctlGetKeyringID(atT, false)
	assert.Equal(t, "ENOKEY", ename(err), "after exec @t")
	_, err = main.KeyctlGetKeyringID(atP, false)
	assert.Equal(t, "ENOKEY", ename(err), "after exec @p")
	assert.Equal(t, s2, getID(t, main, atS, false), "after exec @s")
}

// R3.4a: a read-only @s lookup in a session-less thread installs the user
// session keyring for that thread only; children made afterwards inherit
// it.
func TestSessionlessAtSIsThreadLocal(t *testing.T) {
	sys := emu.New(emu.Config{})
	main := proc(sys, 50260)
	sib := main.Clone()
	us := getID(t, main, atS, false)
	joinAnon(t, sib)
	child := main.Fork().Main()
	assert.Equal(t, us, getID(t, child, atS, false), "child @s inherited from the parent's installed user session keyring")
	k := addKey(t, child, "user", "x", "v", atS)
	assert.NotEqual(t, us, getID(t, child, atS, false), "child @s after AddKey(@s)")
	assert.Equal(t, us, getID(t, main, atS, false), "parent @s unaffected by the child's AddKey(@s)")
	_, err := reqNull(main, "user", "x", 0)
	assert.Equal(t, "ENOKEY", ename(err), "parent request_key(x) added by the child to its own _ses (key %d)", k)
}

// op 1, R2.4c (Ex-4): JOIN_SESSION_KEYRING: NULL makes "_ses" (3f030000),
// a name makes a 3f130000 keyring that its owner cannot search, so the
// name cannot be joined again until the owner adds Search; joining one's
// current session returns 0; names starting with '.' are EPERM.
func TestJoinSessionKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	const uid = 50261
	th := proc(sys, uid)
	s := joinAnon(t, th)
	assert.Equal(t, "keyring;50261;50261;3f030000;_ses", describe(th, atS), "Describe(@s) after join NULL")
	assert.Equal(t, s, getID(t, th, atS, false), "GetKeyringID(@s) after join NULL")

	join := func(th *emu.Thread, name string) int {
		t.Helper()
		id, err := th.KeyctlJoinSessionKeyring(name)
		require.NoError(t, err, "KeyctlJoinSessionKeyring(%q)", name)
		return id
	}

	// Unsearchable by its owner: every join makes a new keyring.
	a := join(th, "myses2")
	assert.Equal(t, "keyring;50261;50261;3f130000;myses2", describe(th, a), "Describe(myses2)")
	c := join(th.Fork().Main(), "myses2")
	assert.NotEqual(t, a, c, "a child's join of myses2 found the owner-unsearchable keyring")
	b := join(th, "myses2")
	assert.NotEqual(t, a, b, "a second join of myses2 found the owner-unsearchable keyring")
	// Nothing holds the old myses2 any more. Ex-4 shows EACCES because the
	// kernel frees the replaced credentials after an RCU grace period;
	// measured 100 ms later on 6.18 it is ENOKEY, the settled state (R8.4).
	assert.Equal(t, "ENOKEY", ename(th.KeyctlSetperm(a, 0x3f1b0000)), "KeyctlSetperm(old myses2) once it is no longer the session")
	_, err := th.KeyctlJoinSessionKeyring(".dotted")
	assert.Equal(t, "EPERM", ename(err), "KeyctlJoinSessionKeyring(.dotted)")

	// With owner Search the name is joinable; joining one's own session
	// returns 0.
	a = join(th, "myses3")
	require.NoError(t, th.KeyctlSetperm(a, 0x3f1b0000), "KeyctlSetperm(myses3, 0x3f1b0000)")
	assert.Equal(t, "keyring;50261;50261;3f1b0000;myses3", describe(th, a), "Describe(myses3)")
	assert.Equal(t, 0, join(th.Fork().Main(), "myses3"), "child's join of its inherited myses3")
	assert.Equal(t, 0, join(th, "myses3"), "join of the current session myses3")

	a = join(th, "myses4")
	require.NoError(t, th.KeyctlSetperm(a, 0x3f1b0000), "KeyctlSetperm(myses4, 0x3f1b0000)")
	child := th.Fork().Main()
	joinAnon(t, child)
	assert.Equal(t, a, join(child, "myses4"), "child's join of myses4 from another session")
}

// op 1, R2.7 (Ex-33): any published keyring the caller may search without
// possession can be joined by name; the same name in a new user namespace
// makes a new keyring.
func TestJoinByNamePerNamespace(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	r := addKey(t, th, "keyring", "joinme", "", atS)
	require.NoError(t, th.KeyctlSetperm(r, 0x3f090000), "KeyctlSetperm(joinme, 0x3f090000)")
	got, err := th.Fork().Main().KeyctlJoinSessionKeyring("joinme")
	require.NoError(t, err, "child KeyctlJoinSessionKeyring(joinme)")
	assert.Equal(t, r, got, "child KeyctlJoinSessionKeyring(joinme)")

	p := th.Fork()
	require.NoError(t, p.UnshareUser([]emu.IDMap{{Inside: 0, Outside: 0, Count: 1}}, []emu.IDMap{{Inside: 0, Outside: 0, Count: 1}}), "UnshareUser")
	got, err = p.Main().KeyctlJoinSessionKeyring("joinme")
	require.NoError(t, err, "KeyctlJoinSessionKeyring(joinme) in a new user namespace")
	assert.NotEqual(t, r, got, "KeyctlJoinSessionKeyring(joinme) in a new user namespace found the parent namespace's keyring")
}

// R2.4a (Ex-17b): entering a new user namespace keeps the session keyring;
// @u there is the namespace's own.
func TestUnshareKeepsSession(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	s := joinAnon(t, th)
	u := getID(t, th, atU, false)
	p := th.Fork()
	require.NoError(t, p.UnshareUser([]emu.IDMap{{Inside: 0, Outside: 0, Count: 1}}, []emu.IDMap{{Inside: 0, Outside: 0, Count: 1}}), "UnshareUser")
	in := p.Main()
	assert.Equal(t, s, getID(t, in, atS, false), "@s inside the new namespace")
	assert.Equal(t, "keyring;0;0;3f030000;_ses", describe(in, atS), "Describe(@s) inside")
	assert.NotEqual(t, u, getID(t, in, atU, false), "@u inside the new namespace")
}

// op 18 (Ex-25): SESSION_TO_PARENT gives the parent the child's session
// keyring; EPERM when the caller's euid is not the parent's, and when the
// parent is init.
func TestSessionToParent(t *testing.T) {
	sys := emu.New(emu.Config{})
	parent := proc(sys, 0)
	before := getID(t, parent, atS, false)

	child := parent.Fork().Main()
	cs := joinAnon(t, child)
	assert.Equal(t, "OK", keyctl(child, emu.KEYCTL_SESSION_TO_PARENT), "KEYCTL_SESSION_TO_PARENT")
	assert.Equal(t, cs, getID(t, parent, atS, false), "parent @s after SESSION_TO_PARENT (was %d)", before)

	other := parent.Fork()
	joinAnon(t, other.Main())
	require.NoError(t, other.Setresuid(50262, 50262, 50262), "Setresuid(50262)")
	joinAnon(t, other.Main())
	assert.Equal(t, "EPERM", keyctl(other.Main(), emu.KEYCTL_SESSION_TO_PARENT), "KEYCTL_SESSION_TO_PARENT with a different euid")

	assert.Equal(t, "EPERM", keyctl(parent, emu.KEYCTL_SESSION_TO_PARENT), "KEYCTL_SESSION_TO_PARENT with init as parent")
}

// op 9, op 30, R5.5 (Ex-27): MOVE with EXCL refuses to displace; without
// it the target entry is displaced; a source without the key is ENOENT;
// from == to is a no-op; bad flags EINVAL. UNLINK matches by (type,
// description), so unlinking k2 removes a same-named k.
func TestMoveAndUnlinkByName(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	r1 := addKey(t, th, "keyring", "mv1", "", atS)
	r2 := addKey(t, th, "keyring", "mv2", "", atS)
	k := addKey(t, th, "user", "mvk", "a", r1)
	k2 := addKey(t, th, "user", "mvk", "b", r2)
	for _, tc := range []struct {
		name string
		args []int
		want string
	}{
		{"MOVE(k, r1, r2, EXCL)", []int{k, r1, r2, emu.KEYCTL_MOVE_EXCL}, "EEXIST"},
		{"MOVE(k, r1, r2, 0)", []int{k, r1, r2, 0}, "OK"},
		{"MOVE(k, r1, r2, 0) again", []int{k, r1, r2, 0}, "ENOENT"},
		{"MOVE(k, r2, r2, 0)", []int{k, r2, r2, 0}, "OK"},
		{"MOVE(k, r2, r1, 2)", []int{k, r2, r1, 2}, "EINVAL"},
	} {
		assert.Equal(t, tc.want, keyctl(th, emu.KEYCTL_MOVE, tc.args...), tc.name)
	}
	assert.Equal(t, []int{}, ring(t, th, r1), "Read(mv1) after MOVE")
	assert.Equal(t, ints(k), ring(t, th, r2), "Read(mv2) after MOVE displaced k2 (%d)", k2)
	assert.Equal(t, "ENOENT", keyctl(th, emu.KEYCTL_UNLINK, k, r1), "UNLINK(k, mv1)")

	u2 := addKey(t, th, "keyring", "ul2", "", atS)
	u3 := addKey(t, th, "keyring", "ul3", "", atS)
	s := addKey(t, th, "user", "same", "x", atS)
	s2 := addKey(t, th, "user", "same", "y", u3)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_LINK, s, u2), "LINK(same, ul2)")
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_UNLINK, s2, u2), "UNLINK(other same, ul2)")
	assert.Equal(t, []int{}, ring(t, th, u2), "Read(ul2) after unlinking the other same-named key")
	assert.Equal(t, ints(s2), ring(t, th, u3), "Read(ul3)")
}

// op 29, op 3, op 30 (Ex-28): RESTRICT_KEYRING with a NULL type blocks
// add, link and move with EPERM; a second restriction is EEXIST, a
// non-keyring ENOTDIR; a second revoke and an update of a revoked key are
// EKEYREVOKED.
func TestRestrictAndRevoke(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	r := addKey(t, th, "keyring", "rst", "", atS)
	assert.NoError(t, th.KeyctlRestrictKeyring(r, "", ""), "KeyctlRestrictKeyring(rst)")
	_, err := th.AddKey("user", "a", []byte("v"), r)
	assert.Equal(t, "EPERM", ename(err), "AddKey into a restricted keyring")
	k := addKey(t, th, "user", "b", "v", atS)
	assert.Equal(t, "EPERM", keyctl(th, emu.KEYCTL_LINK, k, r), "LINK into a restricted keyring")
	assert.Equal(t, "EPERM", keyctl(th, emu.KEYCTL_MOVE, k, atS, r, 0), "MOVE into a restricted keyring")
	assert.Equal(t, "EEXIST", ename(th.KeyctlRestrictKeyring(r, "", "")), "KeyctlRestrictKeyring(rst) again")
	assert.Equal(t, "ENOTDIR", ename(th.KeyctlRestrictKeyring(k, "", "")), "KeyctlRestrictKeyring(user key)")
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, k), "REVOKE(b)")
	assert.Equal(t, "EKEYREVOKED", keyctl(th, emu.KEYCTL_REVOKE, k), "REVOKE(b) again")
	_, err = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(k), emu.Buffer([]byte("x")), emu.Int(1))
	assert.Equal(t, "EKEYREVOKED", ename(err), "UPDATE(revoked b)")
}

// op 7, R3.3 (Ex-26): CLEAR looks up with CREATE, so "clear @p" makes the
// process keyring; CLEAR of a non-keyring is ENOTDIR.
func TestClearCreatesProcessKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_CLEAR, atP), "CLEAR(@p)")
	getID(t, th, atP, false)
	k := addKey(t, th, "user", "clr", "v", atS)
	assert.Equal(t, "ENOTDIR", keyctl(th, emu.KEYCTL_CLEAR, k), "CLEAR(user key)")
}

// R3.3, D31: which operations create @t on the fly (CREATE lookups) and
// which fail ENOKEY.
func TestCreateFlagOperations(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(th *emu.Thread) error
		want string
	}{
		{"GET_KEYRING_ID(@t, 1)", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atT, true); return err }, "OK"},
		{"SETPERM(@t)", func(th *emu.Thread) error { return th.KeyctlSetperm(atT, 0x3f010000) }, "OK"},
		{"SET_TIMEOUT(@t)", func(th *emu.Thread) error { _, err := th.KeyctlInt(emu.KEYCTL_SET_TIMEOUT, atT, 100, 0, 0); return err }, "OK"},
		{"CHOWN(@t, 0, -1)", func(th *emu.Thread) error { _, err := th.KeyctlInt(emu.KEYCTL_CHOWN, atT, 0, -1, 0); return err }, "OK"},
		{"LINK(@t, @s)", func(th *emu.Thread) error { _, err := th.KeyctlInt(emu.KEYCTL_LINK, atT, atS, 0, 0); return err }, "OK"},
		{"AddKey(@t)", func(th *emu.Thread) error { _, err := th.AddKey("user", "x", []byte("v"), atT); return err }, "OK"},
		{"GET_KEYRING_ID(@t, 0)", func(th *emu.Thread) error { _, err := th.KeyctlGetKeyringID(atT, false); return err }, "ENOKEY"},
		{"DESCRIBE(@t)", func(th *emu.Thread) error { _, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, atT); return err }, "ENOKEY"},
		{"REVOKE(@t)", func(th *emu.Thread) error { _, err := th.KeyctlInt(emu.KEYCTL_REVOKE, atT, 0, 0, 0); return err }, "ENOKEY"},
		{"SEARCH(@t)", func(th *emu.Thread) error { _, err := th.KeyctlSearch(atT, "user", "x", 0); return err }, "ENOKEY"},
		{"UNLINK(@s, @t)", func(th *emu.Thread) error { _, err := th.KeyctlInt(emu.KEYCTL_UNLINK, atS, atT, 0, 0); return err }, "ENOKEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := emu.New(emu.Config{})
			th := proc(sys, 0)
			joinAnon(t, th)
			assert.Equal(t, tc.want, ename(tc.call(th)), tc.name)
		})
	}
}

// R2.8, op 22 (Ex-30): _persistent.N has perm 1f030000, no group, a 3 day
// timeout and is not in quota; its register is visible to root; another
// uid's persistent keyring needs CAP_SETUID; destination 0 is EINVAL.
func TestPersistentKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	root := proc(sys, 0)
	joinAnon(t, root)
	p, err := root.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, -1, atS, 0, 0)
	require.NoError(t, err, "GET_PERSISTENT(-1, @s)")
	assert.Equal(t, "keyring;0;65534;1f030000;_persistent.0", describe(root, p), "Describe(_persistent.0)")
	assert.Contains(t, procLine(sys, root, "_persistent.0"), "I------ ", "/proc/keys _persistent.0 flags: not in quota")
	assert.Contains(t, procLine(sys, root, "_persistent.0"), "   3d 1f030000     0 65534 keyring   _persistent.0: empty", "/proc/keys _persistent.0")
	assert.Contains(t, procLine(sys, root, ".persistent_register"), "I------ * perm 1f030000     0     0 keyring   .persistent_register: 1", "/proc/keys .persistent_register")
	_, err = root.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, 50263, atS, 0, 0)
	assert.NoError(t, err, "root GET_PERSISTENT(50263, @s)")

	th := proc(sys, 50264)
	joinAnon(t, th)
	_, err = th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, 50263, atS, 0, 0)
	assert.Equal(t, "EPERM", ename(err), "GET_PERSISTENT(other uid, @s)")
	own, err := th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, -1, atS, 0, 0)
	require.NoError(t, err, "GET_PERSISTENT(-1, @s)")
	assert.Equal(t, "keyring;50264;65534;1f030000;_persistent.50264", describe(th, own), "Describe(_persistent.50264)")
	_, err = th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, 50264, 0, 0, 0)
	assert.Equal(t, "EINVAL", ename(err), "GET_PERSISTENT(own, 0)")
	again, err := th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, 50264, atU, 0, 0)
	require.NoError(t, err, "GET_PERSISTENT(own, @u)")
	assert.Equal(t, own, again, "GET_PERSISTENT(own, @u)")
	// _ses, _uid.N and _uid_ses.N: 5+11+15 bytes and three links (R7.4);
	// the persistent keyring itself is not in quota (measured on 6.18).
	assert.Equal(t, "3/200 43/20000", quota(sys, "50264"), "/proc/key-users 50264")
}

// R2.8: the persistent keyring expires persistent_keyring_expiry after
// the last GET_PERSISTENT and is collected gc_delay later; every call
// resets the timeout.
func TestPersistentKeyringExpiry(t *testing.T) {
	sys := emu.New(emu.Config{PersistentKeyringExpiry: 100 * time.Second, GCDelay: 10 * time.Second})
	th := proc(sys, 0)
	joinAnon(t, th)
	p, err := th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, -1, atS, 0, 0)
	require.NoError(t, err, "GET_PERSISTENT(-1, @s)")
	sys.Advance(90 * time.Second)
	_, err = th.KeyctlInt(emu.KEYCTL_GET_PERSISTENT, -1, atS, 0, 0)
	require.NoError(t, err, "GET_PERSISTENT(-1, @s) again")
	sys.Advance(90 * time.Second)
	assert.Equal(t, "keyring;0;65534;1f030000;_persistent.0", describe(th, p), "Describe(_persistent.0) 90 s after the reset")
	sys.Advance(30 * time.Second)
	assert.Equal(t, "error ENOKEY", describe(th, p), "Describe(_persistent.0) after expiry + gc_delay")
}

// op 14, R5.4c step 1 (Ex-31): SET_REQKEY_KEYRING returns the previous
// value; 1 creates the thread keyring; 6 and 8 are EINVAL; the setting
// picks where request_key puts the key it constructs.
func TestSetReqkeyKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	set := func(n int) (int, string) {
		r, err := th.KeyctlInt(emu.KEYCTL_SET_REQKEY_KEYRING, n, 0, 0, 0)
		return r, ename(err)
	}
	for _, tc := range []struct {
		n       int
		want    int
		wantErr string
	}{
		{-1, 0, "OK"}, {1, 0, "OK"}, {6, 0, "EINVAL"}, {8, 0, "EINVAL"}, {4, 1, "OK"}, {-1, 4, "OK"},
	} {
		got, e := set(tc.n)
		assert.Equal(t, tc.wantErr, e, "SET_REQKEY_KEYRING(%d)", tc.n)
		if e == "OK" {
			assert.Equal(t, tc.want, got, "SET_REQKEY_KEYRING(%d)", tc.n)
		}
	}
	getID(t, th, atT, false)

	// The constructed key (negative here: no request-key helper) lands in
	// @u for setting 4, and in the thread keyring for DEFAULT.
	_, _ = th.RequestKey("user", "debug:jit1", "hello", 0)
	assert.Contains(t, ringNames(t, th, atU), "debug:jit1", "Read(@u) after request_key with setting 4")
	got, e := set(0)
	assert.Equal(t, "OK", e, "SET_REQKEY_KEYRING(0)")
	assert.Equal(t, 4, got, "SET_REQKEY_KEYRING(0)")
	_, _ = th.RequestKey("user", "debug:jit2", "hello", 0)
	assert.Equal(t, []string{"debug:jit2"}, ringNames(t, th, atT), "Read(@t) after request_key with DEFAULT")
	assert.NotContains(t, ringNames(t, th, atS), "debug:jit2", "Read(@s) after request_key with DEFAULT")
}

// ops 12, 13, 16, 19 (Ex-39): INSTANTIATE and NEGATE without authority
// are EPERM; REJECT's error is checked (0, 512, 4095 EINVAL) before the
// authority; ASSUME_AUTHORITY -1 is EINVAL, 0 returns 0, IDs without an
// authorisation key ENOKEY.
func TestAuthorityOperations(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "inst", "v", atS)
	_, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_INSTANTIATE), emu.Int(k), emu.Buffer([]byte("data")), emu.Int(4), emu.Int(0))
	assert.Equal(t, "EPERM", ename(err), "INSTANTIATE without authority")
	for _, tc := range []struct {
		name string
		cmd  int
		args []int
		want string
	}{
		{"NEGATE(k, 10, 0)", emu.KEYCTL_NEGATE, []int{k, 10, 0}, "EPERM"},
		{"REJECT(k, 10, 0, 0)", emu.KEYCTL_REJECT, []int{k, 10, 0, 0}, "EINVAL"},
		{"REJECT(k, 10, 512, 0)", emu.KEYCTL_REJECT, []int{k, 10, 512, 0}, "EINVAL"},
		{"REJECT(k, 10, 4095, 0)", emu.KEYCTL_REJECT, []int{k, 10, 4095, 0}, "EINVAL"},
		{"REJECT(k, 10, 129, 0)", emu.KEYCTL_REJECT, []int{k, 10, 129, 0}, "EPERM"},
		{"ASSUME_AUTHORITY(-1)", emu.KEYCTL_ASSUME_AUTHORITY, []int{-1}, "EINVAL"},
		{"ASSUME_AUTHORITY(0)", emu.KEYCTL_ASSUME_AUTHORITY, []int{0}, "OK"},
		{"ASSUME_AUTHORITY(k)", emu.KEYCTL_ASSUME_AUTHORITY, []int{k}, "ENOKEY"},
		{"ASSUME_AUTHORITY(12345)", emu.KEYCTL_ASSUME_AUTHORITY, []int{12345}, "ENOKEY"},
	} {
		assert.Equal(t, tc.want, keyctl(th, tc.cmd, tc.args...), tc.name)
	}
}

// R1.19, R5.4c step 5, R9.2-R9.4, op 2, op 15, R5.2 step 12 (Ex-23 on a
// system without /sbin/request-key, measured on 6.18): a failed upcall
// leaves a key negated with ENOKEY for 60 s; DESCRIBE works on it, READ,
// LINK, SEARCH, GET_KEYRING_ID and UPDATE fail with its error; SET_TIMEOUT
// works; add_key revives it under the same serial.
func TestNegativeKeyFromFailedUpcall(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	_, err := th.RequestKey("user", "debug:n2", "negate", atS)
	assert.Equal(t, "ENOENT", ename(err), "RequestKey(debug:n2) with no request-key helper")
	keys := ring(t, th, atS)
	require.Len(t, keys, 1, "Read(@s) after the failed upcall")
	n := keys[0]

	assert.Equal(t, "user;0;0;3f010000;debug:n2", describe(th, n), "Describe(negative key)")
	_, err = readKey(th, n)
	assert.Equal(t, "ENOKEY", ename(err), "Read(negative key)")
	assert.Equal(t, "ENOKEY", keyctl(th, emu.KEYCTL_LINK, n, atS), "LINK(negative key, @s)")
	_, err = th.KeyctlSearch(atS, "user", "debug:n2", 0)
	assert.Equal(t, "ENOKEY", ename(err), "KeyctlSearch(@s, debug:n2)")
	_, err = reqNull(th, "user", "debug:n2", 0)
	assert.Equal(t, "ENOKEY", ename(err), "request_key(debug:n2, NULL)")
	assert.Contains(t, procLine(sys, th, "debug:n2"), "I--Q-N-", "/proc/keys flags of the negative key")
	assert.Contains(t, procLine(sys, th, "debug:n2"), "   1m 3f010000     0     0 user      debug:n2", "/proc/keys negative key: 60 s, bare description")

	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, n, 500), "SET_TIMEOUT(negative key, 500)")
	assert.Contains(t, procLine(sys, th, "debug:n2"), "   8m ", "/proc/keys negative key after SET_TIMEOUT 500")
	_, err = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(n), emu.Buffer([]byte("x")), emu.Int(1))
	assert.Equal(t, "ENOKEY", ename(err), "UPDATE(negative key)")
	_, err = th.KeyctlGetKeyringID(n, false)
	assert.Equal(t, "ENOKEY", ename(err), "GetKeyringID(negative key)")

	assert.Equal(t, n, addKey(t, th, "user", "debug:n2", "viaadd", atS), "AddKey over a negative key keeps its serial")
	b, err := readKey(th, n)
	require.NoError(t, err, "Read(revived key)")
	assert.Equal(t, "viaadd", string(b), "Read(revived key)")
	assert.Contains(t, procLine(sys, th, "debug:n2"), "I--Q--- * perm 3f010000     0     0 user      debug:n2: 6", "/proc/keys revived key")
}
