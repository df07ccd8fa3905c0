package ir

import "fmt"

// Convolution: conv2d is PyTorch's torch.nn.functional.conv2d without the
// bias (a bias is a separate broadcast add): a cross-correlation of an
// NCHW input with an OIHW weight, with stride, zero padding, dilation and
// groups. Its two gradient products are ops of their own, so that the
// backward pass is ordinary IR with fast kernels, and each of the three is
// bilinear: the VJP of every one is built from the other two, and so
// gradients of any order stay in these three ops.

// The convolution ops.
var OpConv2D, OpConv2DInputGrad, OpConv2DWeightGrad *OpDef

// ConvParams are the attributes the three convolution ops share, each
// [height, width] pair as in PyTorch's tuple form.
type ConvParams struct {
	Stride, Padding, Dilation [2]int
	Groups                    int
}

// Attrs returns the attributes of a convolution op with these parameters.
func (c ConvParams) Attrs() Attrs {
	return Attrs{"stride": c.Stride[:], "padding": c.Padding[:], "dilation": c.Dilation[:], "groups": c.Groups}
}

// ConvParamsOf reads a convolution op's attributes (not checked).
func ConvParamsOf(a Attrs) ConvParams {
	var c ConvParams
	copy(c.Stride[:], a.Ints("stride"))
	copy(c.Padding[:], a.Ints("padding"))
	copy(c.Dilation[:], a.Ints("dilation"))
	c.Groups = a.Int("groups")
	return c
}

// OutSize is the output size along one spatial axis (0: height, 1:
// width) of a convolution of an input of size in with a kernel of size k:
// ⌊(in + 2·padding − dilation·(k−1) − 1) / stride⌋ + 1, PyTorch's formula.
// It is < 1 when the dilated kernel does not fit the padded input.
func (c ConvParams) OutSize(axis, in, k int) int {
	span := c.Dilation[axis]*(k-1) + 1
	padded := in + 2*c.Padding[axis]
	if padded < span {
		return 0
	}
	return (padded-span)/c.Stride[axis] + 1
}

func pairAttr(a Attrs, name string, min int) ([2]int, error) {
	v := a.Ints(name)
	if len(v) != 2 {
		return [2]int{}, fmt.Errorf("%s %v must be 2 ints [height, width]", name, v)
	}
	if v[0] < min || v[1] < min {
		return [2]int{}, fmt.Errorf("%s %v must be ≥ %d", name, v, min)
	}
	return [2]int{v[0], v[1]}, nil
}

// convAttrs checks the shared attributes.
func convAttrs(a Attrs) (ConvParams, error) {
	var c ConvParams
	var err error
	if c.Stride, err = pairAttr(a, "stride", 1); err != nil {
		return c, err
	}
	if c.Padding, err = pairAttr(a, "padding", 0); err != nil {
		return c, err
	}
	if c.Dilation, err = pairAttr(a, "dilation", 1); err != nil {
		return c, err
	}
	if c.Groups = a.Int("groups"); c.Groups < 1 {
		return c, fmt.Errorf("groups %d must be ≥ 1", c.Groups)
	}
	return c, nil
}

// convArgs checks that the two arguments are rank-4 floats of one dtype
// whose dims are static but for the batch dim (0) of activations; the
// second is a weight (static throughout) if yWeight. Errors name the
// arguments xName and yName.
func convArgs(x, y Type, xName, yName string, yWeight bool) error {
	if !x.DType.IsFloat() || x.DType != y.DType {
		return fmt.Errorf("%s and %s must be floats of one dtype, got %v and %v", xName, yName, x, y)
	}
	if len(x.Shape) != 4 || len(y.Shape) != 4 {
		return fmt.Errorf("%s and %s must both be rank 4, got %v and %v", xName, yName, x.Shape, y.Shape)
	}
	for d := 1; d < 4; d++ {
		if !x.Shape[d].IsStatic() {
			return fmt.Errorf("%s %v: dim %d is symbolic; only the batch dim (0) may be", xName, x.Shape, d)
		}
	}
	for d := range 4 {
		if y.Shape[d].IsStatic() || d == 0 && !yWeight {
			continue
		}
		if yWeight {
			return fmt.Errorf("%s %v must have static dims", yName, y.Shape)
		}
		return fmt.Errorf("%s %v: dim %d is symbolic; only the batch dim (0) may be", yName, y.Shape, d)
	}
	return nil
}

// checkOutSpatial checks that the spatial dims of an output (gradient) g
// are those a convolution of input size in with kernel size k gives.
func checkOutSpatial(c ConvParams, g Shape, in, k [2]int, gName string) error {
	for axis := range 2 {
		want := c.OutSize(axis, in[axis], k[axis])
		if want < 1 {
			return fmt.Errorf("the kernel %dx%d with dilation %v does not fit the input %dx%d padded by %v", k[0], k[1], c.Dilation, in[0], in[1], c.Padding)
		}
		if g[2+axis].N != want {
			return fmt.Errorf("%s %v has spatial size %vx%v, but input %dx%d with kernel %dx%d, stride %v, padding %v, dilation %v gives %dx%d",
				gName, g, g[2], g[3], in[0], in[1], k[0], k[1], c.Stride, c.Padding, c.Dilation, c.OutSize(0, in[0], k[0]), c.OutSize(1, in[1], k[1]))
		}
	}
	return nil
}

func conv2DType(args []Type, a Attrs, _ Type) (Type, error) {
	x, w := args[0], args[1]
	c, err := convAttrs(a)
	if err != nil {
		return Type{}, err
	}
	if err := convArgs(x, w, "input", "weight", true); err != nil {
		return Type{}, err
	}
	ch, o, cg := x.Shape[1].N, w.Shape[0].N, w.Shape[1].N
	if o%c.Groups != 0 {
		return Type{}, fmt.Errorf("weight %v has %d output channels, not divisible by groups=%d", w.Shape, o, c.Groups)
	}
	if ch != cg*c.Groups {
		return Type{}, fmt.Errorf("input %v has %d channels, but weight %v with groups=%d expects %d (weight dim 1 × groups)", x.Shape, ch, w.Shape, c.Groups, cg*c.Groups)
	}
	in, k := [2]int{x.Shape[2].N, x.Shape[3].N}, [2]int{w.Shape[2].N, w.Shape[3].N}
	ho, wo := c.OutSize(0, in[0], k[0]), c.OutSize(1, in[1], k[1])
	if ho < 1 || wo < 1 {
		return Type{}, fmt.Errorf("weight %v: the kernel %dx%d with dilation %v does not fit input %v padded by %v", w.Shape, k[0], k[1], c.Dilation, x.Shape, c.Padding)
	}
	return Type{x.DType, Shape{x.Shape[0], w.Shape[0], Static(ho), Static(wo)}}, nil
}

func conv2DInputGradType(args []Type, a Attrs, _ Type) (Type, error) {
	g, w := args[0], args[1]
	c, err := convAttrs(a)
	if err != nil {
		return Type{}, err
	}
	in, err := pairAttr(a, "input", 1)
	if err != nil {
		return Type{}, err
	}
	if err := convArgs(g, w, "output gradient", "weight", true); err != nil {
		return Type{}, err
	}
	o := w.Shape[0].N
	if o%c.Groups != 0 {
		return Type{}, fmt.Errorf("weight %v has %d output channels, not divisible by groups=%d", w.Shape, o, c.Groups)
	}
	if g.Shape[1].N != o {
		return Type{}, fmt.Errorf("output gradient %v has %v channels, but weight %v has %d output channels", g.Shape, g.Shape[1], w.Shape, o)
	}
	if err := checkOutSpatial(c, g.Shape, in, [2]int{w.Shape[2].N, w.Shape[3].N}, "output gradient"); err != nil {
		return Type{}, err
	}
	return Type{g.DType, Shape{g.Shape[0], Static(w.Shape[1].N * c.Groups), Static(in[0]), Static(in[1])}}, nil
}

func conv2DWeightGradType(args []Type, a Attrs, _ Type) (Type, error) {
	x, g := args[0], args[1]
	c, err := convAttrs(a)
	if err != nil {
		return Type{}, err
	}
	k, err := pairAttr(a, "kernel", 1)
	if err != nil {
		return Type{}, err
	}
	if err := convArgs(x, g, "input", "output gradient", false); err != nil {
		return Type{}, err
	}
	if x.Shape[0] != g.Shape[0] {
		return Type{}, fmt.Errorf("batch dims differ: input %v, output gradient %v", x.Shape, g.Shape)
	}
	ch, o := x.Shape[1].N, g.Shape[1].N
	if ch%c.Groups != 0 || o%c.Groups != 0 {
		return Type{}, fmt.Errorf("input %v has %d channels and output gradient %v %d; both must be divisible by groups=%d", x.Shape, ch, g.Shape, o, c.Groups)
	}
	if err := checkOutSpatial(c, g.Shape, [2]int{x.Shape[2].N, x.Shape[3].N}, k, "output gradient"); err != nil {
		return Type{}, err
	}
	return Type{x.DType, Shape{Static(o), Static(ch / c.Groups), Static(k[0]), Static(k[1])}}, nil
}

// convGeom is the geometry of one convolution, concrete.
type convGeom struct {
	n, c, h, w     int // input
	o, kh, kw      int // weight [o, c/groups, kh, kw]
	ho, wo, groups int
	p              ConvParams
}

// each calls f with the flat indices into input, weight and output of
// every product input·weight that contributes to an output element, in
// output-major order (padding: the terms outside the input are skipped).
func (g convGeom) each(f func(xi, wi, yi int)) {
	cg, og := g.c/g.groups, g.o/g.groups
	s, p, d := g.p.Stride, g.p.Padding, g.p.Dilation
	for n := range g.n {
		for o := range g.o {
			grp := o / og
			for oh := range g.ho {
				for ow := range g.wo {
					yi := ((n*g.o+o)*g.ho+oh)*g.wo + ow
					for ic := range cg {
						ch := grp*cg + ic
						for i := range g.kh {
							ih := oh*s[0] - p[0] + i*d[0]
							if ih < 0 || ih >= g.h {
								continue
							}
							for j := range g.kw {
								iw := ow*s[1] - p[1] + j*d[1]
								if iw < 0 || iw >= g.w {
									continue
								}
								f(((n*g.c+ch)*g.h+ih)*g.w+iw, ((o*cg+ic)*g.kh+i)*g.kw+j, yi)
							}
						}
					}
				}
			}
		}
	}
}

func roundAll(t *Tensor) *Tensor {
	for i, x := range t.F {
		t.F[i] = round(t.DType, x)
	}
	return t
}

func init() {
	convSpecs := []AttrSpec{{Name: "stride", Kind: AttrInts}, {Name: "padding", Kind: AttrInts}, {Name: "dilation", Kind: AttrInts}, {Name: "groups", Kind: AttrInt}}
	with := func(extra string) []AttrSpec {
		return append(append([]AttrSpec(nil), convSpecs...), AttrSpec{Name: extra, Kind: AttrInts})
	}

	OpConv2D = Register(&OpDef{Name: "conv2d",
		Doc:   "2-D cross-correlation of input [n,c,h,w] with weight [o,c/groups,kh,kw] (stride, padding, dilation, groups), as torch.nn.functional.conv2d without bias",
		Class: Opaque, Arity: 2, Attrs: convSpecs, TypeRule: conv2DType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, w := args[0], args[1]
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			g := convGeom{n: x.Shape[0], c: x.Shape[1], h: x.Shape[2], w: x.Shape[3], o: w.Shape[0], kh: w.Shape[2], kw: w.Shape[3],
				ho: out.Shape[2], wo: out.Shape[3], groups: v.Attrs.Int("groups"), p: ConvParamsOf(v.Attrs)}
			g.each(func(xi, wi, yi int) { out.F[yi] += x.F[xi] * w.F[wi] })
			return roundAll(out), nil
		},
		// y = conv(x, w): dx = conv_input_grad(g, w), dw = conv_weight_grad(x, g).
		JVP: LinearIn(0, 1), VJP: func(b *Builder, v, g *Value) []*Value {
			x, w := v.Args[0], v.Args[1]
			c := ConvParamsOf(v.Attrs)
			return []*Value{
				b.Conv2DInputGrad(g, w, c, [2]int{x.Type.Shape[2].N, x.Type.Shape[3].N}),
				b.Conv2DWeightGrad(x, g, c, [2]int{w.Type.Shape[2].N, w.Type.Shape[3].N}),
			}
		}})

	OpConv2DInputGrad = Register(&OpDef{Name: "conv2d_input_grad",
		Doc:   "gradient of conv2d with respect to its input [n,c,h,w] ([h,w] = input) from the output gradient [n,o,ho,wo] and the weight: a transposed convolution",
		Class: Opaque, Arity: 2, Attrs: with("input"), TypeRule: conv2DInputGradType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			gy, w := args[0], args[1]
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			g := convGeom{n: out.Shape[0], c: out.Shape[1], h: out.Shape[2], w: out.Shape[3], o: w.Shape[0], kh: w.Shape[2], kw: w.Shape[3],
				ho: gy.Shape[2], wo: gy.Shape[3], groups: v.Attrs.Int("groups"), p: ConvParamsOf(v.Attrs)}
			g.each(func(xi, wi, yi int) { out.F[xi] += gy.F[yi] * w.F[wi] })
			return roundAll(out), nil
		},
		// dx = A(g, w) with ⟨conv(x, w), g⟩ = ⟨x, A(g, w)⟩: for a cotangent
		// G of dx, ⟨G, A(g, w)⟩ = ⟨conv(G, w), g⟩, so dg = conv(G, w) and
		// dw = conv_weight_grad(G, g).
		JVP: LinearIn(0, 1), VJP: func(b *Builder, v, gx *Value) []*Value {
			gy, w := v.Args[0], v.Args[1]
			c := ConvParamsOf(v.Attrs)
			return []*Value{b.Conv2D(gx, w, c), b.Conv2DWeightGrad(gx, gy, c, [2]int{w.Type.Shape[2].N, w.Type.Shape[3].N})}
		}})

	OpConv2DWeightGrad = Register(&OpDef{Name: "conv2d_weight_grad",
		Doc:   "gradient of conv2d with respect to its weight [o,c/groups,kh,kw] ([kh,kw] = kernel) from the input and the output gradient, summed over the batch",
		Class: Opaque, Arity: 2, Attrs: with("kernel"), TypeRule: conv2DWeightGradType,
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			x, gy := args[0], args[1]
			out := NewTensor(v.Type.DType, ctx.outShape(v)...)
			g := convGeom{n: x.Shape[0], c: x.Shape[1], h: x.Shape[2], w: x.Shape[3], o: out.Shape[0], kh: out.Shape[2], kw: out.Shape[3],
				ho: gy.Shape[2], wo: gy.Shape[3], groups: v.Attrs.Int("groups"), p: ConvParamsOf(v.Attrs)}
			g.each(func(xi, wi, yi int) { out.F[wi] += x.F[xi] * gy.F[yi] })
			return roundAll(out), nil
		},
		// dw = B(x, g) with ⟨conv(x, w), g⟩ = ⟨w, B(x, g)⟩: for a cotangent
		// G of dw, ⟨G, B(x, g)⟩ = ⟨conv(x, G), g⟩, so dx =
		// conv_input_grad(g, G) and dg = conv(x, G).
		JVP: LinearIn(0, 1), VJP: func(b *Builder, v, gw *Value) []*Value {
			x, gy := v.Args[0], v.Args[1]
			c := ConvParamsOf(v.Attrs)
			return []*Value{b.Conv2DInputGrad(gy, gw, c, [2]int{x.Type.Shape[2].N, x.Type.Shape[3].N}), b.Conv2D(x, gw, c)}
		}})
}

// Conv2D is conv2d(x, w) with parameters c.
func (b *Builder) Conv2D(x, w *Value, c ConvParams) *Value { return b.Apply(OpConv2D, c.Attrs(), x, w) }

// Conv2DInputGrad is the gradient of conv2d(x, w) with respect to x, for
// an output gradient g and an input of spatial size input.
func (b *Builder) Conv2DInputGrad(g, w *Value, c ConvParams, input [2]int) *Value {
	a := c.Attrs()
	a["input"] = input[:]
	return b.Apply(OpConv2DInputGrad, a, g, w)
}

// Conv2DWeightGrad is the gradient of conv2d(x, w) with respect to w, for
// an output gradient g and a kernel of spatial size kernel.
func (b *Builder) Conv2DWeightGrad(x, g *Value, c ConvParams, kernel [2]int) *Value {
	a := c.Attrs()
	a["kernel"] = kernel[:]
	return b.Apply(OpConv2DWeightGrad, a, x, g)
}
