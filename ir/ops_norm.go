package ir

import (
	"fmt"
	"math"
	"slices"
)

// Normalization: the variance reduction, layer normalization and batch
// normalization, with PyTorch's semantics.
//
// Their VJPs are composed of existing ops (mean, var, sum, sqrt and
// elementwise ops) rather than of backward ops of their own: the closed
// form of each derivative is exact in those ops, the grad pass sums and
// un-broadcasts the results like any other, and fusion folds the
// elementwise parts (ĝ = g·γ, ĝ·x̂, the final combination) into the
// sweeps of the mean reductions (RowFusable along the last axis) and one
// loop over x. What it costs is recomputing the statistics in Backward
// (mean and var of x: two sweeps) that a dedicated backward op would
// keep, and a dedicated op would also need its own evaluator, lowering,
// registry and FD cases.

// The normalization ops.
var OpVar, OpLayerNorm, OpBatchNorm *OpDef

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
		JVP: GroupJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			axes, keep := v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims")
			mean := b.BroadcastTo(b.Apply(OpMean, Attrs{"axes": axes, "keepdims": true}, x), x.Type.Shape)
			dof := b.Sub(b.Numel(reducedShape(x.Type.Shape, axes), x.Type.DType), b.ScalarLike(float64(v.Attrs.Int("correction")), x))
			gk := b.Div(b.Scale(keepdimsOf(b, g, x, axes, keep), 2), dof)
			return one(b.Mul(b.Sub(x, mean), b.BroadcastTo(gk, x.Type.Shape)))
		}})
}

// epsAttr is layer_norm's and batch_norm's eps, added to the variance
// before its square root.
var epsAttr = AttrSpec{Name: "eps", Kind: AttrFloat}

// DefaultNormEps is PyTorch's default eps of layer and batch normalization.
const DefaultNormEps = 1e-5

func checkEps(a Attrs) error {
	if eps := a.Float("eps"); !(eps >= 0) || math.IsInf(eps, 1) {
		return fmt.Errorf("eps %v must be finite and non-negative", eps)
	}
	return nil
}

// layerNormType: x [..., d1…dk], gamma and beta [d1…dk] (static), one float dtype.
func layerNormType(args []Type, a Attrs, _ Type) (Type, error) {
	x, gamma, beta := args[0], args[1], args[2]
	if !x.DType.IsFloat() || gamma.DType != x.DType || beta.DType != x.DType {
		return Type{}, fmt.Errorf("x, gamma and beta must be floats of one dtype, got %v, %v and %v", x, gamma, beta)
	}
	k := len(gamma.Shape)
	if k == 0 {
		return Type{}, fmt.Errorf("gamma %v is a scalar; it has the normalized (trailing) dims of x %v", gamma.Shape, x.Shape)
	}
	if k > len(x.Shape) || !x.Shape[len(x.Shape)-k:].Equal(gamma.Shape) {
		return Type{}, fmt.Errorf("gamma %v must be the trailing dims of x %v (the normalized shape)", gamma.Shape, x.Shape)
	}
	if !beta.Shape.Equal(gamma.Shape) {
		return Type{}, fmt.Errorf("beta %v must have gamma's shape %v", beta.Shape, gamma.Shape)
	}
	if err := checkEps(a); err != nil {
		return Type{}, err
	}
	return Type{x.DType, x.Shape.Clone()}, nil
}

// normAxes is Reduced for layer_norm: its trailing len(gamma) axes.
func normAxes(v *Value) []int {
	r, k := len(v.Args[0].Type.Shape), len(v.Args[1].Type.Shape)
	axes := make([]int, k)
	for i := range axes {
		axes[i] = r - k + i
	}
	return axes
}

// normalizeVJP is the cotangent of x through y = x̂·γ + β, x̂ = (x − μ)·ρ,
// ρ = 1/√(σ² + eps), with μ and σ² (biased) the statistics of x over axes:
// dx = ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·γ (gammaB: γ broadcast to
// x's shape). It returns dx and x̂ (for γ's cotangent).
func normalizeVJP(b *Builder, x, gammaB, g *Value, axes []int, eps float64) (dx, xhat *Value) {
	s := x.Type.Shape
	keep := func(op *OpDef, y *Value, attrs Attrs) *Value {
		a := Attrs{"axes": axes, "keepdims": true}
		for k, v := range attrs {
			a[k] = v
		}
		return b.BroadcastTo(b.Apply(op, a, y), s)
	}
	mean := keep(OpMean, x, nil)
	variance := b.Apply(OpVar, Attrs{"axes": axes, "keepdims": true, "correction": 0}, x)
	rstd := b.BroadcastTo(b.Apply(OpReciprocal, nil, b.Apply(OpSqrt, nil, b.Add(variance, b.ScalarLike(eps, x)))), s)
	xhat = b.Mul(b.Sub(x, mean), rstd)
	gh := b.Mul(g, gammaB)
	dx = b.Mul(rstd, b.Sub(b.Sub(gh, keep(OpMean, gh, nil)), b.Mul(xhat, keep(OpMean, b.Mul(gh, xhat), nil))))
	return dx, xhat
}

func init() {
	OpLayerNorm = Register(&OpDef{Name: "layer_norm", Doc: "(x − mean)/√(var + eps)·gamma + beta over the trailing dims of gamma's shape, biased var (F.layer_norm)", Class: Reduce, Arity: 3,
		Attrs: []AttrSpec{epsAttr}, TypeRule: layerNormType, Reduced: normAxes,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x, gamma, beta := a[0], a[1], a[2]
			cols := gamma.Len()
			groups, idx := reduceIndex(x.Shape, normAxes(v))
			mean, m2, count := groupMoments(x, groups, idx)
			eps := v.Attrs.Float("eps")
			out := NewTensor(v.Type.DType, x.Shape...)
			for k, g := range idx {
				rstd := 1 / math.Sqrt(m2[g]/float64(count[g])+eps)
				out.F[k] = round(out.DType, (x.F[k]-mean[g])*rstd*gamma.F[k%cols]+beta.F[k%cols])
			}
			return out, nil
		},
		// γ and β broadcast to x (they are its trailing dims), so their
		// cotangents are g·x̂ and g at x's shape: the grad pass sums them.
		JVP: layerNormJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			x, gamma := v.Args[0], v.Args[1]
			dx, xhat := normalizeVJP(b, x, b.BroadcastTo(gamma, x.Type.Shape), g, normAxes(v), v.Attrs.Float("eps"))
			return []*Value{dx, b.Mul(g, xhat), g}
		}})
}

// batchNormType: x [N, C, ...] (rank ≥ 2, channels on axis 1), gamma, beta,
// running mean and running var [C], one float dtype.
func batchNormType(args []Type, a Attrs, _ Type) (Type, error) {
	x := args[0]
	if !x.DType.IsFloat() {
		return Type{}, fmt.Errorf("x is %v, want a float type", x)
	}
	if len(x.Shape) < 2 {
		return Type{}, fmt.Errorf("x %v needs rank 2 or more: [N, C] or [N, C, H, W], channels on axis 1", x.Shape)
	}
	c := x.Shape[1]
	for i, name := range []string{"gamma", "beta", "running mean", "running var"} {
		t := args[i+1]
		if t.DType != x.DType || len(t.Shape) != 1 || t.Shape[0] != c {
			return Type{}, fmt.Errorf("%s is %v, want %v[%v] (one per channel of x %v)", name, t, x.DType, c, x.Shape)
		}
	}
	if err := checkEps(a); err != nil {
		return Type{}, err
	}
	return Type{x.DType, x.Shape.Clone()}, nil
}

// channelAxes is Reduced for batch_norm: every axis of x but the channel
// axis 1.
func channelAxes(v *Value) []int {
	var axes []int
	for i := range v.Args[0].Type.Shape {
		if i != 1 {
			axes = append(axes, i)
		}
	}
	return axes
}

func init() {
	OpBatchNorm = Register(&OpDef{Name: "batch_norm", Doc: "(x − mean)/√(var + eps)·gamma + beta per channel (axis 1) of x [N, C, ...]; training: the batch's mean and biased var, inference: the running mean and var args (F.batch_norm)", Class: Reduce, Arity: 5, Training: true,
		Attrs: []AttrSpec{epsAttr}, TypeRule: batchNormType, Reduced: channelAxes,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x, gamma, beta := a[0], a[1], a[2]
			groups, idx := reduceIndex(x.Shape, channelAxes(v)) // group = channel
			mean, variance := a[3].F, a[4].F
			if ctx.Training {
				var m2 []float64
				var count []int
				mean, m2, count = groupMoments(x, groups, idx)
				variance = make([]float64, groups)
				for c := range variance {
					variance[c] = m2[c] / float64(count[c])
				}
			}
			eps := v.Attrs.Float("eps")
			out := NewTensor(v.Type.DType, x.Shape...)
			for k, c := range idx {
				out.F[k] = round(out.DType, (x.F[k]-mean[c])/math.Sqrt(variance[c]+eps)*gamma.F[c]+beta.F[c])
			}
			return out, nil
		},
		// The training-mode rule (the backward pass follows a training
		// forward pass): the batch statistics depend on x. γ and β, [C],
		// do not broadcast to x [N, C, H, W] NumPy-style, so their
		// cotangents are summed here; the running statistics get none.
		JVP: batchNormJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			x, gamma := v.Args[0], v.Args[1]
			axes := channelAxes(v)
			cs := Shape{gamma.Type.Shape[0]}
			for range x.Type.Shape[2:] {
				cs = append(cs, Static(1))
			}
			gammaB := b.BroadcastTo(b.Reshape(gamma, cs), x.Type.Shape)
			dx, xhat := normalizeVJP(b, x, gammaB, g, axes, v.Attrs.Float("eps"))
			return []*Value{dx, b.Sum(b.Mul(g, xhat), axes, false), b.Sum(g, axes, false), nil, nil}
		}})
}
