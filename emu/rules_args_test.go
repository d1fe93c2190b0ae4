package emu_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/keyemu/keyemu/emu"
)

// addRaw is add_key(2) with C arguments: payload nil is a NULL pointer.
func addRaw(th *emu.Thread, typ, desc emu.Arg, payload []byte, plen, ringID int) (int, error) {
	p := emu.Null()
	if payload != nil {
		p = emu.Buffer(payload)
	}
	return th.Syscall(emu.SYS_ADD_KEY, typ, desc, p, emu.Int(plen), emu.Int(ringID))
}

func bytesOf(n int) []byte { return []byte(strings.Repeat("x", n)) }

// R1.3, R1.12, R1.14-R1.16, R5.1, R5.1a, R5.1b, R5.2 (Ex-8): argument
// limits of add_key, request_key, KEYCTL_UPDATE and KEYCTL_SEARCH.
func TestArgumentLimits(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	u := addKey(t, th, "user", "upd", "x", atS)
	r := addKey(t, th, "keyring", "ring2", "", atS)
	str := emu.String
	for _, tc := range []struct {
		name string
		call func() (int, error)
		want string
	}{
		{"add user S:4095", func() (int, error) { return th.AddKey("user", strings.Repeat("d", 4095), []byte("x"), atS) }, "OK"},
		{"add user S:4096", func() (int, error) { return th.AddKey("user", strings.Repeat("d", 4096), []byte("x"), atS) }, "EINVAL"},
		{"add type of 31 bytes", func() (int, error) { return th.AddKey(strings.Repeat("d", 31), "d", []byte("x"), atS) }, "ENODEV"},
		{"add type of 32 bytes", func() (int, error) { return th.AddKey(strings.Repeat("d", 32), "d", []byte("x"), atS) }, "EINVAL"},
		{"add .foo", func() (int, error) { return th.AddKey(".foo", "d", []byte("x"), atS) }, "EPERM"},
		{"add nosuchtype", func() (int, error) { return th.AddKey("nosuchtype", "d", []byte("x"), atS) }, "ENODEV"},
		{"add user payload 32767", func() (int, error) { return th.AddKey("user", "d", bytesOf(32767), atS) }, "OK"},
		{"add user payload 32768", func() (int, error) { return th.AddKey("user", "d", bytesOf(32768), atS) }, "EINVAL"},
		{"add user empty payload", func() (int, error) { return addRaw(th, str("user"), str("d2"), nil, 0, atS) }, "EINVAL"},
		{"add user plen 1048575", func() (int, error) { return addRaw(th, str("user"), str("d3"), bytesOf(1048575), 1048575, atS) }, "EINVAL"},
		{"add user plen 1048576", func() (int, error) { return addRaw(th, str("user"), str("d3"), bytesOf(1048576), 1048576, atS) }, "EINVAL"},
		{"add user NULL description", func() (int, error) { return addRaw(th, str("user"), emu.Null(), []byte("x"), 1, atS) }, "EINVAL"},
		{"add keyring NULL description", func() (int, error) { return addRaw(th, str("keyring"), emu.Null(), nil, 0, atS) }, "EINVAL"},
		{"add keyring .ring", func() (int, error) { return th.AddKey("keyring", ".ring", nil, atS) }, "EPERM"},
		{"add keyring with payload", func() (int, error) { return th.AddKey("keyring", "ring", []byte("x"), atS) }, "EINVAL"},
		{"add logon nocolon", func() (int, error) { return th.AddKey("logon", "nocolon", []byte("x"), atS) }, "EINVAL"},
		{"add logon :x", func() (int, error) { return th.AddKey("logon", ":x", []byte("x"), atS) }, "EINVAL"},
		{"add logon a:", func() (int, error) { return th.AddKey("logon", "a:", []byte("x"), atS) }, "OK"},
		{"add big_key", func() (int, error) { return th.AddKey("big_key", "bk", []byte("x"), atS) }, "ENODEV"},
		{"update 4096", func() (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(u), emu.Buffer(bytesOf(4096)), emu.Int(4096))
		}, "OK"},
		{"update 4097", func() (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(u), emu.Buffer(bytesOf(4097)), emu.Int(4097))
		}, "EINVAL"},
		{"update keyring", func() (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_UPDATE), emu.Int(r), emu.Buffer([]byte("x")), emu.Int(1))
		}, "EOPNOTSUPP"},
		{"add into a user key", func() (int, error) { return th.AddKey("user", "d4", []byte("x"), u) }, "ENOTDIR"},
		{"request_key nosuchtype", func() (int, error) { return reqNull(th, "nosuchtype", "d", 0) }, "ENOKEY"},
		{"request_key keyring ring2", func() (int, error) { return reqNull(th, "keyring", "ring2", 0) }, "OK"},
		{"request_key keyring with callout", func() (int, error) { return th.RequestKey("keyring", "zz", "callout", 0) }, "EPERM"},
		{"search nosuchtype", func() (int, error) { return th.KeyctlSearch(atS, "nosuchtype", "d", 0) }, "ENOKEY"},
		{"request_key S:4096", func() (int, error) { return reqNull(th, "user", strings.Repeat("d", 4096), 0) }, "EINVAL"},
		{"request_key NULL description", func() (int, error) {
			return th.Syscall(emu.SYS_REQUEST_KEY, str("user"), emu.Null(), emu.Null(), emu.Int(0))
		}, "EFAULT"},
		{"search NULL description", func() (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_SEARCH), emu.Int(atS), str("user"), emu.Null(), emu.Int(0))
		}, "EFAULT"},
		{"add unreadable type", func() (int, error) { return addRaw(th, emu.Fault(), str("d"), []byte("x"), 1, atS) }, "EFAULT"},
		{"add empty type", func() (int, error) { return th.AddKey("", "d", []byte("x"), atS) }, "EINVAL"},
	} {
		_, err := tc.call()
		assert.Equal(t, tc.want, ename(err), "%s = %v, want %s", tc.name, err, tc.want)
	}
	assert.Equal(t, r, must(reqNull(th, "keyring", "ring2", 0)), "request_key(keyring, ring2) finds the keyring")
}

func must(v int, err error) int {
	if err != nil {
		return -1
	}
	return v
}

// R5.2 step order, R2.10, R3.2 (Ex-8b): plen is checked before the type,
// the destination before the type lookup; @g, 0 and -9 are EINVAL, @a and
// @r without authority ENOKEY.
func TestCheckOrderAndSpecialIDs(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	str := emu.String
	for _, tc := range []struct {
		name string
		call func() (int, error)
		want string
	}{
		{"add nosuchtype plen 1048576", func() (int, error) { return addRaw(th, str("nosuchtype"), str("d"), bytesOf(1048576), 1048576, atS) }, "EINVAL"},
		{"add nosuchtype plen 1048575", func() (int, error) { return addRaw(th, str("nosuchtype"), str("d"), bytesOf(1048575), 1048575, atS) }, "ENODEV"},
		{"add nosuchtype to 12345", func() (int, error) { return th.AddKey("nosuchtype", "d", []byte("x"), 12345) }, "ENOKEY"},
		{"add nosuchtype to @g", func() (int, error) { return th.AddKey("nosuchtype", "d", []byte("x"), atG) }, "EINVAL"},
		{"add user to @g", func() (int, error) { return th.AddKey("user", "d", []byte("x"), atG) }, "EINVAL"},
		{"add user to -9", func() (int, error) { return th.AddKey("user", "d", []byte("x"), -9) }, "EINVAL"},
		{"add user to 0", func() (int, error) { return th.AddKey("user", "d", []byte("x"), 0) }, "EINVAL"},
		{"getid @g 1", func() (int, error) { return th.KeyctlGetKeyringID(atG, true) }, "EINVAL"},
		{"getid -9", func() (int, error) { return th.KeyctlGetKeyringID(-9, false) }, "EINVAL"},
		{"getid 0", func() (int, error) { return th.KeyctlGetKeyringID(0, false) }, "EINVAL"},
		{"getid @a", func() (int, error) { return th.KeyctlGetKeyringID(atA, false) }, "ENOKEY"},
		{"getid @r", func() (int, error) { return th.KeyctlGetKeyringID(atR, false) }, "ENOKEY"},
		{"getid @t", func() (int, error) { return th.KeyctlGetKeyringID(atT, false) }, "ENOKEY"},
		{"getid @p", func() (int, error) { return th.KeyctlGetKeyringID(atP, false) }, "ENOKEY"},
	} {
		_, err := tc.call()
		assert.Equal(t, tc.want, ename(err), "%s = %v, want %s", tc.name, err, tc.want)
	}
}

// R5.1c, op 31 (Ex-16): KEYCTL_CAPABILITIES returns eb 03 and zero-fills;
// unknown and compiled-out operations are EOPNOTSUPP; PKEY_QUERY with a
// non-zero arg3 is EINVAL.
func TestCapabilitiesAndUnknownOps(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	buf := []byte{0xff, 0xff, 0xff, 0xff}
	n, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_CAPABILITIES), emu.Buffer(buf), emu.Int(len(buf)))
	if assert.NoError(t, err, "KEYCTL_CAPABILITIES(buf[4])") {
		assert.Equal(t, 2, n, "KEYCTL_CAPABILITIES(buf[4]) length")
		assert.Equal(t, []byte{0xeb, 0x03, 0, 0}, buf, "KEYCTL_CAPABILITIES(buf[4]) bytes")
	}
	for _, tc := range []struct {
		name string
		args []int
		want string
	}{
		{"op 33", []int{33}, "EOPNOTSUPP"},
		{"WATCH_KEY", []int{emu.KEYCTL_WATCH_KEY, atS, 0, 0}, "EOPNOTSUPP"},
		{"DH_COMPUTE", []int{emu.KEYCTL_DH_COMPUTE, 0, 0, 0, 0}, "EOPNOTSUPP"},
		{"op -1", []int{-1}, "EOPNOTSUPP"},
		{"PKEY_QUERY arg3 1", []int{emu.KEYCTL_PKEY_QUERY, 1, 1, 0, 0}, "EINVAL"},
	} {
		var a [5]int
		copy(a[:], tc.args)
		_, err := th.KeyctlInt(a[0], a[1], a[2], a[3], a[4])
		assert.Equal(t, tc.want, ename(err), "keyctl(%v)", tc.args)
	}
}

// op 17 (Ex-15): with no LSM label GET_SECURITY returns 1 and "".
func TestGetSecurity(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "sec", "v", atS)
	buf := []byte{'#', '#'}
	n, err := th.KeyctlBuffer(emu.KEYCTL_GET_SECURITY, k, buf, 0)
	if assert.NoError(t, err, "KeyctlBuffer(KEYCTL_GET_SECURITY)") {
		assert.Equal(t, 1, n, "KeyctlBuffer(KEYCTL_GET_SECURITY) length")
		assert.Equal(t, byte(0), buf[0], "KeyctlBuffer(KEYCTL_GET_SECURITY) byte 0")
	}
}

// op 0, op 5 (Ex-19): GET_KEYRING_ID works on any key; serials 1, 2 and
// unused ones are ENOKEY; SETPERM rejects bits outside 0x3f3f3f3f.
func TestGetKeyringIDAndSetpermBits(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "gid", "v", atS)
	assert.Equal(t, k, getID(t, th, k, false), "GetKeyringID(user key)")
	for _, id := range []int{1, 2, 2147483647} {
		_, err := th.KeyctlGetKeyringID(id, false)
		if id != k {
			assert.Equal(t, "ENOKEY", ename(err), "GetKeyringID(%d)", id)
		}
	}
	for _, tc := range []struct {
		perm uint32
		want string
	}{
		{0x40000000, "EINVAL"},
		{0x00800000, "EINVAL"},
		{0x3f3f3f3f, "OK"},
		{0, "OK"},
	} {
		assert.Equal(t, tc.want, ename(th.KeyctlSetperm(k, tc.perm)), "KeyctlSetperm(k, %#x)", tc.perm)
	}
}

// op 11 (Ex-11, Ex-28): a buffer too small gets nothing but the full size
// is returned; keyring reads need a multiple of 4; bad IDs read as ENOKEY.
func TestReadBuffers(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "rd", "0123456789", atS)
	read := func(id, n int) (int, string, error) {
		buf := []byte(strings.Repeat("#", n))
		r, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_READ), emu.Int(id), emu.Buffer(buf), emu.Int(n))
		return r, string(buf), err
	}
	for _, tc := range []struct {
		id, n   int
		want    int
		wantBuf string
		wantErr string
	}{
		{k, 4, 10, "####", "OK"},
		{k, 10, 10, "0123456789", "OK"},
		{k, 12, 10, "0123456789##", "OK"},
		{k, 0, 10, "", "OK"},
		{atS, 6, -1, "######", "EINVAL"},
		{atS, 4, 4, "", "OK"},
		{atS, 8, 4, "", "OK"},
		{atS, 0, 4, "", "OK"},
		{atG, 4, -1, "####", "ENOKEY"},
		{0, 4, -1, "####", "ENOKEY"},
		{-9, 4, -1, "####", "ENOKEY"},
		{atT, 4, -1, "####", "ENOKEY"},
	} {
		got, buf, err := read(tc.id, tc.n)
		assert.Equal(t, tc.wantErr, ename(err), "KEYCTL_READ(%d, buf[%d])", tc.id, tc.n)
		if err == nil {
			assert.Equal(t, tc.want, got, "KEYCTL_READ(%d, buf[%d]) length", tc.id, tc.n)
		}
		if tc.wantBuf != "" {
			assert.Equal(t, tc.wantBuf, buf, "KEYCTL_READ(%d, buf[%d]) buffer", tc.id, tc.n)
		}
	}
	addKey(t, th, "user", "rd2", "x", atS)
	got, _, err := read(atS, 4)
	assert.NoError(t, err, "KEYCTL_READ(@s, buf[4]) with two keys")
	assert.Equal(t, 8, got, "KEYCTL_READ(@s, buf[4]) with two keys: full size")

	// R1.15: logon keys cannot be read.
	l := addKey(t, th, "logon", "svc:ldesc", "data", atS)
	_, err = readKey(th, l)
	assert.Equal(t, "EOPNOTSUPP", ename(err), "KEYCTL_READ(logon key)")
}

// op 6: DESCRIBE returns the length with the NUL and copies all or
// nothing.
func TestDescribeBuffer(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	joinAnon(t, th)
	k := addKey(t, th, "user", "dsc", "v", atS)
	const want = "user;0;0;3f010000;dsc"
	for _, n := range []int{0, 5, len(want), len(want) + 1, 64} {
		buf := []byte(strings.Repeat("#", n))
		got, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_DESCRIBE), emu.Int(k), emu.Buffer(buf), emu.Int(n))
		if !assert.NoError(t, err, "KEYCTL_DESCRIBE(k, buf[%d])", n) {
			continue
		}
		assert.Equal(t, len(want)+1, got, "KEYCTL_DESCRIBE(k, buf[%d]) length", n)
		if n > len(want) {
			assert.Equal(t, want+"\x00", string(buf[:len(want)+1]), "KEYCTL_DESCRIBE(k, buf[%d]) text", n)
		} else {
			assert.Equal(t, strings.Repeat("#", n), string(buf), "KEYCTL_DESCRIBE(k, buf[%d]) untouched", n)
		}
	}
}

// op 4 (Ex-43): CHOWN with both IDs -1 succeeds without looking the key
// up; anything else looks it up.
func TestChownBothMinusOne(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := proc(sys, 0)
	assert.Equal(t, "OK", keyctl(th, emu.KEYCTL_CHOWN, 12345, -1, -1), "KEYCTL_CHOWN(12345, -1, -1)")
	assert.Equal(t, "ENOKEY", keyctl(th, emu.KEYCTL_CHOWN, 12345, 0, -1), "KEYCTL_CHOWN(12345, 0, -1)")
	assert.Equal(t, "ENOKEY", keyctl(th, emu.KEYCTL_SETPERM, 12345, 0x3f000000), "KEYCTL_SETPERM(12345)")
}
