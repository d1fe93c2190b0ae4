package model

import "unsafe"

// A key's memory is taken from its State's pool and goes back to it when
// the key is destroyed at the end of a writer's turn (reapDying), so that
// workloads which make and drop keys all the time (add_key of new keys,
// KEYCTL_JOIN_SESSION_KEYRING, which makes a keyring per call) do not
// allocate on every call, and do not keep the Go collector marking and its
// write barriers on. Only the two shapes made on the hot paths are pooled:
// a keyring (keyringMem) and a key whose payload fits smallPayload bytes
// (smallKeyMem). A pool keeps at most smallKeysKept and keyringsKept of
// them, so a million keys dropped at once do not stay in memory: the rest
// go to the Go collector. A pool belongs to its State, which only a writer
// changes, so taking and giving back need no synchronisation (a sync.Pool
// cost 240 instructions per key made and destroyed, 7% of an add_key of a
// new key). A State that was never shared destroys keys within the call
// that dropped them, and leaves their memory to the Go collector.
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
//     waits, so waitFor keeps that key's memory out of the pool.

// keyMem is how a key's memory was allocated.
type keyMem uint8

const (
	memPlain keyMem = iota // new(Key) or a snapshot's: left to the Go collector
	memSmall               // a smallKeyMem from keyMemPool.small
	memRing                // a keyringMem from keyMemPool.rings
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

// The most key memories a State keeps for reuse: a keyring of 10,000
// small keys, cleared, gives all of them to its next 10,000 keys. Kept
// full, they hold 16384 x 144 B (2.3 MB) and 1024 keyrings' worth.
const (
	smallKeysKept = 16384
	keyringsKept  = 1024
)

// keyMemPool is a State's destroyed key memories, zeroed, for reuse.
type keyMemPool struct {
	small []*smallKeyMem
	rings []*keyringMem
}

// newSmallKeyMem returns a zeroed Key and the empty payload buffer that
// comes with it.
func (p *keyMemPool) newSmallKeyMem() (*Key, []byte) {
	m := take(&p.small)
	m.key.mem = memSmall
	return &m.key, m.buf[:0]
}

// newKeyringMem returns a zeroed Key with its ringData.
func (p *keyMemPool) newKeyringMem() *Key {
	m := take(&p.rings)
	m.key.mem = memRing
	m.key.ring = &m.ring
	return &m.key
}

// take removes the last memory from list and returns it, or a new one
// when list is empty.
func take[T any](list *[]*T) *T {
	n := len(*list)
	if n == 0 {
		return new(T)
	}
	m := (*list)[n-1]
	(*list)[n-1] = nil
	*list = (*list)[:n-1]
	return m
}

// recycle zeroes the memory of k, just destroyed, and gives it back to the
// pool, or to the Go collector when the pool is full.
//
// k is the first field of the smallKeyMem or keyringMem its mem names, so
// it points to the start of that object.
func (p *keyMemPool) recycle(k *Key) {
	switch k.mem {
	case memSmall:
		if len(p.small) < smallKeysKept {
			m := (*smallKeyMem)(unsafe.Pointer(k))
			*m = smallKeyMem{}
			p.small = append(p.small, m)
		}
	case memRing:
		if len(p.rings) < keyringsKept {
			m := (*keyringMem)(unsafe.Pointer(k))
			*m = keyringMem{}
			p.rings = append(p.rings, m)
		}
	}
}

// waitFor is the WaitError for k, under construction. The caller waits
// holding no reference, and may look at k again after other calls have
// run, k destroyed by one of them: its memory is left to the Go collector
// instead of going back to the pool. On the shared read path (SetShared) the
// caller does not wait there, but repeats the call on the exclusive path,
// which comes back here.
func (s *State) waitFor(k *Key) *WaitError {
	if !s.shared {
		k.mem = memPlain
	}
	return &WaitError{Key: k}
}
