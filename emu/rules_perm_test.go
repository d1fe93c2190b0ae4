package emu_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// R6.2 (Ex-13): an owner gets nothing from the other byte, and possession
// comes only through a possessed path.
func TestPermOwnerClassIsExclusive(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50240)
	joinAnon(t, th)
	k := addKey(t, th, "user", "ownertest", "v", atS)
	require.NoError(t, th.KeyctlSetperm(k, 0x0000003f), "KeyctlSetperm(ownertest, 0x3f)")
	assert.Equal(t, "error EACCES", describe(th, k), "Describe(ownertest)")
	_, err := readKey(th, k)
	assert.Equal(t, "EACCES", ename(err), "Read(ownertest)")
	_, err = th.KeyctlSearch(atS, "user", "ownertest", 0)
	assert.Equal(t, "EACCES", ename(err), "KeyctlSearch(@s, ownertest)")

	// With a session keyring, @u is not on the search path, so a key
	// added to @u is not possessed by serial: the owner byte (view) rules.
	g := addKey(t, th, "user", "grptest", "v", atU)
	assert.Equal(t, "EACCES", ename(th.KeyctlSetperm(g, 0x3f010100)), "KeyctlSetperm(key in @u) with a session keyring")
	assert.Equal(t, "user;50240;50240;3f010000;grptest", describe(th, g), "Describe(key in @u)")

	// Session-less, @u is reached through _uid_ses.N: possessed.
	th2 := proc(sys, 50240)
	g2 := addKey(t, th2, "user", "grptest2", "v", atU)
	assert.Equal(t, "OK", ename(th2.KeyctlSetperm(g2, 0x3f010100)), "KeyctlSetperm(key in @u) session-less")
}

// R6.2 (Ex-13): the group byte applies to the fsgid and supplementary
// groups; a zero group byte lets members fall through to other; a
// non-zero one excludes them from other.
func TestPermGroupClass(t *testing.T) {
	sys := emu.New(emu.Config{})
	const owner, other = 50241, 50242
	th := proc(sys, owner)
	g := addKey(t, th, "user", "grptest2", "v", atU)
	require.NoError(t, th.KeyctlSetperm(g, 0x3f010100), "KeyctlSetperm(grptest2)")
	o := addKey(t, th, "user", "othtest2", "v", atU)
	require.NoError(t, th.KeyctlSetperm(o, 0x3f010001), "KeyctlSetperm(othtest2)")
	x := addKey(t, th, "user", "grpexcl", "v", atU)
	require.NoError(t, th.KeyctlSetperm(x, 0x3f010201), "KeyctlSetperm(grpexcl)")

	member := sys.NewProcess(emu.Creds{UID: other, GID: other, Groups: []uint32{owner}}).Main()
	stranger := proc(sys, other)
	fsgid := sys.NewProcess(emu.Creds{UID: other, GID: owner}).Main()
	rd := func(th *emu.Thread, id int) string { _, err := readKey(th, id); return ename(err) }
	for _, tc := range []struct {
		name, got, want string
	}{
		{"member Describe(grptest2)", describe(member, g), "user;50241;50241;3f010100;grptest2"},
		{"member Describe(othtest2)", describe(member, o), "user;50241;50241;3f010001;othtest2"},
		{"member Read(grptest2)", rd(member, g), "EACCES"},
		{"stranger Describe(grptest2)", describe(stranger, g), "error EACCES"},
		{"stranger Describe(othtest2)", describe(stranger, o), "user;50241;50241;3f010001;othtest2"},
		{"fsgid Describe(grptest2)", describe(fsgid, g), "user;50241;50241;3f010100;grptest2"},
		{"member Describe(grpexcl)", describe(member, x), "error EACCES"},
		{"member Read(grpexcl)", rd(member, x), "OK"},
		{"stranger Describe(grpexcl)", describe(stranger, x), "user;50241;50241;3f010201;grpexcl"},
		{"stranger Read(grpexcl)", rd(stranger, x), "EACCES"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}
}

// op 4, op 5, R6.3 (Ex-14): a non-owner with Setattr cannot setperm or
// give the key away, but can chgrp to its own group and "change" the
// owner to the current one; root cannot see or change a key whose mask
// gives it nothing, but can setperm and chown one that grants it Setattr.
func TestSetpermAndChown(t *testing.T) {
	sys := emu.New(emu.Config{})
	const a, b = 50243, 50244
	owner := proc(sys, a)
	y := addKey(t, owner, "user", "permtest", "v", atU)
	require.NoError(t, owner.KeyctlSetperm(y, 0x3f3f3f3f), "KeyctlSetperm(permtest)")
	z := addKey(t, owner, "user", "permtest2", "v", atU)

	other := proc(sys, b)
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"other KeyctlSetperm(permtest)", ename(other.KeyctlSetperm(y, 0x3f3f3f3f)), "EACCES"},
		{"other KEYCTL_CHOWN(permtest, b, -1)", keyctl(other, emu.KEYCTL_CHOWN, y, b, -1), "EACCES"},
		{"other KEYCTL_CHOWN(permtest, -1, b)", keyctl(other, emu.KEYCTL_CHOWN, y, -1, b), "OK"},
		{"other Describe(permtest)", describe(other, y), "user;50243;50244;3f3f3f3f;permtest"},
		{"other KEYCTL_CHOWN(permtest, -1, 0)", keyctl(other, emu.KEYCTL_CHOWN, y, -1, 0), "EACCES"},
		{"other KEYCTL_CHOWN(permtest, a, -1)", keyctl(other, emu.KEYCTL_CHOWN, y, a, -1), "OK"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}

	root := proc(sys, 0)
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"root Describe(permtest2)", describe(root, z), "error EACCES"},
		{"root KeyctlSetperm(permtest2)", ename(root.KeyctlSetperm(z, 0x3f3f0000)), "EACCES"},
		{"root KEYCTL_CHOWN(permtest2, b, -1)", keyctl(root, emu.KEYCTL_CHOWN, z, b, -1), "EACCES"},
		{"root KeyctlSetperm(permtest)", ename(root.KeyctlSetperm(y, 0x3f3f3f3f)), "OK"},
		{"root KEYCTL_CHOWN(permtest, b, 0)", keyctl(root, emu.KEYCTL_CHOWN, y, b, 0), "OK"},
		{"root Describe(permtest)", describe(root, y), "user;50244;0;3f3f3f3f;permtest"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}
}

// R6.4 (Ex-41): LINK needs Link on the key, SEARCH with a destination
// needs Link on the found key, and add/link/unlink need Write on the
// keyring.
func TestLinkAndWritePermissions(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	r := addKey(t, th, "keyring", "lk", "", atS)
	k := addKey(t, th, "user", "lkk", "v", atS)
	require.NoError(t, th.KeyctlSetperm(k, 0x2f010000), "KeyctlSetperm(lkk, no link)")
	assert.Equal(t, "EACCES", keyctl(th, emu.KEYCTL_LINK, k, r), "KEYCTL_LINK(lkk without Link, lk)")
	_, err := th.KeyctlSearch(atS, "user", "lkk", r)
	assert.Equal(t, "EACCES", ename(err), "KeyctlSearch(@s, lkk, dest lk) without Link")

	require.NoError(t, th.KeyctlSetperm(k, 0x3f010000), "KeyctlSetperm(lkk, 0x3f010000)")
	got, err := th.KeyctlSearch(atS, "user", "lkk", r)
	if assert.NoError(t, err, "KeyctlSearch(@s, lkk, dest lk)") {
		assert.Equal(t, k, got, "KeyctlSearch(@s, lkk, dest lk)")
	}
	assert.Equal(t, ints(k), ring(t, th, r), "Read(lk) after a search linked lkk")

	require.NoError(t, th.KeyctlSetperm(r, 0x3b010000), "KeyctlSetperm(lk, no write)")
	_, err = th.AddKey("user", "w", []byte("v"), r)
	assert.Equal(t, "EACCES", ename(err), "AddKey(lk without Write)")
	assert.Equal(t, "EACCES", keyctl(th, emu.KEYCTL_LINK, k, r), "KEYCTL_LINK(lkk, lk without Write)")
	assert.Equal(t, "EACCES", keyctl(th, emu.KEYCTL_UNLINK, k, r), "KEYCTL_UNLINK(lkk, lk without Write)")
}

// op 3, R4.7: REVOKE needs Write, or Setattr when Write is refused; by
// serial the possessor bits count only if the key grants Search too
// (measured on 6.18: 0x04010000 is EACCES, 0x0c010000 and 0x28010000 OK).
func TestRevokeWriteOrSetattr(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	for _, tc := range []struct {
		perm uint32
		want string
	}{
		{0x3f010000, "OK"},
		{0x04010000, "EACCES"},
		{0x0c010000, "OK"},
		{0x28010000, "OK"},
		{0x1b010000, "EACCES"},
	} {
		k := addKey(t, th, "user", fmt.Sprintf("rv%x", tc.perm), "v", atS)
		require.NoError(t, th.KeyctlSetperm(k, tc.perm), "KeyctlSetperm(rv, %#x)", tc.perm)
		assert.Equal(t, tc.want, keyctl(th, emu.KEYCTL_REVOKE, k), "KEYCTL_REVOKE(key with perm %#x)", tc.perm)
	}
}
