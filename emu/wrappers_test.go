package emu_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/keyemu/keyemu/emu"
	"pgregory.net/rapid"
)

// The x/sys wrappers' lookups and add_key reach the model without building
// the argument array; what they return and write must be what the same
// call made through Syscall returns and writes. Two systems with the same seed
// are driven alike, one through the wrappers, one through Syscall as x/sys
// makes it: a string that holds a NUL gets 0 and EINVAL without a call.
func TestWrapperLookupsMatchSyscall(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var threads [2][]*emu.Thread
		var systems [2]*emu.System
		for side := range threads {
			sys := emu.New(emu.Config{Seed: 7})
			systems[side] = sys
			for _, uid := range []uint32{1000, 1001} {
				th := sys.NewProcess(emu.Creds{UID: uid, GID: uid}).Main()
				threads[side] = append(threads[side], th)
			}
		}
		ids := []int{0, 1, 12345, emu.KEY_SPEC_THREAD_KEYRING, emu.KEY_SPEC_PROCESS_KEYRING, emu.KEY_SPEC_SESSION_KEYRING,
			emu.KEY_SPEC_USER_KEYRING, emu.KEY_SPEC_USER_SESSION_KEYRING, emu.KEY_SPEC_GROUP_KEYRING,
			emu.KEY_SPEC_REQKEY_AUTH_KEY, emu.KEY_SPEC_REQUESTOR_KEYRING}
		for step := range rapid.IntRange(1, 40).Draw(t, "steps") {
			who := rapid.IntRange(0, 1).Draw(t, "thread")
			id := rapid.SampledFrom(ids).Draw(t, "id")
			var results [2][2]int
			var errs [2]error
			var bufs [2][]byte
			switch what := rapid.IntRange(0, 6).Draw(t, "what"); what {
			case 0:
				// A key to look up, with a random mask, in a keyring of the
				// thread's; failures happen alike on both sides.
				desc := rapid.SampledFrom([]string{"a", "b", "long-description-1", "long-description-2", "a\x00b", ""}).Draw(t, "desc")
				typ := rapid.SampledFrom([]string{"user", "keyring", "logon", "", ".x"}).Draw(t, "type")
				perm := rapid.Uint32().Draw(t, "perm") & 0x3f3f3f3f
				for side := range threads {
					th := threads[side][who]
					var payload []byte
					if typ != "keyring" {
						payload = []byte(desc)
					}
					// add_key through the wrapper, or as x/sys builds it.
					var r int
					var err error
					if side == 0 {
						r, err = th.AddKey(typ, desc, payload, id)
					} else if hasNUL(typ, desc) {
						r, err = 0, emu.EINVAL
					} else {
						p := payload
						if len(p) == 0 {
							p = []byte{}
						}
						r, err = th.Syscall(emu.SYS_ADD_KEY, emu.String(typ), emu.String(desc), emu.Buffer(p), emu.Int(len(payload)), emu.Int(id))
					}
					if err == nil {
						_, _ = th.KeyctlInt(emu.KEYCTL_SETPERM, r, int(perm), 0, 0)
					}
					results[side][0], errs[side] = r, err
				}
				if err := errs[0]; err == nil {
					ids = append(ids, results[0][0])
				}
			case 1, 2, 3:
				op := []int{emu.KEYCTL_READ, emu.KEYCTL_DESCRIBE, emu.KEYCTL_GET_SECURITY}[what-1]
				n := rapid.IntRange(0, 48).Draw(t, "len")
				for side := range threads {
					th := threads[side][who]
					buf := make([]byte, n)
					if side == 0 {
						results[side][0], errs[side] = th.KeyctlBuffer(op, id, buf, 0)
					} else {
						results[side][0], errs[side] = th.Syscall(emu.SYS_KEYCTL, emu.Int(op), emu.Int(id), emu.Buffer(buf), emu.Int(n), emu.Int(0))
					}
					bufs[side] = buf
				}
			case 4:
				typ := rapid.SampledFrom([]string{"user", "keyring", "logon", "nope", ""}).Draw(t, "search type")
				desc := rapid.SampledFrom([]string{"a", "b", "long-description-1", "", "x\x00y"}).Draw(t, "search desc")
				for side := range threads {
					th := threads[side][who]
					if side == 0 {
						results[side][0], errs[side] = th.KeyctlSearch(id, typ, desc, 0)
					} else if hasNUL(typ, desc) {
						results[side][0], errs[side] = 0, emu.EINVAL
					} else {
						results[side][0], errs[side] = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_SEARCH), emu.Int(id), emu.String(typ), emu.String(desc), emu.Int(0))
					}
				}
			case 5:
				// Injected faults count calls: both paths meet them alike.
				f := emu.InjectedFault{
					Syscall: emu.SYS_KEYCTL,
					Ops:     []int{rapid.SampledFrom([]int{emu.KEYCTL_READ, emu.KEYCTL_DESCRIBE, emu.KEYCTL_SEARCH}).Draw(t, "fault op")},
					After:   rapid.IntRange(0, 2).Draw(t, "after"),
					Times:   rapid.IntRange(0, 2).Draw(t, "times"),
					Err:     emu.EIO,
				}
				if rapid.Bool().Draw(t, "no faults") {
					f = emu.InjectedFault{}
				}
				for _, sys := range systems {
					if f.Err == 0 {
						sys.SetFaults(nil)
					} else {
						sys.SetFaults([]emu.InjectedFault{f})
					}
				}
			case 6:
				// An exited thread's calls fail ESRCH on both paths.
				if rapid.IntRange(0, 4).Draw(t, "exit") == 0 {
					for side := range threads {
						threads[side][who].Process().Exit()
					}
				}
			}
			if results[0] != results[1] || errs[0] != errs[1] || string(bufs[0]) != string(bufs[1]) {
				t.Fatalf("step %d: wrapper gave %v, %v, %q; Syscall %v, %v, %q", step, results[0], errs[0], bufs[0], results[1], errs[1], bufs[1])
			}
		}
	})
}

// hasNUL reports whether one of strs holds a NUL, which x/sys's wrappers
// refuse (BytePtrFromString).
func hasNUL(strs ...string) bool {
	for _, s := range strs {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// A thread that has exited makes no more calls: its lookups fail ESRCH on
// the shared path as on the exclusive one, through the wrappers and
// through Syscall.
func TestExitedThreadLookupsFail(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	id, err := th.AddKey("user", "k", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		t.Fatal(err)
	}
	other := th.Clone()
	other.Exit()
	buf := make([]byte, 64)
	for name, call := range map[string]func() (int, error){
		"KeyctlBuffer(READ)":     func() (int, error) { return other.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0) },
		"KeyctlBuffer(DESCRIBE)": func() (int, error) { return other.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id, buf, 0) },
		"KeyctlSearch":           func() (int, error) { return other.KeyctlSearch(emu.KEY_SPEC_SESSION_KEYRING, "user", "k", 0) },
		"Syscall(DESCRIBE)": func() (int, error) {
			return other.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_DESCRIBE), emu.Int(id), emu.Buffer(buf), emu.Int(len(buf)))
		},
		"Syscall(request_key)": func() (int, error) {
			return other.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String("k"), emu.Null(), emu.Int(0))
		},
	} {
		if r, err := call(); err != emu.ESRCH {
			t.Errorf("%s on an exited thread = %d, %v; want ESRCH", name, r, err)
		}
	}
}

// The x/sys wrappers refuse a string that holds a NUL with 0 and EINVAL,
// without a call (BytePtrFromString); the emulated thread's do too, and
// change nothing: no key under the string cut at its NUL. On Linux the
// real wrappers (Host) answer the same.
func TestWrappersRefuseNULStrings(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	ring, err := th.AddKey("keyring", "r", nil, emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		t.Fatal(err)
	}
	// found holds the key that a search for the strings cut at their NUL
	// would find.
	found, err := th.AddKey("keyring", "found", nil, emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.AddKey("user", "k", []byte("v"), found); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(k emu.Keyctl) (int, error){
		"AddKey type":     func(k emu.Keyctl) (int, error) { return k.AddKey("user\x00", "a", []byte("v"), ring) },
		"AddKey desc":     func(k emu.Keyctl) (int, error) { return k.AddKey("user", "a\x00b", []byte("v"), ring) },
		"RequestKey type": func(k emu.Keyctl) (int, error) { return k.RequestKey("user\x00x", "a", "", 0) },
		"RequestKey desc": func(k emu.Keyctl) (int, error) { return k.RequestKey("user", "a\x00b", "", ring) },
		"RequestKey callout": func(k emu.Keyctl) (int, error) {
			return k.RequestKey("user", "a", "info\x00", ring)
		},
		"KeyctlSearch type":            func(k emu.Keyctl) (int, error) { return k.KeyctlSearch(ring, "\x00", "a", 0) },
		"KeyctlSearch desc":            func(k emu.Keyctl) (int, error) { return k.KeyctlSearch(ring, "user", "a\x00", ring) },
		"KeyctlSearch type, found cut": func(k emu.Keyctl) (int, error) { return k.KeyctlSearch(found, "user\x00", "k", 0) },
		"KeyctlSearch desc, found cut": func(k emu.Keyctl) (int, error) { return k.KeyctlSearch(found, "user", "k\x00", 0) },
		"KeyctlJoinSessionKeyring": func(k emu.Keyctl) (int, error) {
			return k.KeyctlJoinSessionKeyring("s\x00")
		},
		"KeyctlRestrictKeyring type": func(k emu.Keyctl) (int, error) {
			return 0, k.KeyctlRestrictKeyring(ring, "user\x00", "")
		},
		"KeyctlRestrictKeyring restriction": func(k emu.Keyctl) (int, error) {
			return 0, k.KeyctlRestrictKeyring(ring, "keyring", "chain\x00")
		},
	}
	for name, call := range calls {
		r, err := call(th)
		if r != 0 || err != emu.EINVAL {
			t.Errorf("%s = %d, %v; want 0, EINVAL", name, r, err)
		}
		if runtime.GOOS == "linux" {
			if hr, herr := call(emu.Host()); hr != r || herr != err {
				t.Errorf("%s: x/sys gives %d, %v; the emulator %d, %v", name, hr, herr, r, err)
			}
		}
	}
	if n, err := th.KeyctlBuffer(emu.KEYCTL_READ, ring, nil, 0); n != 0 || err != nil {
		t.Errorf("the keyring holds %d bytes of serials (%v); want none", n, err)
	}
	if _, err := th.KeyctlSearch(emu.KEY_SPEC_SESSION_KEYRING, "keyring", "s", 0); err != emu.ENOKEY {
		t.Errorf("a session keyring \"s\" was joined: search = %v", err)
	}
}
