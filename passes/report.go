package passes

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bpgen/bpgen/ir"
)

// ProgramStats measures a lowered program, for the report.
type ProgramStats struct {
	Forward, Backward, Predict int // kernels
	// Unfused is the number of kernels with one value per kernel (what the
	// program has with the fuse pass disabled).
	Unfused   int
	Residuals ResidualStats
	// ArenaBytes is the training step's arenas (Plan); NaiveBytes one
	// buffer per computed value of it. PredictArenaBytes is Predict's.
	ArenaBytes, NaiveBytes, PredictArenaBytes int64
	InPlace                                   int
	Capacity                                  map[string]int
	// ArenaFormula is the training arena's bytes as a function of the
	// model's one symbolic dim, a·n + b, for a layout valid for every n at
	// once (SymbolicLayout); "" if the model has no single symbolic dim.
	ArenaFormula string
	// Scans are the saved carries of each differentiated scan.
	Scans []ScanMemory
}

// programStats measures a planned program.
func programStats(p *Program) *ProgramStats {
	st := &ProgramStats{Forward: len(p.Forward), Backward: len(p.Backward), Predict: len(p.Predict),
		Residuals: residualStats(p.Graph, p.Partition)}
	// Without fusion every computed value of each program is a kernel.
	for _, in := range [][]bool{p.Partition.Forward, p.Partition.Backward, p.Partition.Predict} {
		for i, v := range p.Graph.Values {
			if in[i] && !isProvided(v) {
				st.Unfused++
			}
		}
	}
	st.Capacity = map[string]int{}
	for _, d := range p.Graph.Dims {
		st.Capacity[d] = dimCapacity(p.Plan.Capacity, d)
	}
	st.ArenaBytes, st.NaiveBytes, st.InPlace = p.Plan.ArenaBytes, p.Plan.NaiveBytes, p.Plan.InPlace
	st.PredictArenaBytes = p.PredictPlan.ArenaBytes
	st.Scans = scanMemory(p)
	if f, _, _, ok := SymbolicLayout(p); ok {
		st.ArenaFormula = f
	}
	return st
}

// lin is a·n + b: a size linear in the model's one symbolic dim n.
type lin struct{ a, b int64 }

func (x lin) add(y lin) lin            { return lin{x.a + y.a, x.b + y.b} }
func (x lin) max(y lin) lin            { return lin{max(x.a, y.a), max(x.b, y.b)} }
func (x lin) at(n int64) int64         { return x.a*n + x.b }
func (x lin) format(dim string) string { return fmt.Sprintf("%d·%s + %d", x.a, dim, x.b) }

func linOf(s Size, dim string) (lin, bool) {
	var l lin
	for k, c := range s {
		switch k {
		case "":
			l.b = c
		case dim:
			l.a = c
		default:
			return lin{}, false
		}
	}
	return l, true
}

// SymbolicLayout places the training plan's buffers at offsets that are
// themselves a·n + b in the model's one symbolic dim, so that the layout is
// valid for every n at once: two buffers alive at the same time never
// overlap, whatever n is. Each buffer's size includes ArenaAlign−1
// elements of slack, so a user of the layout may round every offset up to
// a multiple of ArenaAlign, as the plan does, and the buffer still ends
// within its slot.
//
// Method: the buffers are stacked in the order of their offsets in the
// plan at the capacity (which best-fit packed tightly); each goes at the
// coefficient-wise maximum of the ends of the earlier buffers it overlaps
// in time, so for any two live at once the later one starts after the
// earlier one ends, for every n. The maxima are range queries over the
// timeline (a segment tree per coefficient and dtype), so the layout takes
// O(B log T) time for B buffers and T kernels.
//
// It returns the layout's arena bytes as a·n + b (as text and as a
// function of n) and each buffer's offset in elements; ok is false if the
// model does not have exactly one symbolic dim or a size is not linear in
// it.
func SymbolicLayout(p *Program) (bytes string, offsets map[*Buffer]lin, at func(n int64) int64, ok bool) {
	g := p.Graph
	if p.Plan == nil || len(g.Dims) != 1 {
		return "", nil, nil, false
	}
	dim := g.Dims[0]
	type sb struct {
		b    *Buffer
		size lin
	}
	var bufs []sb
	steps := 1
	for _, b := range p.Plan.Buffers {
		l, ok := linOf(b.Size, dim)
		if !ok {
			return "", nil, nil, false
		}
		l.b += ArenaAlign - 1 // slack to align the offset up, for any n
		bufs = append(bufs, sb{b: b, size: l})
		steps = max(steps, b.End+1)
	}
	slices.SortStableFunc(bufs, func(x, y sb) int {
		return cmp.Or(cmp.Compare(x.b.DType, y.b.DType), cmp.Compare(x.b.Offset, y.b.Offset), cmp.Compare(x.b.Start, y.b.Start))
	})
	type trees struct{ a, b *maxTree }
	ends := map[ir.DType]trees{}
	arena := map[ir.DType]lin{}
	offsets = map[*Buffer]lin{}
	for _, x := range bufs {
		t, ok := ends[x.b.DType]
		if !ok {
			t = trees{newMaxTree(steps), newMaxTree(steps)}
			ends[x.b.DType] = t
		}
		off := lin{t.a.query(x.b.Start, x.b.End), t.b.query(x.b.Start, x.b.End)}
		end := off.add(x.size)
		t.a.raise(x.b.Start, x.b.End, end.a)
		t.b.raise(x.b.Start, x.b.End, end.b)
		offsets[x.b] = off
		arena[x.b.DType] = arena[x.b.DType].max(end)
	}
	var total lin
	for d, l := range arena {
		s := int64(d.Size())
		total = total.add(lin{l.a * s, l.b * s})
	}
	return total.format(dim), offsets, total.at, true
}

// maxTree holds a value per timeline step, all 0 at first: raise lifts
// every value of a range to at least x, query is the maximum of a range
// (a segment tree with lazy raises, O(log n) each).
type maxTree struct {
	n        int
	max, tag []int64
}

func newMaxTree(n int) *maxTree {
	return &maxTree{n: n, max: make([]int64, 4*n), tag: make([]int64, 4*n)}
}

func (t *maxTree) raise(lo, hi int, x int64) { t.raiseAt(1, 0, t.n-1, lo, hi, x) }

func (t *maxTree) raiseAt(node, l, r, lo, hi int, x int64) {
	if hi < l || r < lo {
		return
	}
	t.max[node] = max(t.max[node], x)
	if lo <= l && r <= hi {
		t.tag[node] = max(t.tag[node], x)
		return
	}
	m := (l + r) / 2
	t.raiseAt(2*node, l, m, lo, hi, x)
	t.raiseAt(2*node+1, m+1, r, lo, hi, x)
}

func (t *maxTree) query(lo, hi int) int64 { return t.queryAt(1, 0, t.n-1, lo, hi) }

func (t *maxTree) queryAt(node, l, r, lo, hi int) int64 {
	if hi < l || r < lo {
		return 0
	}
	if lo <= l && r <= hi {
		return t.max[node]
	}
	m := (l + r) / 2
	// A raise covering this whole node applies to every step below it.
	return max(t.tag[node], t.queryAt(2*node, l, m, lo, hi), t.queryAt(2*node+1, m+1, r, lo, hi))
}

// fmtDuration prints a pass's time to three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3g s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
}

// String prints the report for people (bpgen -explain): values (and
// kernels) after each pass and its time, what grad, simplify and remat did, the
// residuals with and without remat, and the arena against one buffer per
// value.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Passes {
		switch {
		case p.Disabled:
			fmt.Fprintf(&b, "pass %-10s disabled\n", p.Name)
		case p.Kernels > 0:
			fmt.Fprintf(&b, "pass %-10s %5d values %5d kernels %9s\n", p.Name, p.Values, p.Kernels, fmtDuration(p.Time))
		default:
			fmt.Fprintf(&b, "pass %-10s %5d values %13s %9s\n", p.Name, p.Values, "", fmtDuration(p.Time))
		}
	}
	if r.Grad != nil {
		b.WriteString(r.Grad.String() + "\n")
	}
	if r.Simplify != nil {
		b.WriteString(r.Simplify.String() + "\n")
	}
	if r.Remat != nil {
		b.WriteString(r.Remat.String())
	}
	if s := r.Program; s != nil {
		fmt.Fprintf(&b, "kernels: forward %d, backward %d, predict %d (%d without fusion)\n", s.Forward, s.Backward, s.Predict, s.Unfused)
		fmt.Fprintf(&b, "residuals: %d values, %s bytes (%s kept for the backward pass alone): %s\n",
			s.Residuals.Count, s.Residuals.Bytes, s.Residuals.Saved, strings.Join(s.Residuals.Names, " "))
		for _, m := range s.Scans {
			b.WriteString(m.String() + "\n")
		}
		var caps []string
		for _, d := range slices.Sorted(maps.Keys(s.Capacity)) {
			caps = append(caps, fmt.Sprintf("%s=%d", d, s.Capacity[d]))
		}
		fmt.Fprintf(&b, "arena at capacity %s: %d B for training (one buffer per value: %d B, %d in place), %d B for predict\n",
			strings.Join(caps, " "), s.ArenaBytes, s.NaiveBytes, s.InPlace, s.PredictArenaBytes)
		if s.ArenaFormula != "" {
			fmt.Fprintf(&b, "training arena for any batch, one layout valid for every size: %s bytes\n", s.ArenaFormula)
		}
	}
	return b.String()
}
