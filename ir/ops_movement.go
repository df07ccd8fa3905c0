package ir

import (
	"fmt"
	"math"
)

// Movement ops: they move or select data without arithmetic.

// outerInner splits shape around axis: outer = Π dims before, inner = Π after.
func outerInner(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

// copyData copies n elements from src[so:] to dst[do:] for either dtype.
func copyData(dst *Tensor, do int, src *Tensor, so, n int) {
	if src.DType == I32 {
		copy(dst.I[do:do+n], src.I[so:so+n])
	} else {
		copy(dst.F[do:do+n], src.F[so:so+n])
	}
}

// The movement ops.
var (
	OpReshape, OpTranspose, OpBroadcastTo, OpSlice, OpPad, OpConcat *OpDef
	OpOneHot, OpGather, OpScatterAdd                                *OpDef
)

func init() {
	OpReshape = Register(&OpDef{Name: "reshape", Doc: "same elements, new shape (row-major order)", Class: Movement, Arity: 1, Storage: View,
		Attrs: []AttrSpec{{Name: "shape", Kind: AttrShape}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			s := a.Shape("shape")
			if !SameSize(args[0].Shape, s) {
				return Type{}, fmt.Errorf("cannot reshape %v to %v: element counts differ", args[0].Shape, s)
			}
			return Type{args[0].DType, s.Clone()}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			t := a[0].Clone()
			t.Shape = ctx.outShape(v)
			return t, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value { return one(b.Reshape(g, v.Args[0].Type.Shape)) }})

	OpTranspose = Register(&OpDef{Name: "transpose", Doc: "permutes dims: result dim i is argument dim perm[i]", Class: Movement, Arity: 1,
		Attrs: []AttrSpec{{Name: "perm", Kind: AttrInts}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			x, perm := args[0], a.Ints("perm")
			if len(perm) != len(x.Shape) {
				return Type{}, fmt.Errorf("perm %v has %d entries for rank %d shape %v", perm, len(perm), len(x.Shape), x.Shape)
			}
			s := make(Shape, len(perm))
			seen := make([]bool, len(perm))
			for i, p := range perm {
				if p < 0 || p >= len(perm) || seen[p] {
					return Type{}, fmt.Errorf("perm %v is not a permutation of 0..%d", perm, len(perm)-1)
				}
				seen[p] = true
				s[i] = x.Shape[p]
			}
			return Type{x.DType, s}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x, perm := a[0], v.Attrs.Ints("perm")
			out := NewTensor(x.DType, ctx.outShape(v)...)
			xs := stridesOf(x.Shape)
			mi := make([]int, len(perm))
			for k := range out.Len() {
				unravel(k, out.Shape, mi)
				src := 0
				for i, p := range perm {
					src += mi[i] * xs[p]
				}
				copyData(out, k, x, src, 1)
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			perm := v.Attrs.Ints("perm")
			inv := make([]int, len(perm))
			for i, p := range perm {
				inv[p] = i
			}
			return one(b.Apply(OpTranspose, Attrs{"perm": inv}, g))
		}})

	OpBroadcastTo = Register(&OpDef{Name: "broadcast_to", Doc: "NumPy-broadcasts the argument to shape", Class: Movement, Arity: 1,
		Attrs: []AttrSpec{{Name: "shape", Kind: AttrShape}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			s := a.Shape("shape")
			if !BroadcastsTo(args[0].Shape, s) {
				return Type{}, fmt.Errorf("cannot broadcast %v to %v", args[0].Shape, s)
			}
			return Type{args[0].DType, s.Clone()}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			shape := ctx.outShape(v)
			out := NewTensor(x.DType, shape...)
			st := broadcastStrides(x.Shape, shape)
			mi := make([]int, len(shape))
			for k := range out.Len() {
				unravel(k, shape, mi)
				src := 0
				for d := range shape {
					src += mi[d] * st[d]
				}
				copyData(out, k, x, src, 1)
			}
			return out, nil
		},
		// The grad pass sums the cotangent back over the broadcast axes.
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value { return one(g) }})

	sliceAttrs := []AttrSpec{{Name: "axis", Kind: AttrInt}, {Name: "start", Kind: AttrInt}, {Name: "end", Kind: AttrInt}}
	OpSlice = Register(&OpDef{Name: "slice", Doc: "elements start ≤ i < end along a static axis", Class: Movement, Arity: 1, Attrs: sliceAttrs,
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			x := args[0]
			axis, start, end := a.Int("axis"), a.Int("start"), a.Int("end")
			if err := checkAxes([]int{axis}, len(x.Shape)); err != nil {
				return Type{}, err
			}
			d := x.Shape[axis]
			if !d.IsStatic() {
				return Type{}, fmt.Errorf("cannot slice symbolic dim %v of %v", d, x.Shape)
			}
			if start < 0 || start > end || end > d.N {
				return Type{}, fmt.Errorf("slice [%d:%d] is out of range for dim %d of size %d", start, end, axis, d.N)
			}
			s := x.Shape.Clone()
			s[axis] = Static(end - start)
			return Type{x.DType, s}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			axis, start := v.Attrs.Int("axis"), v.Attrs.Int("start")
			out := NewTensor(x.DType, ctx.outShape(v)...)
			outer, n, inner := outerInner(x.Shape, axis)
			m := out.Shape[axis]
			for o := range outer {
				copyData(out, o*m*inner, x, (o*n+start)*inner, m*inner)
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			axis := v.Attrs.Int("axis")
			n := v.Args[0].Type.Shape[axis].N
			return one(b.Apply(OpPad, Attrs{"axis": axis, "before": v.Attrs.Int("start"), "after": n - v.Attrs.Int("end")}, g))
		}})

	OpPad = Register(&OpDef{Name: "pad", Doc: "adds before/after zeros along a static axis", Class: Movement, Arity: 1,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}, {Name: "before", Kind: AttrInt}, {Name: "after", Kind: AttrInt}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			x := args[0]
			axis := a.Int("axis")
			if err := checkAxes([]int{axis}, len(x.Shape)); err != nil {
				return Type{}, err
			}
			if !x.Shape[axis].IsStatic() {
				return Type{}, fmt.Errorf("cannot pad symbolic dim %v of %v", x.Shape[axis], x.Shape)
			}
			if a.Int("before") < 0 || a.Int("after") < 0 {
				return Type{}, fmt.Errorf("negative padding")
			}
			s := x.Shape.Clone()
			n, before, after := s[axis].N, a.Int("before"), a.Int("after")
			if before > math.MaxInt-n || after > math.MaxInt-n-before {
				return Type{}, fmt.Errorf("padding %d+%d of dim %d is too large", before, after, n)
			}
			s[axis] = Static(n + before + after)
			return Type{x.DType, s}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x := a[0]
			axis, before := v.Attrs.Int("axis"), v.Attrs.Int("before")
			out := NewTensor(x.DType, ctx.outShape(v)...)
			outer, n, inner := outerInner(x.Shape, axis)
			m := out.Shape[axis]
			for o := range outer {
				copyData(out, (o*m+before)*inner, x, o*n*inner, n*inner)
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			axis, before := v.Attrs.Int("axis"), v.Attrs.Int("before")
			n := v.Args[0].Type.Shape[axis].N
			return one(b.Apply(OpSlice, Attrs{"axis": axis, "start": before, "end": before + n}, g))
		}})

	OpConcat = Register(&OpDef{Name: "concat", Doc: "joins arguments along a static axis", Class: Movement, Arity: -1,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			axis := a.Int("axis")
			x := args[0]
			if err := checkAxes([]int{axis}, len(x.Shape)); err != nil {
				return Type{}, err
			}
			s := x.Shape.Clone()
			total := 0
			for i, t := range args {
				if t.DType != x.DType || len(t.Shape) != len(x.Shape) {
					return Type{}, fmt.Errorf("argument %d is %v, incompatible with %v", i+1, t, x)
				}
				for d := range t.Shape {
					if d == axis {
						if !t.Shape[d].IsStatic() {
							return Type{}, fmt.Errorf("cannot concat along symbolic dim %v", t.Shape[d])
						}
						if t.Shape[d].N > math.MaxInt-total {
							return Type{}, fmt.Errorf("concatenated dim %d is too large", axis)
						}
						total += t.Shape[d].N
					} else if t.Shape[d] != x.Shape[d] {
						return Type{}, fmt.Errorf("argument %d has shape %v, which differs from %v outside axis %d", i+1, t.Shape, x.Shape, axis)
					}
				}
			}
			s[axis] = Static(total)
			return Type{x.DType, s}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			axis := v.Attrs.Int("axis")
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			outer, m, inner := outerInner(out.Shape, axis)
			off := 0
			for _, x := range a {
				_, n, _ := outerInner(x.Shape, axis)
				for o := range outer {
					copyData(out, (o*m+off)*inner, x, o*n*inner, n*inner)
				}
				off += n
			}
			return out, nil
		},
		JVP: JointlyLinearJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			axis := v.Attrs.Int("axis")
			r := make([]*Value, len(v.Args))
			off := 0
			for i, x := range v.Args {
				n := x.Type.Shape[axis].N
				r[i] = b.Apply(OpSlice, Attrs{"axis": axis, "start": off, "end": off + n}, g)
				off += n
			}
			return r
		}})

	OpOneHot = Register(&OpDef{Name: "onehot", Doc: "int32 indices [...] → [..., depth] of 0/1 (out-of-range indices give all zeros)", Class: Movement, Arity: 1, NonDiff: true,
		Attrs: []AttrSpec{{Name: "depth", Kind: AttrInt}, {Name: "dtype", Kind: AttrDType}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			if args[0].DType != I32 {
				return Type{}, fmt.Errorf("indices are %v, want int32", args[0])
			}
			if a.Int("depth") <= 0 {
				return Type{}, fmt.Errorf("depth %d must be positive", a.Int("depth"))
			}
			if !a.DType("dtype").IsFloat() {
				return Type{}, fmt.Errorf("dtype must be float")
			}
			return Type{a.DType("dtype"), append(args[0].Shape.Clone(), Static(a.Int("depth")))}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			depth := v.Attrs.Int("depth")
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			for i, l := range a[0].I {
				if l >= 0 && int(l) < depth {
					out.F[i*depth+int(l)] = 1
				}
			}
			return out, nil
		}})

	OpGather = Register(&OpDef{Name: "gather", Doc: "x indexed along axis by int32 indices: shape x[:axis] + idx + x[axis+1:]", Class: Movement, Arity: 2,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			x, idx := args[0], args[1]
			axis := a.Int("axis")
			if err := checkAxes([]int{axis}, len(x.Shape)); err != nil {
				return Type{}, err
			}
			if idx.DType != I32 {
				return Type{}, fmt.Errorf("indices are %v, want int32", idx)
			}
			s := append(append(x.Shape[:axis:axis].Clone(), idx.Shape...), x.Shape[axis+1:]...)
			return Type{x.DType, s}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			x, idx := a[0], a[1]
			outer, n, inner := outerInner(x.Shape, v.Attrs.Int("axis"))
			out := NewTensor(x.DType, ctx.outShape(v)...)
			m := len(idx.I)
			for o := range outer {
				for j, ix := range idx.I {
					if ix < 0 || int(ix) >= n {
						return nil, fmt.Errorf("index %d at position %d is outside [0, %d)", ix, j, n)
					}
					copyData(out, (o*m+j)*inner, x, (o*n+int(ix))*inner, inner)
				}
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			x, idx := v.Args[0], v.Args[1]
			return []*Value{b.Apply(OpScatterAdd, Attrs{"axis": v.Attrs.Int("axis"), "shape": x.Type.Shape.Clone()}, g, idx), nil}
		}})

	OpScatterAdd = Register(&OpDef{Name: "scatter_add", Doc: "zeros of shape with g added at int32 indices along axis (the transpose of gather)", Class: Movement, Arity: 2,
		Attrs: []AttrSpec{{Name: "axis", Kind: AttrInt}, {Name: "shape", Kind: AttrShape}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			g, idx := args[0], args[1]
			s, axis := a.Shape("shape"), a.Int("axis")
			if err := checkAxes([]int{axis}, len(s)); err != nil {
				return Type{}, err
			}
			if idx.DType != I32 || !g.DType.IsFloat() {
				return Type{}, fmt.Errorf("want float updates and int32 indices, got %v and %v", g, idx)
			}
			want := append(append(s[:axis:axis].Clone(), idx.Shape...), s[axis+1:]...)
			if !want.Equal(g.Shape) {
				return Type{}, fmt.Errorf("updates have shape %v, want %v", g.Shape, want)
			}
			return Type{g.DType, s.Clone()}, nil
		},
		Eval: func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
			g, idx := a[0], a[1]
			out := NewTensor(g.DType, ctx.outShape(v)...)
			outer, n, inner := outerInner(out.Shape, v.Attrs.Int("axis"))
			m := len(idx.I)
			for o := range outer {
				for j, ix := range idx.I {
					if ix < 0 || int(ix) >= n {
						return nil, fmt.Errorf("index %d at position %d is outside [0, %d)", ix, j, n)
					}
					for e := range inner {
						d := (o*n+int(ix))*inner + e
						out.F[d] = round(out.DType, out.F[d]+g.F[(o*m+j)*inner+e])
					}
				}
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			return []*Value{b.Apply(OpGather, Attrs{"axis": v.Attrs.Int("axis")}, g, v.Args[1]), nil}
		}})
}
