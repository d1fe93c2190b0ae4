package emu

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fuzzReader turns fuzzer bytes into choices; past the end it yields zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) int32() int32 {
	var v [4]byte
	for i := range v {
		v[i] = r.byte()
	}
	return int32(binary.LittleEndian.Uint32(v[:]))
}

func (r *fuzzReader) pick(n int) int { return int(r.byte()) % n }

var (
	fuzzTypes = []string{"user", "logon", "keyring", "big_key", "", ".request_key_auth", "asymmetric", "keyring\x00x", "u\xff"}
	fuzzDescs = []string{"a", "b:c", "_uid.1000", "_uid_ses.1000", "_ses", "", ".dot", "a\x00b", "\xff\xfe", string(make([]byte, 4095)), string(make([]byte, 4096))}
)

// arg draws one argument: an ID from the world, a special ID, a junk
// number, or a pointer of any kind.
func (r *fuzzReader) arg(w *world) Arg {
	switch r.pick(10) {
	case 0:
		return Null()
	case 1:
		return Fault()
	case 2:
		return String(fuzzTypes[r.pick(len(fuzzTypes))])
	case 3:
		return String(fuzzDescs[r.pick(len(fuzzDescs))])
	case 4:
		n := int(r.byte()) * 16
		return Buffer(make([]byte, n))
	case 5:
		if len(w.serials) > 0 {
			return Int(w.serials[r.pick(len(w.serials))])
		}
	case 6:
		return Int(-int(r.pick(10)))
	case 7:
		return IOV([]byte("ab"), []byte("c"))
	}
	return Int(int(r.int32()))
}

// FuzzSyscall drives the raw system-call surface of a world of several
// users, sessions and nested keyrings with arbitrary operations and
// arguments, and checks after every call that the model's invariants hold
// and that a failed call changed nothing observable.
func FuzzSyscall(f *testing.F) {
	f.Add([]byte{0, 3, 2, 0, 5, 1, 0})
	f.Add([]byte{2, 8, 5, 1, 5, 2, 0, 0, 2, 9, 5, 1, 5, 0})
	f.Add([]byte("\x01\x00\x02\x03\x02\x05\x00\x00\x00\x00"))
	f.Add([]byte{2, 10, 5, 0, 2, 3, 0, 0, 2, 11, 5, 0, 4, 200})
	f.Fuzz(fuzzSyscall)
}

// fuzzSyscall is one execution of FuzzSyscall. It compares compact
// fingerprints of the world before and after each failed call; when one
// differs it replays the input comparing full dumps, to report the change.
func fuzzSyscall(t *testing.T, data []byte) {
	if step := runFuzzSyscall(t, data, false); step >= 0 {
		runFuzzSyscall(t, data, true)
		t.Fatalf("step %d: a failed call changed the world's fingerprint but not its dump", step)
	}
}

// fuzzMaxSteps bounds the calls one input makes.
const fuzzMaxSteps = 48

// runFuzzSyscall drives one input and returns the step whose failed call
// changed the world, or -1. With detail it compares full dumps and fails
// the test itself.
func runFuzzSyscall(t *testing.T, data []byte, detail bool) int {
	w := fuzzWorld(t)
	r := &fuzzReader{b: data}
	var before, after []byte
	var beforeDump string
	for step := 0; len(r.b) > 0 && step < fuzzMaxSteps; step++ {
		ths := w.liveThreadsOrNil()
		if len(ths) == 0 {
			return -1
		}
		th := ths[r.pick(len(ths))]
		// Resolving an ID may create the caller's anchors, which stay
		// when the call then fails, as in the kernel (R3.4; measured:
		// add_key of an unknown type to @u by a uid without user
		// keyrings fails ENODEV and leaves _uid.N and _uid_ses.N). The
		// thread gets every anchor first, so that a failed call must
		// change nothing.
		w.warm(th)
		var nr int
		var args []Arg
		switch r.pick(3) {
		case 0:
			nr = SYS_ADD_KEY
		case 1:
			nr = SYS_REQUEST_KEY
		default:
			nr = SYS_KEYCTL
			args = append(args, Int(int(r.byte())%36-1))
		}
		for len(args) < 5 {
			args = append(args, r.arg(w))
		}
		sideEffects := nr == SYS_REQUEST_KEY || (nr == SYS_KEYCTL && args[0].IntValue() == KEYCTL_GET_PERSISTENT)
		if detail {
			beforeDump = w.dump()
		} else {
			before = w.fingerprint(before[:0])
		}
		res, err := th.Syscall(nr, args...)
		if err == nil {
			w.remember(res)
		}
		w.checkT(t)
		if err == nil || sideEffects {
			continue
		}
		if detail {
			if afterDump := w.dump(); afterDump != beforeDump {
				t.Fatalf("step %d: failed call %d %v (%v) changed the state:\nbefore:\n%s\nafter:\n%s", step, nr, args, err, beforeDump, afterDump)
			}
		} else if after = w.fingerprint(after[:0]); !bytes.Equal(before, after) {
			return step
		}
	}
	return -1
}

// fuzzWorld builds the pre-made world: three users, a shared named session,
// nested keyrings and a few keys, every anchor created.
func fuzzWorld(t *testing.T) *world {
	w := &world{sys: New(Config{MaxKeys: 30, MaxBytes: 1000, CheckCaches: true})}
	alice := w.sys.NewProcess(Creds{UID: 1000, GID: 1000})
	bob := w.sys.NewProcess(Creds{UID: 1001, GID: 1001, Groups: []uint32{1000}})
	root := w.sys.NewProcess(Creds{UID: 0, GID: 0})
	w.procs = []*Process{alice, bob, root}
	a := alice.Main()
	must := func(r int, err error) int {
		if err != nil {
			t.Fatalf("building the world: %v", err)
		}
		w.remember(r)
		return r
	}
	must(a.KeyctlJoinSessionKeyring("shared"))
	outer := must(a.AddKey("keyring", "outer", nil, KEY_SPEC_SESSION_KEYRING))
	inner := must(a.AddKey("keyring", "inner", nil, outer))
	must(a.AddKey("user", "secret", []byte("s"), inner))
	must(a.AddKey("logon", "svc:pw", []byte("p"), KEY_SPEC_USER_KEYRING))
	must(0, a.KeyctlSetperm(outer, 0x3f0b0b00))
	must(root.Main().AddKey("user", "rootkey", []byte("r"), KEY_SPEC_SESSION_KEYRING))
	w.procs = append(w.procs, a.Fork())
	w.warmAll()
	return w
}

func (w *world) liveThreadsOrNil() []*Thread {
	var out []*Thread
	for _, p := range w.procs {
		out = append(out, p.Threads()...)
	}
	return out
}

// warmAll creates every anchor keyring of every live thread, so that a
// failed call has no legitimate side effect left to make (R2.5b, R3.3,
// R3.4).
func (w *world) warmAll() {
	for _, th := range w.liveThreadsOrNil() {
		w.warm(th)
	}
}

// warm creates th's anchor keyrings that do not exist.
func (w *world) warm(th *Thread) {
	for _, id := range []int{KEY_SPEC_THREAD_KEYRING, KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING} {
		if r, err := th.KeyctlGetKeyringID(id, true); err == nil {
			w.remember(r)
		}
	}
}

func (w *world) checkT(t *testing.T) {
	t.Helper()
	if err := w.invariantErr(); err != nil {
		t.Fatalf("invariant: %v", err)
	}
}
