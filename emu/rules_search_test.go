package emu_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// R1.24, R4.3e, R4.4, R4.4b, R4.5 (Ex-7): revoked, expired and forbidden
// keys are reported by request_key and KEYCTL_SEARCH, except that
// request_key skips expired keys silently; once an empty process keyring
// is searched too, request_key reports ENOKEY (soft beats hard).
func TestValidityErrorsAndPrecedence(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50230)
	joinAnon(t, th)
	r := addKey(t, th, "user", "revd", "x", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, r), "KEYCTL_REVOKE(revd)")
	e := addKey(t, th, "user", "expd", "x", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, e, 1), "KEYCTL_SET_TIMEOUT(expd, 1)")
	a := addKey(t, th, "user", "noperm", "x", atS)
	require.NoError(t, th.KeyctlSetperm(a, 0x01010000), "KeyctlSetperm(noperm, 0x01010000)")
	i := addKey(t, th, "user", "invd", "x", atS)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_INVALIDATE, i), "KEYCTL_INVALIDATE(invd)")
	sys.Advance(2 * time.Second)

	search := func(desc string) string { _, err := th.KeyctlSearch(atS, "user", desc, 0); return ename(err) }
	req := func(desc string) string { _, err := reqNull(th, "user", desc, 0); return ename(err) }
	rd := func(id int) string { _, err := readKey(th, id); return ename(err) }
	desc := func(id int) string { _, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, id); return ename(err) }

	for _, tc := range []struct{ name, got, want string }{
		{"request_key(revd)", req("revd"), "EKEYREVOKED"},
		{"KeyctlSearch(@s, revd)", search("revd"), "EKEYREVOKED"},
		{"Describe(revd)", desc(r), "EKEYREVOKED"},
		{"Read(revd)", rd(r), "EKEYREVOKED"},
		{"request_key(expd)", req("expd"), "ENOKEY"},
		{"KeyctlSearch(@s, expd)", search("expd"), "EKEYEXPIRED"},
		{"Describe(expd)", desc(e), "EKEYEXPIRED"},
		{"Read(expd)", rd(e), "EKEYEXPIRED"},
		{"request_key(noperm)", req("noperm"), "EACCES"},
		{"KeyctlSearch(@s, noperm)", search("noperm"), "EACCES"},
		// R4.5: after the collector ran, an invalidated key is gone.
		{"request_key(invd)", req("invd"), "ENOKEY"},
		{"Describe(invd)", desc(i), "ENOKEY"},
		{"Read(invd)", rd(i), "ENOKEY"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}

	getID(t, th, atP, true)
	for _, tc := range []struct{ name, got, want string }{
		{"request_key(revd) with @p", req("revd"), "ENOKEY"},
		{"request_key(expd) with @p", req("expd"), "ENOKEY"},
		{"request_key(noperm) with @p", req("noperm"), "ENOKEY"},
		{"KeyctlSearch(@s, revd) with @p", search("revd"), "EKEYREVOKED"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}
}

// R4.3d (Ex-38): an expired keyring is still descended into, while using
// it directly fails EKEYEXPIRED.
func TestExpiredKeyringStillSearched(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	r := addKey(t, th, "keyring", "expring", "", atS)
	k := addKey(t, th, "user", "inexpring", "v", r)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_SET_TIMEOUT, r, 1), "KEYCTL_SET_TIMEOUT(expring, 1)")
	sys.Advance(1500 * time.Millisecond)

	got, err := reqNull(th, "user", "inexpring", 0)
	assert.NoError(t, err, "request_key(inexpring) through an expired keyring")
	assert.Equal(t, k, got, "request_key(inexpring)")
	got, err = th.KeyctlSearch(atS, "user", "inexpring", 0)
	assert.NoError(t, err, "KeyctlSearch(@s, inexpring)")
	assert.Equal(t, k, got, "KeyctlSearch(@s, inexpring)")
	_, err = th.KeyctlSearch(r, "user", "inexpring", 0)
	assert.Equal(t, "EKEYEXPIRED", ename(err), "KeyctlSearch(expring, inexpring)")
	assert.Equal(t, "error EKEYEXPIRED", describe(th, r), "Describe(expring)")
}

// R4.3d: a revoked keyring is emptied and never descended into; every
// operation on it fails EKEYREVOKED (Ex-26).
func TestRevokedKeyring(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "clr", "v", atS)
	r := addKey(t, th, "keyring", "rv", "", atS)
	addKey(t, th, "user", "inrv", "v", r)
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, r), "KEYCTL_REVOKE(rv)")
	assert.Contains(t, procLine(sys, th, "rv:"), "IR-Q--- * expd 3f010000     0     0 keyring   rv: empty", "/proc/keys rv after revoke")

	_, err := th.AddKey("user", "x", []byte("v"), r)
	assert.Equal(t, "EKEYREVOKED", ename(err), "AddKey into a revoked keyring")
	_, err = th.KeyctlSearch(r, "user", "inrv", 0)
	assert.Equal(t, "EKEYREVOKED", ename(err), "KeyctlSearch(revoked, inrv)")
	_, err = readKey(th, r)
	assert.Equal(t, "EKEYREVOKED", ename(err), "Read(revoked keyring)")
	assert.Equal(t, "EKEYREVOKED", keyctl(th, emu.KEYCTL_LINK, k, r), "KEYCTL_LINK(k, revoked)")
	assert.Equal(t, "EKEYREVOKED", keyctl(th, emu.KEYCTL_UNLINK, k, r), "KEYCTL_UNLINK(k, revoked)")
	assert.Equal(t, "EKEYREVOKED", keyctl(th, emu.KEYCTL_CLEAR, r), "KEYCTL_CLEAR(revoked)")
	assert.Equal(t, "error EKEYREVOKED", describe(th, r), "Describe(revoked keyring)")
}

// R4.3c, R5.5b (Ex-21): a chain built top-down can be deeper than the
// search limit; request_key from the session finds keys in keyrings down
// to depth 6 only (session = 0), KEYCTL_SEARCH counts from its own root,
// and a depth-7 keyring is possessed although its contents are not.
func TestSearchDepthLimit(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	var rings [10]int
	var keys [10]int
	for i := 1; i <= 9; i++ {
		n := strconv.Itoa(i)
		rings[i] = addKey(t, th, "keyring", "t"+n, "", atS)
		keys[i] = addKey(t, th, "user", "d"+n, "x", rings[i])
	}
	for i := 2; i <= 9; i++ {
		require.Equal(t, "OK", keyctl(th, emu.KEYCTL_LINK, rings[i], rings[i-1]), "KEYCTL_LINK(t%d, t%d)", i, i-1)
	}
	for i := 2; i <= 9; i++ {
		require.Equal(t, "OK", keyctl(th, emu.KEYCTL_UNLINK, rings[i], atS), "KEYCTL_UNLINK(t%d, @s)", i)
	}
	// R5.5a: t5 is reachable from t1.
	assert.Equal(t, "EDEADLK", keyctl(th, emu.KEYCTL_LINK, rings[1], rings[5]), "KEYCTL_LINK(t1, t5)")

	for i := 1; i <= 9; i++ {
		got, err := reqNull(th, "user", "d"+strconv.Itoa(i), 0)
		if i <= 6 {
			if assert.NoError(t, err, "request_key(d%d): keyring at depth %d", i, i) {
				assert.Equal(t, keys[i], got, "request_key(d%d)", i)
			}
		} else {
			assert.Equal(t, "ENOKEY", ename(err), "request_key(d%d): keyring at depth %d", i, i)
		}
	}
	for _, tc := range []struct {
		root, key int
		found     bool
	}{
		{2, 8, true}, {2, 9, false}, {1, 7, true}, {1, 8, false},
	} {
		got, err := th.KeyctlSearch(rings[tc.root], "user", "d"+strconv.Itoa(tc.key), 0)
		if tc.found {
			if assert.NoError(t, err, "KeyctlSearch(t%d, d%d)", tc.root, tc.key) {
				assert.Equal(t, keys[tc.key], got, "KeyctlSearch(t%d, d%d)", tc.root, tc.key)
			}
		} else {
			assert.Equal(t, "ENOKEY", ename(err), "KeyctlSearch(t%d, d%d)", tc.root, tc.key)
		}
	}
	// R4.7: t7 is an entry of the depth-6 keyring, so possessed; t8 is not.
	_, err := th.KeyctlGetKeyringID(rings[7], false)
	assert.NoError(t, err, "GetKeyringID(t7)")
	_, err = th.KeyctlGetKeyringID(rings[8], false)
	assert.Equal(t, "EACCES", ename(err), "GetKeyringID(t8)")
}

// R5.5a, R5.5b (Ex-10): linking a keyring whose own subtree is 8 keyrings
// deep fails ELOOP (7 is fine); self-links and cycles fail EDEADLK.
func TestLinkDepthAndCycles(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	var r [10]int
	for i := range r {
		r[i] = addKey(t, th, "keyring", "r"+strconv.Itoa(i), "", atS)
	}
	for _, tc := range []struct {
		key, ring int
		want      string
	}{
		{9, 8, "OK"}, {8, 7, "OK"}, {7, 6, "OK"}, {6, 5, "OK"}, {5, 4, "OK"}, {4, 3, "OK"},
		{3, 2, "OK"}, {2, 1, "ELOOP"}, {1, 0, "OK"}, {0, 5, "OK"}, {0, 0, "EDEADLK"},
	} {
		assert.Equal(t, tc.want, keyctl(th, emu.KEYCTL_LINK, r[tc.key], r[tc.ring]), "KEYCTL_LINK(r%d, r%d)", tc.key, tc.ring)
	}
	assert.Equal(t, "EDEADLK", keyctl(th, emu.KEYCTL_LINK, r[5], r[9]), "KEYCTL_LINK(r5, r9): r9 reachable from r5")
}

// R5.5c (Ex-40): keyrings have no capacity limit beyond the owner's quota.
func TestKeyringCapacity(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	for i := 1; i <= 1200; i++ {
		addKey(t, th, "user", "cap"+strconv.Itoa(i), "v", atS)
	}
	n, err := th.KeyctlBuffer(emu.KEYCTL_READ, atS, nil, 0)
	require.NoError(t, err, "KEYCTL_READ(@s, NULL)")
	assert.Equal(t, 4800, n, "KEYCTL_READ(@s, NULL) size with 1200 links")
}

// R4.7, R4.7a, R9.1 (Ex-32): /proc/keys shows a key the reader may only
// view as possessor while it is possessed, and hides it once it is linked
// only from a keyring the reader does not possess.
func TestProcKeysCountsPossession(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "posview", "v", atS)
	require.NoError(t, th.KeyctlSetperm(k, 0x3f000000), "KeyctlSetperm(posview, 0x3f000000)")
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_CHOWN, k, 50231, -1), "KEYCTL_CHOWN(posview, 50231, -1)")
	assert.Contains(t, procLine(sys, th, "posview"), "I--Q--- * perm 3f000000 50231     0 user      posview: 1", "/proc/keys posview while possessed")

	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_LINK, k, atU), "KEYCTL_LINK(posview, @u)")
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_UNLINK, k, atS), "KEYCTL_UNLINK(posview, @s)")
	assert.Empty(t, procLine(sys, th, "posview"), "/proc/keys posview linked only from @u")
	assert.Equal(t, "error EACCES", describe(th, k), "Describe(posview) not possessed")
	assert.Equal(t, "EACCES", keyctl(th, emu.KEYCTL_LINK, k, atS), "KEYCTL_LINK(posview, @s) not possessed")
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_UNLINK, k, atU), "KEYCTL_UNLINK(posview, @u)")
}

// R4.3f, R4.7: what a search from a possessed keyring finds is possessed,
// so its possessor bits apply; by serial it is possessed only if the
// process keyrings reach it.
func TestPossessionBySerial(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50232)
	joinAnon(t, th)
	r := addKey(t, th, "keyring", "holder", "", atS)
	k := addKey(t, th, "user", "poss", "secret", r)
	require.NoError(t, th.KeyctlSetperm(k, 0x3f000000), "KeyctlSetperm(poss, 0x3f000000)")
	b, err := readKey(th, k)
	if assert.NoError(t, err, "Read(poss) reached through @s") {
		assert.Equal(t, "secret", string(b), "Read(poss)")
	}
	// Without Search on the holder the path is cut, and k is no longer
	// possessed (measured on 6.18 as uid 50232).
	require.NoError(t, th.KeyctlSetperm(r, 0x37010000), "KeyctlSetperm(holder, 0x37010000)")
	_, err = readKey(th, k)
	assert.Equal(t, "EACCES", ename(err), "Read(poss) with the path's Search removed")
	assert.Equal(t, "error EACCES", describe(th, k), "Describe(poss) not possessed")
}
