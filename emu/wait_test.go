package emu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitForWaiters waits until n threads are blocked on key construction.
func waitForWaiters(t *testing.T, s *System, n int) {
	t.Helper()
	for i := 0; ; i++ {
		s.mu.Lock()
		w := s.waiters
		s.mu.Unlock()
		if w >= n {
			return
		}
		require.Less(t, i, 10000, "threads blocked on construction: %d, want %d", w, n)
		time.Sleep(time.Millisecond)
	}
}

// R1.17, R1.24: add_key of a key under construction waits for it, and when
// the helper negates it, fails with the key's error (ENOKEY) rather than
// updating it (__key_create_or_update, wait_for_key_construction). Every
// concurrent requester shares the one construction.
func TestWaitersShareConstruction(t *testing.T) {
	release := make(chan struct{})
	calls := 0
	sys := New(Config{RequestKey: func(req *KeyRequest) error {
		calls++
		<-release
		if _, err := req.Thread.KeyctlInt(KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		_, err := req.Thread.KeyctlInt(KEYCTL_NEGATE, req.Key, 30, 0, 0)
		return err
	}})
	main := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	_, err := main.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	requester, adder := main.Clone(), main.Clone()

	reqDone := inBackground(func() (int, error) {
		return requester.RequestKey("user", "shared", "info", KEY_SPEC_SESSION_KEYRING)
	})
	waitForWaiters(t, sys, 1) // the requester waits for its helper
	addDone := inBackground(func() (int, error) {
		return adder.AddKey("user", "shared", []byte("v"), KEY_SPEC_SESSION_KEYRING)
	})
	waitForWaiters(t, sys, 2) // and the adder for the key under construction
	close(release)
	rr, ar := <-reqDone, <-addDone
	assert.ErrorIs(t, rr.err, ENOKEY, "request_key of a key its helper negated")
	assert.ErrorIs(t, ar.err, ENOKEY, "add_key of a key negated while it waited")
	assert.Equal(t, 1, calls, "one construction")
}

// callResult is what a call made by inBackground returned.
type callResult struct {
	r   int
	err error
}

// inBackground makes call on a goroutine of its own; its result arrives on
// the channel.
func inBackground(call func() (int, error)) <-chan callResult {
	done := make(chan callResult, 1)
	go func() {
		r, err := call()
		done <- callResult{r, err}
	}()
	return done
}

// heldConstruction returns a system whose request-key handler sends the
// key's serial to serials (when not nil), waits for release to close, then
// assumes the authority and instantiates the key with payload; and a
// thread of a process of UID 1000 in a new anonymous session keyring.
func heldConstruction(t *testing.T, release <-chan struct{}, payload string, serials chan<- int) (*System, *Thread) {
	t.Helper()
	sys := New(Config{RequestKey: func(req *KeyRequest) error {
		if serials != nil {
			serials <- req.Key
		}
		<-release
		if _, err := req.Thread.KeyctlInt(KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		_, err := req.Thread.Syscall(SYS_KEYCTL, Int(KEYCTL_INSTANTIATE), Int(req.Key), Buffer([]byte(payload)), Int(len(payload)), Int(0))
		return err
	}})
	main := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	_, err := main.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	return sys, main
}

// R1.17, R5.4a: request_key(2) with neither callout nor destination runs
// on the shared read path, but one that finds a key under construction
// waits for it like any other, and gets the constructed key.
func TestRequestKeyWithoutCalloutWaits(t *testing.T) {
	release := make(chan struct{})
	sys, main := heldConstruction(t, release, "v", nil)
	requester, looker := main.Clone(), main.Clone()
	_, err := looker.Syscall(SYS_REQUEST_KEY, String("user"), String("built"), Null(), Int(0))
	require.ErrorIs(t, err, ENOKEY, "request_key without a callout before the construction")

	reqDone := inBackground(func() (int, error) {
		return requester.RequestKey("user", "built", "info", KEY_SPEC_SESSION_KEYRING)
	})
	waitForWaiters(t, sys, 1)
	lookDone := inBackground(func() (int, error) {
		return looker.Syscall(SYS_REQUEST_KEY, String("user"), String("built"), Null(), Int(0))
	})
	waitForWaiters(t, sys, 2)
	close(release)
	rr, lr := <-reqDone, <-lookDone
	require.NoError(t, rr.err, "request_key with a callout")
	require.NoError(t, lr.err, "request_key without a callout, having waited")
	assert.Equal(t, rr.r, lr.r, "both find the constructed key")
}

// R1.17, R5.4a: request_key(2) through the x/sys wrapper with a callout but
// no destination tries the shared read path first; one that finds a key
// under construction waits for it there like any other, gets the
// constructed key and makes no second one.
func TestWrapperRequestKeyWithCalloutWaits(t *testing.T) {
	release := make(chan struct{})
	sys, main := heldConstruction(t, release, "v", nil)
	requester, waiter := main.Clone(), main.Clone()
	reqDone := inBackground(func() (int, error) {
		return requester.RequestKey("user", "built", "info", KEY_SPEC_SESSION_KEYRING)
	})
	waitForWaiters(t, sys, 1)
	waitDone := inBackground(func() (int, error) {
		return waiter.RequestKey("user", "built", "info", 0)
	})
	waitForWaiters(t, sys, 2)
	close(release)
	rr, wr := <-reqDone, <-waitDone
	require.NoError(t, rr.err, "the request that made the key")
	require.NoError(t, wr.err, "the request that waited")
	assert.Equal(t, rr.r, wr.r, "both get the constructed key")
	found, err := waiter.RequestKey("user", "built", "", 0)
	require.NoError(t, err, "a later hit")
	assert.Equal(t, rr.r, found)
}

// R1.17: KEYCTL_READ through the x/sys wrapper, which tries the shared read
// path first, of a key under construction waits for it like the exclusive
// path does, and reads the payload it was given.
func TestWrapperReadWaitsForConstruction(t *testing.T) {
	release, serial := make(chan struct{}), make(chan int, 1)
	sys, main := heldConstruction(t, release, "payload", serial)
	requester, reader := main.Clone(), main.Clone()
	reqDone := make(chan error, 1)
	go func() {
		_, err := requester.RequestKey("user", "built", "info", KEY_SPEC_SESSION_KEYRING)
		reqDone <- err
	}()
	id := <-serial
	type result struct {
		n   int
		err error
		buf []byte
	}
	readDone := make(chan result, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := reader.KeyctlBuffer(KEYCTL_READ, id, buf, 0)
		readDone <- result{n, err, buf}
	}()
	waitForWaiters(t, sys, 2) // the requester and the reader
	close(release)
	require.NoError(t, <-reqDone)
	r := <-readDone
	require.NoError(t, r.err, "read of a key that was under construction")
	assert.Equal(t, "payload", string(r.buf[:r.n]))
}
