package model

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/btree"
	"pgregory.net/rapid"
)

// The index, across its move from slice to btree and its clearing, holds
// what a sorted list of the same entries holds, in the same order.
func TestLinkIndexMatchesSortedList(t *testing.T) {
	fl := btree.NewFreeListG[link](btree.DefaultFreeListSize)
	types := []*KeyType{TypeUser, TypeKeyring, TypeLogon}
	rapid.Check(t, func(t *rapid.T) {
		var x linkIndex
		var want []link
		entry := func(label string) link {
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
				l := entry("insert")
				old, replaced := x.ReplaceOrInsert(l, fl)
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
					slices.SortFunc(want, func(a, b link) int {
						if linkLess(a, b) {
							return -1
						}
						return 1
					})
				}
			case op < 8:
				l := entry("delete")
				old, ok := x.Delete(l)
				if i := find(l); i >= 0 {
					if !ok || old != want[i] {
						t.Fatalf("step %d: Delete(%s) = %v, %v; want %v", step, l.desc, old, ok, want[i])
					}
					want = slices.Delete(want, i, i+1)
				} else if ok {
					t.Fatalf("step %d: Delete(%s) found %v", step, l.desc, old)
				}
			case op < 9:
				l := entry("get")
				got, ok := x.Get(l)
				if i := find(l); (i >= 0) != ok || (ok && got != want[i]) {
					t.Fatalf("step %d: Get(%s) = %v, %v", step, l.desc, got, ok)
				}
			default:
				if rapid.IntRange(0, 9).Draw(t, "clear") == 0 {
					x.Clear()
					want = nil
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
			pivot := mkLink(TypeKeyring, "", nil)
			got = got[:0]
			x.AscendGreaterOrEqual(pivot, func(l link) bool { got = append(got, l); return true })
			from := slices.IndexFunc(want, func(l link) bool { return !linkLess(l, pivot) })
			if from < 0 {
				from = len(want)
			}
			if !slices.Equal(got, want[from:]) {
				t.Fatalf("step %d: entries from the first keyring %v, want %v", step, got, want[from:])
			}
			if len(x.small) > smallLinks {
				t.Fatalf("step %d: %d entries in the slice", step, len(x.small))
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
