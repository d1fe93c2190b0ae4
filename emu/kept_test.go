package emu_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// lookupCalls are the two lookups by name a thread keeps answers of
// (Thread.lookups): KEYCTL_SEARCH without a destination, through the
// wrapper and through Syscall, and request_key(2) with a NULL callout.
func lookupCalls(ring int) map[string]func(th *emu.Thread, desc string) (int, error) {
	return map[string]func(th *emu.Thread, desc string) (int, error){
		"KeyctlSearch": func(th *emu.Thread, desc string) (int, error) {
			return th.KeyctlSearch(ring, "user", desc, 0)
		},
		"Syscall(KEYCTL_SEARCH)": func(th *emu.Thread, desc string) (int, error) {
			return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_SEARCH), emu.Int(ring), emu.String("user"), emu.String(desc), emu.Int(0))
		},
		"request_key": func(th *emu.Thread, desc string) (int, error) {
			return th.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String(desc), emu.Null(), emu.Int(0))
		},
	}
}

// sessionThread starts a system with a process of uid 1000 in a new
// session keyring, and returns its main thread and the keyring.
func sessionThread(t *testing.T) (*emu.System, *emu.Thread, int) {
	t.Helper()
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	ses, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	return sys, th, ses
}

// A kept answer of a search stands only while nothing has been written:
// the thread's own writes, another process's, the clock and injected faults
// each end it, and the next call searches again.
func TestKeptLookupAnswersEnd(t *testing.T) {
	for name, lookup := range lookupCalls(atS) {
		t.Run(name, func(t *testing.T) {
			sys, th, ses := sessionThread(t)
			find := func(want int, wantErr error) {
				t.Helper()
				for range 2 { // the second answer is the kept one
					got, err := lookup(th, "k")
					if wantErr != nil {
						require.ErrorIs(t, err, wantErr)
						continue
					}
					require.NoError(t, err)
					require.Equal(t, want, got)
				}
			}

			// A miss is an answer too; the thread's own add_key ends it.
			find(0, emu.ENOKEY)
			k, err := th.AddKey("user", "k", []byte("v"), atS)
			require.NoError(t, err)
			find(k, nil)

			// Another process's write: root revokes the key.
			require.NoError(t, th.KeyctlSetperm(k, 0x3f3f3f3f))
			root := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
			_, err = root.KeyctlInt(emu.KEYCTL_REVOKE, k, 0, 0, 0)
			require.NoError(t, err)
			find(0, emu.EKEYREVOKED)

			// The clock: a key that expires (R1.24).
			_, err = th.KeyctlInt(emu.KEYCTL_UNLINK, k, ses, 0, 0)
			require.NoError(t, err)
			k2, err := th.AddKey("user", "k", []byte("v"), atS)
			require.NoError(t, err)
			_, err = th.KeyctlInt(emu.KEYCTL_SET_TIMEOUT, k2, 5, 0, 0)
			require.NoError(t, err)
			find(k2, nil)
			sys.Advance(10 * time.Second)
			if name == "request_key" {
				find(0, emu.ENOKEY) // expired keys are skipped (R4.3e, D13)
			} else {
				find(0, emu.EKEYEXPIRED)
			}

			// Injected faults count and fail calls that had an answer.
			k3, err := th.AddKey("user", "k", []byte("w"), atS)
			require.NoError(t, err)
			find(k3, nil)
			sys.SetFaults([]emu.InjectedFault{{Syscall: emu.SYS_KEYCTL, Err: emu.EIO}, {Syscall: emu.SYS_REQUEST_KEY, Err: emu.EIO}})
			_, err = lookup(th, "k")
			require.ErrorIs(t, err, emu.EIO)
			sys.SetFaults(nil)
			find(k3, nil)

			// A thread that exits has no answers.
			other := th.Clone()
			_, err = lookup(other, "k")
			require.NoError(t, err)
			other.Exit()
			_, err = lookup(other, "k")
			require.ErrorIs(t, err, emu.ESRCH)
		})
	}
}

// Answers are kept per call: another description, keyring, type or
// callout, or another thread with other credentials, is another call.
func TestKeptLookupAnswersPerCall(t *testing.T) {
	sys, th, _ := sessionThread(t)
	ring, err := th.AddKey("keyring", "r", nil, atS)
	require.NoError(t, err)
	a, err := th.AddKey("user", "a", []byte("v"), ring)
	require.NoError(t, err)
	b, err := th.AddKey("user", "b", []byte("v"), ring)
	require.NoError(t, err)
	c, err := th.AddKey("logon", "svc:c", []byte("v"), atS)
	require.NoError(t, err)
	for range 3 {
		for _, tc := range []struct {
			ring      int
			typ, desc string
			want      int
			wantErr   error
		}{
			{ring, "user", "a", a, nil},
			{ring, "user", "b", b, nil},
			{atS, "user", "a", a, nil},
			{atS, "user", "b", b, nil},
			{ring, "user", "c", 0, emu.ENOKEY},
			{atS, "logon", "svc:c", c, nil},
			{atS, "user", "svc:c", 0, emu.ENOKEY},
			{ring, "logon", "svc:c", 0, emu.ENOKEY},
		} {
			got, err := th.KeyctlSearch(tc.ring, tc.typ, tc.desc, 0)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr, "search %d %s %q", tc.ring, tc.typ, tc.desc)
				continue
			}
			require.NoError(t, err, "search %d %s %q", tc.ring, tc.typ, tc.desc)
			require.Equal(t, tc.want, got, "search %d %s %q", tc.ring, tc.typ, tc.desc)
		}
	}

	// A NULL callout makes a miss ENOKEY (R5.4a); an empty one is a
	// callout, and with no /sbin/request-key the key is negated: ENOENT
	// then, and ENOKEY from the negative key found after.
	rk := func(callout emu.Arg) error {
		_, err := th.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String("n"), callout, emu.Int(0))
		return err
	}
	require.ErrorIs(t, rk(emu.Null()), emu.ENOKEY)
	require.ErrorIs(t, rk(emu.Null()), emu.ENOKEY)
	require.ErrorIs(t, rk(emu.String("")), emu.ENOENT)
	require.ErrorIs(t, rk(emu.String("")), emu.ENOKEY)

	// New credentials: root's @u is not uid 2000's.
	root := sys.NewProcess(emu.Creds{UID: 0, GID: 0})
	rth := root.Main()
	mine, err := rth.AddKey("user", "mine", []byte("v"), atU)
	require.NoError(t, err)
	for range 2 {
		got, err := rth.KeyctlSearch(atU, "user", "mine", 0)
		require.NoError(t, err)
		require.Equal(t, mine, got)
	}
	require.NoError(t, root.Setresuid(2000, 2000, 2000))
	_, err = rth.KeyctlSearch(atU, "user", "mine", 0)
	require.ErrorIs(t, err, emu.ENOKEY)
}

// A lookup or a read answered from the thread's kept answers allocates
// nothing.
func TestKeptAnswersAllocateNothing(t *testing.T) {
	_, th, _ := sessionThread(t)
	k, err := th.AddKey("user", "k", []byte("v"), atS)
	require.NoError(t, err)
	for name, lookup := range lookupCalls(atS) {
		allocs := testing.AllocsPerRun(100, func() {
			if got, err := lookup(th, "k"); err != nil || got != k {
				t.Fatalf("%s = %d, %v; want %d", name, got, err, k)
			}
		})
		require.Zero(t, allocs, name)
	}
	buf := make([]byte, 64)
	for _, op := range []int{emu.KEYCTL_READ, emu.KEYCTL_DESCRIBE} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := th.KeyctlBuffer(op, k, buf, 0); err != nil {
				t.Fatalf("keyctl %d = %v", op, err)
			}
		})
		require.Zero(t, allocs, "keyctl %d", op)
	}
}

// A kept answer of KEYCTL_READ stands only while nothing has been written,
// and gives each buffer what the model would: the payload's length, the
// payload itself only if it fits whole.
func TestKeptReadAnswers(t *testing.T) {
	sys, th, ses := sessionThread(t)
	k, err := th.AddKey("user", "k", []byte("0123456789"), atS)
	require.NoError(t, err)
	read := func(n int, want string, wantErr error) {
		t.Helper()
		for range 2 { // the second answer is the kept one
			buf := []byte(strings.Repeat("x", n))
			got, err := th.KeyctlBuffer(emu.KEYCTL_READ, k, buf, 0)
			if wantErr != nil {
				require.ErrorIs(t, err, wantErr)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, len(want), got)
			if n >= len(want) {
				require.Equal(t, want, string(buf[:got]))
				require.Equal(t, strings.Repeat("x", n-got), string(buf[got:]))
			} else {
				require.Equal(t, strings.Repeat("x", n), string(buf), "a short buffer is left alone")
			}
		}
	}
	for _, n := range []int{0, 4, 10, 64} {
		read(n, "0123456789", nil)
	}

	// The thread's own update.
	_, err = th.KeyctlBuffer(emu.KEYCTL_UPDATE, k, []byte("new"), 3)
	require.NoError(t, err)
	read(64, "new", nil)
	read(2, "new", nil)

	// Possession: a key only the possessor may read is read no more once
	// the session keyring cannot be searched (R4.7c).
	require.NoError(t, th.KeyctlSetperm(k, 0x3f000000))
	read(64, "new", nil)
	require.NoError(t, th.KeyctlSetperm(ses, 0x37370000))
	read(64, "", emu.EACCES)
	require.NoError(t, th.KeyctlSetperm(ses, 0x3f3f0000))
	read(64, "new", nil)

	// Another process's write: root revokes the key.
	require.NoError(t, th.KeyctlSetperm(k, 0x3f3f3f3f))
	read(64, "new", nil)
	root := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
	_, err = root.KeyctlInt(emu.KEYCTL_REVOKE, k, 0, 0, 0)
	require.NoError(t, err)
	read(64, "", emu.EKEYREVOKED)
	k, err = th.AddKey("user", "k3", []byte("new"), atS)
	require.NoError(t, err)

	// The clock.
	_, err = th.KeyctlInt(emu.KEYCTL_SET_TIMEOUT, k, 5, 0, 0)
	require.NoError(t, err)
	read(64, "new", nil)
	sys.Advance(10 * time.Second)
	read(64, "", emu.EKEYEXPIRED)

	// Another key, another answer; a failed read is not kept.
	k2, err := th.AddKey("user", "k2", []byte("two"), atS)
	require.NoError(t, err)
	buf := make([]byte, 8)
	for range 2 {
		n, err := th.KeyctlBuffer(emu.KEYCTL_READ, k2, buf, 0)
		require.NoError(t, err)
		require.Equal(t, "two", string(buf[:n]))
		_, err = th.KeyctlBuffer(emu.KEYCTL_READ, k, buf, 0)
		require.ErrorIs(t, err, emu.EKEYEXPIRED)
	}

	// Injected faults count and fail calls that had an answer.
	sys.SetFaults([]emu.InjectedFault{{Syscall: emu.SYS_KEYCTL, Ops: []int{emu.KEYCTL_READ}, Err: emu.EIO}})
	_, err = th.KeyctlBuffer(emu.KEYCTL_READ, k2, buf, 0)
	require.ErrorIs(t, err, emu.EIO)
	sys.SetFaults(nil)

	// A thread that exits has no answers.
	other := th.Clone()
	_, err = other.KeyctlBuffer(emu.KEYCTL_READ, k2, buf, 0)
	require.NoError(t, err)
	other.Exit()
	_, err = other.KeyctlBuffer(emu.KEYCTL_READ, k2, buf, 0)
	require.ErrorIs(t, err, emu.ESRCH)

	// A keyring's read is not a payload the model keeps: it is read each
	// time, and follows its links.
	ring, err := th.AddKey("keyring", "r", nil, atS)
	require.NoError(t, err)
	for range 2 {
		n, err := th.KeyctlBuffer(emu.KEYCTL_READ, ring, buf, 0)
		require.NoError(t, err)
		require.Zero(t, n)
	}
	_, err = th.KeyctlInt(emu.KEYCTL_LINK, k2, ring, 0, 0)
	require.NoError(t, err)
	n, err := th.KeyctlBuffer(emu.KEYCTL_READ, ring, buf, 0)
	require.NoError(t, err)
	require.Equal(t, 4, n)
}

// A kept answer of KEYCTL_DESCRIBE stands only while nothing has been
// written, and gives each buffer what the model would: the text's length
// with its NUL, the text only if the buffer holds all of it.
func TestKeptDescribeAnswers(t *testing.T) {
	sys, th, _ := sessionThread(t)
	k, err := th.AddKey("user", "k", []byte("v"), atS)
	require.NoError(t, err)
	describe := func(want string) {
		t.Helper()
		n := len(want) + 1
		for _, size := range []int{0, 5, n - 1, n, n + 10} {
			for range 2 { // the second answer is the kept one
				buf := bytes.Repeat([]byte{'x'}, size)
				got, err := th.KeyctlBuffer(emu.KEYCTL_DESCRIBE, k, buf, 0)
				require.NoError(t, err)
				require.Equal(t, n, got)
				if size >= n {
					require.Equal(t, want+"\x00"+strings.Repeat("x", size-n), string(buf))
				} else {
					require.Equal(t, strings.Repeat("x", size), string(buf), "a short buffer is left alone")
				}
			}
		}
	}
	describe("user;1000;1000;3f010000;k")

	// The thread's own write, then another process's.
	require.NoError(t, th.KeyctlSetperm(k, 0x3f3f3f3f))
	describe("user;1000;1000;3f3f3f3f;k")
	root := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
	_, err = root.KeyctlInt(emu.KEYCTL_CHOWN, k, 1000, 2000, 0)
	require.NoError(t, err)
	describe("user;1000;2000;3f3f3f3f;k")

	// Reads and describes of several keys take turns in the kept answers.
	k2, err := th.AddKey("user", "k2", []byte("two"), atS)
	require.NoError(t, err)
	buf := make([]byte, 64)
	describeKey := func(id int) {
		t.Helper()
		n, err := th.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id, buf, 0)
		require.NoError(t, err)
		want := map[int]string{k: "user;1000;2000;3f3f3f3f;k", k2: "user;1000;1000;3f010000;k2"}[id]
		require.Equal(t, want+"\x00", string(buf[:n]))
	}
	for range 3 {
		for _, id := range []int{k, k2} {
			describeKey(id)
			n, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
			require.NoError(t, err)
			require.Equal(t, map[int]string{k: "v", k2: "two"}[id], string(buf[:n]))
		}
	}
	// Describes of two keys in turn are both kept, each text in a buffer
	// of its own: the second does not write over the first.
	for range 3 {
		for _, id := range []int{k, k2} {
			describeKey(id)
		}
	}
}

// Kept answers are the thread's, guarded by its shard: goroutines sharing
// a thread, and a writer changing the key, see whole answers (run with
// -race).
func TestKeptAnswersConcurrent(t *testing.T) {
	_, th, _ := sessionThread(t)
	k, err := th.AddKey("user", "k", []byte("aaaa"), atS)
	require.NoError(t, err)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // a writer that keeps changing the payload
		defer wg.Done()
		w := th.Clone()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.AddKey("user", "k", []byte{"ab"[i%2], "ab"[i%2], "ab"[i%2], "ab"[i%2]}, atS); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for range 2000 {
				if got, err := th.KeyctlSearch(atS, "user", "k", 0); err != nil || got != k {
					t.Errorf("KeyctlSearch = %d, %v; want %d", got, err, k)
					return
				}
				n, err := th.KeyctlBuffer(emu.KEYCTL_READ, k, buf, 0)
				if p := string(buf[:n]); err != nil || p != "aaaa" && p != "bbbb" {
					t.Errorf("KEYCTL_READ = %q, %v", p, err)
					return
				}
				n, err = th.KeyctlBuffer(emu.KEYCTL_DESCRIBE, k, buf, 0)
				if err != nil || string(buf[:n]) != "user;1000;1000;3f010000;k\x00" {
					t.Errorf("KEYCTL_DESCRIBE = %q, %v", buf[:n], err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}
