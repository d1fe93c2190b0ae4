package model

// posTable maps the 64-bit hash of a large index's entry to its place
// (bigLinks.pos): open addressing with linear probing, a power-of-two
// number of slots at most three quarters full, and a deleted slot filled
// by moving back the entries after it (no tombstones). It holds no
// pointer, so the Go collector never scans it, and growing reads only the
// hashes. A Go map[uint64]int32 did the same with about 90 instructions a
// lookup and 230 a deletion; this takes a few per slot probed.
//
// The zero value is empty, and makes its slots on the first put.
type posTable struct {
	hashes []uint64
	// places holds place+1 for each slot: 0 marks an empty one.
	places []int32
	n      int32
}

// posTableMin is the number of slots of a new table: room for the 33
// entries of a keyring that has just grown large.
const posTableMin = 2 * smallLinks

// len is the number of hashes held.
func (t *posTable) len() int { return int(t.n) }

// slot returns the slot that holds h; places[slot]-1 is the place
// recorded under it.
func (t *posTable) slot(h uint64) (uint64, bool) {
	if t.n == 0 {
		return 0, false
	}
	places := t.places
	hashes := t.hashes[:len(places)]
	mask := uint64(len(places) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		p := places[i]
		if p == 0 {
			return 0, false
		}
		if hashes[i] == h {
			return i, true
		}
	}
}

// put records place i under h, replacing the place h had.
func (t *posTable) put(h uint64, i int32) {
	if 4*(int(t.n)+1) > 3*len(t.places) {
		t.grow()
	}
	mask := uint64(len(t.places) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		switch {
		case t.places[j] == 0:
			t.hashes[j], t.places[j] = h, i+1
			t.n++
			return
		case t.hashes[j] == h:
			t.places[j] = i + 1
			return
		}
	}
}

// deleteAt empties slot i, which holds a hash, and moves back each entry
// after it that its home slot lets take the emptied one.
func (t *posTable) deleteAt(i uint64) {
	mask := uint64(len(t.places) - 1)
	for j := (i + 1) & mask; t.places[j] != 0; j = (j + 1) & mask {
		// The entry at j may move to i unless its home slot lies in
		// (i, j], cyclically: it would then be before its home.
		if home := t.hashes[j] & mask; (j-home)&mask >= (j-i)&mask {
			t.hashes[i], t.places[i] = t.hashes[j], t.places[j]
			i = j
		}
	}
	t.places[i] = 0
	t.n--
}

// grow doubles the slots (makes them, in an empty table) and enters the
// hashes again.
func (t *posTable) grow() {
	hashes, places := t.hashes, t.places
	size := max(2*len(places), posTableMin)
	t.hashes, t.places, t.n = make([]uint64, size), make([]int32, size), 0
	for j, p := range places {
		if p != 0 {
			t.put(hashes[j], p-1)
		}
	}
}

// clear empties t, keeping its slots.
func (t *posTable) clear() {
	clear(t.places)
	t.n = 0
}
