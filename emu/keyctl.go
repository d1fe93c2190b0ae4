package emu

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"github.com/keyemu/keyemu/model"
)

// The golang.org/x/sys/unix wrappers, built exactly as x/sys builds them
// (empty payloads are a non-NULL pointer, strings are never NULL), so the
// emulator sees the same arguments the kernel would. They call the thread
// directly with a fixed-size argument array, which stays on the stack.
// The lookups among them (read, describe, get_security, get_keyring_id
// without create, a search without destination) first try the shared read
// path, and add_key, link, unlink and join_session_keyring go to the
// exclusive one, without building the array: their arguments reach the
// model as the array's would (cString, bufUBuf). Like x/sys's, a wrapper
// given a string that holds a NUL returns 0 and EINVAL without a call.

var zeroBuf = []byte{}

func bufArg(b []byte) Arg {
	if len(b) == 0 {
		return Buffer(zeroBuf)
	}
	return Buffer(b)
}

// AddKey is add_key(2), as unix.AddKey.
func (t *Thread) AddKey(keyType, description string, payload []byte, ringid int) (int, error) {
	typ, ok1 := cString(keyType)
	desc, ok2 := cString(description)
	if !ok1 || !ok2 {
		return 0, sysErr(model.EINVAL)
	}
	// add_key(2) always takes the exclusive path; its arguments go to the
	// model directly, as keyctlBufferShared's do.
	return t.runExclusive(SYS_ADD_KEY, 0, func() (int, error) {
		return t.proc.sys.m.AddKey(t.cred, typ, desc, bufUBuf(payload, len(payload)), int32(ringid))
	})
}

func (t *Thread) requestKey(keyType, description, callback string, destRingid int) (int, error) {
	typ, ok1 := cString(keyType)
	desc, ok2 := cString(description)
	callout, ok3 := cString(callback)
	if !ok1 || !ok2 || !ok3 {
		return 0, sysErr(model.EINVAL)
	}
	if t.trace == nil && int32(destRingid) == 0 {
		if r, err, ok := t.requestKeyShared(&typ, &desc, &callout); ok {
			return r, err
		}
		// Declined (it makes a key, or must wait): not tried twice.
		return t.callExclusive(SYS_REQUEST_KEY, &[5]Arg{String(keyType), String(description), String(callback), Int(destRingid)})
	}
	return t.call(SYS_REQUEST_KEY, &[5]Arg{String(keyType), String(description), String(callback), Int(destRingid)})
}

// requestKeyShared runs request_key(2) with no destination (dest 0) on the
// shared read path: a search that creates, links and waits for nothing. It
// reports false where runShared does, and where the call would make a key
// (a callout and nothing found), which goes to the exclusive path. A kept
// answer (keptLookup) stands for everything mayShare asks: whether the call
// could share was settled under the same count of writers.
func (t *Thread) requestKeyShared(keyType, description, callout *model.UStr) (int, error, bool) {
	s := t.proc.sys
	t.shard.Lock()
	if !t.keptLookupsEnded() {
		if r, err, ok := t.keptLookup(SYS_REQUEST_KEY, 0, keyType, description, callout); ok {
			t.shard.Unlock()
			return r, err, true
		}
	}
	if !t.mayShare(0, false) {
		t.shard.Unlock()
		return 0, nil, false
	}
	r, err, ok := s.m.RequestKnown(t.cred, keyType, description, callout)
	if !ok {
		r, err, ok = s.m.RequestKeyShared(t.cred, *keyType, *description, *callout, 0)
	}
	if ok && err != nil {
		r, err, ok = sharedError(err)
	}
	if ok && t.keeping() {
		t.keepLookup(SYS_REQUEST_KEY, 0, keyType, description, callout, r, err)
	}
	t.shard.Unlock()
	return r, err, ok
}

// KeyctlInt is keyctl(2) with integer arguments, as unix.KeyctlInt.
// Arguments the kernel reads as pointers are NULL when 0 and unreadable
// otherwise.
func (t *Thread) KeyctlInt(cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	switch op := int32(cmd); op {
	case KEYCTL_LINK, KEYCTL_UNLINK:
		return t.keyctlLinkage(op, int32(arg2), int32(arg3))
	case KEYCTL_JOIN_SESSION_KEYRING:
		if arg2 == 0 {
			return t.joinSessionKeyring(model.NullStr)
		}
	}
	return t.call(SYS_KEYCTL, &[5]Arg{Int(cmd), Int(arg2), Int(arg3), Int(arg4), Int(arg5)})
}

// keyctlLinkage is KEYCTL_LINK or KEYCTL_UNLINK (op) of key id in keyring
// ring, on the exclusive path without the argument array: the model gets
// what keyctlLocked would give it.
func (t *Thread) keyctlLinkage(op, id, ring int32) (int, error) {
	return t.runExclusive(SYS_KEYCTL, int(op), func() (int, error) {
		if op == KEYCTL_LINK {
			return t.proc.sys.m.Link(t.cred, id, ring)
		}
		return t.proc.sys.m.Unlink(t.cred, id, ring)
	})
}

// KeyctlBuffer is keyctl(2) with a buffer as the third and fourth
// arguments, as unix.KeyctlBuffer.
func (t *Thread) KeyctlBuffer(cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	if op := int32(cmd); t.trace == nil && (op == KEYCTL_READ || op == KEYCTL_DESCRIBE || op == KEYCTL_GET_SECURITY) {
		if r, err, ok := t.keyctlBufferShared(op, int32(arg2), buf); ok {
			return r, err
		}
		// The shared path declined the call (runShared): it is not tried
		// twice.
		return t.callExclusive(SYS_KEYCTL, &[5]Arg{Int(cmd), Int(arg2), bufArg(buf), Int(len(buf)), Int(arg5)})
	}
	return t.call(SYS_KEYCTL, &[5]Arg{Int(cmd), Int(arg2), bufArg(buf), Int(len(buf)), Int(arg5)})
}

func (t *Thread) keyctlString(cmd, id int) (string, error) {
	var buffer []byte
	for {
		length, err := t.KeyctlBuffer(cmd, id, buffer, 0)
		if err != nil {
			return "", err
		}
		if length <= len(buffer) {
			return string(buffer[:length-1]), nil
		}
		buffer = make([]byte, length)
	}
}

func (t *Thread) keyctlGetKeyringID(id int, create bool) (int, error) {
	if !create && id == int(int32(id)) && t.trace == nil {
		if r, err, ok := t.keptKeyringID(int32(id)); ok {
			return r, err
		}
		// The shared path without the argument array, as call takes it.
		if r, err, ok := t.keyringIDShared(int32(id)); ok {
			return r, err
		}
		return t.callExclusive(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_GET_KEYRING_ID), Int(id), Int(0)})
	}
	c := 0
	if create {
		c = 1
	}
	return t.KeyctlInt(KEYCTL_GET_KEYRING_ID, id, c, 0, 0)
}

func (t *Thread) keyctlSetperm(id int, perm uint32) error {
	_, err := t.KeyctlInt(KEYCTL_SETPERM, id, int(perm), 0, 0)
	return err
}

func (t *Thread) keyctlJoinSessionKeyring(name string) (int, error) {
	s, ok := cString(name)
	if !ok {
		return 0, sysErr(model.EINVAL)
	}
	return t.joinSessionKeyring(s)
}

// joinSessionKeyring is KEYCTL_JOIN_SESSION_KEYRING of name (NULL for an
// anonymous keyring) on the exclusive path without the argument array.
func (t *Thread) joinSessionKeyring(name model.UStr) (int, error) {
	return t.runExclusive(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, func() (int, error) {
		return t.proc.sys.m.JoinSessionKeyring(t.cred, name)
	})
}

// KeyctlSearch is KEYCTL_SEARCH, as unix.KeyctlSearch.
//
// x/sys refuses a type or description that holds a NUL (EINVAL) before it
// makes the call. A search without a destination that finds a key tests
// neither: what it found has that type and description, and no key's
// holds a NUL. Any other answer of the shared path (a miss, an error, a
// declined call), which changes nothing but the thread's caches, gives
// way to the test.
func (t *Thread) KeyctlSearch(ringid int, keyType, description string, destRingid int) (int, error) {
	if t.trace == nil && int32(destRingid) == 0 {
		typ, desc := model.Str(keyType), model.Str(description)
		r, err, ok := t.keyctlSearchShared(int32(ringid), &typ, &desc)
		if ok && err == nil {
			return r, nil
		}
		if hasNUL(keyType) || hasNUL(description) {
			return 0, sysErr(model.EINVAL)
		}
		if ok {
			return r, err
		}
		return t.callExclusive(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_SEARCH), Int(ringid), String(keyType), String(description), Int(destRingid)})
	}
	if hasNUL(keyType) || hasNUL(description) {
		return 0, sysErr(model.EINVAL)
	}
	return t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_SEARCH), Int(ringid), String(keyType), String(description), Int(destRingid)})
}

// keyctlSearchShared runs KEYCTL_SEARCH without a destination on the shared
// read path. It reports false where runShared does; a kept answer stands
// for mayShare's, as in requestKeyShared.
func (t *Thread) keyctlSearchShared(id int32, keyType, description *model.UStr) (int, error, bool) {
	s := t.proc.sys
	t.shard.Lock()
	if !t.keptLookupsEnded() {
		if r, err, ok := t.keptLookup(SYS_KEYCTL, id, keyType, description, &model.NullStr); ok {
			t.shard.Unlock()
			return r, err, true
		}
	}
	if !t.mayShare(id, false) {
		t.shard.Unlock()
		return 0, nil, false
	}
	r, err, ok := s.m.SearchKnown(t.cred, id, keyType, description)
	if !ok {
		r, err = s.m.Search(t.cred, id, *keyType, *description, 0)
	}
	ok = true
	if err != nil {
		r, err, ok = sharedError(err)
	}
	if ok && t.keeping() {
		t.keepLookup(SYS_KEYCTL, id, keyType, description, &model.NullStr, r, err)
	}
	t.shard.Unlock()
	return r, err, ok
}

func (t *Thread) keyctlRestrictKeyring(ringid int, keyType, restriction string) error {
	var err error
	if keyType == "" {
		_, err = t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_RESTRICT_KEYRING), Int(ringid)})
	} else {
		_, ok1 := cString(keyType)
		_, ok2 := cString(restriction)
		if !ok1 || !ok2 {
			return sysErr(model.EINVAL)
		}
		_, err = t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_RESTRICT_KEYRING), Int(ringid), String(keyType), String(restriction)})
	}
	return err
}

// keyctlBufferShared runs KeyctlBuffer's lookups (READ, DESCRIBE,
// GET_SECURITY) on the shared read path, with the arguments keyctlLocked
// would give the model (KEYCTL_DESCRIBE takes the length as an unsigned
// int). It reports false where runShared does. A read or a describe may be
// answered from t's kept answers (keptBuffer), which stand for mayShare's,
// as in requestKeyShared.
func (t *Thread) keyctlBufferShared(cmd, id int32, buf []byte) (int, error, bool) {
	s := t.proc.sys
	t.shard.Lock()
	if cmd != KEYCTL_GET_SECURITY && !t.keptBuffersEnded() {
		if r, err, ok := t.keptBuffer(cmd, id, buf); ok {
			if err != nil {
				r, err, ok = sharedError(err)
			}
			t.shard.Unlock()
			return r, err, ok
		}
	}
	if !t.mayShare(id, false) {
		t.shard.Unlock()
		return 0, nil, false
	}
	var r int
	var err error
	switch cmd {
	case KEYCTL_READ:
		var payload []byte
		var keep bool
		if r, payload, keep = s.m.ReadKnown(t.cred, id, buf); !keep {
			r, err, payload, keep = s.m.ReadKept(t.cred, id, bufUBuf(buf, len(buf)))
		}
		if keep && t.keeping() {
			t.keepBuffer(cmd, id, payload)
		}
	case KEYCTL_DESCRIBE:
		if !t.keeping() {
			var ok bool
			if r, ok = s.m.DescribeKnown(t.cred, id, buf, int(uint32(len(buf)))); !ok {
				r, err = s.m.Describe(t.cred, id, bufUBuf(buf, int(uint32(len(buf)))))
			}
			break
		}
		r, err, t.describeText = s.m.DescribeKept(t.cred, id, bufUBuf(buf, int(uint32(len(buf)))), t.describeText[:0])
		if err == nil {
			t.keepBuffer(cmd, id, t.describeText)
		}
	case KEYCTL_GET_SECURITY:
		r, err = s.m.GetSecurity(t.cred, id, bufUBuf(buf, len(buf)))
	}
	ok := true
	if err != nil {
		r, err, ok = sharedError(err)
	}
	t.shard.Unlock()
	return r, err, ok
}

// cString is what x/sys's BytePtrFromString makes of a wrapper's string
// argument, as the model sees it: false when s holds a NUL, which the x/sys
// wrappers refuse with EINVAL before making the call.
func cString(s string) (model.UStr, bool) {
	if hasNUL(s) {
		return model.UStr{}, false
	}
	return model.Str(s), true
}

// hasNUL reports whether s holds a NUL byte. Types and most descriptions
// are short: they are tested a word at a time (two overlapping words cover
// the tail), as strings.IndexByte's vector loop costs more to enter than
// they take to test, and a byte loop several times more.
func hasNUL(s string) bool {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	switch n := len(b); {
	case n > 32:
		return bytes.IndexByte(b, 0) >= 0
	case n >= 8:
		for i := 0; i+8 < n; i += 8 {
			if zeroByte64(binary.LittleEndian.Uint64(b[i:])) {
				return true
			}
		}
		return zeroByte64(binary.LittleEndian.Uint64(b[n-8:]))
	case n >= 4:
		return zeroByte32(binary.LittleEndian.Uint32(b)) || zeroByte32(binary.LittleEndian.Uint32(b[n-4:]))
	}
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// zeroByte64 reports whether one of v's bytes is 0.
func zeroByte64(v uint64) bool {
	return (v-0x0101010101010101)&^v&0x8080808080808080 != 0
}

// zeroByte32 reports whether one of v's bytes is 0.
func zeroByte32(v uint32) bool { return (v-0x01010101)&^v&0x80808080 != 0 }

// bufUBuf is the model's view of a wrapper's buffer argument with length
// argument n (not negative): what ubuf makes of bufArg(buf) and Int(n),
// without the arguments.
func bufUBuf(buf []byte, n int) model.UBuf { return model.UBuf{B: buf, Len: n} }
