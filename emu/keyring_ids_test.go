package emu_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

// A thread keeps its last KEYCTL_GET_KEYRING_ID answer for each special ID
// and gives it again without the lock while nothing has been written since
// (Thread.keyringIDs). Every kind of write ends it: the thread's own calls,
// other processes' calls, exits, the clock, injected faults.
func TestKeyringIDAnswersEnd(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	get := func(th *emu.Thread, id int) (int, error) {
		t.Helper()
		return th.KeyctlGetKeyringID(id, false)
	}

	// The thread's own write: a new session keyring.
	ses, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	got, err := get(th, atS)
	require.NoError(t, err)
	require.Equal(t, ses, got)
	again, err := get(th, atS) // from the thread's answers
	require.NoError(t, err)
	require.Equal(t, ses, again)
	ses2, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	got, err = get(th, atS)
	require.NoError(t, err)
	require.Equal(t, ses2, got)

	// A failure is an answer too; creating the keyring ends it.
	_, err = get(th, atT)
	require.ErrorIs(t, err, emu.ENOKEY)
	_, err = get(th, atT)
	require.ErrorIs(t, err, emu.ENOKEY)
	tring, err := th.KeyctlGetKeyringID(atT, true)
	require.NoError(t, err)
	got, err = get(th, atT)
	require.NoError(t, err)
	require.Equal(t, tring, got)

	// Another process's write: root revokes the session keyring.
	root := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
	require.NoError(t, th.KeyctlSetperm(ses2, 0x3f3f3f3f))
	_, err = get(th, atS)
	require.NoError(t, err)
	_, err = root.KeyctlInt(emu.KEYCTL_REVOKE, ses2, 0, 0, 0)
	require.NoError(t, err)
	_, err = get(th, atS)
	require.ErrorIs(t, err, emu.EKEYREVOKED)

	// The clock: an expired thread keyring.
	_, err = th.KeyctlInt(emu.KEYCTL_SET_TIMEOUT, tring, 5, 0, 0)
	require.NoError(t, err)
	_, err = get(th, atT)
	require.NoError(t, err)
	sys.Advance(10 * time.Second)
	_, err = get(th, atT)
	require.ErrorIs(t, err, emu.EKEYEXPIRED)

	// Injected faults count and fail calls that had an answer.
	_, err = get(th, atU)
	require.NoError(t, err)
	sys.SetFaults([]emu.InjectedFault{{Syscall: emu.SYS_KEYCTL, Ops: []int{emu.KEYCTL_GET_KEYRING_ID}, Err: emu.EIO}})
	_, err = get(th, atU)
	require.ErrorIs(t, err, emu.EIO)
	sys.SetFaults(nil)
	_, err = get(th, atU)
	require.NoError(t, err)

	// An exited thread.
	other := th.Clone()
	_, err = get(other, atU)
	require.NoError(t, err)
	other.Exit()
	_, err = get(other, atU)
	require.ErrorIs(t, err, emu.ESRCH)
}

// Answers read without the lock while other threads write (run with -race).
func TestKeyringIDAnswersConcurrent(t *testing.T) {
	sys := emu.New(emu.Config{})
	p := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	th := p.Main()
	_, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // a writer that keeps changing @s
		defer wg.Done()
		w := th.Clone()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := sys.NewProcess(emu.Creds{UID: 1001, GID: 1001}).Main()
			for j := 0; j < 2000; j++ {
				if _, err := r.KeyctlGetKeyringID(atU, false); err != nil {
					t.Error(err)
					return
				}
				if _, err := th.KeyctlGetKeyringID(atP, false); err == nil {
					t.Error("@p without a process keyring")
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// An answer that comes out the same after a write is kept by moving it on
// to the new count of writes: a thread that asks after every write, as a
// mixed workload does, allocates nothing for it.
func TestKeyringIDAnswerAfterWriteAllocatesNothing(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	ses, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	payload := []byte("v")
	_, err = th.AddKey("user", "same", payload, atS)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		// An update in place: a write that allocates nothing itself.
		if _, err := th.AddKey("user", "same", payload, atS); err != nil {
			t.Fatal(err)
		}
		if got, err := th.KeyctlGetKeyringID(atS, false); err != nil || got != ses {
			t.Fatalf("KeyctlGetKeyringID(@s) = %d, %v; want %d", got, err, ses)
		}
	})
	require.Zero(t, allocs)
}
