package bestfit

import (
	"math/rand/v2"
	"testing"
)

// naivePack is the method as specified, with the busy blocks gathered and
// sorted for each placement: Pack must give the same offsets.
func naivePack(bs []Block, align int64) {
	alignUp := func(x int64) int64 { return (x + align - 1) / align * align }
	var order []int
	for i := range bs {
		order = append(order, i)
	}
	for i := 1; i < len(order); i++ { // insertion sort: stable
		for j := i; j > 0; j-- {
			a, b := bs[order[j-1]], bs[order[j]]
			if a.Size > b.Size || a.Size == b.Size && a.Start <= b.Start {
				break
			}
			order[j-1], order[j] = order[j], order[j-1]
		}
	}
	var placed []int
	for _, i := range order {
		b := &bs[i]
		var busy []Block
		for _, j := range placed {
			if bs[j].livesWith(b) {
				busy = append(busy, bs[j])
			}
		}
		for x := 1; x < len(busy); x++ {
			for y := x; y > 0 && busy[y-1].Offset > busy[y].Offset; y-- {
				busy[y-1], busy[y] = busy[y], busy[y-1]
			}
		}
		best, bestGap, at := int64(-1), int64(-1), int64(0)
		for _, q := range busy {
			if gap := q.Offset - at; gap >= b.Size && (bestGap < 0 || gap < bestGap) {
				best, bestGap = at, gap
			}
			at = max(at, alignUp(q.Offset+q.Size))
		}
		if best < 0 {
			best = at
		}
		b.Offset = best
		placed = append(placed, i)
	}
}

func TestPackMatchesMethod(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := 1 + rng.IntN(60)
		bs := make([]Block, n)
		for i := range bs {
			s := rng.IntN(40)
			bs[i] = Block{Size: int64(1 + rng.IntN(5)*rng.IntN(50)), Start: s, End: s + rng.IntN(30)}
		}
		want := append([]Block(nil), bs...)
		naivePack(want, 16)
		Pack(bs, 16)
		for i := range bs {
			if bs[i].Offset != want[i].Offset {
				t.Fatalf("trial %d: block %d at %d, the method puts it at %d", trial, i, bs[i].Offset, want[i].Offset)
			}
			if bs[i].Offset%16 != 0 {
				t.Fatalf("trial %d: block %d at unaligned %d", trial, i, bs[i].Offset)
			}
		}
		if i, j, bad := Conflict(bs); bad {
			t.Fatalf("trial %d: blocks %d and %d overlap: %+v %+v", trial, i, j, bs[i], bs[j])
		}
		// A conflict planted between two blocks alive at once is found.
		for i := range bs {
			for j := range bs {
				if i != j && bs[i].livesWith(&bs[j]) && bs[i].Size > 0 && bs[j].Size > 0 {
					c := append([]Block(nil), bs...)
					c[j].Offset = c[i].Offset
					if _, _, bad := Conflict(c); !bad {
						t.Fatalf("trial %d: planted overlap of %d and %d not found", trial, i, j)
					}
					goto next
				}
			}
		}
	next:
	}
}
