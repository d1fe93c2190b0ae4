package model

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/google/btree"
)

// smallLinks is the most entries a keyring keeps in a sorted slice; past
// it the index is a hash table (bigLinks).
const smallLinks = 32

// linkMem is what a State keeps for the indexes of keyrings that grow
// (State.links): the btree nodes of cleared and destroyed indexes' keyring
// entries, up to linkNodesKept of them (the btree package keeps 32 by
// default; a node is about 1.3 KB), and the mask of the hash tables made.
type linkMem struct {
	nodes *btree.FreeListG[link]
	// hashMask is the mask of the tables made (bigLinks.mask).
	hashMask uint64
}

const linkNodesKept = 1024

func newLinkMem() linkMem {
	return linkMem{nodes: btree.NewFreeListG[link](linkNodesKept), hashMask: ^uint64(0)}
}

// tableEntriesKept bounds the room of the emptied table an index keeps
// for its next growth (linkIndex.idle): about 1 MB.
const tableEntriesKept = 1 << 14

// linkIndex is a keyring's index by (type, description) (R1.3). Most
// keyrings hold a few links: up to smallLinks of them are kept in a slice
// sorted by (type, description), searched with inline comparisons (the
// kernel's assoc_array likewise keeps 16 slots in a leaf before it grows
// nodes). A keyring that grows past that moves to a hash table (bigLinks),
// as the kernel's index is a hash tree, and back to a sorted slice when it
// holds smallLinks entries or fewer again. The zero value is empty. It
// must not change while being walked.
//
// The order of a walk (Ascend) is the index order: (type, description)
// in a small index; in a large one, the order the entries came in, an
// entry removed giving its place to the last one. The kernel's order is a
// hash's, random per boot (R1.13); keyemu's is a function of the entries
// and, past smallLinks, of the order of the calls that made them, so that
// runs repeat, and a call that fails leaves it as it was.
type linkIndex struct {
	small []link
	big   *bigLinks
	// idle is the emptied table of a large index that was cleared or
	// shrank back, kept for the keyring's next growth, if its room is at
	// most tableEntriesKept: a keyring cleared and filled again, as
	// caches are, then allocates nothing, and leaves the Go collector
	// idle.
	idle *bigLinks
	// seen has linkBit(e) set for every entry e of small: a probe whose
	// bit is clear is not there, without a search. Most searches ask
	// keyrings that do not hold what they seek (every keyring a miss
	// enters, every keyring above a hit), and most keyrings are small.
	seen uint64
}

// bigLinks is the index of a keyring of more than smallLinks entries: its
// entries in index order, a hash table from each entry's hash to its
// place there, and the keyring entries in a btree of their own, in (type,
// description) order, for the searches that descend into them
// (eachKeyring).
//
// The table (posTable) is keyed by a 64-bit hash of the index key (hash),
// so that it holds no pointer for the collector to follow, and growing it
// reads no description: a table keyed by the index keys themselves built a keyring
// of a million keys in 2.2 s instead of 1.3, most of it in reading the
// descriptions again. An entry whose hash another entry holds already
// has its place in more, by index key. A btree of all the entries, which
// the table replaced, took 1,500 instructions to enter a key into a
// keyring of 5,000 (13 comparisons, each an indirect call).
//
// Deleting moves the last entry to the place of the one deleted, so that a
// walk skips no holes, and no entry moves otherwise.
type bigLinks struct {
	// chunks hold the entries, linkChunkLen a chunk, the last one
	// growing, so that a large index grows without copying what it holds
	// (a million entries copied as one slice grew cost 0.4 s of a 1.7 s
	// build, most of it in the collector's write barriers and the new
	// pages). Chunks that deletions empty stay for the next entries, as a
	// Go map keeps its room.
	chunks [][]link
	n      int32
	pos    posTable
	more   map[linkKey]int32
	rings  *btree.BTreeG[link]
	// mask is anded with every hash: all ones, except in tests, which
	// make hashes collide.
	mask uint64
}

// linkKey is an entry's index key.
type linkKey struct {
	ix   uint64
	desc string
}

func (l link) indexKey() linkKey { return linkKey{l.ix, l.desc} }

// linkSeed and shortLinkSeed seed the hashes of large indexes. Their order
// does not depend on them: only how the entries spread in the table.
var (
	linkSeed      = maphash.MakeSeed()
	shortLinkSeed = maphash.Comparable(linkSeed, uint64(0))
)

// hash is the entry's hash. A description of at most 7 bytes is all in ix
// (with its length), which is mixed as one word (the finaliser of
// SplitMix64, a bijection, so no two such entries of a length share a
// hash); a longer one is hashed with hash/maphash.
func (b *bigLinks) hash(l link) uint64 {
	if len(l.desc) > 7 {
		return longLinkHash(l) & b.mask
	}
	return shortLinkHash(l.ix, len(l.desc)) & b.mask
}

// shortLinkHash is hash's for a description of n bytes, at most 7, before
// the mask.
func shortLinkHash(ix uint64, n int) uint64 {
	z := (ix ^ shortLinkSeed) + uint64(n)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// sameRest reports whether two descriptions whose entries have the same
// ix are the same: one of at most 7 bytes is all in ix, so only the
// lengths are left to compare.
func sameRest(a, b string) bool {
	return len(a) == len(b) && (len(a) <= 7 || a == b)
}

// longLinkHash is hash's for a description longer than 7 bytes, before
// the mask.
func longLinkHash(l link) uint64 {
	return maphash.String(linkSeed, l.desc) ^ (l.ix>>56)*0x9e3779b97f4a7c15
}

// find returns the place of the entry with l's index key, whose hash is h,
// and whether it is recorded under h, in slot of pos (else in more).
func (b *bigLinks) find(l link, h uint64) (i int32, slot uint64, hashed, ok bool) {
	if j, ok := b.pos.slot(h); ok {
		i := b.pos.places[j] - 1
		if e := b.at(i); e.ix == l.ix && sameRest(e.desc, l.desc) {
			return i, j, true, true
		}
	}
	if len(b.more) > 0 {
		i, ok := b.more[l.indexKey()]
		return i, 0, false, ok
	}
	return 0, 0, false, false
}

// key returns the key of the entry with probe's index key. It is find
// with hash in line (two calls fewer), as every search asks it of each
// large keyring it enters.
func (b *bigLinks) key(probe link) (*Key, bool) {
	var h uint64
	if len(probe.desc) > 7 {
		h = longLinkHash(probe) & b.mask
	} else {
		h = shortLinkHash(probe.ix, len(probe.desc)) & b.mask
	}
	if j, ok := b.pos.slot(h); ok {
		if e := b.at(b.pos.places[j] - 1); e.ix == probe.ix && sameRest(e.desc, probe.desc) {
			return e.key, true
		}
	}
	if len(b.more) > 0 {
		if i, ok := b.more[probe.indexKey()]; ok {
			return b.at(i).key, true
		}
	}
	return nil, false
}

// replaceOrInsert enters l, replacing the entry with its index key if
// there is one, which it returns. Replacing, entering a keyring in rings
// and growing a chunk are functions of their own, not inlined: a new
// entry, the common case, takes none but the first for a keyring, and
// their code here would sit among the lines every add_key runs.
func (b *bigLinks) replaceOrInsert(l link, fl *btree.FreeListG[link]) (link, bool) {
	if l.isType(TypeKeyring) {
		b.addRing(l, fl)
	}
	// find and place, with one lookup of the hash.
	h := b.hash(l)
	j, taken := b.pos.slot(h)
	if taken || len(b.more) > 0 {
		if old, ok := b.replaceFound(l, j, taken); ok {
			return old, true
		}
	}
	b.place(l, h, b.n, taken)
	c := int(b.n >> linkChunkBits)
	if c == len(b.chunks) || len(b.chunks[c]) == cap(b.chunks[c]) {
		b.growChunks(c)
	}
	ch := &b.chunks[c]
	n := len(*ch)
	*ch = (*ch)[:n+1]
	(*ch)[n] = l
	b.n++
	return link{}, false
}

// addRing enters l, a keyring's entry, in rings.
//
//go:noinline
func (b *bigLinks) addRing(l link, fl *btree.FreeListG[link]) {
	if b.rings == nil {
		b.rings = btree.NewWithFreeListG(16, linkLess, fl)
	}
	b.rings.ReplaceOrInsert(l)
}

// replaceFound replaces the entry with l's index key, if there is one,
// and returns the entry it held. j is the slot that holds l's hash when
// taken.
//
//go:noinline
func (b *bigLinks) replaceFound(l link, j uint64, taken bool) (link, bool) {
	var i int32
	found := false
	if taken {
		i = b.pos.places[j] - 1
		found = b.at(i).ix == l.ix && sameRest(b.at(i).desc, l.desc)
	}
	if !found && len(b.more) > 0 {
		i, found = b.more[l.indexKey()]
	}
	if !found {
		return link{}, false
	}
	e := b.at(i)
	old := *e
	*e = l
	return old, true
}

// growChunks makes room in chunk c for one more entry: a new chunk, or
// the last one grown.
//
//go:noinline
func (b *bigLinks) growChunks(c int) {
	if c == len(b.chunks) {
		// The first chunk grows as it fills, so that a keyring of 33
		// links does not hold room for 1024.
		size := linkChunkLen
		if c == 0 {
			size = 2 * smallLinks
		}
		b.chunks = append(b.chunks, make([]link, 0, size))
	}
	if ch := b.chunks[c]; len(ch) == cap(ch) {
		b.chunks[c] = append(make([]link, 0, min(2*cap(ch), linkChunkLen)), ch...)
	}
}

// linkChunkLen is the number of entries in a chunk of bigLinks (32 KB).
const (
	linkChunkBits = 10
	linkChunkLen  = 1 << linkChunkBits
)

// at returns the entry at place i.
func (b *bigLinks) at(i int32) *link { return &b.chunks[i>>linkChunkBits][i&(linkChunkLen-1)] }

// place records i as the place of l, whose hash is h; taken says that
// another entry's place is recorded under h.
func (b *bigLinks) place(l link, h uint64, i int32, taken bool) {
	if !taken {
		b.pos.put(h, i)
		return
	}
	if b.more == nil {
		b.more = make(map[linkKey]int32)
	}
	b.more[l.indexKey()] = i
}

// replace records i, instead of from, as the place of l, whose hash is h.
func (b *bigLinks) replace(l link, h uint64, from, i int32) {
	if j, ok := b.pos.slot(h); ok && b.pos.places[j] == from+1 {
		b.pos.places[j] = i + 1
		return
	}
	b.more[l.indexKey()] = i
}

func (b *bigLinks) delete(probe link) (link, bool) {
	i, slot, hashed, ok := b.find(probe, b.hash(probe))
	if !ok {
		return link{}, false
	}
	e := b.at(i)
	old := *e
	if hashed {
		b.pos.deleteAt(slot)
	} else {
		delete(b.more, probe.indexKey())
	}
	// The last entry is the last of its chunk: every chunk before it is
	// full.
	last := b.n - 1
	c := &b.chunks[last>>linkChunkBits]
	le := &(*c)[len(*c)-1]
	if i != last {
		moved := *le
		b.replace(moved, b.hash(moved), last, i)
		*e = moved
	}
	*le = link{}
	*c = (*c)[:len(*c)-1]
	b.n--
	if probe.isType(TypeKeyring) {
		b.rings.Delete(probe)
	}
	return old, true
}

// linkBit is one of 64 bits, chosen by the entry's index key (Fibonacci
// hashing of its packed prefix and its length).
func linkBit(l link) uint64 {
	return 1 << ((l.ix ^ uint64(len(l.desc))) * 0x9e3779b97f4a7c15 >> 58)
}

// Len is the number of entries.
func (x *linkIndex) Len() int {
	if x.big != nil {
		return int(x.big.n)
	}
	return len(x.small)
}

// search returns where probe is or would be in the slice. Entries whose
// packed prefixes differ are ordered by them; equal prefixes of
// descriptions of equal length, at most 7 bytes, hold every byte, so those
// are the same description without comparing the strings.
func (x *linkIndex) search(probe link) (int, bool) {
	lo, hi := 0, len(x.small)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		e := &x.small[m]
		switch {
		case e.ix < probe.ix:
			lo = m + 1
		case e.ix > probe.ix:
			hi = m
		case len(e.desc) == len(probe.desc) && len(e.desc) <= 7:
			return m, true
		default:
			switch c := strings.Compare(e.desc, probe.desc); {
			case c < 0:
				lo = m + 1
			case c > 0:
				hi = m
			default:
				return m, true
			}
		}
	}
	return lo, false
}

// ReplaceOrInsert enters l, returning the entry it replaced; an index
// that grows large takes its memory from m.
func (x *linkIndex) ReplaceOrInsert(l link, m *linkMem) (link, bool) {
	if x.big != nil {
		return x.big.replaceOrInsert(l, m.nodes)
	}
	i, ok := x.search(l)
	if ok {
		old := x.small[i]
		x.small[i] = l
		return old, true
	}
	if len(x.small) == smallLinks {
		b := x.table(m)
		for _, e := range x.small {
			b.replaceOrInsert(e, m.nodes)
		}
		b.replaceOrInsert(l, m.nodes)
		*x = linkIndex{big: b}
		return link{}, false
	}
	x.small = append(x.small, link{})
	// copy moves pointers through the collector's typedslicecopy even
	// when nothing moves: an entry that sorts last is not copied.
	if i < len(x.small)-1 {
		copy(x.small[i+1:], x.small[i:])
	}
	x.small[i] = l
	x.seen |= linkBit(l)
	return link{}, false
}

// table returns the table x grows into: its idle one, or a new one.
func (x *linkIndex) table(m *linkMem) *bigLinks {
	if x.idle != nil {
		return x.idle
	}
	return &bigLinks{mask: m.hashMask}
}

// MakeLarge makes the empty index x large: the entries then entered keep
// the order they come in, as a large index's do, even the first
// smallLinks of them. A snapshot's keyring of more than smallLinks links
// is restored so, in the order it was saved in.
func (x *linkIndex) MakeLarge(m *linkMem) {
	if x.Len() == 0 && x.big == nil {
		b := x.table(m)
		*x = linkIndex{big: b}
	}
}

// Delete removes the entry with probe's index key and returns it.
func (x *linkIndex) Delete(probe link) (link, bool) {
	if b := x.big; b != nil {
		old, ok := b.delete(probe)
		if ok && b.n <= smallLinks {
			x.shrink()
		}
		return old, ok
	}
	i, ok := x.search(probe)
	if !ok {
		return link{}, false
	}
	old := x.small[i]
	if i < len(x.small)-1 {
		copy(x.small[i:], x.small[i+1:])
	}
	x.small[len(x.small)-1] = link{}
	x.small = x.small[:len(x.small)-1]
	x.seen = x.seenBits()
	return old, true
}

// seenBits is what seen holds for the entries of small.
func (x *linkIndex) seenBits() uint64 {
	var m uint64
	for _, e := range x.small {
		m |= linkBit(e)
	}
	return m
}

// Ascend calls fn for every entry in index order until fn returns false.
func (x *linkIndex) Ascend(fn func(link) bool) {
	if b := x.big; b != nil {
		for _, c := range b.chunks {
			for _, l := range c {
				if !fn(l) {
					return
				}
			}
		}
		return
	}
	for _, l := range x.small {
		if !fn(l) {
			return
		}
	}
}

// eachKeyring calls fn for every keyring entry, in (type, description)
// order, until fn returns false.
func (x *linkIndex) eachKeyring(fn func(link) bool) {
	if b := x.big; b != nil {
		if b.rings != nil {
			b.rings.Ascend(fn)
		}
		return
	}
	i, _ := x.search(mkLink(TypeKeyring, "", nil))
	for _, l := range x.small[i:] {
		if !l.isType(TypeKeyring) || !fn(l) {
			return
		}
	}
}

// Clear removes every entry, keeping an emptied table for the next growth
// (idle).
func (x *linkIndex) Clear() {
	idle := x.idle
	if b := x.big; b != nil {
		idle = b.emptied()
	}
	*x = linkIndex{idle: idle}
}

// shrink moves a large index of smallLinks entries or fewer back to a
// sorted slice.
func (x *linkIndex) shrink() {
	b := x.big
	small := make([]link, 0, smallLinks)
	for _, c := range b.chunks {
		small = append(small, c...)
	}
	slices.SortFunc(small, linkCmp)
	*x = linkIndex{small: small, idle: b.emptied()}
	x.seen = x.seenBits()
}

// emptied empties b and returns it, or nil when its room is more than
// tableEntriesKept, for the Go collector to take.
func (b *bigLinks) emptied() *bigLinks {
	if b.rings != nil {
		b.rings.Clear(true)
	}
	if len(b.chunks) > tableEntriesKept/linkChunkLen {
		return nil
	}
	for i, c := range b.chunks {
		clear(c)
		b.chunks[i] = c[:0]
	}
	b.n = 0
	b.pos.clear()
	b.more = nil
	return b
}

// check reports how the large index b (nil: none) is inconsistent: an
// entry whose place the table does not hold, a place of no entry, or
// keyring entries that differ from its btree's.
func (b *bigLinks) check() error {
	if b == nil {
		return nil
	}
	if b.pos.len()+len(b.more) != int(b.n) {
		return fmt.Errorf("%d places for %d entries", b.pos.len()+len(b.more), b.n)
	}
	var links []link
	for i, c := range b.chunks {
		if want := min(max(int(b.n)-i*linkChunkLen, 0), linkChunkLen); len(c) != want {
			return fmt.Errorf("chunk %d holds %d entries of %d", i, len(c), want)
		}
		links = append(links, c...)
	}
	var rings []link
	for i, l := range links {
		if j, _, _, ok := b.find(l, b.hash(l)); !ok || j != int32(i) {
			return fmt.Errorf("%s is at %d, its place says %d", l.desc, i, j)
		}
		if l.key == nil || l != mkLink(l.key.typ, l.key.desc, l.key) {
			return fmt.Errorf("entry %d, %s, is not its key's", i, l.desc)
		}
		if l.isType(TypeKeyring) {
			rings = append(rings, l)
		}
	}
	slices.SortFunc(rings, linkCmp)
	var got []link
	if b.rings != nil {
		b.rings.Ascend(func(l link) bool { got = append(got, l); return true })
	}
	if !slices.Equal(got, rings) {
		return fmt.Errorf("keyring entries %v, their btree %v", rings, got)
	}
	return nil
}
