package rt

import (
	"slices"
	"sort"
)

// A Region is one buffer of a generated model's arena: a range of
// elements that holds, one after the other, the values a buffer plan
// (bpgen's passes.BufferPlan) assigned to it.
type Region struct {
	// Offset is the planned offset in elements; Layout may move it.
	Offset int
	// Elems is the region's size in elements at the model's capacity.
	Elems int
	// Start and End are the first and last kernel of the timeline during
	// which the region holds a live value, inclusive.
	Start, End int
}

// Layout places regions in one arena and returns its size in elements.
// It keeps the planned offsets when they are valid at the regions' sizes
// (no two regions that are live at the same time share an element), which
// they are whenever the model's capacity is at most the one the plan was
// made for. Otherwise it places every region again by the plan's method:
// largest first (ties: earliest start), each at the smallest gap left by
// the placed regions whose lifetimes overlap it, or at the end; offsets are
// multiples of align elements. Layout is called by New, not per step.
func Layout(regions []Region, align int) int {
	if !layoutValid(regions) {
		packBestFit(regions, align)
	}
	size := 0
	for _, r := range regions {
		size = max(size, r.Offset+r.Elems)
	}
	return size
}

func overlaps(a, b Region) bool {
	return a.Start <= b.End && b.Start <= a.End && a.Offset < b.Offset+b.Elems && b.Offset < a.Offset+a.Elems
}

func layoutValid(rs []Region) bool {
	for i, a := range rs {
		if a.Offset < 0 {
			return false
		}
		for _, b := range rs[i+1:] {
			if overlaps(a, b) {
				return false
			}
		}
	}
	return true
}

// packBestFit is the packing of passes.BufferPlan (see packBestFit there).
func packBestFit(rs []Region, align int) {
	alignUp := func(x int) int { return (x + align - 1) / align * align }
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := rs[order[i]], rs[order[j]]
		if a.Elems != b.Elems {
			return a.Elems > b.Elems
		}
		return a.Start < b.Start
	})
	var placed []int
	for _, i := range order {
		b := &rs[i]
		var busy []Region
		for _, j := range placed {
			q := rs[j]
			if q.Start <= b.End && b.Start <= q.End {
				busy = append(busy, q)
			}
		}
		slices.SortFunc(busy, func(x, y Region) int { return x.Offset - y.Offset })
		best, bestGap := -1, -1
		at := 0
		for _, q := range busy {
			if gap := q.Offset - at; gap >= b.Elems && (bestGap < 0 || gap < bestGap) {
				best, bestGap = at, gap
			}
			at = max(at, alignUp(q.Offset+q.Elems))
		}
		if best < 0 {
			best = at
		}
		b.Offset = best
		placed = append(placed, i)
	}
}
