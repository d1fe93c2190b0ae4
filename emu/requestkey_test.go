package emu_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyemu/keyemu/emu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func requestKey(t *emu.Thread, typ, desc, callout string, dest int) (int, error) {
	co := emu.Null()
	if callout != "" {
		co = emu.String(callout)
	}
	return t.Syscall(emu.SYS_REQUEST_KEY, emu.String(typ), emu.String(desc), co, emu.Int(dest))
}

// instantiateHandler is a well-behaved /sbin/request-key: it assumes the
// authority and instantiates the key with "made:<callout>" into @r.
func instantiateHandler(req *emu.KeyRequest) error {
	th := req.Thread
	if _, err := th.KeyctlInt(emu.KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
		return err
	}
	_, err := th.KeyctlBuffer(emu.KEYCTL_INSTANTIATE, req.Key, []byte("made:"+req.Callout), emu.KEY_SPEC_REQUESTOR_KEYRING)
	return err
}

// R5.4c, R5.4d, Ex-24: the helper runs as root with a _req.<serial>
// session keyring holding the authorisation key; @a reads back the
// callout, @r is the requester's destination; after INSTANTIATE both fail
// ENOKEY.
func TestRequestKeyHandlerRoundTrip(t *testing.T) {
	type seen struct {
		args                    []string
		sessionDesc, authDesc   string
		callout                 string
		reqRing                 int
		requesterKey, ownSearch error
		afterA, afterR          error
		typ, desc, reqCallout   string
	}
	var got seen
	var requesterSession int
	handler := func(req *emu.KeyRequest) error {
		th := req.Thread
		got.args = req.Args()
		got.typ, got.desc, got.reqCallout = req.Type, req.Description, req.Callout
		got.sessionDesc, _ = th.KeyctlString(emu.KEYCTL_DESCRIBE, emu.KEY_SPEC_SESSION_KEYRING)
		if _, err := th.KeyctlInt(emu.KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		got.authDesc, _ = th.KeyctlString(emu.KEYCTL_DESCRIBE, emu.KEY_SPEC_REQKEY_AUTH_KEY)
		buf := make([]byte, 64)
		n, _ := th.KeyctlBuffer(emu.KEYCTL_READ, emu.KEY_SPEC_REQKEY_AUTH_KEY, buf, 0)
		got.callout = string(buf[:n])
		got.reqRing, _ = th.KeyctlGetKeyringID(emu.KEY_SPEC_REQUESTOR_KEYRING, false)
		// R4.2a: request_key reaches the requester's keys; KEYCTL_SEARCH
		// of the helper's own keyrings does not.
		_, got.requesterKey = requestKey(th, "user", "secret", "", 0)
		_, got.ownSearch = th.KeyctlSearch(emu.KEY_SPEC_SESSION_KEYRING, "user", "secret", 0)
		if _, err := th.KeyctlBuffer(emu.KEYCTL_INSTANTIATE, req.Key, []byte("instantiated-by-handler"), emu.KEY_SPEC_REQUESTOR_KEYRING); err != nil {
			return err
		}
		_, got.afterA = th.KeyctlGetKeyringID(emu.KEY_SPEC_REQKEY_AUTH_KEY, false)
		_, got.afterR = th.KeyctlGetKeyringID(emu.KEY_SPEC_REQUESTOR_KEYRING, false)
		return nil
	}
	sys := emu.New(emu.Config{RequestKey: handler})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	var err error
	requesterSession, err = th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	_, err = th.AddKey("user", "secret", []byte("s"), emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)

	id, err := requestKey(th, "user", "kexp:1", "my-callout-data", emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err, `request_key("user", "kexp:1", "my-callout-data", @s)`)
	buf := make([]byte, 64)
	n, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	require.NoError(t, err)
	assert.Equal(t, "instantiated-by-handler", string(buf[:n]))
	desc, err := th.KeyctlString(emu.KEYCTL_DESCRIBE, id)
	require.NoError(t, err)
	assert.Equal(t, "user;1000;1000;3f010000;kexp:1", desc)

	assert.Equal(t, []string{"create", fmt.Sprint(id), "1000", "1000", "0", "0", fmt.Sprint(requesterSession)}, got.args)
	assert.Equal(t, fmt.Sprintf("keyring;1000;1000;3f030000;_req.%d", id), got.sessionDesc, "helper's session keyring")
	assert.Equal(t, fmt.Sprintf(".request_key_auth;1000;1000;1b010000;%x", id), got.authDesc, "authorisation key")
	assert.Equal(t, "my-callout-data", got.callout, "KEYCTL_READ of @a")
	assert.Equal(t, requesterSession, got.reqRing, "@r is the requester's destination")
	assert.NoError(t, got.requesterKey, "request_key of the requester's key from the helper")
	assert.ErrorIs(t, got.ownSearch, emu.ENOKEY, "KEYCTL_SEARCH of the helper's own session")
	assert.ErrorIs(t, got.afterA, emu.ENOKEY, "@a after INSTANTIATE")
	assert.ErrorIs(t, got.afterR, emu.ENOKEY, "@r after INSTANTIATE")
	assert.Equal(t, "user", got.typ)
	assert.Equal(t, "kexp:1", got.desc)
	assert.Equal(t, "my-callout-data", got.reqCallout)
}

// R5.4c step 5: a helper that exits without finishing the key leaves it
// negative for 60 s and the requester gets ENOKEY; later requests find the
// negative key (R1.19) without running the helper again.
func TestRequestKeyHandlerLeavesKeyUnfinished(t *testing.T) {
	var calls atomic.Int32
	sys := emu.New(emu.Config{RequestKey: func(*emu.KeyRequest) error { calls.Add(1); return errors.New("exit 1") }})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := requestKey(th, "user", "nobody-makes-this", "info", 0)
	assert.ErrorIs(t, err, emu.ENOKEY)
	_, err = requestKey(th, "user", "nobody-makes-this", "info", 0)
	assert.ErrorIs(t, err, emu.ENOKEY)
	assert.Equal(t, int32(1), calls.Load(), "handler runs")
	assert.Contains(t, sys.ProcKeys(th), "I--Q-N-     1   1m 3f010000  1000  1000 user      nobody-makes-this")
}

// Without a handler the system behaves like one without /sbin/request-key:
// ENOENT for the requester, a negative key for everyone after.
func TestRequestKeyWithoutHandler(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := requestKey(th, "user", "x", "info", 0)
	assert.ErrorIs(t, err, emu.ENOENT)
	_, err = requestKey(th, "user", "x", "info", 0)
	assert.ErrorIs(t, err, emu.ENOKEY)
}

// R1.19, R4.4c: a key rejected with an error gives that error.
func TestRequestKeyHandlerRejects(t *testing.T) {
	sys := emu.New(emu.Config{RequestKey: func(req *emu.KeyRequest) error {
		if _, err := req.Thread.KeyctlInt(emu.KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		_, err := req.Thread.KeyctlInt(emu.KEYCTL_REJECT, req.Key, 30, int(emu.EKEYREJECTED), 0)
		return err
	}})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := requestKey(th, "user", "debug:rj1", "rejected", emu.KEY_SPEC_SESSION_KEYRING)
	assert.ErrorIs(t, err, emu.EKEYREJECTED)
	_, err = requestKey(th, "user", "debug:rj1", "", 0)
	assert.ErrorIs(t, err, emu.EKEYREJECTED)
}

// A panicking handler negates the key; the requester's error names the
// handler and is still the errno.
func TestRequestKeyHandlerPanics(t *testing.T) {
	sys := emu.New(emu.Config{RequestKey: panickingHandler})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := requestKey(th, "user", "boom", "info", 0)
	var he *emu.HandlerError
	require.ErrorAs(t, err, &he)
	assert.Contains(t, he.Handler, "panickingHandler")
	assert.ErrorIs(t, err, emu.ENOKEY)
	// Other threads keep working.
	_, err = th.AddKey("user", "after", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	assert.NoError(t, err)
}

func panickingHandler(*emu.KeyRequest) error { panic("handler bug") }

// A handler that never returns is killed after RequestKeyTimeout: the key
// is negated and the requester gets ENOKEY.
func TestRequestKeyHandlerNeverReturns(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	sys := emu.New(emu.Config{RequestKeyTimeout: 50 * time.Millisecond, RequestKey: func(*emu.KeyRequest) error {
		<-block
		return nil
	}})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := requestKey(th, "user", "stuck", "info", 0)
	assert.ErrorIs(t, err, emu.ENOKEY)
}

// A detached handler finishes from another goroutine; concurrent
// requesters wait for the one construction and all get its key.
func TestRequestKeyConcurrentWaiters(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	sys := emu.New(emu.Config{RequestKey: func(req *emu.KeyRequest) error {
		calls.Add(1)
		req.Detach()
		go func() {
			<-release
			_ = instantiateHandler(req)
			req.Thread.Process().Exit()
		}()
		return nil
	}})
	p := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	first := p.Main()
	_, err := first.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	threads := []*emu.Thread{first}
	for i := 0; i < 7; i++ {
		threads = append(threads, first.Clone())
	}
	results := make([]int, len(threads))
	errs := make([]error, len(threads))
	var wg sync.WaitGroup
	started := make(chan struct{}, len(threads))
	for i, th := range threads {
		wg.Add(1)
		go func(i int, th *emu.Thread) {
			defer wg.Done()
			started <- struct{}{}
			results[i], errs[i] = requestKey(th, "user", "shared", "info", emu.KEY_SPEC_SESSION_KEYRING)
		}(i, th)
	}
	for range threads {
		<-started
	}
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load(), "one construction")
	for i := range threads {
		require.NoError(t, errs[i], "requester %d", i)
		assert.Equal(t, results[0], results[i], "requester %d got the same key", i)
	}
}
