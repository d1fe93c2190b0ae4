package emu_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// quota returns "qnkeys/maxkeys qnbytes/maxbytes" of uid from
// /proc/key-users: the deterministic part of the line (R8.4).
func quota(sys *emu.System, uid string) string {
	f := strings.Fields(keyUsers(sys, uid))
	if len(f) != 3 {
		return ""
	}
	return f[1] + " " + f[2]
}

// R7.2, R7.3, R7.4 (Ex-9): the 200th key fails EDQUOT, the anonymous
// session keyring counting as one; bytes are descriptions+1, payloads and
// 4 per link; the record goes when the process has gone.
func TestQuotaKeyCount(t *testing.T) {
	sys := emu.New(emu.Config{})
	const uid = 50250
	th := proc(sys, uid)
	joinAnon(t, th)
	first := 0
	for i := 1; i <= 205; i++ {
		_, err := th.AddKey("user", "k"+strconv.Itoa(i), []byte("v"), atS)
		if err != nil {
			assert.Equal(t, "EDQUOT", ename(err), "AddKey(k%d)", i)
			if first == 0 {
				first = i
			}
		}
	}
	assert.Equal(t, 200, first, "first AddKey to fail EDQUOT")
	assert.Equal(t, "200/200 200/200 1887/20000", keyUsers(sys, "50250"), "/proc/key-users 50250")

	th.Process().Exit()
	sys.Collect()
	assert.Empty(t, keyUsers(sys, "50250"), "/proc/key-users 50250 after the process exited")
}

// R7.3, R7.6 (measured on 6.18 as uid 50233): at the key limit, thread and
// process keyrings may still be created (over the limit), but a second
// session keyring, a named one, and the user keyrings may not; the failed
// @u lookup reports ENOKEY (R2.5f).
func TestQuotaOverrunAnchors(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50251)
	joinAnon(t, th)
	for i := 1; i <= 199; i++ {
		addKey(t, th, "user", "k"+strconv.Itoa(i), "v", atS)
	}
	_, err := th.AddKey("user", "k200", []byte("v"), atS)
	require.Equal(t, "EDQUOT", ename(err), "AddKey(k200)")
	for _, tc := range []struct {
		name string
		call func() (int, error)
		want string
	}{
		{"GetKeyringID(@t, true)", func() (int, error) { return th.KeyctlGetKeyringID(atT, true) }, "OK"},
		{"GetKeyringID(@p, true)", func() (int, error) { return th.KeyctlGetKeyringID(atP, true) }, "OK"},
		{"join NULL", func() (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null())
		}, "EDQUOT"},
		{"join named", func() (int, error) { return th.KeyctlJoinSessionKeyring("named") }, "EDQUOT"},
		{"GetKeyringID(@u)", func() (int, error) { return th.KeyctlGetKeyringID(atU, false) }, "ENOKEY"},
	} {
		_, err := tc.call()
		assert.Equal(t, tc.want, ename(err), tc.name)
	}
	assert.Equal(t, "202/200 1897/20000", quota(sys, "50251"), "/proc/key-users 50251 quota")
}

// R7.3, R7.4 (Ex-9): the byte quota is enforced on add (equality allowed)
// and on update.
func TestQuotaBytes(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 50252)
	joinAnon(t, th)
	for _, tc := range []struct {
		desc string
		size int
		want string
	}{
		{"b1", 5000, "OK"}, {"b2", 5000, "OK"}, {"b3", 5000, "OK"},
		{"b4", 5000, "EDQUOT"}, {"b4", 4900, "OK"},
	} {
		_, err := th.AddKey("user", tc.desc, bytesOf(tc.size), atS)
		assert.Equal(t, tc.want, ename(err), "AddKey(%s, %d bytes)", tc.desc, tc.size)
	}
	assert.Equal(t, "5/200 19933/20000", quota(sys, "50252"), "/proc/key-users 50252 quota")
	assert.Contains(t, procLine(sys, th, "_ses"), "I--Q--- * perm 3f030000 50252 50252 keyring   _ses: 4", "/proc/keys _ses")

	c := addKey(t, th, "user", "c", strings.Repeat("x", 50), atS)
	_, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(c), emu.Buffer(bytesOf(4000)), emu.Int(4000))
	assert.Equal(t, "EDQUOT", ename(err), "KEYCTL_UPDATE(c, 4000 bytes)")
	assert.Equal(t, "6/200 19989/20000", quota(sys, "50252"), "/proc/key-users 50252 after the failed update")

	// R7.4: revoking a user key releases its payload bytes.
	require.Equal(t, "OK", keyctl(th, emu.KEYCTL_REVOKE, c), "KEYCTL_REVOKE(c)")
	assert.Equal(t, "6/200 19939/20000", quota(sys, "50252"), "/proc/key-users 50252 after revoking c")
}

// R7.4, op 7: links are charged to the keyring's owner, even when someone
// else makes them; CLEAR gives the bytes back.
func TestQuotaLinkBytesChargedToKeyringOwner(t *testing.T) {
	sys := emu.New(emu.Config{})
	owner := proc(sys, 50253)
	joinAnon(t, owner)
	r := addKey(t, owner, "keyring", "shared", "", atS)
	require.NoError(t, owner.KeyctlSetperm(r, 0x3f3f3f3f), "KeyctlSetperm(shared)")
	before := quota(sys, "50253")
	require.Equal(t, "2/200 16/20000", before, "/proc/key-users 50253 before")

	other := proc(sys, 50254)
	joinAnon(t, other)
	addKey(t, other, "user", "k", "v", r)
	assert.Equal(t, "2/200 20/20000", quota(sys, "50253"), "/proc/key-users 50253 after another uid linked into its keyring")
	assert.Equal(t, "2/200 8/20000", quota(sys, "50254"), "/proc/key-users 50254: the key itself, not the link")

	require.Equal(t, "OK", keyctl(owner, emu.KEYCTL_CLEAR, r), "KEYCTL_CLEAR(shared)")
	assert.Equal(t, before, quota(sys, "50253"), "/proc/key-users 50253 after CLEAR")
}

// op 4, R7.6: CHOWN moves the key's quota charge to the new owner.
func TestQuotaChownMovesCharge(t *testing.T) {
	sys := emu.New(emu.Config{})
	root := proc(sys, 0)
	joinAnon(t, root)
	k := addKey(t, root, "user", "moved", "12345", atS)
	require.Equal(t, "OK", keyctl(root, emu.KEYCTL_CHOWN, k, 50255, -1), "KEYCTL_CHOWN(moved, 50255, -1)")
	assert.Equal(t, "1/200 11/20000", quota(sys, "50255"), "/proc/key-users 50255 after CHOWN")
}
