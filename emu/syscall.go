package emu

import (
	"fmt"
	"math"

	"github.com/keyemu/keyemu/model"
)

// toSysErr converts a model error to the syscall surface's errno type.
func toSysErr(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(model.Errno); ok {
		return sysErr(e)
	}
	if h, ok := err.(*HandlerError); ok {
		h.Err = toSysErr(h.Err)
		return h
	}
	panic("emu: model returned a non-errno error: " + err.Error())
}

// ustr reads a string argument as strncpy_from_user would: NULL and 0 are
// NULL, other integers and unreadable pointers fault, a buffer is read up
// to its first NUL (none: the read runs off its end and faults).
func ustr(a *Arg) model.UStr {
	switch a.kind {
	case argString:
		s, _ := a.StringValue()
		return model.Str(s)
	case argNull:
		return model.NullStr
	case argInt:
		if a.n == 0 {
			return model.NullStr
		}
	case argBuffer:
		b := a.buf()
		for i, c := range b {
			if c == 0 {
				return model.Str(string(b[:i]))
			}
		}
	}
	return model.UStr{Fault: true}
}

// ubuf pairs a pointer argument with its length argument.
func ubuf(a, n *Arg) model.UBuf {
	length := n.IntValue()
	if length < 0 {
		length = math.MaxInt64
	}
	switch a.kind {
	case argBuffer:
		return model.UBuf{B: a.buf(), Len: length}
	case argString:
		s, _ := a.StringValue()
		return model.UBuf{B: append([]byte(s), 0), Len: length}
	case argNull:
		return model.NullBuf(length)
	case argInt:
		if a.n == 0 {
			return model.NullBuf(length)
		}
	}
	return model.UBuf{Len: length, Fault: true}
}

// uint32Arg narrows an unsigned argument as the kernel's prototype does.
func uint32Arg(a *Arg) uint32 { return uint32(a.IntValue()) }

// serialArg narrows an argument to key_serial_t.
func serialArg(a *Arg) int32 { return int32(a.IntValue()) }

// Syscall performs one system call on t with C argument semantics: nr is
// SYS_ADD_KEY, SYS_REQUEST_KEY or SYS_KEYCTL; missing arguments are 0.
// Any other nr fails ENOSYS.
func (t *Thread) Syscall(nr int, args ...Arg) (int, error) {
	declined := false
	if nr == SYS_REQUEST_KEY && len(args) == 4 && t.trace == nil && serialArg(&args[3]) == 0 {
		// request_key(2) without a destination, which programs make
		// through this entry (x/sys has no wrapper with a NULL
		// callout): call's shared path, reading the arguments where
		// they are.
		typ, desc, callout := ustr(&args[0]), ustr(&args[1]), ustr(&args[2])
		r, err, ok := t.requestKeyShared(&typ, &desc, &callout)
		if ok {
			return r, err
		}
		declined = true
	}
	var a [5]Arg
	if len(args) > len(a) {
		args = args[:len(a)]
	}
	// Element by element, in line: copy would call typedslicecopy.
	for i := range args {
		a[i] = args[i]
	}
	if declined {
		// The shared path declined the call: it is not tried twice.
		return t.callExclusive(nr, &a)
	}
	return t.call(nr, &a)
}

// call is Syscall with its arguments in an array, which keeps them off the
// heap on the hot path. An operation that must wait for a key under
// construction waits without the lock and is repeated (R1.17).
func (t *Thread) call(nr int, a *[5]Arg) (int, error) {
	if t.trace == nil && sharedCall(nr, a) {
		if nr == SYS_REQUEST_KEY {
			typ, desc, callout := ustr(&a[0]), ustr(&a[1]), ustr(&a[2])
			if r, err, ok := t.requestKeyShared(&typ, &desc, &callout); ok {
				return r, err
			}
			return t.callExclusive(nr, a)
		}
		switch int32(a[0].IntValue()) {
		case KEYCTL_SEARCH:
			typ, desc := ustr(&a[2]), ustr(&a[3])
			if r, err, ok := t.keyctlSearchShared(serialArg(&a[1]), &typ, &desc); ok {
				return r, err
			}
			return t.callExclusive(nr, a)
		case KEYCTL_GET_KEYRING_ID:
			if int32(a[2].IntValue()) != 0 {
				break
			}
			id := serialArg(&a[1])
			if r, err, ok := t.keptKeyringID(id); ok {
				return r, err
			}
			if r, err, ok := t.keyringIDShared(id); ok {
				return r, err
			}
			return t.callExclusive(nr, a)
		}
		if r, err, ok := t.callShared(a); ok {
			return r, err
		}
	}
	return t.callExclusive(nr, a)
}

// callExclusive is call with System.mu held for writing. It is a function
// of its own so that the deferred calls cost nothing to the paths above.
func (t *Thread) callExclusive(nr int, a *[5]Arg) (int, error) {
	return t.runExclusive(nr, int(int32(a[0].IntValue())), func() (int, error) { return t.dispatchLocked(nr, a) })
}

// runExclusive runs call, system call nr (keyctl operation op), with
// System.mu held for writing: after the thread's liveness and the injected
// faults are checked, and again each time it must wait for a key under
// construction. The lock is let go without a defer (about 25 instructions
// a call): a panic here is a broken invariant, and the System is not used
// after it.
func (t *Thread) runExclusive(nr, op int, call func() (int, error)) (int, error) {
	s := t.proc.sys
	s.mu.Lock()
	s.mu.syscall = true
	var r int
	var err error
	if t.exited || t.trace != nil || len(s.faults) > 0 {
		r, err = t.runExclusiveChecked(nr, op, call)
	} else if r, err = call(); err != nil || s.waiters > 0 {
		r, err = t.exclusiveDone(r, err, call)
	}
	s.mu.Unlock()
	return r, err
}

// runExclusiveChecked is runExclusive's for a thread that has exited, is
// traced, or meets injected faults. It and exclusiveDone are not inlined:
// the common call, which succeeds with nobody waiting, runs none of their
// code.
//
//go:noinline
func (t *Thread) runExclusiveChecked(nr, op int, call func() (int, error)) (int, error) {
	s := t.proc.sys
	if t.exited {
		return -1, sysErr(model.ESRCH)
	}
	if t.trace != nil {
		s.m.SetTrace(t.trace)
		defer s.m.SetTrace(nil)
	}
	if len(s.faults) > 0 {
		if err := s.faultLocked(t, nr, op); err != nil {
			return -1, toSysErr(err)
		}
	}
	r, err := call()
	return t.exclusiveDone(r, err, call)
}

// exclusiveDone finishes runExclusive's call, whose first answer is (r,
// err): it waits for a key under construction and calls again as often as
// the answer says so, and wakes the waiters once the call is done.
//
//go:noinline
func (t *Thread) exclusiveDone(r int, err error, call func() (int, error)) (int, error) {
	s := t.proc.sys
	for {
		if w, ok := err.(*model.WaitError); ok {
			for w.Key.UnderConstruction() && !t.exited {
				s.waitLocked()
			}
			if t.exited {
				return -1, sysErr(model.ESRCH)
			}
			// wait_for_key_construction() fails with the finished key's
			// negative or validity error before the call goes on (R1.24);
			// otherwise the call is repeated with the key built.
			if _, kerr := s.m.KeyResult(w.Key); kerr != nil {
				return -1, toSysErr(kerr)
			}
			r, err = call()
			continue
		}
		if s.waiters > 0 {
			s.cond.Broadcast()
		}
		if err != nil {
			return -1, toSysErr(err)
		}
		return r, nil
	}
}

// sharedCall reports whether a call may only read the model, so that it may
// run on the shared read path: KEYCTL_DESCRIBE, READ, GET_SECURITY and
// GET_KEYRING_ID, KEYCTL_SEARCH with no destination, and request_key(2)
// with no destination. Whether resolving its ID changes nothing, and
// whether a request_key with a callout finds its key instead of making
// one, is settled under the lock (callShared, requestKeyShared).
func sharedCall(nr int, a *[5]Arg) bool {
	if nr == SYS_REQUEST_KEY {
		return serialArg(&a[3]) == 0
	}
	if nr != SYS_KEYCTL || a[1].kind != argInt {
		return false
	}
	switch int32(a[0].IntValue()) {
	case KEYCTL_DESCRIBE, KEYCTL_READ, KEYCTL_GET_SECURITY, KEYCTL_GET_KEYRING_ID:
		return true
	case KEYCTL_SEARCH:
		return a[4].IsNull()
	}
	return false
}

// callShared runs a sharedCall of keyctl(2) on the shared read path; a
// KEYCTL_GET_KEYRING_ID without create goes to keyringIDShared instead.
func (t *Thread) callShared(a *[5]Arg) (int, error, bool) {
	op := int32(a[0].IntValue())
	id := serialArg(&a[1])
	create := op == KEYCTL_GET_KEYRING_ID && int32(a[2].IntValue()) != 0
	return t.runShared(id, create, false, func() (int, error, bool) {
		r, err := t.keyctlLocked(op, a)
		return r, err, true
	})
}

// keyringIDShared is KEYCTL_GET_KEYRING_ID of id without create on the
// shared read path, for a call that no kept answer serves (keptKeyringID);
// the answer is kept. It reports false where runShared does.
func (t *Thread) keyringIDShared(id int32) (int, error, bool) {
	return t.runShared(id, false, true, func() (int, error, bool) {
		r, err := t.proc.sys.m.GetKeyringID(t.cred, id, false)
		return r, err, true
	})
}

// runShared runs call, a lookup of id (with KEY_LOOKUP_CREATE when create
// is set) that only reads the model, holding only t's shard of System.mu,
// so that lookups from many threads run in parallel. What such a call
// changes is the caches of t's credentials (the shard serialises t's
// calls) and keyrings' child lists (atomic); it takes no key references
// (model.State.SetShared). It reports false, having
// changed nothing, when the call must take the exclusive path instead:
// resolving its ID would create or install a keyring, injected faults are
// configured (they count calls), t has exited, the key is under
// construction and the call must wait, or call itself says so. With keep,
// the answer is kept as t's KEYCTL_GET_KEYRING_ID answer for id.
//
// keyctlBufferShared, keyctlSearchShared and requestKeyShared do what
// runShared does without a function value or a deferred unlock (about 25
// instructions a call; a panic there is a broken invariant, as in
// runExclusive): take the shard, ask mayShare, call the model, give an
// error to sharedError and let the shard go.
func (t *Thread) runShared(id int32, create, keep bool, call func() (int, error, bool)) (int, error, bool) {
	s := t.proc.sys
	t.shard.Lock()
	defer t.shard.Unlock()
	if !t.mayShare(id, create) {
		return 0, nil, false
	}
	r, err, ok := call()
	if !ok {
		return 0, nil, false
	}
	if err != nil {
		r, err, ok = sharedError(err)
	}
	if ok && keep && id < 0 && id >= -int32(len(t.keyringIDs)) {
		anchors := s.mu.anchors.Load()
		slot := &t.keyringIDs[-id-1]
		old := slot.Load()
		if s.cfg.CheckCaches && old != nil && old.anchors.Load() == anchors && (old.r != r || old.err != err) {
			panic(fmt.Sprintf("emu: stale KEYCTL_GET_KEYRING_ID answer for %d: %d, %v; now %d, %v", id, old.r, old.err, r, err))
		}
		if old != nil && old.r == r && old.err == err {
			old.anchors.Store(anchors)
		} else {
			e := &keyringIDAnswer{r: r, err: err}
			e.anchors.Store(anchors)
			slot.Store(e)
		}
	}
	return r, err, ok
}

// mayShare reports whether a lookup of id by t may run on the shared path,
// t's shard held (runShared).
func (t *Thread) mayShare(id int32, create bool) bool {
	s := t.proc.sys
	return !t.exited && len(s.faults) == 0 && s.m.ResolvesUnchanged(t.cred, id, create)
}

// sharedError is the system call's answer to a model call on the shared
// path that failed with err: false when the key is under construction and
// the call must wait (on the exclusive path). It is not inlined: the shared
// paths call it at each of their failures, and most calls have none.
//
//go:noinline
func sharedError(err error) (int, error, bool) {
	if _, wait := err.(*model.WaitError); wait {
		return 0, nil, false
	}
	return -1, toSysErr(err), true
}

// keptKeyringID returns the thread's kept answer of KEYCTL_GET_KEYRING_ID
// without create for id, if it has one that still stands (Thread.keyringIDs).
// With Config.CheckCaches it has none: the call takes the shared path, and
// callShared compares.
func (t *Thread) keptKeyringID(id int32) (int, error, bool) {
	if id >= 0 || id < -int32(len(t.keyringIDs)) || t.trace != nil {
		return 0, nil, false
	}
	s := t.proc.sys
	if e := t.keyringIDs[-id-1].Load(); e != nil && e.anchors.Load() == s.mu.anchors.Load() && !s.cfg.CheckCaches {
		return e.r, e.err, true
	}
	return 0, nil, false
}

func (t *Thread) dispatchLocked(nr int, a *[5]Arg) (int, error) {
	switch nr {
	case SYS_ADD_KEY:
		return t.proc.sys.m.AddKey(t.cred, ustr(&a[0]), ustr(&a[1]), ubuf(&a[2], &a[3]), serialArg(&a[4]))
	case SYS_REQUEST_KEY:
		return t.requestKeyLocked(ustr(&a[0]), ustr(&a[1]), ustr(&a[2]), serialArg(&a[3]))
	case SYS_KEYCTL:
		return t.keyctlLocked(int32(a[0].IntValue()), a)
	}
	return -1, model.ENOSYS
}

// keyctlLocked dispatches keyctl(2) as security/keys/keyctl.c does.
func (t *Thread) keyctlLocked(op int32, a *[5]Arg) (int, error) {
	a2, a3, a4, a5 := &a[1], &a[2], &a[3], &a[4]
	m := t.proc.sys.m
	c := t.cred
	switch op {
	case KEYCTL_GET_KEYRING_ID:
		return m.GetKeyringID(c, serialArg(a2), int32(a3.IntValue()) != 0)
	case KEYCTL_JOIN_SESSION_KEYRING:
		return m.JoinSessionKeyring(c, ustr(a2))
	case KEYCTL_UPDATE:
		return m.Update(c, serialArg(a2), ubuf(a3, a4))
	case KEYCTL_REVOKE:
		return m.Revoke(c, serialArg(a2))
	case KEYCTL_CHOWN:
		return m.Chown(c, serialArg(a2), uint32Arg(a3), uint32Arg(a4))
	case KEYCTL_SETPERM:
		return m.Setperm(c, serialArg(a2), uint32Arg(a3))
	case KEYCTL_DESCRIBE:
		n := Int(int(uint32Arg(a4)))
		return m.Describe(c, serialArg(a2), ubuf(a3, &n))
	case KEYCTL_CLEAR:
		return m.Clear(c, serialArg(a2))
	case KEYCTL_LINK:
		return m.Link(c, serialArg(a2), serialArg(a3))
	case KEYCTL_UNLINK:
		return m.Unlink(c, serialArg(a2), serialArg(a3))
	case KEYCTL_SEARCH:
		return m.Search(c, serialArg(a2), ustr(a3), ustr(a4), serialArg(a5))
	case KEYCTL_READ:
		return m.Read(c, serialArg(a2), ubuf(a3, a4))
	case KEYCTL_INSTANTIATE:
		return m.Instantiate(c, serialArg(a2), ubuf(a3, a4), serialArg(a5))
	case KEYCTL_NEGATE:
		return m.Reject(c, serialArg(a2), uint32Arg(a3), uint32(model.ENOKEY), serialArg(a4))
	case KEYCTL_SET_REQKEY_KEYRING:
		return m.SetReqkeyKeyring(c, int32(a2.IntValue()))
	case KEYCTL_SET_TIMEOUT:
		return m.SetTimeout(c, serialArg(a2), uint32Arg(a3))
	case KEYCTL_ASSUME_AUTHORITY:
		return m.AssumeAuthority(c, serialArg(a2))
	case KEYCTL_GET_SECURITY:
		return m.GetSecurity(c, serialArg(a2), ubuf(a3, a4))
	case KEYCTL_SESSION_TO_PARENT:
		return m.SessionToParent(c, t.parentInfoLocked())
	case KEYCTL_REJECT:
		return m.Reject(c, serialArg(a2), uint32Arg(a3), uint32Arg(a4), serialArg(a5))
	case KEYCTL_INSTANTIATE_IOV:
		payload, err := gatherIOV(a3, uint32Arg(a4))
		if err != nil {
			return -1, err
		}
		return m.Instantiate(c, serialArg(a2), payload, serialArg(a5))
	case KEYCTL_INVALIDATE:
		return m.Invalidate(c, serialArg(a2))
	case KEYCTL_GET_PERSISTENT:
		return m.GetPersistent(c, uint32Arg(a2), serialArg(a3))
	case KEYCTL_RESTRICT_KEYRING:
		return m.RestrictKeyring(c, serialArg(a2), ustr(a3), ustr(a4))
	case KEYCTL_PKEY_QUERY:
		return m.PkeyQuery(c, serialArg(a2), a3.IntValue(), ustr(a4))
	case KEYCTL_PKEY_ENCRYPT, KEYCTL_PKEY_DECRYPT, KEYCTL_PKEY_SIGN, KEYCTL_PKEY_VERIFY:
		params, _ := a2.BufferValue()
		if a2.kind != argBuffer {
			params = nil
		}
		return m.PkeyOp(c, params, a2.kind == argBuffer, ustr(a3))
	case KEYCTL_MOVE:
		return m.Move(c, serialArg(a2), serialArg(a3), serialArg(a4), uint32Arg(a5))
	case KEYCTL_CAPABILITIES:
		return m.Capabilities(ubuf(a2, a3))
	}
	// DH_COMPUTE and WATCH_KEY are compiled out of the reference kernel;
	// everything else does not exist (R5.1c).
	return -1, model.EOPNOTSUPP
}

// gatherIOV reads an iovec array argument (import_iovec): more than
// UIO_MAXIOV entries is EINVAL, an unreadable array EFAULT.
func gatherIOV(a *Arg, count uint32) (model.UBuf, error) {
	if a.IsNull() {
		count = 0
	}
	if count > 1024 {
		return model.UBuf{}, model.EINVAL
	}
	if count == 0 {
		return model.Buf(nil), nil
	}
	if a.kind != argIOV || uint32(len(a.iovs())) < count {
		return model.UBuf{}, model.EFAULT
	}
	var data []byte
	for _, p := range a.iovs()[:count] {
		data = append(data, p...)
	}
	return model.Buf(data), nil
}

// parentInfoLocked describes t's parent process for SESSION_TO_PARENT.
func (t *Thread) parentInfoLocked() model.ParentInfo {
	p := t.proc.parent
	if p == nil || p.exited {
		return model.ParentInfo{IsInit: true}
	}
	info := model.ParentInfo{}
	for _, pt := range p.threads {
		if !pt.exited {
			info.Threads++
			info.Cred = pt.cred
		}
	}
	return info
}
