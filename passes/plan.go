package passes

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bpgen/bpgen/internal/bestfit"
	"github.com/bpgen/bpgen/ir"
)

// ArenaAlign is the alignment, in elements, of every buffer offset in an
// arena (64 bytes for float32: a cache line, and room for vector loads).
const ArenaAlign = 16

// A Buffer is a region of an arena holding one or more values whose
// lifetimes do not overlap: the value that defines it, then the values
// computed in place over it, and reshapes viewing any of them.
type Buffer struct {
	Values []*ir.Value // in order of definition; Values[0] defines it
	DType  ir.DType
	Size   Size  // elements, as a polynomial in the symbolic dims (of Values[0])
	Elems  int64 // Size at the capacity
	Offset int64 // in elements, from the start of the DType's arena
	// Start and End are the first and last step of the timeline (kernel
	// indexes) during which the buffer holds a live value, inclusive. A
	// buffer holding an output, the objective or a gradient lives to the
	// end of the timeline.
	Start, End int
}

// BufferPlan places the materialized values of a timeline of kernels in
// one arena per dtype.
//
// Method. Liveness runs over the timeline: a value is live from the kernel
// that computes it to the last kernel that reads it (to the end for
// outputs, the objective and gradients; the Forward→Backward timeline of
// training keeps residuals alive across the boundary by construction).
// A Loop kernel whose single materialized value has the type of an input
// buffer that dies at that kernel computes in place over it (each element
// is read, then written, at the same index). Buffers are then packed
// largest first (ties: earliest start), each at the best-fitting gap: the
// smallest free interval of the arena, among the buffers whose lifetimes
// overlap it, that holds it, or else at the end. Offsets are multiples of
// ArenaAlign elements.
//
// Symbolic sizes. Sizes are polynomials in the dims (Size); the plan is
// made with every dim at its capacity (Options.Capacity, DefaultCapacity
// when not given), and offsets are concrete numbers. Because every size
// grows with every dim, each buffer's slot holds its value for any dims up
// to the capacity, so one plan serves every batch size up to it; generated
// code allocates the arenas once, at the capacity.
//
// Inputs, params and constants are not in the arenas (the caller binds
// inputs and the model owns params and constant fills); a reshape shares
// its argument's buffer (Alias), and a reshape of an input, param or
// constant has no buffer (it is a view of that value).
type BufferPlan struct {
	Capacity map[string]int
	Buffers  []*Buffer
	// Of maps a materialized value (or a reshape of one) to its buffer.
	Of map[*ir.Value]*Buffer
	// ArenaElems is the size of each dtype's arena in elements.
	ArenaElems map[ir.DType]int64
	// ArenaBytes is the total of the arenas; NaiveBytes what one buffer
	// per computed value of the timeline would take (no fusion, no reuse).
	ArenaBytes, NaiveBytes int64
	// InPlace counts the values computed in place over an argument.
	InPlace int
}

// planBuffers plans the kernels of a timeline. pack=false gives every
// buffer its own region (the plan pass disabled).
func planBuffers(g *ir.Graph, timeline []*Kernel, capacity map[string]int, pack bool) *BufferPlan {
	p := &BufferPlan{Capacity: capacity, Of: map[*ir.Value]*Buffer{}, ArenaElems: map[ir.DType]int64{}}
	end := len(timeline) - 1
	lastUse := map[*ir.Value]int{}
	counted := map[*ir.Value]bool{}
	for t, k := range timeline {
		for _, a := range k.Inputs {
			lastUse[a] = t
		}
		for _, v := range k.Values {
			if !counted[v] {
				counted[v] = true
				p.NaiveBytes += ValueBytes(v).Eval(capacity)
			}
		}
	}
	isOut := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		isOut[o.Value] = true
	}
	if g.Objective != nil {
		isOut[g.Objective] = true
	}
	for t, k := range timeline {
		if k.Kind == KernelAlias {
			v := k.Root
			if b := p.Of[v.Args[0]]; b != nil {
				p.Of[v] = b
				b.Values = append(b.Values, v)
				b.End = max(b.End, lastUse[v], t)
				if isOut[v] {
					b.End = end
				}
			}
			continue
		}
		var inplace *Buffer
		if pack && k.Kind == KernelLoop && len(k.Materialized) == 1 {
			v := k.Materialized[0]
			for _, a := range k.Inputs {
				b := p.Of[a]
				// Every read of the buffer by this kernel must be at the
				// index being written: no view of it with another shape.
				sameIndex := !slices.ContainsFunc(k.Inputs, func(x *ir.Value) bool { return p.Of[x] == b && !x.Type.Equal(v.Type) })
				if b != nil && b.End == t && sameIndex && !slices.ContainsFunc(b.Values, func(x *ir.Value) bool { return isOut[x] }) {
					inplace = b
					break
				}
			}
		}
		for _, v := range k.Materialized {
			e := max(lastUse[v], t)
			if isOut[v] {
				e = end
			}
			if inplace != nil {
				inplace.Values = append(inplace.Values, v)
				inplace.End = e
				p.Of[v] = inplace
				p.InPlace++
				continue
			}
			b := &Buffer{Values: []*ir.Value{v}, DType: v.Type.DType, Size: ShapeSize(v.Type.Shape), Start: t, End: e}
			b.Elems = b.Size.Eval(capacity)
			p.Buffers = append(p.Buffers, b)
			p.Of[v] = b
		}
	}
	if pack {
		packBestFit(p.Buffers)
	} else {
		next := map[ir.DType]int64{}
		for _, b := range p.Buffers {
			b.Offset = next[b.DType]
			next[b.DType] = alignUp(b.Offset + b.Elems)
		}
	}
	for _, b := range p.Buffers {
		p.ArenaElems[b.DType] = max(p.ArenaElems[b.DType], b.Offset+b.Elems)
	}
	for d, n := range p.ArenaElems {
		p.ArenaBytes += n * int64(d.Size())
	}
	return p
}

func alignUp(x int64) int64 { return (x + ArenaAlign - 1) / ArenaAlign * ArenaAlign }

// packBestFit assigns offsets by package internal/bestfit's method, one
// arena per dtype: largest buffer first, each into the smallest gap left
// by the placed buffers whose lifetimes overlap it.
func packBestFit(bufs []*Buffer) {
	byType := map[ir.DType][]*Buffer{}
	var types []ir.DType
	for _, b := range bufs {
		if byType[b.DType] == nil {
			types = append(types, b.DType)
		}
		byType[b.DType] = append(byType[b.DType], b)
	}
	for _, d := range types {
		bs := byType[d]
		blocks := blocksOf(bs)
		bestfit.Pack(blocks, ArenaAlign)
		for i, b := range bs {
			b.Offset = blocks[i].Offset
		}
	}
}

func blocksOf(bs []*Buffer) []bestfit.Block {
	r := make([]bestfit.Block, len(bs))
	for i, b := range bs {
		r[i] = bestfit.Block{Size: b.Elems, Offset: b.Offset, Start: b.Start, End: b.End}
	}
	return r
}

// Check verifies the plan: no two buffers of one dtype whose lifetimes
// overlap share an element, and every buffer fits its values.
func (p *BufferPlan) Check() error {
	byType := map[ir.DType][]*Buffer{}
	for _, a := range p.Buffers {
		for _, v := range a.Values {
			if v.Op.Storage != ir.View && ShapeSize(v.Type.Shape).Eval(p.Capacity) > a.Elems {
				return fmt.Errorf("plan: %s (%v) does not fit its buffer of %d elements", v.Ref(), v.Type, a.Elems)
			}
		}
		byType[a.DType] = append(byType[a.DType], a)
	}
	for _, bs := range byType {
		if i, j, bad := bestfit.Conflict(blocksOf(bs)); bad {
			a, b := bs[i], bs[j]
			return fmt.Errorf("plan: buffers of %s [%d,%d] and %s [%d,%d] overlap at offsets %d and %d",
				a.Values[0].Ref(), a.Start, a.End, b.Values[0].Ref(), b.Start, b.End, a.Offset, b.Offset)
		}
	}
	return nil
}

// String lists the buffers by dtype and offset.
func (p *BufferPlan) String() string {
	var b strings.Builder
	bufs := slices.Clone(p.Buffers)
	sort.SliceStable(bufs, func(i, j int) bool {
		if bufs[i].DType != bufs[j].DType {
			return bufs[i].DType < bufs[j].DType
		}
		return bufs[i].Offset < bufs[j].Offset
	})
	for _, x := range bufs {
		var names []string
		for _, v := range x.Values {
			names = append(names, v.Label())
		}
		fmt.Fprintf(&b, "  %v @%d +%d (%s) [%d,%d] %s\n", x.DType, x.Offset, x.Elems, x.Size, x.Start, x.End, strings.Join(names, " "))
	}
	fmt.Fprintf(&b, "  arena %d B (one buffer per value: %d B), %d in place\n", p.ArenaBytes, p.NaiveBytes, p.InPlace)
	return b.String()
}
