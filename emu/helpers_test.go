package emu_test

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// Special IDs in keyctl(1) spelling, for readable tables.
const (
	atT  = emu.KEY_SPEC_THREAD_KEYRING
	atP  = emu.KEY_SPEC_PROCESS_KEYRING
	atS  = emu.KEY_SPEC_SESSION_KEYRING
	atU  = emu.KEY_SPEC_USER_KEYRING
	atUS = emu.KEY_SPEC_USER_SESSION_KEYRING
	atG  = emu.KEY_SPEC_GROUP_KEYRING
	atA  = emu.KEY_SPEC_REQKEY_AUTH_KEY
	atR  = emu.KEY_SPEC_REQUESTOR_KEYRING
)

// gcDelay is the default /proc/sys/kernel/keys/gc_delay.
const gcDelay = 300 * time.Second

// ename names the result of a call: "OK" for success, else the errno's C
// name ("ENOKEY").
func ename(err error) string {
	if err == nil {
		return "OK"
	}
	return emu.ErrnoName(err)
}

// proc starts a process with uid and gid both id and no supplementary
// groups, as `setpriv --reuid=id --regid=id --clear-groups` does.
func proc(sys *emu.System, id uint32) *emu.Thread {
	return sys.NewProcess(emu.Creds{UID: id, GID: id}).Main()
}

// getID is KEYCTL_GET_KEYRING_ID that must succeed.
func getID(t *testing.T, th *emu.Thread, id int, create bool) int {
	t.Helper()
	r, err := th.KeyctlGetKeyringID(id, create)
	require.NoError(t, err, "KeyctlGetKeyringID(%d, %v)", id, create)
	return r
}

// describe is KEYCTL_DESCRIBE: "type;uid;gid;perm;description", or the
// errno name prefixed by "error " so that tables can hold both.
func describe(th *emu.Thread, id int) string {
	s, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, id)
	if err != nil {
		return "error " + ename(err)
	}
	return s
}

// mustDescribe is KEYCTL_DESCRIBE that must succeed.
func mustDescribe(t *testing.T, th *emu.Thread, id int) string {
	t.Helper()
	s, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, id)
	require.NoError(t, err, "KeyctlString(KEYCTL_DESCRIBE, %d)", id)
	return s
}

// descName returns the description field of a KEYCTL_DESCRIBE string.
func descName(d string) string {
	parts := strings.SplitN(d, ";", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// readKey is KEYCTL_READ into a buffer of exactly the payload's size.
func readKey(th *emu.Thread, id int) ([]byte, error) {
	n, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, nil, 0)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	m, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	if err != nil {
		return nil, err
	}
	return buf[:m], nil
}

// ring returns the serials linked in keyring id, sorted: keyring read order
// is not specified (R1.13).
func ring(t *testing.T, th *emu.Thread, id int) []int {
	t.Helper()
	b, err := readKey(th, id)
	require.NoError(t, err, "KEYCTL_READ(%d)", id)
	out := []int{}
	for i := 0; i+4 <= len(b); i += 4 {
		out = append(out, int(int32(binary.NativeEndian.Uint32(b[i:]))))
	}
	slices.Sort(out)
	return out
}

// ringNames returns the descriptions of the keys linked in keyring id,
// sorted.
func ringNames(t *testing.T, th *emu.Thread, id int) []string {
	t.Helper()
	out := []string{}
	for _, k := range ring(t, th, id) {
		out = append(out, descName(mustDescribe(t, th, k)))
	}
	slices.Sort(out)
	return out
}

// ints returns its arguments sorted, for comparison with ring.
func ints(v ...int) []int {
	out := append([]int{}, v...)
	slices.Sort(out)
	return out
}

// addKey is add_key(2) that must succeed.
func addKey(t *testing.T, th *emu.Thread, typ, desc, payload string, ringID int) int {
	t.Helper()
	var p []byte
	if payload != "" {
		p = []byte(payload)
	}
	id, err := th.AddKey(typ, desc, p, ringID)
	require.NoError(t, err, "AddKey(%q, %q, %q, %d)", typ, desc, payload, ringID)
	return id
}

// reqNull is request_key(2) with a NULL callout: search only (R5.4b).
func reqNull(th *emu.Thread, typ, desc string, dest int) (int, error) {
	return th.Syscall(emu.SYS_REQUEST_KEY, emu.String(typ), emu.String(desc), emu.Null(), emu.Int(dest))
}

// joinAnon is KEYCTL_JOIN_SESSION_KEYRING(NULL).
func joinAnon(t *testing.T, th *emu.Thread) int {
	t.Helper()
	id, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null())
	require.NoError(t, err, "KEYCTL_JOIN_SESSION_KEYRING(NULL)")
	return id
}

// keyctl is keyctl(2) with integer arguments, returning only the error
// name ("OK" on success).
func keyctl(th *emu.Thread, cmd int, args ...int) string {
	var a [4]int
	copy(a[:], args)
	_, err := th.KeyctlInt(cmd, a[0], a[1], a[2], a[3])
	return ename(err)
}

// procLine returns the /proc/keys line (as viewer reads it) of the key
// whose description field starts with desc, or "" if there is none. The
// usage column, which tests must not pin (R8.4), is replaced by "*".
func procLine(sys *emu.System, viewer *emu.Thread, desc string) string {
	for _, l := range strings.Split(sys.ProcKeys(viewer), "\n") {
		if len(l) > 59 && strings.HasPrefix(l[59:], desc) {
			return l[:17] + "*" + l[22:]
		}
	}
	return ""
}

// keyUsers returns the /proc/key-users line of uid without its usage
// column ("nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes"), or "" when the
// UID has no record.
func keyUsers(sys *emu.System, uid string) string {
	for _, l := range strings.Split(sys.ProcKeyUsers(nil), "\n") {
		f := strings.Fields(l)
		if len(f) == 5 && f[0] == uid+":" {
			return strings.Join(f[2:], " ")
		}
	}
	return ""
}
