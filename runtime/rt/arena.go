package rt

import "github.com/bpgen/bpgen/internal/bestfit"

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
// made for, and when placing the regions again would not give a smaller
// arena (it does when the capacity is far below the plan's: a model with
// two symbolic dims has offsets planned at a capacity of both, and its
// products such as n·s·s shrink much faster than the offsets). Otherwise
// it places every region again by the plan's method: largest first (ties:
// earliest start), each at the smallest gap left by the placed regions
// whose lifetimes overlap it, or at the end; offsets are multiples of
// align elements. Layout is called by New, not per step.
func Layout(regions []Region, align int) int {
	if !layoutValid(regions) {
		packBestFit(regions, align)
		return extent(regions)
	}
	planned := make([]int, len(regions))
	for i, r := range regions {
		planned[i] = r.Offset
	}
	size := extent(regions)
	packBestFit(regions, align)
	if packed := extent(regions); packed < size {
		return packed
	}
	for i := range regions {
		regions[i].Offset = planned[i]
	}
	return size
}

// extent is the end of the last region.
func extent(regions []Region) int {
	size := 0
	for _, r := range regions {
		size = max(size, r.Offset+r.Elems)
	}
	return size
}

func layoutValid(rs []Region) bool {
	_, _, bad := bestfit.Conflict(blocks(rs))
	return !bad
}

// packBestFit is the packing of passes.BufferPlan (package internal/bestfit).
func packBestFit(rs []Region, align int) {
	bs := blocks(rs)
	bestfit.Pack(bs, int64(align))
	for i := range rs {
		rs[i].Offset = int(bs[i].Offset)
	}
}

func blocks(rs []Region) []bestfit.Block {
	bs := make([]bestfit.Block, len(rs))
	for i, r := range rs {
		bs[i] = bestfit.Block{Size: int64(r.Elems), Offset: int64(r.Offset), Start: r.Start, End: r.End}
	}
	return bs
}
