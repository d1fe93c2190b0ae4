package model

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestSerialPermIsABijection(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := newSerialPerm(rapid.Uint64().Draw(t, "seed"))
		c := rapid.Uint32Range(0, serialMask).Draw(t, "counter")
		x := p.fwd(c)
		if x > serialMask {
			t.Fatalf("fwd(%d) = %d, outside 31 bits", c, x)
		}
		if back := p.back(x); back != c {
			t.Fatalf("back(fwd(%d)) = %d", c, back)
		}
		if fwd := p.fwd(p.back(c)); fwd != c {
			t.Fatalf("fwd(back(%d)) = %d", c, fwd)
		}
	})
}

// Consecutive counters give serials spread over the whole range: no run of
// neighbours, about half of them with the top bit set.
func TestSerialPermLooksRandom(t *testing.T) {
	p := newSerialPerm(1)
	const n = 1 << 16
	high, near := 0, 0
	prev := p.fwd(0)
	for c := uint32(1); c < n; c++ {
		x := p.fwd(c)
		if x >= serialSpace/2 {
			high++
		}
		if d := int64(x) - int64(prev); d > -1000 && d < 1000 {
			near++
		}
		prev = x
	}
	require.InDelta(t, n/2, high, n/50, "serials in the upper half")
	require.Less(t, near, 10, "consecutive serials within 1000 of each other")
}

func TestOddInverse(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.Uint32().Draw(t, "m") | 1
		if got := m * oddInverse(m) & serialMask; got != 1 {
			t.Fatalf("%d * oddInverse(%d) = %d mod 2^31", m, m, got)
		}
	})
}

// The index against a map: keys are allocated, restored under serials of
// their own (as a snapshot of version 1 does), and removed, across chunk
// boundaries and a wrap of the counter.
func TestSerialIndex(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := newSerialIndex(rapid.Uint64().Draw(t, "seed"))
		x.next = rapid.SampledFrom([]uint32{0, chunkLen - 3, serialSpace - 5}).Draw(t, "start")
		if x.next > 0 {
			x.chunks = make([]*serialChunk, (x.next-1)>>chunkBits+1)
		}
		want := map[Serial]*Key{}
		var live []*Key
		check := func() {
			if err := x.check(); err != nil {
				t.Fatal(err)
			}
			if x.n != len(want) {
				t.Fatalf("index counts %d keys, want %d", x.n, len(want))
			}
			for n, k := range want {
				if got := x.get(n); got != k {
					t.Fatalf("get(%d) = %v, want key %d", n, got, k.serial)
				}
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"alloc": func(t *rapid.T) {
				k := &Key{}
				x.allocNew(k)
				n := k.serial
				if n < 3 || want[n] != nil || x.get(n) != k {
					t.Fatalf("allocNew gave serial %d, in use, below 3 or not entered", n)
				}
				want[n] = k
				live = append(live, k)
			},
			"restore": func(t *rapid.T) {
				n := Serial(rapid.Int32Range(3, serialMask).Draw(t, "serial"))
				if ahead := rapid.Uint32Range(0, 20).Draw(t, "ahead"); rapid.Bool().Draw(t, "near") && x.next+ahead < serialSpace {
					// A serial the counter is about to reach.
					n = Serial(x.perm.fwd(x.next + ahead))
				}
				if n < 3 || want[n] != nil {
					t.Skip("serial in use")
				}
				k := &Key{serial: n}
				x.add(k)
				want[n] = k
				live = append(live, k)
			},
			"remove": func(t *rapid.T) {
				if len(live) == 0 {
					t.Skip("no keys")
				}
				i := rapid.IntRange(0, len(live)-1).Draw(t, "key")
				k := live[i]
				live = append(live[:i], live[i+1:]...)
				x.remove(k)
				delete(want, k.serial)
				if x.get(k.serial) != nil {
					t.Fatalf("key %d still found after remove", k.serial)
				}
			},
			"": func(t *rapid.T) { check() },
		})
	})
}

// A million serials from one seed are distinct (the permutation at work
// through the index, chunk after chunk).
func TestSerialIndexDistinct(t *testing.T) {
	if testing.Short() {
		t.Skip("a million keys")
	}
	x := newSerialIndex(7)
	seen := make(map[Serial]bool, 1<<20)
	for i := 0; i < 1<<20; i++ {
		k := &Key{}
		x.allocNew(k)
		require.False(t, seen[k.serial], "serial %d handed out twice", k.serial)
		seen[k.serial] = true
	}
	require.NoError(t, x.check())
}

// Keys made and destroyed one after another move through the serial chunks
// without allocating: an emptied chunk is kept for the next.
func TestSerialIndexReusesChunks(t *testing.T) {
	x := newSerialIndex(3)
	k := &Key{}
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < chunkLen; i++ {
			x.allocNew(k)
			x.remove(k)
		}
	})
	require.Zero(t, allocs, "allocations per %d keys", chunkLen)
	require.NoError(t, x.check())
}
