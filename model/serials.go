package model

import (
	"fmt"
	"slices"
)

// Serials (R1.1) come from a keyed permutation of the 31-bit numbers
// applied to a counter: the n-th key gets perm(n), so serials look random
// (per Config.Seed), never repeat until all 2^31 have been handed out, and
// the serial index is an array indexed by perm⁻¹(serial) instead of a hash
// table. Keys are filled in in counter order, so building an index of a
// million keys writes memory in order instead of at a random place per key.
//
// Divergence: the kernel draws 31 random bits and takes the next free
// number above on a collision; keyemu's serials never collide, so a
// destroyed key's serial comes back only after 2^31 more keys (R1.1 allows
// either).

const (
	serialSpace = 1 << 31 // serials and counters are 31-bit numbers
	serialMask  = serialSpace - 1
	chunkBits   = 12
	chunkLen    = 1 << chunkBits
)

// serialPerm is a bijection of [0, 2^31): add a key, then three rounds of
// xorshift and multiplication by an odd number modulo 2^31, each
// invertible.
type serialPerm struct {
	add      uint32
	mul, inv [2]uint32
}

func newSerialPerm(seed uint64) serialPerm {
	z := seed
	next := func() uint32 { // splitmix64
		z += 0x9e3779b97f4a7c15
		x := z
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		return uint32(x ^ x>>31)
	}
	var p serialPerm
	p.add = next() & serialMask
	for i := range p.mul {
		p.mul[i] = next()&serialMask | 1
		p.inv[i] = oddInverse(p.mul[i])
	}
	return p
}

// oddInverse returns the inverse of the odd m modulo 2^31 (Newton's
// iteration doubles the correct low bits each step: 1, 2, 4, ... 32).
func oddInverse(m uint32) uint32 {
	x := m // correct to 3 bits: m*m ≡ 1 mod 8 for odd m
	for i := 0; i < 4; i++ {
		x *= 2 - m*x
	}
	return x & serialMask
}

// The shifts are 16, 13 and 15 bits; y = x ^ x>>s is inverted on 31-bit
// numbers by x = y ^ y>>s ^ y>>2s ^ ..., done by doubling the shift.

func (p *serialPerm) fwd(c uint32) uint32 {
	x := (c + p.add) & serialMask
	x ^= x >> 16
	x = x * p.mul[0] & serialMask
	x ^= x >> 13
	x = x * p.mul[1] & serialMask
	x ^= x >> 15
	return x
}

func (p *serialPerm) back(x uint32) uint32 {
	x ^= x >> 15
	x ^= x >> 30
	x = x * p.inv[1] & serialMask
	x ^= x >> 13
	x ^= x >> 26
	x = x * p.inv[0] & serialMask
	x ^= x >> 16
	return (x - p.add) & serialMask
}

// serialIndex holds every key by serial. A key whose serial is perm(c) for
// a counter c already handed out lives in slot c of the chunked array;
// others (keys restored from a snapshot whose counter had not reached
// their serial, and every key at a wrap of the counter) wait in other
// until the counter reaches them.
type serialIndex struct {
	perm serialPerm
	// next is the next counter to hand out; counters below it are in use
	// or free for good (until a wrap).
	next   uint32
	chunks []*serialChunk
	// spare[:spares] holds up to chunksKept empty chunks for the next ones
	// needed: keys are made and destroyed all the time, and a chunk is
	// 32 KiB for the collector to clear and sweep.
	spare  [chunksKept]*serialChunk
	spares int
	other  map[Serial]*Key
	n      int
}

// serialChunk holds chunkLen consecutive slots; it goes when its last key
// does, once the counter has left it behind.
type serialChunk struct {
	live int
	keys [chunkLen]*Key
}

func newSerialIndex(seed uint64) serialIndex {
	return serialIndex{perm: newSerialPerm(seed)}
}

// get returns the key with serial n, or nil.
func (x *serialIndex) get(n Serial) *Key {
	if n < 0 {
		return nil
	}
	if c := x.perm.back(uint32(n)); c < x.next {
		if j := c >> chunkBits; j < uint32(len(x.chunks)) {
			if ch := x.chunks[j]; ch != nil {
				return ch.keys[c&(chunkLen-1)]
			}
		}
		return nil
	}
	return x.other[n]
}

// allocNew is key_alloc_serial(): it gives k a serial that no key has, at
// least 3 and random-looking (R1.1), and enters k under it, in the slot of
// the counter the serial comes from.
func (x *serialIndex) allocNew(k *Key) {
	for {
		if x.next == serialSpace {
			x.wrap()
		}
		c := x.next
		x.next++
		if c&(chunkLen-1) == 0 {
			x.leaveChunk(c)
		}
		n := Serial(x.perm.fwd(c))
		if len(x.other) > 0 && x.takeRestored(c, n) {
			continue
		}
		if n >= 3 {
			k.serial = n
			x.setSlot(c, k)
			x.n++
			return
		}
	}
}

// leaveChunk lets the chunk before the one that counter c starts go if no
// key is left in it. It, takeRestored and the rare parts of setSlot are
// not inlined, so that a new key's serial runs none of their code.
//
//go:noinline
func (x *serialIndex) leaveChunk(c uint32) {
	if j := c >> chunkBits; j > 0 && j <= uint32(len(x.chunks)) {
		if ch := x.chunks[j-1]; ch != nil && ch.live == 0 {
			x.dropChunk(j - 1)
		}
	}
}

// takeRestored enters the restored key that holds serial n, if there is
// one, in the slot of counter c, and reports whether there was.
//
//go:noinline
func (x *serialIndex) takeRestored(c uint32, n Serial) bool {
	r, ok := x.other[n]
	if ok {
		delete(x.other, n)
		x.setSlot(c, r)
	}
	return ok
}

// wrap starts the counter over once every serial has been handed out: the
// live keys wait in other, and allocNew skips their serials as it meets them.
func (x *serialIndex) wrap() {
	if x.other == nil {
		x.other = make(map[Serial]*Key)
	}
	for _, ch := range x.chunks {
		if ch == nil {
			continue
		}
		for _, k := range ch.keys {
			if k != nil {
				x.other[k.serial] = k
			}
		}
	}
	x.chunks = nil
	x.next = 0
}

func (x *serialIndex) setSlot(c uint32, k *Key) {
	j := int(c >> chunkBits)
	var ch *serialChunk
	if j < len(x.chunks) {
		ch = x.chunks[j]
	}
	if ch == nil {
		ch = x.newChunk(j)
	}
	if ch.keys[c&(chunkLen-1)] != nil {
		panicTwice(k)
	}
	ch.keys[c&(chunkLen-1)] = k
	ch.live++
}

// newChunk makes chunk j, a spare if there is one.
//
//go:noinline
func (x *serialIndex) newChunk(j int) *serialChunk {
	if j >= len(x.chunks) {
		x.chunks = append(x.chunks, make([]*serialChunk, j+1-len(x.chunks))...)
	}
	var ch *serialChunk
	if x.spares > 0 {
		x.spares--
		ch = x.spare[x.spares]
		x.spare[x.spares] = nil
	} else {
		ch = new(serialChunk)
	}
	x.chunks[j] = ch
	return ch
}

// panicTwice reports a serial about to be given to a second key.
//
//go:noinline
func panicTwice(k *Key) {
	panic(fmt.Sprintf("model: serial %d given to two keys", k.serial))
}

// chunksKept is the most empty chunks a serial index keeps (256 KiB).
const chunksKept = 8

// dropChunk lets go of chunk j, which holds no key: it becomes a spare if
// there are fewer than chunksKept.
func (x *serialIndex) dropChunk(j uint32) {
	if x.spares < chunksKept {
		x.spare[x.spares] = x.chunks[j]
		x.spares++
	}
	x.chunks[j] = nil
}

// add enters k under its serial, which a snapshot restored (allocNew
// enters the keys it makes); the serial must be free.
func (x *serialIndex) add(k *Key) {
	if k.serial < 0 {
		panic(fmt.Sprintf("model: negative serial %d", k.serial))
	}
	if c := x.perm.back(uint32(k.serial)); c < x.next {
		x.setSlot(c, k)
	} else {
		if x.other == nil {
			x.other = make(map[Serial]*Key)
		}
		if x.other[k.serial] != nil {
			panic(fmt.Sprintf("model: serial %d given to two keys", k.serial))
		}
		x.other[k.serial] = k
	}
	x.n++
}

// remove takes k out of the index.
func (x *serialIndex) remove(k *Key) {
	if c := x.perm.back(uint32(k.serial)); c < x.next {
		j := c >> chunkBits
		if j < uint32(len(x.chunks)) {
			if ch := x.chunks[j]; ch != nil && ch.keys[c&(chunkLen-1)] == k {
				ch.keys[c&(chunkLen-1)] = nil
				ch.live--
				if ch.live == 0 && j < (x.next-1)>>chunkBits {
					x.dropChunk(j)
				}
				x.n--
				return
			}
		}
	} else if x.other[k.serial] == k {
		delete(x.other, k.serial)
		x.n--
		return
	}
	panic(fmt.Sprintf("model: key %d is not in the serial index", k.serial))
}

// each calls fn for every key, in no particular order, until fn returns
// false.
func (x *serialIndex) each(fn func(*Key) bool) {
	for _, ch := range x.chunks {
		if ch == nil {
			continue
		}
		for _, k := range ch.keys {
			if k != nil && !fn(k) {
				return
			}
		}
	}
	for _, k := range x.other {
		if !fn(k) {
			return
		}
	}
}

// check verifies that every key sits where its serial says and the counts
// add up.
func (x *serialIndex) check() error {
	n := 0
	for j, ch := range x.chunks {
		if ch == nil {
			continue
		}
		live := 0
		for i, k := range ch.keys {
			if k == nil {
				continue
			}
			live++
			if c := uint32(j<<chunkBits | i); c >= x.next || x.perm.fwd(c) != uint32(k.serial) {
				return fmt.Errorf("key %d in serial slot %d", k.serial, c)
			}
		}
		if live != ch.live || live == 0 && j < int((x.next-1)>>chunkBits) {
			return fmt.Errorf("serial chunk %d holds %d keys, counts %d", j, live, ch.live)
		}
		n += live
	}
	for i, ch := range x.spare[:x.spares] {
		if ch == nil || ch.live != 0 || ch.keys != ([chunkLen]*Key{}) {
			return fmt.Errorf("spare serial chunk %d is not empty", i)
		}
		if slices.Contains(x.chunks, ch) || slices.Contains(x.spare[:i], ch) {
			return fmt.Errorf("spare serial chunk %d is in use", i)
		}
	}
	if slices.ContainsFunc(x.spare[x.spares:], func(ch *serialChunk) bool { return ch != nil }) {
		return fmt.Errorf("a serial chunk is kept beyond the %d spares", x.spares)
	}
	for serial, k := range x.other {
		if serial != k.serial || x.perm.back(uint32(serial)) < x.next {
			return fmt.Errorf("key %d waits under serial %d", k.serial, serial)
		}
	}
	if n+len(x.other) != x.n {
		return fmt.Errorf("serial index counts %d keys, holds %d", x.n, n+len(x.other))
	}
	return nil
}
