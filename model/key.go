package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

type keyFlags uint16

// Key flags visible to the emulator (R1.6; bit numbers as in the kernel).
const (
	flagDead keyFlags = 1 << iota
	flagRevoked
	flagInQuota
	flagUserConstruct
	flagRootCanClear
	flagInvalidated
	flagBuiltin
	flagRootCanInval
	flagKeep
	flagUIDKeyring
)

type keyState int8

// Key states (R1.7).
const (
	stateUninstantiated keyState = iota
	statePositive
	stateNegative
)

// Key is one key or keyring. Its fields are reached through State methods.
// A *Key names the key while the key lives: once it is destroyed its memory
// may become another key's (keymem.go), so a caller that keeps a key across
// calls keeps its serial, or a reference (RequestKey's, released with
// PutKey).
type Key struct {
	serial Serial
	// lgen is the State.linkSeq of the key's last link change, for the
	// possession cache (linkChanged).
	lgen      uint32
	typ       *KeyType
	desc      string
	uid       UID
	gid       GID
	perm      Perm
	flags     keyFlags
	state     keyState
	mem       keyMem // how its memory was allocated (keymem.go)
	rejectErr Errno
	nparents  uint16
	// usage is the reference count. Only writers change it: lookups take
	// no references while the State is shared (SetShared).
	usage int32
	// expiry is in seconds since the epoch; 0 means never (R1.8).
	expiry  int64
	payload []byte
	// datalen is the payload size the quota and /proc/keys use (R1.9).
	datalen int32
	// quotalen is what the key charges its owner's byte quota (R7.4).
	quotalen int32
	// parent, when not nil, is a keyring that links the key (linkedIn);
	// while nparents, the number of keyrings linking it, is 1 it is the
	// only one, and possession checks use it instead of searching each
	// keyring for the key.
	parent *Key
	user   *UserRecord
	ring   *ringData
	auth   *authData
}

// ringData is the part of a key that only keyrings have.
type ringData struct {
	links linkIndex
	// restrict is the link restriction (R1.11); nil when unrestricted.
	restrict *restriction
	// ns is the user namespace whose name list publishes the keyring, and
	// names that list.
	ns    *UserNS
	names *nameList
	// kids caches the keyrings linked here (State.childKeyrings).
	kids atomic.Pointer[childList]
}

// restriction is a keyring's link restriction (KEYCTL_RESTRICT_KEYRING).
type restriction struct {
	// rejectAll: the "NULL type" form; every addition fails EPERM.
	rejectAll bool
	typ       *KeyType
	// chainTo is the keyring a key_or_keyring restriction names.
	chainTo *Key
}

// link is one entry of a keyring, indexed by (type, description) (R1.3).
type link struct {
	// ix is the type's order in the top byte and the description's first
	// 7 bytes, big-endian and zero-padded, below it: most comparisons of a
	// large keyring's index are settled by it without reading the
	// descriptions themselves (they live elsewhere in memory), and the
	// entry stays 32 bytes.
	ix   uint64
	desc string
	key  *Key
}

// mkLink returns the index entry of key under (typ, desc).
func mkLink(typ *KeyType, desc string, key *Key) link {
	// The prefix is read as one big-endian word whose first byte is the
	// type's order: a short description needs no loop.
	b := [8]byte{typ.order}
	copy(b[1:], desc)
	return link{ix: binary.BigEndian.Uint64(b[:]), desc: desc, key: key}
}

// linkedIn records that ring now links k: nparents counts the keyrings
// linking k, and parent, when not nil, is one of them: the first, until it
// unlinks k. So when the count is back to 1 after an unlink from another
// keyring, parent is the sole one; after an unlink from parent it is not
// known (nil) until the count reaches 0. A count that reaches its maximum
// stays there, unknown.
func (k *Key) linkedIn(ring *Key) {
	switch k.nparents {
	case math.MaxUint16:
		return
	case 0:
		k.parent = ring
	case math.MaxUint16 - 1:
		k.parent = nil
	}
	k.nparents++
}

// unlinkedFrom records that ring no longer links k.
func (k *Key) unlinkedFrom(ring *Key) {
	switch k.nparents {
	case math.MaxUint16:
		return
	case 0:
		panic(fmt.Sprintf("model: key %d unlinked from keyring %d but linked nowhere", k.serial, ring.serial))
	}
	k.nparents--
	if ring == k.parent {
		k.parent = nil
	}
}

// soleParent returns the keyring that alone links k, when that is known
// (linkedIn).
func (k *Key) soleParent() (*Key, bool) {
	return k.parent, k.nparents == 1 && k.parent != nil
}

// isType reports whether the entry is indexed under typ.
func (l link) isType(typ *KeyType) bool { return uint8(l.ix>>56) == typ.order }

// linkCmp is linkLess as a three-way comparison, for slices.SortFunc.
func linkCmp(a, b link) int {
	switch {
	case linkLess(a, b):
		return -1
	case linkLess(b, a):
		return 1
	}
	return 0
}

// linkLess orders a keyring's index by type, then description: ix orders
// as (type, description) does, zero padding sorting a description before
// every longer one it begins, and equal ix leaves the descriptions to
// decide.
// Divergence: the kernel's index is a hash tree whose order is random per
// boot (R1.13); keyemu's order is deterministic.
func linkLess(a, b link) bool {
	if a.ix != b.ix {
		return a.ix < b.ix
	}
	return a.desc < b.desc
}

// Serial returns the key's serial.
func (k *Key) Serial() Serial { return k.serial }

// Type returns the key's type.
func (k *Key) Type() *KeyType { return k.typ }

// Description returns the key's description.
func (k *Key) Description() string { return k.desc }

// UID returns the owner.
func (k *Key) UID() UID { return k.uid }

// GID returns the group, InvalidGID for none.
func (k *Key) GID() GID { return k.gid }

// Perm returns the permission mask.
func (k *Key) Perm() Perm { return k.perm }

func (k *Key) has(f keyFlags) bool { return k.flags&f != 0 }

func (k *Key) isKeyring() bool { return k.typ == TypeKeyring }

// alive reports whether the key is still referenced (usage > 0, R1.10).
func (k *Key) alive() bool { return k.usage > 0 }

// nlinks is the number of entries of a keyring.
func (k *Key) nlinks() int {
	if k.ring == nil {
		return 0
	}
	return k.ring.links.Len()
}

// find returns the entry of keyring k with the given index key.
func (k *Key) find(typ *KeyType, desc string) (*Key, bool) {
	return k.findLink(mkLink(typ, desc, nil))
}

// findLink is find with the index entry already made. A small index is
// searched here, without a call of the index's own: every keyring a search
// enters is asked so.
func (k *Key) findLink(probe link) (*Key, bool) {
	if k.ring == nil {
		return nil, false
	}
	x := &k.ring.links
	if x.big != nil {
		return x.big.key(probe)
	}
	if x.seen&linkBit(probe) == 0 {
		return nil, false
	}
	if i, ok := x.search(probe); ok {
		return x.small[i].key, true
	}
	return nil, false
}

// eachChildKeyring calls fn for every keyring linked in k, in (type,
// description) order, until fn returns false (R4.3b: the order among
// sibling keyrings is the index's, random in the kernel, R1.13).
func (k *Key) eachChildKeyring(fn func(*Key) bool) {
	if k.ring == nil {
		return
	}
	k.ring.links.eachKeyring(func(l link) bool { return fn(l.key) })
}

// childKeyrings returns the keyrings linked in ring, in the order of
// eachChildKeyring. The list is kept with the keyring while State.gen
// holds (every change of a keyring's links to keyrings ends it), so that
// searches do not walk the index for them; lookups on the shared read
// path may build it at once, hence the atomic pointer.
func (s *State) childKeyrings(ring *Key) []*Key {
	if ring.ring == nil {
		return nil
	}
	if l := ring.ring.kids.Load(); l != nil && l.gen == s.gen {
		if s.cfg.CheckCaches {
			var fresh []*Key
			ring.eachChildKeyring(func(k *Key) bool { fresh = append(fresh, k); return true })
			if !slices.Equal(fresh, l.rings) {
				panic(fmt.Sprintf("model: stale child keyring list of keyring %d", ring.serial))
			}
		}
		return l.rings
	}
	l := &childList{gen: s.gen}
	ring.eachChildKeyring(func(k *Key) bool {
		l.rings = append(l.rings, k)
		return true
	})
	ring.ring.kids.Store(l)
	return l.rings
}

// childList is the list childKeyrings keeps.
type childList struct {
	gen   uint64
	rings []*Key
}

// eachLink calls fn for every entry of keyring k in index order.
func (k *Key) eachLink(fn func(*Key) bool) {
	if k.ring == nil {
		return
	}
	k.ring.links.Ascend(func(l link) bool { return fn(l.key) })
}

// validate is key_validate(): R1.24 without the negative check.
func (k *Key) validate(now int64) error {
	switch {
	case k.has(flagInvalidated):
		return ENOKEY
	case k.has(flagRevoked | flagDead):
		return EKEYREVOKED
	case k.expired(now):
		return EKEYEXPIRED
	}
	return nil
}

func (k *Key) expired(now int64) bool { return k.expiry != 0 && now >= k.expiry }

// readState is key_read_state(): the stored rejection error of a negative
// key, else nil.
func (k *Key) readState() error {
	if k.state == stateNegative {
		return k.rejectErr
	}
	return nil
}
