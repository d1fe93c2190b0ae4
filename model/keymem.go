package model

import (
	"sync"
	"unsafe"
)

// A key's memory is taken from a pool and goes back to it when the key is
// destroyed at the end of a writer's turn (reapDying), so that workloads
// which make and drop keys all the time (add_key of new keys,
// KEYCTL_JOIN_SESSION_KEYRING, which makes a keyring per call) do not
// allocate on every call, and do not keep the Go collector marking and its
// write barriers on. Only the two shapes made on the hot paths are pooled:
// a keyring (keyringMem) and a key whose payload fits smallPayload bytes
// (smallKeyMem). A pool empties itself at collections, so a million keys
// dropped at once do not stay in memory. A State that was never shared
// destroys keys within the call that dropped them, and leaves their memory
// to the Go collector.
//
// Nothing may read a destroyed key through a pointer it kept, since the
// memory may already be another key's. Every pointer to a key is one of:
//   - a counted reference: the key is not destroyed while it is held
//     (CheckInvariants counts them);
//   - a cached answer about a keyring or an authorisation key, which ends
//     with State.gen, moved on when such a key loses its last reference
//     (unindexKey);
//   - a cached possession answer about another key (possCache), which
//     holds only while the key's lgen is the one it was cached with: a
//     pooled key was linked when it was made, so its lgen is not zero,
//     and its memory comes back zeroed and takes a new lgen from
//     State.linkSeq when linked again;
//   - the Key of a WaitError, held without a reference while the caller
//     waits, so waitFor keeps that key's memory out of the pools.

// keyMem is how a key's memory was allocated.
type keyMem uint8

const (
	memPlain keyMem = iota // new(Key) or a snapshot's: left to the Go collector
	memSmall               // a smallKeyMem from smallKeyPool
	memRing                // a keyringMem from keyringPool
)

// smallKeyMem is a Key and the buffer of its payload in one allocation,
// for payloads of at most smallPayload bytes (createOrUpdate). It costs
// what a Key and a separate small payload cost (a 128-byte Key and a
// 16-byte block, or one object of the 144-byte size class), in one
// allocation instead of two.
type smallKeyMem struct {
	key Key
	buf [smallPayload]byte
}

const smallPayload = 16

// keyringMem is a keyring's Key and its ringData in one allocation.
type keyringMem struct {
	key  Key
	ring ringData
}

var (
	smallKeyPool = sync.Pool{New: func() any { return new(smallKeyMem) }}
	keyringPool  = sync.Pool{New: func() any { return new(keyringMem) }}
)

// newSmallKeyMem returns a zeroed Key and the empty payload buffer that
// comes with it.
func newSmallKeyMem() (*Key, []byte) {
	m := smallKeyPool.Get().(*smallKeyMem)
	m.key.mem = memSmall
	return &m.key, m.buf[:0]
}

// newKeyringMem returns a zeroed Key with its ringData.
func newKeyringMem() *Key {
	m := keyringPool.Get().(*keyringMem)
	m.key.mem = memRing
	m.key.ring = &m.ring
	return &m.key
}

// recycle zeroes the memory of k, just destroyed, and gives it back to its
// pool.
//
// k is the first field of the smallKeyMem or keyringMem its mem names, so
// it points to the start of that object.
func recycle(k *Key) {
	switch k.mem {
	case memSmall:
		m := (*smallKeyMem)(unsafe.Pointer(k))
		*m = smallKeyMem{}
		smallKeyPool.Put(m)
	case memRing:
		m := (*keyringMem)(unsafe.Pointer(k))
		*m = keyringMem{}
		keyringPool.Put(m)
	}
}

// waitFor is the WaitError for k, under construction. The caller waits
// holding no reference, and may look at k again after other calls have
// run, k destroyed by one of them: its memory is left to the Go collector
// instead of going back to a pool. On the shared read path (SetShared) the
// caller does not wait there, but repeats the call on the exclusive path,
// which comes back here.
func (s *State) waitFor(k *Key) *WaitError {
	if !s.shared {
		k.mem = memPlain
	}
	return &WaitError{Key: k}
}
