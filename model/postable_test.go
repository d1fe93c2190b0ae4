package model

import (
	"testing"

	"pgregory.net/rapid"
)

// A posTable holds what a map holds, through growth, deletions that move
// entries back across the end of the slots, and clearing. Hashes come
// from a few homes near the end of small tables, so that runs of probes
// wrap around and entries of different homes interleave.
func TestPosTableMatchesMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var pt posTable
		want := make(map[uint64]int32)
		hash := rapid.Custom(func(t *rapid.T) uint64 {
			home := uint64(rapid.SampledFrom([]int{0, 1, 61, 62, 63, 125, 126, 127}).Draw(t, "home"))
			return home | uint64(rapid.IntRange(0, 7).Draw(t, "high"))<<40
		})
		for step := range rapid.IntRange(1, 300).Draw(t, "steps") {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 6:
				h, i := hash.Draw(t, "put"), int32(rapid.IntRange(0, 1<<20).Draw(t, "place"))
				pt.put(h, i)
				want[h] = i
			case op < 9:
				if len(want) == 0 {
					continue
				}
				var hs []uint64
				for h := range want {
					hs = append(hs, h)
				}
				h := rapid.SampledFrom(hs).Draw(t, "delete")
				j, ok := pt.slot(h)
				if !ok {
					t.Fatalf("step %d: hash %#x held is not found", step, h)
				}
				pt.deleteAt(j)
				delete(want, h)
			default:
				pt.clear()
				clear(want)
			}
			if pt.len() != len(want) {
				t.Fatalf("step %d: %d hashes held, want %d", step, pt.len(), len(want))
			}
			for h, i := range want {
				if j, ok := pt.slot(h); !ok || pt.places[j]-1 != i {
					t.Fatalf("step %d: hash %#x not held at place %d", step, h, i)
				}
			}
			for range 4 {
				h := hash.Draw(t, "absent")
				if _, held := want[h]; !held {
					if j, ok := pt.slot(h); ok {
						t.Fatalf("step %d: hash %#x not held is at slot %d", step, h, j)
					}
				}
			}
		}
	})
}
