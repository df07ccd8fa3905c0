package ir

import (
	"fmt"
	"slices"
)

// Normalization: the variance reduction, layer normalization and batch
// normalization, with PyTorch's semantics.
//
// Their VJPs are composed of existing ops (mean, var, sum and elementwise
// ops), not of backward ops of their own: each is the exact closed form of
// the derivative, its reductions run along the same axes as the forward
// one (so they take the reduction kernels and fuse with their elementwise
// producers like any other), and the final expression is one elementwise
// kernel over x. A dedicated backward op would save recomputing the
// statistics in Backward (one sweep of x), at the price of a second
// evaluator, lowering and registry entry per op.

// The normalization ops.
var OpVar *OpDef

// varAttrs are the attributes of var: those of the other reductions and
// the correction subtracted from the group size (0 population, 1
// unbiased), as torch.var(correction=…).
var varAttrs = append(slices.Clone(reduceAttrs), AttrSpec{Name: "correction", Kind: AttrInt})

func varType(args []Type, a Attrs, _ Type) (Type, error) {
	t, err := reduceType(args, a, Type{})
	if err != nil {
		return t, err
	}
	x := args[0]
	axes := a.Ints("axes")
	if len(axes) == 0 {
		return Type{}, fmt.Errorf("variance of %v over no axes: give at least one axis", x.Shape)
	}
	c := a.Int("correction")
	if c < 0 {
		return Type{}, fmt.Errorf("correction %d is negative (0 is the population variance, 1 the unbiased one)", c)
	}
	if n, ok := staticGroup(x.Shape, axes); ok && n <= c {
		return Type{}, fmt.Errorf("variance of %v over axes %v with correction %d: groups of %d element(s) leave no degree of freedom", x.Shape, axes, c, n)
	}
	return t, nil
}

// staticGroup is the element count of a group of s reduced over axes, if
// those dims are static.
func staticGroup(s Shape, axes []int) (int, bool) {
	n := 1
	for _, a := range axes {
		if !s[a].IsStatic() {
			return 0, false
		}
		n *= s[a].N
	}
	return n, true
}

// groupMoments returns each group's mean and Σ (x − mean)², two passes in
// float64, in index order.
func groupMoments(x *Tensor, groups int, idx []int) (mean, m2 []float64, count []int) {
	mean, m2, count = make([]float64, groups), make([]float64, groups), make([]int, groups)
	for k, g := range idx {
		mean[g] += x.F[k]
		count[g]++
	}
	for g := range mean {
		mean[g] /= float64(count[g])
	}
	for k, g := range idx {
		d := x.F[k] - mean[g]
		m2[g] += d * d
	}
	return mean, m2, count
}

// reducedShape lists the dims of s at axes.
func reducedShape(s Shape, axes []int) Shape {
	var r Shape
	for _, a := range axes {
		r = append(r, s[a])
	}
	return r
}

func init() {
	OpVar = Register(&OpDef{Name: "var", Doc: "variance over axes: Σ (x − mean)² / (N − correction), as torch.var(correction=…)", Class: Reduce, Arity: 1,
		Attrs: varAttrs, TypeRule: varType, Reduced: attrAxes,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			groups, idx := reduceIndex(a[0].Shape, v.Attrs.Ints("axes"))
			_, m2, count := groupMoments(a[0], groups, idx)
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			c := float64(v.Attrs.Int("correction"))
			for g := range out.F {
				out.F[g] = round(out.DType, m2[g]/(float64(count[g])-c))
			}
			return out, nil
		},
		// d var / dx = 2 (x − mean) / (N − correction), per group.
		VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			axes, keep := v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims")
			mean := b.BroadcastTo(b.Apply(OpMean, Attrs{"axes": axes, "keepdims": true}, x), x.Type.Shape)
			dof := b.Sub(b.Numel(reducedShape(x.Type.Shape, axes), x.Type.DType), b.ScalarLike(float64(v.Attrs.Int("correction")), x))
			gk := b.Div(b.Scale(keepdimsOf(b, g, x, axes, keep), 2), dof)
			return one(b.Mul(b.Sub(x, mean), b.BroadcastTo(gk, x.Type.Shape)))
		}})
}
