package passes

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// DefaultCapacity is the value a symbolic dim takes, when Options.Capacity
// does not give one, for sizing buffers and counting bytes.
const DefaultCapacity = 256

// Size is a number of elements as a polynomial in the symbolic dims: a sum
// of monomials (products of dim names, with repeats) with integer
// coefficients. Terms maps a monomial, its dim names sorted and joined by
// "*" ("" for the constant term), to its coefficient. A shape [n, 512] has
// Size{"n": 512}; [n, m, 3] has Size{"m*n": 3}. Sizes of shapes have
// non-negative coefficients, so they grow with every dim: a buffer sized at
// the capacity holds the value for any smaller dims.
type Size map[string]int64

// ShapeSize is the element count of s.
func ShapeSize(s ir.Shape) Size {
	static, syms := s.NumElements()
	if static == 0 {
		return Size{}
	}
	slices.Sort(syms)
	return Size{strings.Join(syms, "*"): int64(static)}
}

// Add returns a + b.
func (a Size) Add(b Size) Size {
	r := Size{}
	for k, c := range a {
		r[k] += c
	}
	for k, c := range b {
		r[k] += c
	}
	for k, c := range r {
		if c == 0 {
			delete(r, k)
		}
	}
	return r
}

// Scale returns c·a.
func (a Size) Scale(c int64) Size {
	r := Size{}
	for k, x := range a {
		if x*c != 0 {
			r[k] = x * c
		}
	}
	return r
}

// Eval evaluates the size with the symbolic dims at dims (DefaultCapacity
// for a dim not given).
func (a Size) Eval(dims map[string]int) int64 {
	var r int64
	for k, c := range a {
		t := c
		if k != "" {
			for _, d := range strings.Split(k, "*") {
				t *= int64(dimCapacity(dims, d))
			}
		}
		r += t
	}
	return r
}

// String prints the size as a polynomial, highest degree first: "512·n + 10".
func (a Size) String() string {
	if len(a) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		di, dj := strings.Count(keys[i], "*")+btoi(keys[i] != ""), strings.Count(keys[j], "*")+btoi(keys[j] != "")
		if di != dj {
			return di > dj
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		switch {
		case k == "":
			parts = append(parts, fmt.Sprint(a[k]))
		case a[k] == 1:
			parts = append(parts, strings.ReplaceAll(k, "*", "·"))
		default:
			parts = append(parts, fmt.Sprintf("%d·%s", a[k], strings.ReplaceAll(k, "*", "·")))
		}
	}
	return strings.Join(parts, " + ")
}

// dimCapacity is dim d's value in dims, or DefaultCapacity if not given.
func dimCapacity(dims map[string]int, d string) int {
	if n, ok := dims[d]; ok {
		return n
	}
	return DefaultCapacity
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ValueBytes is the size of v's buffer in bytes, as a polynomial.
func ValueBytes(v *ir.Value) Size { return ShapeSize(v.Type.Shape).Scale(int64(v.Type.DType.Size())) }

// isFree reports whether v costs nothing to recompute (ir.OpDef.IsFree:
// inputs, params, constants, numel). Remat never counts them as memory.
func isFree(v *ir.Value) bool { return v.Op.IsFree() }

// isProvided reports whether v needs no code at all: it is bound by the
// caller or the model (inputs, params) or is a constant fill.
func isProvided(v *ir.Value) bool { s := v.Op.Storage; return s == ir.Bound || s == ir.Fill }

// Partition splits a joint graph (after grad) into its three programs, as
// sets of values by ID:
//
//   - Forward: every value the objective and the non-gradient outputs depend on.
//   - Backward: every value the gradient outputs depend on that is not in
//     Forward, other than inputs, params and constants.
//   - Predict: every value the non-gradient outputs that do not depend on a
//     target input (input with the target attr, such as labels) depend on.
//     Predict runs with dropout off: its dropout_mask values are all ones.
//     State updates (Output.State) are Forward's only: inference updates
//     no state.
//
// Residuals are the Forward values that Backward reads (or returns as a
// gradient), other than inputs, params and constants; they are what the
// forward pass must keep for the backward pass, in graph order. A value is
// computed by one program of the training step only: Forward and
// Backward are disjoint.
type Partition struct {
	Forward, Backward, Predict []bool // by value ID
	// Target marks the values that depend on a target input (labels):
	// inference cannot compute them.
	Target    []bool
	Residuals []*ir.Value
	// Kept marks the values that outlive their program: outputs, the
	// objective, gradients and residuals.
	Kept []bool
	// Train marks every value the training step (Forward then Backward)
	// reads or computes, constants, inputs and params included.
	Train []bool
}

// PartitionGraph computes the Partition of g.
func PartitionGraph(g *ir.Graph) *Partition {
	n := len(g.Values)
	p := &Partition{Backward: make([]bool, n), Kept: make([]bool, n)}
	target := make([]bool, n)
	p.Target = target
	for _, v := range g.Values {
		if v.Op == ir.OpInput && v.Attrs.Bool("target") {
			target[v.ID] = true
		}
		for _, a := range v.Args {
			target[v.ID] = target[v.ID] || target[a.ID]
		}
	}
	var fwdRoots, bwdRoots, predRoots []*ir.Value
	if g.Objective != nil {
		fwdRoots = append(fwdRoots, g.Objective)
	}
	for _, o := range g.Outputs {
		p.Kept[o.Value.ID] = true
		if o.Grad != "" {
			bwdRoots = append(bwdRoots, o.Value)
			continue
		}
		fwdRoots = append(fwdRoots, o.Value)
		if !target[o.Value.ID] && o.State == "" { // inference updates no state

			predRoots = append(predRoots, o.Value)
		}
	}
	if g.Objective != nil {
		p.Kept[g.Objective.ID] = true
	}
	p.Forward = Ancestors(g, fwdRoots)
	p.Predict = Ancestors(g, predRoots)
	resid := make([]bool, n)
	for _, r := range bwdRoots {
		switch {
		case isProvided(r):
		case p.Forward[r.ID]:
			resid[r.ID] = true
		default:
			p.Backward[r.ID] = true
		}
	}
	for i := n - 1; i >= 0; i-- {
		if !p.Backward[i] {
			continue
		}
		for _, a := range g.Values[i].Args {
			switch {
			case isProvided(a):
			case p.Forward[a.ID]:
				resid[a.ID] = true
			default:
				p.Backward[a.ID] = true
			}
		}
	}
	for i, r := range resid {
		if r {
			p.Residuals = append(p.Residuals, g.Values[i])
			p.Kept[i] = true
		}
	}
	p.Train = Ancestors(g, append(fwdRoots, bwdRoots...))
	return p
}

// Ancestors marks, by value ID, the roots and every value they depend on.
func Ancestors(g *ir.Graph, roots []*ir.Value) []bool {
	mark := make([]bool, len(g.Values))
	for _, r := range roots {
		mark[r.ID] = true
	}
	for i := len(g.Values) - 1; i >= 0; i-- {
		if mark[i] {
			for _, a := range g.Values[i].Args {
				mark[a.ID] = true
			}
		}
	}
	return mark
}

// isForwardResult reports whether v is an output or the objective of the
// forward program (kept for the caller anyway, so saving it for the
// backward pass costs nothing).
func isForwardResult(g *ir.Graph, v *ir.Value) bool {
	if g.Objective == v {
		return true
	}
	for _, o := range g.Outputs {
		if o.Grad == "" && o.Value == v {
			return true
		}
	}
	return false
}

// ResidualStats sums the residuals' bytes at the capacity.
type ResidualStats struct {
	Count int
	// Bytes counts every residual; Saved only those kept for the
	// backward pass alone (not also forward outputs or the objective,
	// which the forward program keeps for its caller anyway).
	Bytes, Saved Size
	Names        []string // labels, in graph order
}

// residualStats measures p's residuals.
func residualStats(g *ir.Graph, p *Partition) ResidualStats {
	st := ResidualStats{Bytes: Size{}, Saved: Size{}}
	for _, r := range p.Residuals {
		st.Count++
		b := ValueBytes(r)
		st.Bytes = st.Bytes.Add(b)
		if !isForwardResult(g, r) {
			st.Saved = st.Saved.Add(b)
		}
		st.Names = append(st.Names, r.Label())
	}
	return st
}
