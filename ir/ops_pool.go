package ir

import (
	"fmt"
	"math"
)

// Pooling ops over NCHW input: max and average pooling with PyTorch's
// semantics (torch.nn.functional.max_pool2d and avg_pool2d with
// ceil_mode=False, dilation 1 and, for avg, count_include_pad=True), and
// the backward ops their VJPs are made of.
//
// Every pooling op takes the attributes kernel [kh,kw], stride [sh,sw]
// (optional: the kernel, as in PyTorch) and padding [ph,pw] (optional:
// zero). Output sizes are floor((H + 2·ph − kh)/sh) + 1 (and so for W).
// Max pooling pads with −∞ (padding never wins); average pooling pads with
// zeros and always divides by kh·kw. N and C may be symbolic; H and W are
// static.

// PoolGeom is the window geometry of a pooling op.
type PoolGeom struct {
	KH, KW, SH, SW, PH, PW int
}

// Out returns the output spatial size for an input of h×w (floor mode).
func (p PoolGeom) Out(h, w int) (oh, ow int) {
	return (h+2*p.PH-p.KH)/p.SH + 1, (w+2*p.PW-p.KW)/p.SW + 1
}

var poolAttrSpecs = []AttrSpec{
	{Name: "kernel", Kind: AttrInts},
	{Name: "stride", Kind: AttrInts, Optional: true},
	{Name: "padding", Kind: AttrInts, Optional: true},
}

// PoolGeomOf reads and checks a pooling op's kernel, stride and padding.
func PoolGeomOf(a Attrs) (PoolGeom, error) {
	pair := func(name string, def [2]int, min int) ([2]int, error) {
		if !a.Has(name) {
			return def, nil
		}
		v := a.Ints(name)
		if len(v) != 2 {
			return def, fmt.Errorf("%s %s must have 2 entries (height, width)", name, formatAttr(v))
		}
		if v[0] < min || v[1] < min {
			return def, fmt.Errorf("%s %s must be at least %d", name, formatAttr(v), min)
		}
		return [2]int{v[0], v[1]}, nil
	}
	if !a.Has("kernel") {
		return PoolGeom{}, fmt.Errorf("no kernel size")
	}
	k, err := pair("kernel", [2]int{}, 1)
	if err != nil {
		return PoolGeom{}, err
	}
	s, err := pair("stride", k, 1)
	if err != nil {
		return PoolGeom{}, err
	}
	pd, err := pair("padding", [2]int{}, 0)
	if err != nil {
		return PoolGeom{}, err
	}
	const big = 1 << 20 // far beyond any image; keeps every product in range
	for _, x := range []int{k[0], k[1], s[0], s[1], pd[0], pd[1]} {
		if x > big {
			return PoolGeom{}, fmt.Errorf("kernel %s, stride %s, padding %s: sizes above %d are not supported", formatAttr(k[:]), formatAttr(s[:]), formatAttr(pd[:]), big)
		}
	}
	if 2*pd[0] > k[0] || 2*pd[1] > k[1] {
		return PoolGeom{}, fmt.Errorf("padding %s must be at most half the kernel %s (as in PyTorch)", formatAttr(pd[:]), formatAttr(k[:]))
	}
	return PoolGeom{KH: k[0], KW: k[1], SH: s[0], SW: s[1], PH: pd[0], PW: pd[1]}, nil
}

// poolInput checks x is a float NCHW tensor with static H, W that the
// window fits in, and returns its geometry and output shape.
func poolInput(x Type, a Attrs) (PoolGeom, Shape, error) {
	if !x.DType.IsFloat() || len(x.Shape) != 4 {
		return PoolGeom{}, nil, fmt.Errorf("input is %v, want a float NCHW tensor (rank 4)", x)
	}
	p, err := PoolGeomOf(a)
	if err != nil {
		return PoolGeom{}, nil, err
	}
	h, w := x.Shape[2], x.Shape[3]
	if !h.IsStatic() || !w.IsStatic() {
		return PoolGeom{}, nil, fmt.Errorf("input %v: height and width must be static", x.Shape)
	}
	if h.N+2*p.PH < p.KH || w.N+2*p.PW < p.KW {
		return PoolGeom{}, nil, fmt.Errorf("input %v padded by %s is smaller than the kernel %s", x.Shape, formatAttr([]int{p.PH, p.PW}), formatAttr([]int{p.KH, p.KW}))
	}
	oh, ow := p.Out(h.N, w.N)
	return p, Shape{x.Shape[0], x.Shape[1], Static(oh), Static(ow)}, nil
}

func poolType(args []Type, a Attrs, _ Type) (Type, error) {
	_, s, err := poolInput(args[0], a)
	if err != nil {
		return Type{}, err
	}
	return Type{args[0].DType, s}, nil
}

// poolWithCotangent is the type rule of max_pool2d_grad(x, g) (and
// max_pool2d_gather(x, h) with pooled = false): the second argument has
// x's pooled type (or x's type) and the result the other one.
func poolWithCotangent(pooled bool) func(args []Type, a Attrs, _ Type) (Type, error) {
	return func(args []Type, a Attrs, _ Type) (Type, error) {
		x, g := args[0], args[1]
		_, s, err := poolInput(x, a)
		if err != nil {
			return Type{}, err
		}
		want, res := Type{x.DType, s}, x
		if !pooled {
			want, res = x, Type{x.DType, s}
		}
		if !g.Equal(want) {
			return Type{}, fmt.Errorf("second argument is %v, want %v (for input %v)", g, want, x)
		}
		return Type{res.DType, res.Shape.Clone()}, nil
	}
}

func avgPoolGradType(args []Type, a Attrs, _ Type) (Type, error) {
	g := args[0]
	size := a.Ints("size")
	if len(size) != 2 || size[0] < 1 || size[1] < 1 {
		return Type{}, fmt.Errorf("size %s must be the input's [height, width]", formatAttr(size))
	}
	if !g.DType.IsFloat() || len(g.Shape) != 4 {
		return Type{}, fmt.Errorf("cotangent is %v, want a float NCHW tensor (rank 4)", g)
	}
	x := Type{g.DType, Shape{g.Shape[0], g.Shape[1], Static(size[0]), Static(size[1])}}
	_, s, err := poolInput(x, a)
	if err != nil {
		return Type{}, err
	}
	if !s.Equal(g.Shape) {
		return Type{}, fmt.Errorf("cotangent has shape %v, but pooling an input %v gives %v", g.Shape, x.Shape, s)
	}
	return x, nil
}

// poolPlanes returns the number of N·C planes and the plane sizes of x
// (NCHW) and of the pooled output.
func poolPlanes(x []int, p PoolGeom) (planes, h, w, oh, ow int) {
	h, w = x[2], x[3]
	oh, ow = p.Out(h, w)
	return x[0] * x[1], h, w, oh, ow
}

// poolArgmax calls f with each output position (flat in its plane) and the
// plane index of the first maximum of its window, in row-major scan order
// over the window's real (unpadded) elements; every NaN replaces the maximum so
// far (PyTorch's rule: the last NaN of a window wins).
func poolArgmax(x []float64, h, w, oh, ow int, p PoolGeom, f func(o, at int)) {
	for i := range oh {
		for j := range ow {
			at, m := -1, math.Inf(-1)
			for di := range p.KH {
				r := i*p.SH - p.PH + di
				if r < 0 || r >= h {
					continue
				}
				for dj := range p.KW {
					c := j*p.SW - p.PW + dj
					if c < 0 || c >= w {
						continue
					}
					if v := x[r*w+c]; at < 0 || v > m || math.IsNaN(v) {
						at, m = r*w+c, v
					}
				}
			}
			f(i*ow+j, at)
		}
	}
}

// poolWindows calls f with each output position (flat in its plane) and
// each plane index of its window's real elements.
func poolWindows(h, w, oh, ow int, p PoolGeom, f func(o, at int)) {
	for i := range oh {
		for j := range ow {
			for di := range p.KH {
				r := i*p.SH - p.PH + di
				if r < 0 || r >= h {
					continue
				}
				for dj := range p.KW {
					if c := j*p.SW - p.PW + dj; c >= 0 && c < w {
						f(i*ow+j, r*w+c)
					}
				}
			}
		}
	}
}

// The pooling ops.
var OpMaxPool2D, OpMaxPool2DGrad, OpMaxPool2DGather, OpAvgPool2D, OpAvgPool2DGrad *OpDef

func poolAttrsOf(v *Value) PoolGeom {
	p, err := PoolGeomOf(v.Attrs)
	if err != nil {
		panic(err) // the type rule checked them
	}
	return p
}

func init() {
	OpMaxPool2D = Register(&OpDef{Name: "max_pool2d", Doc: "max over kernel windows of NCHW x, stride (default kernel), −∞ padding, gradient to each window's first max; PyTorch's max_pool2d (floor mode)",
		Class: Opaque, Arity: 1, Attrs: poolAttrSpecs, TypeRule: poolType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, p := args[0], poolAttrsOf(v)
			out := NewTensor(x.DType, ctx.outShape(v)...)
			planes, h, w, oh, ow := poolPlanes(x.Shape, p)
			for pl := range planes {
				xs, os := x.F[pl*h*w:][:h*w], out.F[pl*oh*ow:][:oh*ow]
				poolArgmax(xs, h, w, oh, ow, p, func(o, at int) { os[o] = xs[at] })
			}
			return out, nil
		},
		// The gradient goes to the first maximum of each window.
		JVP: maxPoolJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			return one(b.Apply(OpMaxPool2DGrad, v.Attrs.Clone(), v.Args[0], g))
		}})

	OpMaxPool2DGrad = Register(&OpDef{Name: "max_pool2d_grad", Doc: "max_pool2d's VJP: g (pooled shape) added at the first maximum of x in each window; zeros elsewhere",
		Class: Opaque, Arity: 2, Attrs: poolAttrSpecs, TypeRule: poolWithCotangent(true),
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, g, p := args[0], args[1], poolAttrsOf(v)
			out := NewTensor(x.DType, ctx.outShape(v)...)
			planes, h, w, oh, ow := poolPlanes(x.Shape, p)
			for pl := range planes {
				xs, gs, os := x.F[pl*h*w:][:h*w], g.F[pl*oh*ow:][:oh*ow], out.F[pl*h*w:][:h*w]
				poolArgmax(xs, h, w, oh, ow, p, func(o, at int) { os[at] = round(out.DType, os[at]+gs[o]) })
			}
			return out, nil
		},
		// Linear in g with x fixed; the argmax positions are piecewise
		// constant in x, so x gets no gradient (zero almost everywhere).
		JVP: LinearIn(1), VJP: func(b *Builder, v, g *Value) []*Value {
			return []*Value{nil, b.Apply(OpMaxPool2DGather, v.Attrs.Clone(), v.Args[0], g)}
		}})

	OpMaxPool2DGather = Register(&OpDef{Name: "max_pool2d_gather", Doc: "h (x's shape) read at the first maximum of x in each window: the transpose of max_pool2d_grad; max_pool2d(x) = max_pool2d_gather(x, x)",
		Class: Opaque, Arity: 2, Attrs: poolAttrSpecs, TypeRule: poolWithCotangent(false),
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, hv, p := args[0], args[1], poolAttrsOf(v)
			out := NewTensor(x.DType, ctx.outShape(v)...)
			planes, h, w, oh, ow := poolPlanes(x.Shape, p)
			for pl := range planes {
				xs, hs, os := x.F[pl*h*w:][:h*w], hv.F[pl*h*w:][:h*w], out.F[pl*oh*ow:][:oh*ow]
				poolArgmax(xs, h, w, oh, ow, p, func(o, at int) { os[o] = hs[at] })
			}
			return out, nil
		},
		// Linear in h; x only selects (no gradient, as for max_pool2d_grad).
		JVP: LinearIn(1), VJP: func(b *Builder, v, g *Value) []*Value {
			return []*Value{nil, b.Apply(OpMaxPool2DGrad, v.Attrs.Clone(), v.Args[0], g)}
		}})

	OpAvgPool2D = Register(&OpDef{Name: "avg_pool2d", Doc: "mean over kernel windows of NCHW x, stride (default kernel), zero padding counted (divides by kh·kw); PyTorch's avg_pool2d (floor mode, count_include_pad)",
		Class: Opaque, Arity: 1, Attrs: poolAttrSpecs, TypeRule: poolType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, p := args[0], poolAttrsOf(v)
			out := NewTensor(x.DType, ctx.outShape(v)...)
			planes, h, w, oh, ow := poolPlanes(x.Shape, p)
			div := float64(p.KH * p.KW)
			for pl := range planes {
				xs, os := x.F[pl*h*w:][:h*w], out.F[pl*oh*ow:][:oh*ow]
				poolWindows(h, w, oh, ow, p, func(o, at int) { os[o] += xs[at] })
				for o := range os {
					os[o] = round(out.DType, os[o]/div)
				}
			}
			return out, nil
		},
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			a := v.Attrs.Clone()
			s := v.Args[0].Type.Shape
			a["size"] = []int{s[2].N, s[3].N}
			return one(b.Apply(OpAvgPool2DGrad, a, g))
		}})

	OpAvgPool2DGrad = Register(&OpDef{Name: "avg_pool2d_grad", Doc: "avg_pool2d's VJP: each element of g divided by kh·kw and added over its window, into an input of height and width size",
		Class: Opaque, Arity: 1, Attrs: append(poolAttrSpecs[:len(poolAttrSpecs):len(poolAttrSpecs)], AttrSpec{Name: "size", Kind: AttrInts}),
		TypeRule: avgPoolGradType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			g, p := args[0], poolAttrsOf(v)
			out := NewTensor(g.DType, ctx.outShape(v)...)
			planes, h, w, oh, ow := poolPlanes(out.Shape, p)
			div := float64(p.KH * p.KW)
			for pl := range planes {
				gs, os := g.F[pl*oh*ow:][:oh*ow], out.F[pl*h*w:][:h*w]
				poolWindows(h, w, oh, ow, p, func(o, at int) { os[at] += gs[o] / div })
				for i := range os {
					os[i] = round(out.DType, os[i])
				}
			}
			return out, nil
		},
		// avg_pool2d is linear: its VJP's transpose is avg_pool2d itself.
		JVP: LinearIn(0), VJP: func(b *Builder, v, g *Value) []*Value {
			a := v.Attrs.Clone()
			delete(a, "size")
			return one(b.Apply(OpAvgPool2D, a, g))
		}})
}

// poolAttrs makes the attributes of a pooling op; nil stride or padding
// are left out (the defaults: stride = kernel, padding 0).
func poolAttrs(kernel, stride, padding []int) Attrs {
	a := Attrs{"kernel": append([]int(nil), kernel...)}
	if stride != nil {
		a["stride"] = append([]int(nil), stride...)
	}
	if padding != nil {
		a["padding"] = append([]int(nil), padding...)
	}
	return a
}

// MaxPool2D is max pooling of NCHW x (PyTorch's max_pool2d); nil stride
// means the kernel, nil padding zero.
func (b *Builder) MaxPool2D(x *Value, kernel, stride, padding []int) *Value {
	return b.Apply(OpMaxPool2D, poolAttrs(kernel, stride, padding), x)
}

// AvgPool2D is average pooling of NCHW x (PyTorch's avg_pool2d with
// count_include_pad); nil stride means the kernel, nil padding zero.
func (b *Builder) AvgPool2D(x *Value, kernel, stride, padding []int) *Value {
	return b.Apply(OpAvgPool2D, poolAttrs(kernel, stride, padding), x)
}
