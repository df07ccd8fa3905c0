// Package bestfit packs buffers with lifetimes into one arena: the method
// of bpgen's buffer plan (package passes), which generated code also runs
// when a model is configured for more than the plan's capacity (through
// package runtime/rt). One copy, so the two lay arenas out alike. It
// imports only the standard library.
package bestfit

import (
	"cmp"
	"slices"
	"sort"
)

// A Block is a region of an arena: Size elements at Offset, holding a live
// value during the steps Start to End of a timeline, inclusive.
type Block struct {
	Size, Offset int64
	Start, End   int
}

func (a *Block) livesWith(b *Block) bool { return a.Start <= b.End && b.Start <= a.End }

// Pack assigns every block an offset, a multiple of align: largest block
// first (ties: earliest start), each at the smallest gap left by the
// placed blocks whose lifetimes overlap its own that holds it, or after
// them all. The placed blocks are kept in offset order, so each placement
// is one scan of them: O(B²) steps for B blocks, with no sorting or
// allocation per block.
func Pack(bs []Block, align int64) {
	alignUp := func(x int64) int64 { return (x + align - 1) / align * align }
	order := make([]int, len(bs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := &bs[order[i]], &bs[order[j]]
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		return a.Start < b.Start
	})
	placed := make([]int, 0, len(bs)) // by offset
	for _, i := range order {
		b := &bs[i]
		best, bestGap := int64(-1), int64(-1)
		at := int64(0)
		for _, j := range placed {
			q := &bs[j]
			if !q.livesWith(b) {
				continue
			}
			if gap := q.Offset - at; gap >= b.Size && (bestGap < 0 || gap < bestGap) {
				best, bestGap = at, gap
			}
			at = max(at, alignUp(q.Offset+q.Size))
		}
		if best < 0 {
			best = at
		}
		b.Offset = best
		k, _ := slices.BinarySearchFunc(placed, best, func(j int, off int64) int { return cmp.Compare(bs[j].Offset, off) })
		for k < len(placed) && bs[placed[k]].Offset == best {
			k++ // after placed blocks at the same offset, as a stable sort keeps them
		}
		placed = slices.Insert(placed, k, i)
	}
}

// Conflict returns two blocks that live at the same time and share an
// element (ok is true), or a block with a negative offset (i == j); it
// sweeps the blocks in order of start, so it compares only blocks whose
// lifetimes overlap.
func Conflict(bs []Block) (i, j int, ok bool) {
	order := make([]int, len(bs))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(bs[a].Start, bs[b].Start) })
	var live []int
	for _, k := range order {
		b := &bs[k]
		if b.Offset < 0 {
			return k, k, true
		}
		n := 0
		for _, l := range live {
			if bs[l].End >= b.Start {
				live[n] = l
				n++
			}
		}
		live = live[:n]
		for _, l := range live {
			q := &bs[l]
			if b.Offset < q.Offset+q.Size && q.Offset < b.Offset+b.Size {
				return l, k, true
			}
		}
		live = append(live, k)
	}
	return 0, 0, false
}
