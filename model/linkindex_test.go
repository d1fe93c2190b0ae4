package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The index, across its moves between sorted slice and hash table and its
// clearing, holds what a list of the same entries holds, in the same
// order: (type, description) order while small; once large, the order
// the entries came in, a deleted entry's place taken by the last one,
// until it holds smallLinks entries or fewer again. Its keyring entries
// come in (type, description) order either way. With hashes cut to 2
// bits, most entries of a large index collide.
func TestLinkIndexMatchesList(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 3} {
		t.Run(fmt.Sprintf("mask=%#x", mask), func(t *testing.T) { testLinkIndexMatchesList(t, mask) })
	}
}

func testLinkIndexMatchesList(t *testing.T, mask uint64) {
	mem := newLinkMem()
	mem.hashMask = mask
	types := []*KeyType{TypeUser, TypeKeyring, TypeLogon}
	sortLinks := func(l []link) { slices.SortFunc(l, linkCmp) }
	rapid.Check(t, func(t *rapid.T) {
		// The index is a keyring's, so that lookups go through
		// Key.findLink, as the model's do.
		ring := &Key{typ: TypeKeyring, ring: &ringData{}}
		x := &ring.ring.links
		var want []link
		big := false
		draw := func(label string) link {
			typ := rapid.SampledFrom(types).Draw(t, label+" type")
			// Descriptions share long prefixes, so that comparisons go past
			// the first 7 bytes, or are short ones of a, b and NUL, so that
			// equal packed prefixes come with different lengths.
			desc := "description-" + strconv.Itoa(rapid.IntRange(0, 3*smallLinks).Draw(t, label+" n"))
			if rapid.Bool().Draw(t, label+" short") {
				desc = rapid.StringOfN(rapid.SampledFrom([]rune{'a', 'b', 0}), 0, 9, -1).Draw(t, label+" desc")
			}
			return mkLink(typ, desc, &Key{typ: typ, desc: desc})
		}
		find := func(p link) int {
			return slices.IndexFunc(want, func(l link) bool { return l.ix == p.ix && l.desc == p.desc })
		}
		for step := range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5:
				l := draw("insert")
				old, replaced := x.ReplaceOrInsert(l, &mem)
				if i := find(l); i >= 0 {
					if !replaced || old != want[i] {
						t.Fatalf("step %d: ReplaceOrInsert(%s) = %v, %v; want %v, true", step, l.desc, old, replaced, want[i])
					}
					want[i] = l
				} else {
					if replaced {
						t.Fatalf("step %d: ReplaceOrInsert(%s) replaced %v", step, l.desc, old)
					}
					want = append(want, l)
					if len(want) > smallLinks {
						big = true
					}
					if !big {
						sortLinks(want)
					}
				}
			case op < 8:
				l := draw("delete")
				old, ok := x.Delete(l)
				if i := find(l); i >= 0 {
					if !ok || old != want[i] {
						t.Fatalf("step %d: Delete(%s) = %v, %v; want %v", step, l.desc, old, ok, want[i])
					}
					if big {
						want[i] = want[len(want)-1]
						want = want[:len(want)-1]
						if len(want) <= smallLinks {
							big = false
							sortLinks(want)
						}
					} else {
						want = slices.Delete(want, i, i+1)
					}
				} else if ok {
					t.Fatalf("step %d: Delete(%s) found %v", step, l.desc, old)
				}
			case op < 9:
				l := draw("get")
				got, ok := ring.findLink(l)
				if i := find(l); (i >= 0) != ok || (ok && got != want[i].key) {
					t.Fatalf("step %d: findLink(%s) = %v, %v", step, l.desc, got, ok)
				}
			default:
				if rapid.IntRange(0, 9).Draw(t, "clear") == 0 {
					x.Clear()
					want, big = nil, false
				}
			}
			if x.Len() != len(want) {
				t.Fatalf("step %d: Len = %d, want %d", step, x.Len(), len(want))
			}
			var got []link
			x.Ascend(func(l link) bool { got = append(got, l); return true })
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: entries %v, want %v", step, got, want)
			}
			var rings, wantRings []link
			x.eachKeyring(func(l link) bool { rings = append(rings, l); return true })
			for _, l := range want {
				if l.isType(TypeKeyring) {
					wantRings = append(wantRings, l)
				}
			}
			sortLinks(wantRings)
			if !slices.Equal(rings, wantRings) {
				t.Fatalf("step %d: keyring entries %v, want %v", step, rings, wantRings)
			}
			if len(x.small) > smallLinks || (x.big != nil) != big {
				t.Fatalf("step %d: %d entries in the slice, large %v", step, len(x.small), x.big != nil)
			}
			if err := x.big.check(); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
	})
}

// Index entries sort by type, then description, whatever the descriptions'
// lengths (the first 7 bytes are packed into ix): descriptions never hold a
// NUL (they come from C strings).
func TestLinkOrderIsTypeThenDescription(t *testing.T) {
	types := []*KeyType{TypeUser, TypeKeyring, TypeLogon}
	desc := rapid.StringOfN(rapid.SampledFrom([]rune{'a', 'b', '\x01', '\xff', 'é'}), 0, 10, -1)
	rapid.Check(t, func(t *rapid.T) {
		ta, tb := rapid.SampledFrom(types).Draw(t, "type a"), rapid.SampledFrom(types).Draw(t, "type b")
		da, db := desc.Draw(t, "desc a"), desc.Draw(t, "desc b")
		a, b := mkLink(ta, da, nil), mkLink(tb, db, nil)
		want := ta.order < tb.order || (ta.order == tb.order && da < db)
		if got := linkLess(a, b); got != want {
			t.Fatalf("linkLess(%s %q, %s %q) = %v, want %v", ta.Name, da, tb.Name, db, got, want)
		}
	})
}

// A large index across several chunks, through deletions that move
// entries between chunks, a clear that keeps its table and growth into
// it, holds what the list holds, in the same order.
func TestLargeLinkIndexAcrossChunks(t *testing.T) {
	const n = 3*linkChunkLen - 100
	mem := newLinkMem()
	var x linkIndex
	var want []link
	mk := func(i int) link {
		typ, desc := TypeUser, "k"+strconv.Itoa(i)
		if i%100 == 0 {
			typ = TypeKeyring
		}
		return mkLink(typ, desc, &Key{typ: typ, desc: desc})
	}
	find := func(p link) int {
		return slices.IndexFunc(want, func(l link) bool { return l.ix == p.ix && l.desc == p.desc })
	}
	insert := func(l link) {
		x.ReplaceOrInsert(l, &mem)
		want = append(want, l)
		if len(want) <= smallLinks {
			slices.SortFunc(want, linkCmp)
		}
	}
	verify := func(phase string) {
		t.Helper()
		var got []link
		x.Ascend(func(l link) bool { got = append(got, l); return true })
		require.Equal(t, want, got, phase)
		require.NoError(t, x.big.check(), phase)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2 {
		want = nil
		for i := range n {
			insert(mk(i))
		}
		verify(fmt.Sprintf("round %d: filled", round))
		for range 2 * linkChunkLen {
			l := mk(r.IntN(n))
			_, ok := x.Delete(l)
			if i := find(l); i >= 0 {
				require.True(t, ok, "Delete(%s)", l.desc)
				want[i] = want[len(want)-1]
				want = want[:len(want)-1]
			} else {
				require.False(t, ok, "Delete(%s) of an absent entry", l.desc)
			}
		}
		verify(fmt.Sprintf("round %d: after deletions", round))
		for i := n; i < n+linkChunkLen; i++ {
			insert(mk(i))
		}
		verify(fmt.Sprintf("round %d: refilled", round))
		table := x.big
		x.Clear()
		require.Equal(t, 0, x.Len())
		require.Same(t, table, x.idle, "round %d: the cleared index keeps its table", round)
		want = nil
		insert(mk(0))
		for i := 1; i <= smallLinks; i++ {
			insert(mk(i))
		}
		require.Same(t, table, x.big, "round %d: the index grows into its kept table", round)
		verify(fmt.Sprintf("round %d: grown again", round))
		x.Clear()
	}
}

// An add_key into a keyring of smallLinks links enters the new key's entry
// before the key is made, which makes the index a hash table; when the
// call then fails (EDQUOT), the keyring's index is the sorted slice it
// was, and a read gives the same order: a failed call changes nothing.
func TestFailedAddKeyKeepsTheIndex(t *testing.T) {
	s := New(Config{Seed: 17, MaxKeys: smallLinks + 2, MaxBytes: 1 << 20})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	ring := emptyKeyring(t, s, c)
	fillKeyring(t, s, c, ring, smallLinks)
	k, ok := s.KeyBySerial(Serial(ring))
	require.True(t, ok)
	before := s.KeyringSerials(k)
	_, err := s.AddKey(c, Str("user"), Str("one-too-many"), Buf([]byte("v")), int32(ring))
	require.Equal(t, EDQUOT, err)
	assert.Nil(t, k.ring.links.big, "the index is a table after a failed add_key")
	assert.Equal(t, before, s.KeyringSerials(k), "the keyring's order")
	require.NoError(t, s.CheckInvariants())
}
