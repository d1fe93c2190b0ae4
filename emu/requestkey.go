package emu

import (
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"time"

	"github.com/keyemu/keyemu/model"
)

// RequestKeyHandler stands in for /sbin/request-key (R5.4c step 4). It runs
// in its own goroutine as the helper process the kernel would start: root
// of the initial user namespace, a fresh "_req.<serial>" session keyring
// holding the authorisation key, request-key default 1. It finishes the
// key with the ordinary calls on req.Thread (KEYCTL_ASSUME_AUTHORITY, then
// INSTANTIATE, NEGATE or REJECT). When it returns, the helper process
// exits, and a key it left unfinished is negated for 60 s and the
// requester gets ENOKEY; the returned error is the helper's failure exit,
// which, as in the kernel, changes nothing else.
type RequestKeyHandler func(req *KeyRequest) error

// KeyRequest is what the kernel passes to /sbin/request-key.
type KeyRequest struct {
	// Thread is the helper process's thread.
	Thread *Thread
	// Op is the operation, "create".
	Op string
	// Key is the serial of the key under construction.
	Key int
	// UID and GID are the requester's filesystem IDs.
	UID, GID uint32
	// ThreadKeyring, ProcessKeyring and SessionKeyring are the requester's
	// keyrings (0 when absent; the user session keyring when it has no
	// session keyring).
	ThreadKeyring, ProcessKeyring, SessionKeyring int
	// Type, Description and Callout describe the key requested.
	Type, Description, Callout string

	sys      *System
	detached bool
	panicked any
}

// Args returns /sbin/request-key's arguments after the program name:
// op, key, uid, gid, thread, process and session keyring.
func (r *KeyRequest) Args() []string {
	return []string{r.Op, strconv.Itoa(r.Key), strconv.FormatUint(uint64(r.UID), 10), strconv.FormatUint(uint64(r.GID), 10),
		strconv.Itoa(r.ThreadKeyring), strconv.Itoa(r.ProcessKeyring), strconv.Itoa(r.SessionKeyring)}
}

// Detach keeps the helper process alive after the handler returns, for a
// handler that finishes the key from another goroutine: the construction
// then lasts until req.Thread's process exits (or RequestKeyTimeout), and
// every requester waits for it, as the kernel waits for its helper.
func (r *KeyRequest) Detach() {
	r.sys.mu.Lock()
	defer r.sys.mu.Unlock()
	r.detached = true
}

// HandlerError reports a request-key handler that panicked. The key was
// negated; the error unwraps to the errno the requester got.
type HandlerError struct {
	// Handler names the handler function.
	Handler string
	// Value is what the handler panicked with.
	Value any
	// Err is the errno of the failed request_key(2).
	Err error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("request-key handler %s panicked: %v (%v)", e.Handler, e.Value, e.Err)
}

// Unwrap returns the errno.
func (e *HandlerError) Unwrap() error { return e.Err }

func handlerName(h RequestKeyHandler) string {
	if f := runtime.FuncForPC(reflect.ValueOf(h).Pointer()); f != nil {
		return f.Name()
	}
	return "request-key handler"
}

// requestKeyLocked is request_key(2). It may release the lock while a key
// is under construction and while the handler runs.
func (t *Thread) requestKeyLocked(typ, desc, callout model.UStr, dest int32) (int, error) {
	s := t.proc.sys
	k, cons, err := s.m.RequestKey(t.cred, typ, desc, callout, dest)
	if err != nil {
		return -1, err
	}
	defer s.m.PutKey(k)
	if cons != nil {
		cons.SetRequesterPID(t.proc.pid)
		if err := s.constructLocked(cons); err != nil {
			return -1, err
		}
	}
	for k.UnderConstruction() {
		s.waitLocked()
	}
	return s.m.KeyResult(k)
}

// constructLocked runs the request-key handler for cons as a helper
// process and waits for that process to exit (R5.4c steps 4-5).
func (s *System) constructLocked(cons *model.Construction) error {
	h := s.cfg.RequestKey
	if h == nil {
		// No /sbin/request-key: the kernel's usermode helper fails ENOENT.
		return s.m.FinishConstruction(cons, model.ENOENT)
	}
	helper := s.newProcessLocked(nil, s.m.HelperCred(cons))
	helper.cons = cons
	ser := func(v string) int { n, _ := strconv.Atoi(v); return n }
	args := cons.Args
	req := &KeyRequest{
		Thread:         helper.threads[0],
		Op:             args[0],
		Key:            ser(args[1]),
		UID:            cons.UID,
		GID:            cons.GID,
		ThreadKeyring:  ser(args[4]),
		ProcessKeyring: ser(args[5]),
		SessionKeyring: ser(args[6]),
		Type:           cons.Key.Type().Name,
		Description:    cons.Key.Description(),
		Callout:        cons.Callout,
		sys:            s,
	}
	go s.runHandler(h, req, helper)
	timer := time.AfterFunc(s.cfg.RequestKeyTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		// The helper is killed; an unfinished key is negated on exit.
		helper.exitLocked()
	})
	defer timer.Stop()
	for !helper.exited {
		s.waitLocked()
	}
	if req.panicked != nil {
		err := helper.consErr
		if err == nil {
			err = model.ENOKEY
		}
		return &HandlerError{Handler: handlerName(h), Value: req.panicked, Err: err}
	}
	return helper.consErr
}

// runHandler calls the handler without the lock and, unless it detached,
// ends the helper process when it returns or panics.
func (s *System) runHandler(h RequestKeyHandler, req *KeyRequest, helper *Process) {
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_ = h(req)
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if panicked != nil {
		req.panicked = panicked
	}
	if panicked != nil || !req.detached {
		helper.exitLocked()
	}
	s.cond.Broadcast()
}

// waitLocked waits, without the lock, until a key construction may have
// ended.
func (s *System) waitLocked() {
	trace := s.m.Trace()
	s.m.SetTrace(nil)
	s.waiters++
	s.cond.Wait()
	s.waiters--
	s.m.SetTrace(trace)
}
