package emu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyemu/keyemu/model"
	"pgregory.net/rapid"
)

// world is the state machine of the property test: an emulated kernel with
// a few processes of different users, driven by random system calls.
type world struct {
	sys     *System
	procs   []*Process
	serials []int
}

func (w *world) remember(serial int) {
	if serial > 2 && !slices.Contains(w.serials, serial) {
		w.serials = append(w.serials, serial)
	}
}

// dump is the observable state: every key, every quota record and every
// thread's keyring pointers.
func (w *world) dump() string {
	var b strings.Builder
	w.sys.Model(func(m *model.State) { b.WriteString(m.Dump()) })
	w.sys.mu.Lock()
	defer w.sys.mu.Unlock()
	for _, p := range w.procs {
		for _, th := range p.threads {
			if th.exited {
				continue
			}
			c := th.cred
			ser := func(k *model.Key) model.Serial {
				if k == nil {
					return 0
				}
				return k.Serial()
			}
			fmt.Fprintf(&b, "thread %d: uid=%d/%d/%d/%d gid=%d t=%d p=%d s=%d a=%d jit=%d\n", th.tid, c.UID, c.EUID, c.SUID, c.FSUID, c.GID,
				ser(c.ThreadKeyring()), ser(c.ProcessKeyring()), ser(c.SessionKeyring()), ser(c.AuthKey()), c.ReqKeyDefault())
		}
	}
	return b.String()
}

// fingerprint appends to b a compact encoding of what dump shows; two
// worlds have equal fingerprints exactly when their dumps are equal.
func (w *world) fingerprint(b []byte) []byte {
	w.sys.Model(func(m *model.State) { b = m.AppendFingerprint(b) })
	w.sys.mu.Lock()
	defer w.sys.mu.Unlock()
	ser := func(k *model.Key) uint64 {
		if k == nil {
			return 0
		}
		return uint64(k.Serial())
	}
	for _, p := range w.procs {
		for _, th := range p.threads {
			if th.exited {
				continue
			}
			c := th.cred
			for _, v := range []uint64{uint64(th.tid), uint64(c.UID), uint64(c.EUID), uint64(c.SUID), uint64(c.FSUID), uint64(c.GID),
				ser(c.ThreadKeyring()), ser(c.ProcessKeyring()), ser(c.SessionKeyring()), ser(c.AuthKey()), uint64(c.ReqKeyDefault())} {
				b = binary.AppendUvarint(b, v)
			}
		}
	}
	return b
}

func (w *world) check(t *rapid.T) {
	if err := w.invariantErr(); err != nil {
		t.Fatalf("invariant: %v", err)
	}
}

func (w *world) invariantErr() error {
	var err error
	w.sys.Model(func(m *model.State) { err = m.CheckInvariants() })
	return err
}

// liveThreads returns every live thread, starting a new process of a
// drawn user when none is left.
func (w *world) liveThreads(t *rapid.T) []*Thread {
	var out []*Thread
	for _, p := range w.procs {
		out = append(out, p.Threads()...)
	}
	if len(out) == 0 {
		uid := rapid.SampledFrom([]uint32{0, 1000, 1001}).Draw(t, "spawn")
		p := w.sys.NewProcess(Creds{UID: uid, GID: uid})
		w.procs = append(w.procs, p)
		w.warmAll()
		out = p.Threads()
	}
	return out
}

func drawID(t *rapid.T, w *world, label string) int {
	choices := []int{-1, -2, -3, -4, -5, -6, -7, -8, -9, 0, 1, 12345}
	if len(w.serials) > 0 && rapid.Bool().Draw(t, label+"known") {
		return rapid.SampledFrom(w.serials).Draw(t, label)
	}
	return rapid.SampledFrom(choices).Draw(t, label)
}

var (
	propTypes = []string{"user", "logon", "keyring", "big_key", "", ".x", "asymmetric", strings.Repeat("t", 32)}
	propDescs = []string{"a", "b", "c:d", "_ses", "_uid.1000", "", strings.Repeat("d", 4096)}
	propPerms = []uint32{0x3f3f3f3f, 0x3f010000, 0, 0x40000000, 0x01010101, 0x3f080000, 0x0b000000, 0x3f003f00}
)

// TestPropertyInvariants drives random system calls from several users'
// threads and checks after every step that the model's invariants hold
// (quota totals, link targets, usage counts, no cycles) and that a failed
// call changed nothing observable.
func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := &world{sys: New(Config{MaxKeys: 20, MaxBytes: 400, CheckCaches: true})}
		w.procs = []*Process{
			w.sys.NewProcess(Creds{UID: 1000, GID: 1000}),
			w.sys.NewProcess(Creds{UID: 1001, GID: 1001, Groups: []uint32{1000}}),
			w.sys.NewProcess(Creds{UID: 0, GID: 0}),
		}
		w.warmAll()
		w.check(t)
		t.Repeat(map[string]func(*rapid.T){
			"syscall": func(t *rapid.T) {
				ths := w.liveThreads(t)
				th := rapid.SampledFrom(ths).Draw(t, "thread")
				// Lookups with KEY_LOOKUP_CREATE (add_key's keyring, LINK,
				// SEARCH's destination...) recreate a destroyed anchor
				// before the call can fail on another argument, as the
				// kernel's do: anchors are made first, so that a failed
				// call must leave everything as it was.
				w.warmAll()
				before := w.dump()
				nr, args, sideEffects := drawCall(t, w)
				r, err := th.Syscall(nr, args...)
				if err == nil {
					w.remember(r)
				}
				w.check(t)
				if err != nil && !sideEffects {
					if after := w.dump(); after != before {
						t.Fatalf("failed call %d %v (%v) changed the state:\nbefore:\n%s\nafter:\n%s", nr, args, err, before, after)
					}
				}
			},
			// Lookups, which take the shared read path when they can, change
			// nothing at all: usage counts included (they take no
			// references there), whether they succeed or fail.
			"lookups": func(t *rapid.T) {
				ths := w.liveThreads(t)
				th := rapid.SampledFrom(ths).Draw(t, "thread")
				w.warmAll()
				before := w.dump()
				for range rapid.IntRange(1, 8).Draw(t, "lookups") {
					id := drawID(t, w, "id")
					typ := rapid.SampledFrom(propTypes).Draw(t, "type")
					desc := rapid.SampledFrom(propDescs).Draw(t, "desc")
					buf := make([]byte, rapid.SampledFrom([]int{0, 3, 64}).Draw(t, "buflen"))
					switch rapid.IntRange(0, 4).Draw(t, "lookup") {
					case 0:
						_, _ = th.KeyctlBuffer(KEYCTL_READ, id, buf, 0)
					case 1:
						_, _ = th.KeyctlBuffer(KEYCTL_DESCRIBE, id, buf, 0)
					case 2:
						_, _ = th.KeyctlBuffer(KEYCTL_GET_SECURITY, id, buf, 0)
					case 3:
						_, _ = th.KeyctlSearch(id, typ, desc, 0)
					case 4:
						_, _ = th.Syscall(SYS_REQUEST_KEY, String(typ), String(desc), Null(), Int(0))
					}
				}
				w.check(t)
				if after := w.dump(); after != before {
					t.Fatalf("lookups changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			},
			"process": func(t *rapid.T) {
				ths := w.liveThreads(t)
				th := rapid.SampledFrom(ths).Draw(t, "thread")
				switch rapid.IntRange(0, 5).Draw(t, "action") {
				case 0:
					th.Clone()
				case 1:
					w.procs = append(w.procs, th.Fork())
				case 2:
					th.Exec()
				case 3:
					th.Exit()
				case 4:
					u := rapid.SampledFrom([]int{-1, 0, 1000, 1001, 1002}).Draw(t, "uid")
					_ = th.Process().Setresuid(u, u, -1)
				case 5:
					w.sys.Advance(time.Duration(rapid.IntRange(1, 400).Draw(t, "seconds")) * time.Second)
				}
				w.check(t)
				w.warmAll()
				w.check(t)
			},
		})
	})
}

// drawCall draws one add_key, request_key or keyctl call. sideEffects is
// true for calls the kernel lets fail after changing state: request_key
// construction and GET_PERSISTENT's creation of the persistent keyring.
func drawCall(t *rapid.T, w *world) (nr int, args []Arg, sideEffects bool) {
	str := func(label string, pool []string) Arg {
		switch rapid.IntRange(0, 9).Draw(t, label+"kind") {
		case 0:
			return Null()
		case 1:
			return Fault()
		}
		return String(rapid.SampledFrom(pool).Draw(t, label))
	}
	payload := func() (Arg, Arg) {
		n := rapid.SampledFrom([]int{0, 1, 5, 4096, 4097, 32767, 32768}).Draw(t, "plen")
		b := make([]byte, n)
		if rapid.IntRange(0, 9).Draw(t, "short") == 0 {
			return Buffer(b[:n/2]), Int(n)
		}
		return Buffer(b), Int(n)
	}
	switch rapid.IntRange(0, 3).Draw(t, "syscall") {
	case 0:
		p, n := payload()
		return SYS_ADD_KEY, []Arg{str("type", propTypes), str("desc", propDescs), p, n, Int(drawID(t, w, "ring"))}, false
	case 1:
		callout := Null()
		if rapid.Bool().Draw(t, "callout") {
			callout = String("info")
		}
		return SYS_REQUEST_KEY, []Arg{str("type", propTypes), str("desc", propDescs), callout, Int(drawID(t, w, "dest"))}, !callout.IsNull()
	}
	op := rapid.IntRange(-1, 33).Draw(t, "op")
	id := Int(drawID(t, w, "id"))
	id2 := Int(drawID(t, w, "id2"))
	switch op {
	case KEYCTL_JOIN_SESSION_KEYRING:
		return SYS_KEYCTL, []Arg{Int(op), str("name", propDescs)}, false
	case KEYCTL_UPDATE, KEYCTL_INSTANTIATE:
		p, n := payload()
		return SYS_KEYCTL, []Arg{Int(op), id, p, n, id2}, false
	case KEYCTL_DESCRIBE, KEYCTL_READ, KEYCTL_GET_SECURITY:
		n := rapid.SampledFrom([]int{0, 3, 4, 6, 64, 4096}).Draw(t, "buflen")
		return SYS_KEYCTL, []Arg{Int(op), id, Buffer(make([]byte, n)), Int(n)}, false
	case KEYCTL_SETPERM:
		return SYS_KEYCTL, []Arg{Int(op), id, Int(int(rapid.SampledFrom(propPerms).Draw(t, "perm")))}, false
	case KEYCTL_CHOWN:
		u := rapid.SampledFrom([]int{-1, 0, 1000, 1001}).Draw(t, "chown-uid")
		g := rapid.SampledFrom([]int{-1, 0, 1000, 1001}).Draw(t, "chown-gid")
		return SYS_KEYCTL, []Arg{Int(op), id, Int(int(uint32(u))), Int(int(uint32(g)))}, false
	case KEYCTL_SEARCH:
		return SYS_KEYCTL, []Arg{Int(op), id, str("type", propTypes), str("desc", propDescs), id2}, false
	case KEYCTL_RESTRICT_KEYRING:
		return SYS_KEYCTL, []Arg{Int(op), id, str("rtype", []string{"asymmetric", "user", "nosuch"}), str("restriction", []string{"key_or_keyring:0:chain", "builtin_trusted", "bogus"})}, false
	case KEYCTL_MOVE:
		return SYS_KEYCTL, []Arg{Int(op), id, id2, Int(drawID(t, w, "id3")), Int(rapid.IntRange(0, 2).Draw(t, "flags"))}, false
	case KEYCTL_CAPABILITIES:
		n := rapid.IntRange(0, 4).Draw(t, "buflen")
		return SYS_KEYCTL, []Arg{Int(op), Buffer(make([]byte, n)), Int(n)}, false
	case KEYCTL_SET_TIMEOUT:
		return SYS_KEYCTL, []Arg{Int(op), id, Int(rapid.SampledFrom([]int{0, 1, 100}).Draw(t, "timeout"))}, false
	case KEYCTL_GET_PERSISTENT:
		return SYS_KEYCTL, []Arg{Int(op), Int(rapid.SampledFrom([]int{-1, 0, 1000}).Draw(t, "puid")), id}, true
	case KEYCTL_SET_REQKEY_KEYRING:
		return SYS_KEYCTL, []Arg{Int(op), Int(rapid.IntRange(-2, 8).Draw(t, "reqkey"))}, false
	}
	return SYS_KEYCTL, []Arg{Int(op), id, id2, Int(0), Int(0)}, false
}
