package emu

import (
	"github.com/keyemu/keyemu/model"
	"sync"
	"testing"
	"time"
)

// Key construction under stress must never deadlock: concurrent waiters,
// a handler that detaches and lets its helper process die without
// finishing the key, a handler that never returns, and requesters whose
// processes exit while they wait. A watchdog fails the test if any call is
// still blocked after ten seconds (R5.4c).
func TestConstructionWatchdog(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	sys := New(Config{RequestKeyTimeout: 200 * time.Millisecond, RequestKey: func(req *KeyRequest) error {
		switch req.Description {
		case "dies":
			req.Detach()
			go func() {
				time.Sleep(20 * time.Millisecond)
				req.Thread.Process().Exit() // the helper dies with the key unfinished
			}()
		case "hangs":
			<-stuck
		}
		// "plain" returns at once, leaving the key for the kernel to negate.
		return nil
	}})
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		p := sys.NewProcess(Creds{UID: 1000, GID: 1000})
		th := p.Main()
		if _, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		desc := []string{"dies", "hangs", "plain"}[i%3]
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func(th *Thread) {
				defer wg.Done()
				_, _ = th.RequestKey("user", desc, "info", KEY_SPEC_USER_KEYRING)
			}(th.Clone())
		}
		if i%4 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(5 * time.Millisecond)
				p.Exit() // a requester's process exits while its threads wait
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("request_key calls still blocked after 10 s: construction deadlocked")
	}
	var err error
	sys.Model(func(m *model.State) { err = m.CheckInvariants() })
	if err != nil {
		t.Fatalf("invariants after the run: %v", err)
	}
}
