package emu_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
	"github.com/stretchr/testify/require"
)

// privateOp is one logged operation on a thread's private keyring (its
// thread keyring, R2.2), which commutes with every other thread's.
type privateOp struct {
	kind int
	desc string
	data string
}

func (op privateOp) String() string { return fmt.Sprintf("op%d(%s,%s)", op.kind, op.desc, op.data) }

// runPrivate performs op on th's thread keyring and returns what a test can
// compare: the errno name or the result, with payloads and descriptions
// instead of serials.
func runPrivate(th *emu.Thread, op privateOp) string {
	find := func() (int, error) { return th.KeyctlSearch(emu.KEY_SPEC_THREAD_KEYRING, "user", op.desc, 0) }
	res := func(r int, err error) string {
		if err != nil {
			return emu.ErrnoName(err)
		}
		return fmt.Sprint(r > 0)
	}
	switch op.kind {
	case 0:
		return res(th.AddKey("user", op.desc, []byte(op.data), emu.KEY_SPEC_THREAD_KEYRING))
	case 1:
		id, err := find()
		if err != nil {
			return emu.ErrnoName(err)
		}
		buf := make([]byte, 64)
		n, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return emu.ErrnoName(err)
		}
		return string(buf[:n])
	case 2:
		id, err := find()
		if err != nil {
			return emu.ErrnoName(err)
		}
		return res(th.KeyctlInt(emu.KEYCTL_UNLINK, id, emu.KEY_SPEC_THREAD_KEYRING, 0, 0))
	case 3:
		id, err := find()
		if err != nil {
			return emu.ErrnoName(err)
		}
		return res(th.KeyctlInt(emu.KEYCTL_REVOKE, id, 0, 0, 0))
	case 4:
		id, err := find()
		if err != nil {
			return emu.ErrnoName(err)
		}
		s, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, id)
		if err != nil {
			return emu.ErrnoName(err)
		}
		return s
	default:
		buf := make([]byte, 4096)
		n, err := th.KeyctlBuffer(emu.KEYCTL_READ, emu.KEY_SPEC_THREAD_KEYRING, buf, 0)
		if err != nil {
			return emu.ErrnoName(err)
		}
		return fmt.Sprint(n / 4)
	}
}

// noise performs an operation on shared state whose result is not compared:
// lookups of shared anchors, lookups by serial of shared keys (the shared
// read path, several threads at once on the same keys), fork and exit of a
// child, setuid to the same user, garbage collection.
func noise(sys *emu.System, th *emu.Thread, r *rand.Rand) {
	switch r.IntN(8) {
	case 6, 7:
		ring, err := th.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false)
		if err != nil {
			return
		}
		if id, err := th.KeyctlSearch(ring, "user", "shared", 0); err == nil {
			buf := make([]byte, 64)
			_, _ = th.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id, buf, 0)
			_, _ = th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
			_, _ = th.KeyctlBuffer(emu.KEYCTL_READ, ring, buf, 0)
		}
	case 0:
		_, _ = th.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String("shared"), emu.Null(), emu.Int(0))
	case 1:
		_, _ = th.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false)
	case 2:
		if child := th.Fork(); child != nil {
			_, _ = child.Main().KeyctlGetKeyringID(emu.KEY_SPEC_SESSION_KEYRING, true)
			child.Exit()
		}
	case 3:
		_ = th.Process().Setresuid(-1, -1, -1)
	case 4:
		sys.Collect()
	default:
		_, _ = th.AddKey("user", "shared", []byte("x"), emu.KEY_SPEC_USER_KEYRING)
	}
}

// TestStressConcurrentThreads runs 64 goroutines, each an emulated thread
// of one of eight processes of eight users, doing random operations on
// their own keyrings mixed with operations on shared state, then checks the
// model's invariants and that every thread's results equal a serial replay
// of its log: operations on a thread's own keyring commute with the rest.
func TestStressConcurrentThreads(t *testing.T) {
	const procs, perProc, steps = 8, 8, 150
	cfg := emu.Config{MaxKeys: 100000, MaxBytes: 10000000, CheckCaches: true}
	sys := emu.New(cfg)
	var threads []*emu.Thread
	for p := 0; p < procs; p++ {
		proc := sys.NewProcess(emu.Creds{UID: uint32(1000 + p), GID: uint32(1000 + p)})
		main := proc.Main()
		threads = append(threads, main)
		for i := 1; i < perProc; i++ {
			threads = append(threads, main.Clone())
		}
	}
	logs := make([][]privateOp, len(threads))
	results := make([][]string, len(threads))
	var wg sync.WaitGroup
	for g, th := range threads {
		wg.Add(1)
		go func(g int, th *emu.Thread) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < steps; i++ {
				if r.IntN(4) == 0 {
					noise(sys, th, r)
					continue
				}
				op := privateOp{kind: r.IntN(6), desc: fmt.Sprintf("k%d", r.IntN(5)), data: fmt.Sprintf("v%d", r.IntN(100))}
				logs[g] = append(logs[g], op)
				results[g] = append(results[g], runPrivate(th, op))
			}
		}(g, th)
	}
	wg.Wait()
	var err error
	sys.Model(func(m *model.State) { err = m.CheckInvariants() })
	require.NoError(t, err, "invariants after the concurrent run")

	replay := emu.New(cfg)
	for g, log := range logs {
		th := replay.NewProcess(emu.Creds{UID: uint32(1000 + g/perProc), GID: uint32(1000 + g/perProc)}).Main()
		for i, op := range log {
			if got := runPrivate(th, op); got != results[g][i] {
				t.Fatalf("thread %d step %d %v: concurrent run gave %q, serial replay %q", g, i, op, results[g][i], got)
			}
		}
	}
}
