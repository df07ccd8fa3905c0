package ir

import (
	"fmt"
	"math"
	"slices"
)

// Reductions over chosen axes, the softmax family and the softmax
// cross-entropy loss. All are computed with the max subtracted first, so
// they stay finite for large inputs.

var reduceAttrs = []AttrSpec{{Name: "axes", Kind: AttrInts}, {Name: "keepdims", Kind: AttrBool}}

func checkAxes(axes []int, rank int) error {
	seen := map[int]bool{}
	for _, a := range axes {
		if a < 0 || a >= rank {
			return fmt.Errorf("axis %d is out of range for rank %d", a, rank)
		}
		if seen[a] {
			return fmt.Errorf("axis %d is repeated", a)
		}
		seen[a] = true
	}
	return nil
}

// ReduceShape is s reduced over axes: removed, or kept with size 1.
func ReduceShape(s Shape, axes []int, keepdims bool) Shape {
	var r Shape
	for i, d := range s {
		if slices.Contains(axes, i) {
			if keepdims {
				r = append(r, Static(1))
			}
			continue
		}
		r = append(r, d)
	}
	if r == nil {
		r = Shape{}
	}
	return r
}

func reduceType(args []Type, a Attrs, _ Type) (Type, error) {
	x := args[0]
	if !x.DType.IsFloat() {
		return Type{}, fmt.Errorf("argument is %v, want a float type", x)
	}
	axes := a.Ints("axes")
	if err := checkAxes(axes, len(x.Shape)); err != nil {
		return Type{}, err
	}
	return Type{x.DType, ReduceShape(x.Shape, axes, a.Bool("keepdims"))}, nil
}

// axisType: a float argument and one axis; the result has its type.
func axisType(args []Type, a Attrs, _ Type) (Type, error) {
	x := args[0]
	if !x.DType.IsFloat() {
		return Type{}, fmt.Errorf("argument is %v, want a float type", x)
	}
	if err := checkAxes([]int{a.Int("axis")}, len(x.Shape)); err != nil {
		return Type{}, err
	}
	return Type{x.DType, x.Shape.Clone()}, nil
}

// reduceIndex maps each flat index of a tensor of shape in to the flat
// index of its group after reducing over axes (keepdims layout).
func reduceIndex(in []int, axes []int) (groups int, idx []int) {
	out := slices.Clone(in)
	for _, a := range axes {
		out[a] = 1
	}
	groups = 1
	for _, d := range out {
		groups *= d
	}
	ost := stridesOf(out)
	n := 1
	for _, d := range in {
		n *= d
	}
	idx = make([]int, n)
	mi := make([]int, len(in))
	for k := 0; k < n; k++ {
		unravel(k, in, mi)
		o := 0
		for d := range in {
			if out[d] != 1 {
				o += mi[d] * ost[d]
			}
		}
		idx[k] = o
	}
	return groups, idx
}

// reduceEval folds each group of x (reduced over axes) with r, in index
// order, in float64.
func reduceEval(ctx *EvalContext, v *Value, x *Tensor, axes []int, r *Reduction) *Tensor {
	groups, idx := reduceIndex(x.Shape, axes)
	acc := make([]float64, groups)
	cnt := make([]int, groups)
	for i := range acc {
		acc[i] = r.Init
	}
	var args [2]float64
	for k, g := range idx {
		args[0], args[1] = acc[g], x.F[k]
		acc[g] = r.combine.Eval(args[:], nil)
		cnt[g]++
	}
	out := NewTensor(v.Type.DType, ctx.outShape(v)...)
	for i := range acc {
		args[0], args[1] = acc[i], float64(cnt[i])
		out.F[i] = round(out.DType, r.finalize.Eval(args[:], nil))
	}
	return out
}

// groupMax returns the max of each group (for stable exp-sums).
func groupMax(x *Tensor, groups int, idx []int) []float64 {
	m := make([]float64, groups)
	for i := range m {
		m[i] = math.Inf(-1)
	}
	for k, g := range idx {
		m[g] = max(m[g], x.F[k])
	}
	for i := range m {
		if math.IsInf(m[i], -1) {
			m[i] = 0 // empty or all −Inf group: avoid −Inf − −Inf
		}
	}
	return m
}

// groupLogSumExp is log Σ exp(x) per group, computed as m + log Σ exp(x − m).
func groupLogSumExp(x *Tensor, groups int, idx []int) []float64 {
	m := groupMax(x, groups, idx)
	s := make([]float64, groups)
	for k, g := range idx {
		s[g] += math.Exp(x.F[k] - m[g])
	}
	for i := range s {
		s[i] = m[i] + math.Log(s[i])
	}
	return s
}

// keepdimsOf reshapes g, a reduction of x over axes, to its keepdims shape
// (it already has it when keepdims is set), ready to broadcast back to x.
func keepdimsOf(b *Builder, g *Value, x *Value, axes []int, keepdims bool) *Value {
	if keepdims {
		return g
	}
	return b.Reshape(g, ReduceShape(x.Type.Shape, axes, true))
}

// The reduction ops.
var (
	OpSum, OpMean, OpMax, OpMin, OpLogSumExp *OpDef
	OpSoftmax, OpLogSoftmax, OpArgMax        *OpDef
	OpSoftmaxXent                            *OpDef
)

// attrAxes is Reduced for the reductions over an "axes" attribute.
func attrAxes(v *Value) []int { return v.Attrs.Ints("axes") }

// attrAxis is Reduced for the ops along one "axis" attribute.
func attrAxis(v *Value) []int { return []int{v.Attrs.Int("axis")} }

// lastAxis is Reduced for the ops along the last axis of their first argument.
func lastAxis(v *Value) []int { return []int{len(v.Args[0].Type.Shape) - 1} }

func init() {
	OpSum = Register(&OpDef{Name: "sum", Doc: "sum over axes", Class: Reduce, Arity: 1, Attrs: reduceAttrs, TypeRule: reduceType,
		Reduced: attrAxes, RowFusable: true,
		Reduction: &Reduction{Init: 0, Combine: "acc + x", Finalize: "acc", Repeat: "x * n"},
		JVP:       LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			return one(b.BroadcastTo(keepdimsOf(b, g, x, v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims")), x.Type.Shape))
		}})
	OpMean = Register(&OpDef{Name: "mean", Doc: "mean over axes", Class: Reduce, Arity: 1, Attrs: reduceAttrs, TypeRule: reduceType,
		Reduced: attrAxes, RowFusable: true,
		Reduction: &Reduction{Init: 0, Combine: "acc + x", Finalize: "acc / n", Repeat: "x"},
		JVP:       LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			axes := v.Attrs.Ints("axes")
			var red Shape
			for _, ax := range axes {
				red = append(red, x.Type.Shape[ax])
			}
			gs := b.Div(g, b.Numel(red, x.Type.DType))
			return one(b.BroadcastTo(keepdimsOf(b, gs, x, axes, v.Attrs.Bool("keepdims")), x.Type.Shape))
		}})
	minMaxVJP := func(b *Builder, v, g *Value) []*Value {
		x := v.Args[0]
		axes, keep := v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims")
		m := b.BroadcastTo(keepdimsOf(b, v, x, axes, keep), x.Type.Shape)
		mask := b.Apply(OpEq, nil, x, m)
		count := b.Sum(mask, axes, true)
		gk := b.Div(keepdimsOf(b, g, x, axes, keep), count)
		return one(b.Mul(b.BroadcastTo(gk, x.Type.Shape), mask))
	}
	OpMax = Register(&OpDef{Name: "max", Doc: "maximum over axes (ties split the gradient)", Class: Reduce, Arity: 1, Attrs: reduceAttrs, TypeRule: reduceType,
		Reduced: attrAxes, RowFusable: true,
		Reduction: &Reduction{Init: math.Inf(-1), Combine: "max(acc, x)", Finalize: "acc", Repeat: "x"},
		JVP:       GroupJVP, VJP: minMaxVJP})
	OpMin = Register(&OpDef{Name: "min", Doc: "minimum over axes (ties split the gradient)", Class: Reduce, Arity: 1, Attrs: reduceAttrs, TypeRule: reduceType,
		Reduced: attrAxes, RowFusable: true,
		Reduction: &Reduction{Init: math.Inf(1), Combine: "min(acc, x)", Finalize: "acc", Repeat: "x"},
		JVP:       GroupJVP, VJP: minMaxVJP})
	OpLogSumExp = Register(&OpDef{Name: "logsumexp", Doc: "log Σ exp(x) over axes, computed as m + log Σ exp(x − m)", Class: Reduce, Arity: 1, Attrs: reduceAttrs, TypeRule: reduceType,
		Reduced: attrAxes, RowFusable: true,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			groups, idx := reduceIndex(a[0].Shape, v.Attrs.Ints("axes"))
			lse := groupLogSumExp(a[0], groups, idx)
			return FromFloats(v.Type.DType, lse, ctx.outShape(v)...), nil
		},
		JVP: GroupJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			axes, keep := v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims")
			lse := b.BroadcastTo(keepdimsOf(b, v, x, axes, keep), x.Type.Shape)
			p := b.Exp(b.Sub(x, lse))
			return one(b.Mul(b.BroadcastTo(keepdimsOf(b, g, x, axes, keep), x.Type.Shape), p))
		}})
	OpSoftmax = Register(&OpDef{Name: "softmax", Doc: "exp(x − max) / Σ exp(x − max) along axis", Class: Reduce, Arity: 1,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}}, TypeRule: axisType, Reduced: attrAxis, RowFusable: true,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			groups, idx := reduceIndex(x.Shape, []int{v.Attrs.Int("axis")})
			lse := groupLogSumExp(x, groups, idx)
			out := NewTensor(v.Type.DType, x.Shape...)
			for k, g := range idx {
				out.F[k] = round(out.DType, math.Exp(x.F[k]-lse[g]))
			}
			return out, nil
		},
		JVP: softmaxJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			axes := []int{v.Attrs.Int("axis")}
			s := b.Sum(b.Mul(g, v), axes, true)
			return one(b.Mul(v, b.Sub(g, b.BroadcastTo(s, v.Type.Shape))))
		}})
	OpLogSoftmax = Register(&OpDef{Name: "log_softmax", Doc: "x − logsumexp(x) along axis", Class: Reduce, Arity: 1,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}}, TypeRule: axisType, Reduced: attrAxis, RowFusable: true,
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			groups, idx := reduceIndex(x.Shape, []int{v.Attrs.Int("axis")})
			lse := groupLogSumExp(x, groups, idx)
			out := NewTensor(v.Type.DType, x.Shape...)
			for k, g := range idx {
				out.F[k] = round(out.DType, x.F[k]-lse[g])
			}
			return out, nil
		},
		JVP: logSoftmaxJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			axes := []int{v.Attrs.Int("axis")}
			s := b.BroadcastTo(b.Sum(g, axes, true), v.Type.Shape)
			return one(b.Sub(g, b.Mul(b.Exp(v), s)))
		}})
	OpArgMax = Register(&OpDef{Name: "argmax", Doc: "index of the largest element along axis (first on ties), as int32", Class: Reduce, Arity: 1, NonDiff: true,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}}, Reduced: attrAxis,
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			t, err := axisType(args, a, Type{})
			if err != nil {
				return t, err
			}
			return Type{I32, ReduceShape(t.Shape, []int{a.Int("axis")}, false)}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			axis := v.Attrs.Int("axis")
			groups, idx := reduceIndex(x.Shape, []int{axis})
			best := make([]float64, groups)
			for i := range best {
				best[i] = math.Inf(-1)
			}
			out := NewTensor(I32, ctx.outShape(v)...)
			mi := make([]int, len(x.Shape))
			for k, g := range idx { // groups are visited in index order, so the first maximum wins
				if x.F[k] > best[g] {
					best[g] = x.F[k]
					unravel(k, x.Shape, mi)
					out.I[g] = int32(mi[axis])
				}
			}
			return out, nil
		}})
	OpSoftmaxXent = Register(&OpDef{Name: "softmax_xent", Doc: "per-example softmax cross-entropy of logits [..., k] against int32 labels [...]: logsumexp(z) − z[label]", Class: Reduce, Arity: 2,
		Reduced: lastAxis, RowFusable: true,
		TypeRule: func(args []Type, _ Attrs, _ Type) (Type, error) {
			z, y := args[0], args[1]
			if !z.DType.IsFloat() {
				return Type{}, fmt.Errorf("logits are %v, want a float type", z)
			}
			if y.DType != I32 {
				return Type{}, fmt.Errorf("labels are %v, want int32 class indices", y)
			}
			if len(z.Shape) == 0 || !z.Shape[len(z.Shape)-1].IsStatic() {
				return Type{}, fmt.Errorf("logits %v need a static class dim last", z.Shape)
			}
			if !z.Shape[:len(z.Shape)-1].Equal(y.Shape) {
				return Type{}, fmt.Errorf("labels shape %v must be the logits shape %v without its last (class) dim", y.Shape, z.Shape)
			}
			return Type{z.DType, y.Shape.Clone()}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			z, y := a[0], a[1]
			k := z.Shape[len(z.Shape)-1]
			groups, idx := reduceIndex(z.Shape, []int{len(z.Shape) - 1})
			lse := groupLogSumExp(z, groups, idx)
			out := NewTensor(v.Type.DType, y.Shape...)
			for i := range out.F {
				l := int(y.I[i])
				if l < 0 || l >= k {
					return nil, fmt.Errorf("label %d at index %d is outside [0, %d)", l, i, k)
				}
				out.F[i] = round(out.DType, lse[i]-z.F[i*k+l])
			}
			return out, nil
		},
		JVP: softmaxXentJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			z, y := v.Args[0], v.Args[1]
			axis := len(z.Type.Shape) - 1
			p := b.Apply(OpSoftmax, Attrs{"axis": axis}, z)
			oh := b.Apply(OpOneHot, Attrs{"depth": z.Type.Shape[axis].N, "dtype": z.Type.DType}, y)
			gk := b.BroadcastTo(b.Reshape(g, append(g.Type.Shape.Clone(), Static(1))), z.Type.Shape)
			return []*Value{b.Mul(gk, b.Sub(p, oh)), nil}
		}})
}
