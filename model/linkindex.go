package model

import (
	"strings"

	"github.com/google/btree"
)

// smallLinks is the most entries a keyring keeps in a sorted slice; past
// it the index is a btree.
const smallLinks = 32

// linkNodesKept is how many btree nodes a State keeps for reuse
// (State.freelist): a keyring of 10,000 links, cleared, gives back several
// hundred, which its next 10,000 links take again instead of allocating
// them (the btree package keeps 32 by default).
// A node of this index is about 1.3 KB, so a State keeps at most 1.3 MB.
const linkNodesKept = 1024

// linkIndex is a keyring's index, ordered by (type, description) (R1.3).
// Most keyrings hold a few links: up to smallLinks of them are kept in a
// sorted slice, searched with inline comparisons instead of a btree's
// indirect calls, and a keyring that grows past that moves to a btree (the
// kernel's assoc_array likewise keeps 16 slots in a leaf before it grows
// nodes). The btree stays until the index is cleared. The zero value is
// empty. Like a btree, it must not change while being walked.
type linkIndex struct {
	small []link
	tree  *btree.BTreeG[link]
	// seen has linkBit(e) set for every entry e of small: a probe whose
	// bit is clear is not there, without a search. Most searches ask
	// keyrings that do not hold what they seek (every keyring a miss
	// enters, every keyring above a hit), and most keyrings are small.
	seen uint64
}

// linkBit is one of 64 bits, chosen by the entry's index key (Fibonacci
// hashing of its packed prefix and its length).
func linkBit(l link) uint64 {
	return 1 << ((l.ix ^ uint64(len(l.desc))) * 0x9e3779b97f4a7c15 >> 58)
}

// Len is the number of entries.
func (x *linkIndex) Len() int {
	if x.tree != nil {
		return x.tree.Len()
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

// Get returns the entry with probe's index key.
func (x *linkIndex) Get(probe link) (link, bool) {
	if x.tree != nil {
		return x.tree.Get(probe)
	}
	if x.seen&linkBit(probe) == 0 {
		return link{}, false
	}
	if i, ok := x.search(probe); ok {
		return x.small[i], true
	}
	return link{}, false
}

// ReplaceOrInsert enters l, returning the entry it replaced; a btree it
// grows into takes its nodes from fl.
func (x *linkIndex) ReplaceOrInsert(l link, fl *btree.FreeListG[link]) (link, bool) {
	if x.tree != nil {
		return x.tree.ReplaceOrInsert(l)
	}
	i, ok := x.search(l)
	if ok {
		old := x.small[i]
		x.small[i] = l
		return old, true
	}
	if len(x.small) == smallLinks {
		x.tree = btree.NewWithFreeListG(16, linkLess, fl)
		for _, e := range x.small {
			x.tree.ReplaceOrInsert(e)
		}
		x.small = nil
		x.tree.ReplaceOrInsert(l)
		return link{}, false
	}
	x.small = append(x.small, link{})
	copy(x.small[i+1:], x.small[i:])
	x.small[i] = l
	x.seen |= linkBit(l)
	return link{}, false
}

// Delete removes the entry with probe's index key and returns it.
func (x *linkIndex) Delete(probe link) (link, bool) {
	if x.tree != nil {
		return x.tree.Delete(probe)
	}
	i, ok := x.search(probe)
	if !ok {
		return link{}, false
	}
	old := x.small[i]
	copy(x.small[i:], x.small[i+1:])
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

// Ascend calls fn for every entry in order until fn returns false.
func (x *linkIndex) Ascend(fn func(link) bool) {
	if x.tree != nil {
		x.tree.Ascend(fn)
		return
	}
	for _, l := range x.small {
		if !fn(l) {
			return
		}
	}
}

// AscendGreaterOrEqual is Ascend from the first entry not below pivot.
func (x *linkIndex) AscendGreaterOrEqual(pivot link, fn func(link) bool) {
	if x.tree != nil {
		x.tree.AscendGreaterOrEqual(pivot, fn)
		return
	}
	i, _ := x.search(pivot)
	for _, l := range x.small[i:] {
		if !fn(l) {
			return
		}
	}
}

// Clear removes every entry, giving a btree's nodes back to its free list.
func (x *linkIndex) Clear() {
	if x.tree != nil {
		x.tree.Clear(true)
	}
	*x = linkIndex{}
}
