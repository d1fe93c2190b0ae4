package emu_test

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/keyemu/keyemu/emu"
)

// The performance suite: every operation runs as emu/... and kernel/...
// sub-benchmarks with the same keyring shapes in the same `go test` run, so
// that `make bench` can put the two side by side (emu/perf/report.md).
// The kernel side runs on a goroutine pinned to its OS thread, in a fresh
// anonymous session keyring joined on that thread; its keys live in a
// dedicated keyring that is cleared and unlinked at the end, and the
// thread dies with the goroutine, taking its keyrings with it.

// benchEnv is one side's thread, with a joined anonymous session keyring
// and a dedicated keyring "keyemu-bench" linked in it.
type benchEnv struct {
	kc emu.Keyctl
	// requestKey is request_key(2) with a NULL callout: a miss is ENOKEY,
	// never a construction.
	requestKey func(keyType, description string, destRingid int) (int, error)
	ring       int
	// close removes every key the environment made; it must run on the
	// goroutine that opened it.
	close func()
}

// benchSide opens environments of one side: the emulator or the kernel.
type benchSide struct {
	name string
	// open returns a fresh environment for the calling goroutine. An
	// unusableError says the side cannot run here.
	open func() (*benchEnv, error)
	// maxKeys is the largest keyring the side may build. The kernel's
	// root quota is shared with the whole machine, and a keyring of more
	// than 16383 links wraps the kernel's 16-bit key->datalen, so clearing
	// it refunds only the wrapped remainder of its 4-byte link charges:
	// the rest of root's byte quota is lost until reboot (measured on
	// 6.18: 393,216 bytes per 100,000-key keyring).
	maxKeys int
}

// unusableError is the reason a side cannot run on this system.
type unusableError struct{ reason string }

func (e unusableError) Error() string { return e.reason }

// benchSides returns the emulator and the kernel.
func benchSides() []benchSide {
	return []benchSide{
		{name: "emu", open: openEmu, maxKeys: 1 << 30},
		{name: "kernel", open: openKernel, maxKeys: 10000},
	}
}

// env opens an environment for b's goroutine, skipping b with the reason
// when the side is unusable; it is closed when b ends, on the same
// goroutine.
func (side benchSide) env(b *testing.B) *benchEnv {
	b.Helper()
	env, err := side.open()
	var u unusableError
	if errors.As(err, &u) {
		b.Skipf("%s: %v", side.name, u.reason)
	}
	if err != nil {
		b.Fatalf("%s: %v", side.name, err)
	}
	b.Cleanup(env.close)
	return env
}

// benchConfig raises root's quotas through Config (never by switching
// enforcement off) so that a million keys fit.
var benchConfig = emu.Config{RootMaxKeys: math.MaxInt32, RootMaxBytes: math.MaxInt32}

// openEmu starts a root process in a new emulated kernel.
func openEmu() (*benchEnv, error) {
	sys := emu.New(benchConfig)
	return openEmuThread(sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main())
}

// openEmuThread joins an anonymous session keyring on th and makes the
// dedicated keyring.
func openEmuThread(th *emu.Thread) (*benchEnv, error) {
	if _, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("KEYCTL_JOIN_SESSION_KEYRING(NULL) = %w", err)
	}
	ring, err := th.AddKey("keyring", "keyemu-bench", nil, emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return nil, fmt.Errorf("AddKey(keyring) = %w", err)
	}
	return &benchEnv{
		kc: th,
		requestKey: func(keyType, description string, destRingid int) (int, error) {
			return th.Syscall(emu.SYS_REQUEST_KEY, emu.String(keyType), emu.String(description), emu.Null(), emu.Int(destRingid))
		},
		ring:  ring,
		close: func() {},
	}, nil
}

// add is add_key(2) that must succeed.
func (e *benchEnv) add(b *testing.B, keyType, desc string, payload []byte, ring int) int {
	b.Helper()
	id, err := e.kc.AddKey(keyType, desc, payload, ring)
	if err != nil {
		b.Fatalf("AddKey(%q, %q, %d) = %v", keyType, desc, ring, err)
	}
	return id
}

// fill adds n user keys "k0".."k<n-1>" with a one-byte payload to ring.
func (e *benchEnv) fill(b *testing.B, ring, n int) {
	b.Helper()
	payload := []byte("v")
	var buf []byte
	for i := 0; i < n; i++ {
		buf = strconv.AppendInt(append(buf[:0], 'k'), int64(i), 10)
		e.add(b, "user", string(buf), payload, ring)
	}
}

// chain makes keyrings d1..dn, each linked in the one before, the first
// in ring, and returns the deepest.
func (e *benchEnv) chain(b *testing.B, ring, n int) int {
	b.Helper()
	for i := 1; i <= n; i++ {
		ring = e.add(b, "keyring", "d"+strconv.Itoa(i), nil, ring)
	}
	return ring
}

// bmust fails b when err is not nil.
func bmust(b *testing.B, what string, err error) {
	if err != nil {
		b.Fatalf("%s = %v", what, err)
	}
}

// benchOp is one operation of the side-by-side table.
type benchOp struct {
	name string
	// run sets up its keyrings in env, then loops with b.Loop.
	run func(b *testing.B, env *benchEnv)
}

// refillEvery bounds the keys an add_key benchmark leaves in its keyring:
// it is cleared, with the timer stopped, after this many new keys.
const refillEvery = 10000

func benchOps() []benchOp {
	ops := []benchOp{
		{"add_key/new", func(b *testing.B, env *benchEnv) {
			ring := env.add(b, "keyring", "adds", nil, env.ring)
			descs := make([]string, refillEvery)
			for i := range descs {
				descs[i] = "n" + strconv.Itoa(i)
			}
			payload := []byte("v")
			i := 0
			for b.Loop() {
				if i == refillEvery {
					b.StopTimer()
					_, err := env.kc.KeyctlInt(emu.KEYCTL_CLEAR, ring, 0, 0, 0)
					bmust(b, "KEYCTL_CLEAR", err)
					i = 0
					b.StartTimer()
				}
				_, err := env.kc.AddKey("user", descs[i], payload, ring)
				bmust(b, "AddKey", err)
				i++
			}
		}},
		{"add_key/update", func(b *testing.B, env *benchEnv) {
			env.add(b, "user", "same", []byte("v"), env.ring)
			payload := []byte("w")
			for b.Loop() {
				_, err := env.kc.AddKey("user", "same", payload, env.ring)
				bmust(b, "AddKey", err)
			}
		}},
		{"request_key/depth0", func(b *testing.B, env *benchEnv) {
			env.add(b, "user", "rk0", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
			for b.Loop() {
				_, err := env.requestKey("user", "rk0", 0)
				bmust(b, "request_key", err)
			}
		}},
		{"request_key/depth3", func(b *testing.B, env *benchEnv) {
			// @s -> keyemu-bench (1) -> d1 (2) -> d2 (3).
			d2 := env.chain(b, env.ring, 2)
			env.add(b, "user", "rk3", []byte("v"), d2)
			for b.Loop() {
				_, err := env.requestKey("user", "rk3", 0)
				bmust(b, "request_key", err)
			}
		}},
		{"request_key/miss", func(b *testing.B, env *benchEnv) {
			env.chain(b, env.ring, 3)
			env.fill(b, env.ring, 10)
			for b.Loop() {
				if _, err := env.requestKey("user", "absent", 0); err == nil {
					b.Fatal("request_key found a key that does not exist")
				}
			}
		}},
		{"search/depth0", func(b *testing.B, env *benchEnv) {
			env.fill(b, env.ring, 10)
			for b.Loop() {
				_, err := env.kc.KeyctlSearch(env.ring, "user", "k5", 0)
				bmust(b, "KeyctlSearch", err)
			}
		}},
		{"search/depth3", func(b *testing.B, env *benchEnv) {
			env.add(b, "user", "deep", []byte("v"), env.chain(b, env.ring, 3))
			for b.Loop() {
				_, err := env.kc.KeyctlSearch(env.ring, "user", "deep", 0)
				bmust(b, "KeyctlSearch", err)
			}
		}},
		{"search/miss", func(b *testing.B, env *benchEnv) {
			env.chain(b, env.ring, 3)
			env.fill(b, env.ring, 10)
			for b.Loop() {
				if _, err := env.kc.KeyctlSearch(env.ring, "user", "absent", 0); err == nil {
					b.Fatal("KeyctlSearch found a key that does not exist")
				}
			}
		}},
		{"read", func(b *testing.B, env *benchEnv) {
			id := env.add(b, "user", "r", []byte("0123456789"), env.ring)
			buf := make([]byte, 64)
			for b.Loop() {
				_, err := env.kc.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
				bmust(b, "KEYCTL_READ", err)
			}
		}},
		{"describe", func(b *testing.B, env *benchEnv) {
			id := env.add(b, "user", "d", []byte("v"), env.ring)
			buf := make([]byte, 128)
			for b.Loop() {
				_, err := env.kc.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id, buf, 0)
				bmust(b, "KEYCTL_DESCRIBE", err)
			}
		}},
		{"link+unlink", func(b *testing.B, env *benchEnv) {
			id := env.add(b, "user", "l", []byte("v"), env.ring)
			ring := env.add(b, "keyring", "lr", nil, env.ring)
			for b.Loop() {
				_, err := env.kc.KeyctlInt(emu.KEYCTL_LINK, id, ring, 0, 0)
				bmust(b, "KEYCTL_LINK", err)
				_, err = env.kc.KeyctlInt(emu.KEYCTL_UNLINK, id, ring, 0, 0)
				bmust(b, "KEYCTL_UNLINK", err)
			}
		}},
		{"join_session_keyring", func(b *testing.B, env *benchEnv) {
			for b.Loop() {
				_, err := env.kc.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
				bmust(b, "KEYCTL_JOIN_SESSION_KEYRING", err)
			}
		}},
		{"mixed", benchMixed},
	}
	for _, sp := range []struct {
		name string
		id   int
		// create is the anchor that must exist before the loop.
		create bool
		// fails is the call's expected outcome: @g is EINVAL, @a and @r
		// ENOKEY without an assumed authority.
		fails bool
	}{
		{"thread", emu.KEY_SPEC_THREAD_KEYRING, true, false},
		{"process", emu.KEY_SPEC_PROCESS_KEYRING, true, false},
		{"session", emu.KEY_SPEC_SESSION_KEYRING, false, false},
		{"user", emu.KEY_SPEC_USER_KEYRING, false, false},
		{"user_session", emu.KEY_SPEC_USER_SESSION_KEYRING, false, false},
		{"group", emu.KEY_SPEC_GROUP_KEYRING, false, true},
		{"reqkey_auth", emu.KEY_SPEC_REQKEY_AUTH_KEY, false, true},
		{"requestor", emu.KEY_SPEC_REQUESTOR_KEYRING, false, true},
	} {
		ops = append(ops, benchOp{"get_keyring_id/" + sp.name, func(b *testing.B, env *benchEnv) {
			if sp.create {
				_, err := env.kc.KeyctlGetKeyringID(sp.id, true)
				bmust(b, "KeyctlGetKeyringID(create)", err)
			}
			for b.Loop() {
				if _, err := env.kc.KeyctlGetKeyringID(sp.id, false); (err != nil) != sp.fails {
					b.Fatalf("KeyctlGetKeyringID(%d) = %v", sp.id, err)
				}
			}
		}})
	}
	return ops
}

// benchMixed is 80% lookups and 20% writes over a keyring of 1000 keys: in
// every turn of ten calls, two searches, two reads, two describes, a
// request_key and a get_keyring_id, then an unlink of the oldest key and an
// add_key of a new one, so the keyring keeps its size. Each call is one
// iteration of b.Loop; a turn is written out call by call, so that the time
// measured is the calls', not a dispatch of the loop's own: a switch over
// the step and its counters added about 30 instructions to each call, 4% of
// the emulator's.
func benchMixed(b *testing.B, env *benchEnv) {
	const size = 1000 // a multiple of the turn's ten calls
	payload := []byte("v")
	ids := make([]int, size)
	descs := make([]string, size)
	for i := range ids {
		descs[i] = "k" + strconv.Itoa(i)
		ids[i] = env.add(b, "user", descs[i], payload, env.ring)
	}
	fresh := make([]string, refillEvery)
	for i := range fresh {
		fresh[i] = "m" + strconv.Itoa(i)
	}
	buf := make([]byte, 128)
	var err error
	// A lookup made as call k of the run asks about slot k%size: the
	// turn's lookups ask about slots j to j+6 (through d and id, which
	// see the slots as they change). The oldest key goes, and a new one
	// takes its slot (before the next lookup of the slot); descriptions
	// come back only after refillEvery adds, long after their keys were
	// unlinked.
	oldest, next := 0, 0
	for j := 0; ; j = (j + 10) % size {
		d, id := descs[j:j+10:j+10], ids[j:j+10:j+10]
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlSearch(env.ring, "user", d[0], 0); err != nil {
			mixedFailed(b, "KeyctlSearch", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlSearch(env.ring, "user", d[1], 0); err != nil {
			mixedFailed(b, "KeyctlSearch", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlBuffer(emu.KEYCTL_READ, id[2], buf, 0); err != nil {
			mixedFailed(b, "KEYCTL_READ", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlBuffer(emu.KEYCTL_READ, id[3], buf, 0); err != nil {
			mixedFailed(b, "KEYCTL_READ", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id[4], buf, 0); err != nil {
			mixedFailed(b, "KEYCTL_DESCRIBE", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id[5], buf, 0); err != nil {
			mixedFailed(b, "KEYCTL_DESCRIBE", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.requestKey("user", d[6], 0); err != nil {
			mixedFailed(b, "request_key", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlGetKeyringID(emu.KEY_SPEC_SESSION_KEYRING, false); err != nil {
			mixedFailed(b, "KEYCTL_GET_KEYRING_ID", err)
		}
		if !b.Loop() {
			return
		}
		if _, err = env.kc.KeyctlInt(emu.KEYCTL_UNLINK, ids[oldest], env.ring, 0, 0); err != nil {
			mixedFailed(b, "KEYCTL_UNLINK", err)
		}
		if !b.Loop() {
			return
		}
		descs[oldest] = fresh[next]
		if ids[oldest], err = env.kc.AddKey("user", fresh[next], payload, env.ring); err != nil {
			mixedFailed(b, "AddKey", err)
		}
		if next++; next == refillEvery {
			next = 0
		}
		if oldest++; oldest == size {
			oldest = 0
		}
	}
}

// mixedFailed fails benchMixed at a call that erred. It is not inlined: the
// ten calls of a turn share its code.
//
//go:noinline
func mixedFailed(b *testing.B, call string, err error) {
	b.Fatalf("mixed: %s = %v", call, err)
}

// BenchmarkOps runs every operation on the emulator and on the kernel.
func BenchmarkOps(b *testing.B) { runOps(b, benchOps()) }

// runOps runs each of ops on the emulator and on the kernel, as
// sub-benchmarks <side>/<operation>.
func runOps(b *testing.B, ops []benchOp) {
	for _, op := range ops {
		for _, side := range benchSides() {
			b.Run(side.name+"/"+op.name, func(b *testing.B) {
				env := side.env(b)
				b.ReportAllocs()
				op.run(b, env)
			})
		}
	}
}

// varied is how many different keys the benchmarks of lookups that do not
// repeat ask about in turn: more than a thread keeps answers for
// (Thread.lookups, Thread.buffers), so that every call does the whole
// lookup.
const varied = 8

// variedDescs returns the descriptions of fill's keys from k<from> on, one
// for each of the varied keys.
func variedDescs(from int) []string {
	descs := make([]string, varied)
	for i := range descs {
		descs[i] = "k" + strconv.Itoa(from+i)
	}
	return descs
}

// BenchmarkSearchSize is KEYCTL_SEARCH for keys in the middle of a keyring
// of n user keys, n from 100 to 1,000,000 (the kernel's side stops at its
// maxKeys). It asks for varied keys in turn, so that each call searches
// the keyring's index rather than taking a kept answer.
func BenchmarkSearchSize(b *testing.B) {
	for _, side := range benchSides() {
		for _, n := range []int{100, 1000, 10000, 100000, 1000000} {
			b.Run(side.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				if n > side.maxKeys {
					b.Skipf("the %s side builds keyrings of at most %d keys", side.name, side.maxKeys)
				}
				env := side.env(b)
				env.fill(b, env.ring, n)
				descs := variedDescs(n / 2)
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					_, err := env.kc.KeyctlSearch(env.ring, "user", descs[i%varied], 0)
					bmust(b, "KeyctlSearch", err)
					i++
				}
			})
		}
	}
}

// BenchmarkVaried is the lookups of BenchmarkOps that a thread keeps
// answers of, asked about varied keys in turn, so that no answer is kept:
// what a lookup costs the first time it is asked after a write.
func BenchmarkVaried(b *testing.B) {
	ops := []benchOp{
		{"request_key/depth0", func(b *testing.B, env *benchEnv) {
			descs := variedDescs(0)
			env.fill(b, emu.KEY_SPEC_SESSION_KEYRING, varied)
			i := 0
			for b.Loop() {
				_, err := env.requestKey("user", descs[i%varied], 0)
				bmust(b, "request_key", err)
				i++
			}
		}},
		{"search/depth0", func(b *testing.B, env *benchEnv) {
			descs := variedDescs(0)
			env.fill(b, env.ring, 10)
			i := 0
			for b.Loop() {
				_, err := env.kc.KeyctlSearch(env.ring, "user", descs[i%varied], 0)
				bmust(b, "KeyctlSearch", err)
				i++
			}
		}},
		{"read", variedBuffer(emu.KEYCTL_READ, "0123456789")},
		{"describe", variedBuffer(emu.KEYCTL_DESCRIBE, "v")},
	}
	runOps(b, ops)
}

// variedBuffer is KEYCTL_READ or KEYCTL_DESCRIBE (op) of varied user keys
// with payload in turn.
func variedBuffer(op int, payload string) func(b *testing.B, env *benchEnv) {
	return func(b *testing.B, env *benchEnv) {
		ids := env.variedKeys(b, []byte(payload))
		buf := make([]byte, 128)
		i := 0
		for b.Loop() {
			_, err := env.kc.KeyctlBuffer(op, ids[i%varied], buf, 0)
			bmust(b, "KeyctlBuffer", err)
			i++
		}
	}
}

// variedKeys adds varied user keys with payload to the environment's
// keyring and returns their IDs.
func (e *benchEnv) variedKeys(b *testing.B, payload []byte) []int {
	b.Helper()
	ids := make([]int, varied)
	for i, desc := range variedDescs(0) {
		ids[i] = e.add(b, "user", desc, payload, e.ring)
	}
	return ids
}

// BenchmarkAddKeyAtSize is add_key(2) of a new key into a keyring that
// already holds n keys; every 1000 adds the new keys are unlinked again
// with the timer stopped, so the keyring stays between n and n+1000.
func BenchmarkAddKeyAtSize(b *testing.B) {
	for _, side := range benchSides() {
		for _, n := range []int{1000, 1000000} {
			b.Run(side.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				if n > side.maxKeys {
					b.Skipf("the %s side builds keyrings of at most %d keys", side.name, side.maxKeys)
				}
				env := side.env(b)
				env.fill(b, env.ring, n)
				const batch = 1000
				descs := make([]string, batch)
				for i := range descs {
					descs[i] = "new" + strconv.Itoa(i)
				}
				ids := make([]int, batch)
				payload := []byte("v")
				i := 0
				var err error
				b.ReportAllocs()
				for b.Loop() {
					if i == batch {
						b.StopTimer()
						for _, id := range ids {
							_, err := env.kc.KeyctlInt(emu.KEYCTL_UNLINK, id, env.ring, 0, 0)
							bmust(b, "KEYCTL_UNLINK", err)
						}
						i = 0
						b.StartTimer()
					}
					ids[i], err = env.kc.AddKey("user", descs[i], payload, env.ring)
					bmust(b, "AddKey", err)
					i++
				}
			})
		}
	}
}

// BenchmarkKeyring1M builds a keyring of 1,000,000 small user keys
// ("key:N" and a 12-byte payload) in a fresh emulator; ns/op is the time to
// build it, heap-B/key the Go heap it holds per key (descriptions
// included: they are made during the build and kept only by the keys),
// from runtime.MemStats after a collection.
func BenchmarkKeyring1M(b *testing.B) {
	const n = 1000000
	payload := []byte("payload-1234")
	var perKey float64
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		// The emulators of earlier benchmarks, with the memory their
		// pools kept, go first, so that the build does not reuse memory
		// counted before it.
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		sys := emu.New(benchConfig)
		th := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
		ring, err := th.AddKey("keyring", "big", nil, emu.KEY_SPEC_SESSION_KEYRING)
		bmust(b, "AddKey(keyring)", err)
		for i := 0; i < n; i++ {
			_, err := th.AddKey("user", "key:"+strconv.Itoa(i), payload, ring)
			bmust(b, "AddKey", err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perKey = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		runtime.KeepAlive(sys)
		b.StartTimer()
	}
	b.ReportMetric(perKey, "heap-B/key")
}

// BenchmarkParallel runs lookups (a search hit and a describe, in turn, of
// varied keys, so that no answer is kept) from concurrent threads, each its
// own process with its own session keyring: 1 thread at GOMAXPROCS 1 and 2
// threads at GOMAXPROCS 2. ns/op is wall time per call across all threads,
// so perfect scaling halves it.
func BenchmarkParallel(b *testing.B) {
	for _, side := range benchSides() {
		for _, procs := range []int{1, 2} {
			b.Run(side.name+"/threads="+strconv.Itoa(procs), func(b *testing.B) {
				side.env(b) // skips here when the side is unusable
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				open := side.open
				if side.name == "emu" {
					// One emulated kernel, a process per thread.
					sys := emu.New(benchConfig)
					var mu sync.Mutex
					open = func() (*benchEnv, error) {
						mu.Lock()
						defer mu.Unlock()
						return openEmuThread(sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main())
					}
				}
				b.ReportAllocs()
				b.SetParallelism(1)
				b.RunParallel(func(pb *testing.PB) {
					env, err := open()
					if err != nil {
						b.Errorf("open: %v", err)
						return
					}
					defer env.close()
					descs := variedDescs(0)
					ids := make([]int, varied)
					for j, desc := range descs {
						if ids[j], err = env.kc.AddKey("user", desc, []byte("v"), env.ring); err != nil {
							b.Errorf("AddKey: %v", err)
							return
						}
					}
					buf := make([]byte, 128)
					i := 0
					for pb.Next() {
						if k := (i >> 1) % varied; i&1 == 0 {
							_, err = env.kc.KeyctlSearch(env.ring, "user", descs[k], 0)
						} else {
							_, err = env.kc.KeyctlBuffer(emu.KEYCTL_DESCRIBE, ids[k], buf, 0)
						}
						if err != nil {
							b.Errorf("lookup: %v", err)
							return
						}
						i++
					}
				})
			})
		}
	}
}
