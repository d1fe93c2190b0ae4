package emu

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/keyemu/keyemu/model"
)

// keptLookups is how many answers of lookups by name a thread keeps
// (Thread.lookups).
const keptLookups = 4

// A thread whose calls do not repeat pays to keep answers no call asks for
// again: after keptMissRun calls in a row that no kept answer served, it
// keeps the answer of only every keptSample-th call, so that once its calls
// repeat again, within keptSample calls one is kept and serves the next
// (Thread.unkept, keeping).
const (
	keptMissRun = 16
	keptSample  = 8
)

// keeping reports whether t keeps the answer of the call it has just made:
// always with Config.CheckCaches, which compares each answer with the one
// kept; else while fewer than keptMissRun calls in a row have gone unserved,
// and then for every keptSample-th. t's shard of System.mu is held.
func (t *Thread) keeping() bool {
	return t.unkept < keptMissRun || t.unkept%keptSample == 0 || t.proc.sys.cfg.CheckCaches
}

// keptLookup is a kept answer of a lookup by name made on the shared read
// path: KEYCTL_SEARCH without a destination (nr SYS_KEYCTL, in keyring
// ring) or request_key(2) without one (nr SYS_REQUEST_KEY, with its callout
// argument). The answer is a function of the arguments, of the thread and of
// everything System.mu guards, so it stands while no writer has held the lock
// since it was made (sysLock.writes; 0 is an empty entry, as every System
// has had a writer before it has a thread). The argument strings are kept as
// they came: Go strings, which nothing changes, whether the caller's own
// (String arguments, the wrappers') or read out of a buffer argument (ustr).
type keptLookup struct {
	writes uint64
	// call is the system call, the keyring and whether the callout is
	// NULL (lookupCall).
	call               uint64
	typ, desc, callout string
	r                  int
	err                error
}

// lookupCall packs what keptLookup.call holds.
func lookupCall(nr, ring int32, callout *model.UStr) uint64 {
	c := uint64(nr)<<33 | uint64(uint32(ring))
	if callout.Null {
		c |= 1 << 32
	}
	return c
}

// keepable reports whether a lookup's string arguments may name a kept
// answer: the type and the description are readable strings, the callout
// a readable string or NULL.
func keepable(typ, desc, callout *model.UStr) bool {
	return !typ.Null && !typ.Fault && !desc.Null && !desc.Fault && !callout.Fault
}

// sameCall reports whether e is an answer of a call with these arguments,
// whenever it was made.
func (e *keptLookup) sameCall(call uint64, typ, desc, callout *model.UStr) bool {
	return e.call == call && sameString(e.desc, desc.S) && sameString(e.typ, typ.S) && sameString(e.callout, callout.S)
}

// sameString is a == b, without a call when they are the same bytes: a
// caller that asks again mostly passes the same string.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// keptLookupsEnded reports whether t's newest kept answer of a lookup, and
// so every one, has ended; if so it counts the call as one that no kept
// answer served. In line where a lookup begins, it spares most lookups that
// do not repeat a call of keptLookup. t's shard of System.mu is held.
func (t *Thread) keptLookupsEnded() bool {
	if t.lookups[(t.nextLookup+keptLookups-1)%keptLookups].writes != t.proc.sys.mu.writes {
		t.unkept++
		return true
	}
	return false
}

// keptLookup returns t's kept answer of the lookup, if one stands, once
// keptLookupsEnded has reported that the newest one does. t's shard of
// System.mu is held. With Config.CheckCaches there is none: the caller
// computes the answer, and keepLookup compares.
func (t *Thread) keptLookup(nr, ring int32, typ, desc, callout *model.UStr) (int, error, bool) {
	s := t.proc.sys
	writes := s.mu.writes
	if !s.cfg.CheckCaches && keepable(typ, desc, callout) {
		call, d := lookupCall(nr, ring, callout), desc.S
		for i := range t.lookups {
			e := &t.lookups[i]
			// Lookups of many keys of one kind ("k1", "k2", ...)
			// mostly differ in their descriptions' last bytes: a
			// miss is found there without comparing the
			// descriptions.
			if e.writes != writes || len(e.desc) != len(d) || len(d) > 0 && e.desc[len(d)-1] != d[len(d)-1] {
				continue
			}
			if e.sameCall(call, typ, desc, callout) {
				t.unkept = 0
				return e.r, e.err, true
			}
		}
	}
	t.unkept++
	return 0, nil, false
}

// keepLookup keeps r and err as t's answer of the lookup, in place of the
// oldest; the caller has asked keeping. t's shard of System.mu is held.
// With Config.CheckCaches it first compares the answer with the one kept for
// the call, if that stands.
func (t *Thread) keepLookup(nr, ring int32, typ, desc, callout *model.UStr, r int, err error) {
	if !keepable(typ, desc, callout) {
		return
	}
	s := t.proc.sys
	writes, call := s.mu.writes, lookupCall(nr, ring, callout)
	if s.cfg.CheckCaches {
		for i := range t.lookups {
			if e := &t.lookups[i]; e.writes == writes && e.sameCall(call, typ, desc, callout) {
				if e.r != r || e.err != err {
					panic(fmt.Sprintf("emu: stale answer of a lookup of %q %q: %d, %v; now %d, %v", typ.S, desc.S, e.r, e.err, r, err))
				}
				return
			}
		}
	}
	// Field by field: a whole keptLookup built and then copied was read
	// back before its parts had reached memory.
	e := &t.lookups[t.nextLookup]
	e.writes = writes
	e.call = call
	e.typ = typ.S
	e.desc = desc.S
	e.callout = callout.S
	e.r = r
	e.err = err
	t.nextLookup = (t.nextLookup + 1) % keptLookups
}

// keptBuffers is how many answers of KEYCTL_READ and KEYCTL_DESCRIBE a
// thread keeps (Thread.buffers).
const keptBuffers = 2

// keptBuffer is a kept answer of KEYCTL_READ or KEYCTL_DESCRIBE (op) of key
// id made on the shared read path: the bytes from which the answer for a
// buffer of any length follows. For a read they are the key's payload, the
// key's own (model.State.ReadKept); for a describe, the text with its NUL
// (model.State.DescribeKept), in text, a buffer the entry took from
// Thread.describeText (keepBuffer). The answer stands while no writer has
// held System.mu since it was made (sysLock.writes; 0 is an empty entry),
// and so does the payload.
type keptBuffer struct {
	writes uint64
	op     int32
	id     int32
	data   []byte
	text   []byte
}

// keptBuffersEnded is keptLookupsEnded for the answers of KEYCTL_READ and
// KEYCTL_DESCRIBE: it spares most reads and describes that do not repeat a
// call of keptBuffer.
func (t *Thread) keptBuffersEnded() bool {
	if t.buffers[(t.nextBuffer+keptBuffers-1)%keptBuffers].writes != t.proc.sys.mu.writes {
		t.unkept++
		return true
	}
	return false
}

// keptBuffer answers KEYCTL_READ or KEYCTL_DESCRIBE of id into buf from t's
// kept answers, if one stands, as the model would (model.ReadAnswer,
// model.DescribeAnswer, with the arguments keyctlBufferShared gives the
// model), once keptBuffersEnded has reported that the newest one does. t's
// shard of System.mu is held. With Config.CheckCaches there is none.
func (t *Thread) keptBuffer(op, id int32, buf []byte) (int, error, bool) {
	s := t.proc.sys
	writes := s.mu.writes
	if s.cfg.CheckCaches {
		return 0, nil, false
	}
	for i := range t.buffers {
		if e := &t.buffers[i]; e.writes == writes && e.id == id && e.op == op {
			t.unkept = 0
			if op == KEYCTL_READ {
				r, err := model.ReadAnswer(e.data, bufUBuf(buf, len(buf)))
				return r, err, true
			}
			r, err := model.DescribeAnswer(e.data, bufUBuf(buf, int(uint32(len(buf)))))
			return r, err, true
		}
	}
	t.unkept++
	return 0, nil, false
}

// keepBuffer keeps data as t's answer of op on id, in place of the oldest.
// A describe's text is t.describeText: the entry takes that buffer, and
// gives its own to t.describeText for the next describe. t's shard of
// System.mu is held. With Config.CheckCaches it first compares data with
// the answer kept for the call, if that stands.
func (t *Thread) keepBuffer(op, id int32, data []byte) {
	s := t.proc.sys
	writes := s.mu.writes
	if s.cfg.CheckCaches {
		for i := range t.buffers {
			if e := &t.buffers[i]; e.writes == writes && e.id == id && e.op == op {
				if !bytes.Equal(e.data, data) {
					panic(fmt.Sprintf("emu: stale answer of keyctl %d of key %d: %q; now %q", op, id, e.data, data))
				}
				return
			}
		}
	}
	e := &t.buffers[t.nextBuffer]
	t.nextBuffer = (t.nextBuffer + 1) % keptBuffers
	if op == KEYCTL_DESCRIBE {
		e.text, t.describeText = data, e.text[:0]
	}
	e.writes, e.op, e.id, e.data = writes, op, id, data
}
