package ir_test

import "github.com/bpgen/bpgen/ir"

// Test data of the convolution ops (conv2d and its two gradient products),
// added to opCases. The references below are written independently of the
// interpreter's loop: conv2d and the weight gradient read an explicitly
// zero-padded copy of the input; the input gradient is computed per input
// element, gathering the output elements whose window covers it (the
// interpreter scatters from each output element instead).

func init() {
	opCases["conv2d"] = conv2DCase
	opCases["conv2d_input_grad"] = conv2DInputGradCase
	opCases["conv2d_weight_grad"] = conv2DWeightGradCase
}

// convGeomCase is one convolution geometry: input [n,c,h,w] (n is the
// symbolic batch dim), weight [o,c/groups,kh,kw] and the parameters.
type convGeomCase struct {
	name      string
	c, h, w   int
	o, kh, kw int
	p         ir.ConvParams
	ho, wo    int // expected output size (worked out by hand)
}

// convGeoms cover stride, padding, dilation and groups, each with unequal
// height and width parameters so a swapped axis cannot pass.
var convGeoms = []convGeomCase{
	{name: "plain", c: 2, h: 5, w: 6, o: 3, kh: 3, kw: 2, p: cp(1, 1, 0, 0, 1, 1, 1), ho: 3, wo: 5},
	{name: "stride-padding", c: 2, h: 7, w: 6, o: 4, kh: 3, kw: 3, p: cp(2, 1, 1, 2, 1, 1, 1), ho: 4, wo: 8},
	{name: "dilation", c: 3, h: 7, w: 7, o: 2, kh: 2, kw: 3, p: cp(1, 1, 1, 0, 2, 3, 1), ho: 7, wo: 1},
	{name: "groups", c: 4, h: 5, w: 5, o: 6, kh: 3, kw: 3, p: cp(2, 2, 1, 1, 1, 1, 2), ho: 3, wo: 3},
	{name: "depthwise-all", c: 3, h: 6, w: 5, o: 3, kh: 2, kw: 2, p: cp(1, 2, 0, 1, 2, 1, 3), ho: 4, wo: 3},
	{name: "stride-uneven", c: 1, h: 8, w: 9, o: 2, kh: 3, kw: 2, p: cp(3, 2, 1, 0, 1, 2, 1), ho: 3, wo: 4},
}

func cp(sh, sw, ph, pw, dh, dw, groups int) ir.ConvParams {
	return ir.ConvParams{Stride: [2]int{sh, sw}, Padding: [2]int{ph, pw}, Dilation: [2]int{dh, dw}, Groups: groups}
}

// padded is x [n,c,h,w] zero-padded by p on both sides of h and w.
func padded(x *ir.Tensor, p [2]int) (data []float64, hp, wp int) {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	hp, wp = h+2*p[0], w+2*p[1]
	data = make([]float64, n*c*hp*wp)
	for k := range x.Len() {
		i := index(k, x.Shape)
		data[flat([]int{i[0], i[1], i[2] + p[0], i[3] + p[1]}, []int{n, c, hp, wp})] = x.F[k]
	}
	return data, hp, wp
}

// refConv2D: out[n,o,y,x] = Σ_{ic,i,j} xpad[n, g·cg+ic, y·s+i·d, x·s+j·d] · w[o,ic,i,j].
func refConv2D(d ir.DType, gc convGeomCase) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x, w := in[0], in[1]
		n := x.Shape[0]
		xp, hp, wp := padded(x, gc.p.Padding)
		cg, og := gc.c/gc.p.Groups, gc.o/gc.p.Groups
		out := ir.NewTensor(d, n, gc.o, gc.ho, gc.wo)
		s, dl := gc.p.Stride, gc.p.Dilation
		for k := range out.Len() {
			i := index(k, out.Shape)
			b, o, y, xx := i[0], i[1], i[2], i[3]
			sum := 0.0
			for ic := range cg {
				ch := (o/og)*cg + ic
				for ki := range gc.kh {
					for kj := range gc.kw {
						sum += xp[flat([]int{b, ch, y*s[0] + ki*dl[0], xx*s[1] + kj*dl[1]}, []int{n, gc.c, hp, wp})] *
							w.F[flat([]int{o, ic, ki, kj}, w.Shape)]
					}
				}
			}
			out.F[k] = sum
		}
		return out
	}
}

// refConv2DInputGrad: dx[n,ch,y,x] = Σ over the output elements (oy, ox)
// of channels o of ch's group and kernel taps (i, j) with
// oy·s − p + i·d = y and ox·s − p + j·d = x of g[n,o,oy,ox] · w[o,ic,i,j].
func refConv2DInputGrad(d ir.DType, gc convGeomCase) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		g, w := in[0], in[1]
		n := g.Shape[0]
		cg, og := gc.c/gc.p.Groups, gc.o/gc.p.Groups
		s, p, dl := gc.p.Stride, gc.p.Padding, gc.p.Dilation
		out := ir.NewTensor(d, n, gc.c, gc.h, gc.w)
		for k := range out.Len() {
			i := index(k, out.Shape)
			b, ch, y, xx := i[0], i[1], i[2], i[3]
			grp, ic := ch/cg, ch%cg
			sum := 0.0
			for o := grp * og; o < (grp+1)*og; o++ {
				for ki := range gc.kh {
					ty := y + p[0] - ki*dl[0]
					if ty < 0 || ty%s[0] != 0 || ty/s[0] >= gc.ho {
						continue
					}
					for kj := range gc.kw {
						tx := xx + p[1] - kj*dl[1]
						if tx < 0 || tx%s[1] != 0 || tx/s[1] >= gc.wo {
							continue
						}
						sum += g.F[flat([]int{b, o, ty / s[0], tx / s[1]}, g.Shape)] * w.F[flat([]int{o, ic, ki, kj}, w.Shape)]
					}
				}
			}
			out.F[k] = sum
		}
		return out
	}
}

// refConv2DWeightGrad: dw[o,ic,i,j] = Σ_{n,y,x} xpad[n, g·cg+ic, y·s+i·d, x·s+j·d] · g[n,o,y,x].
func refConv2DWeightGrad(d ir.DType, gc convGeomCase) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x, g := in[0], in[1]
		n := x.Shape[0]
		xp, hp, wp := padded(x, gc.p.Padding)
		cg, og := gc.c/gc.p.Groups, gc.o/gc.p.Groups
		s, dl := gc.p.Stride, gc.p.Dilation
		out := ir.NewTensor(d, gc.o, cg, gc.kh, gc.kw)
		for k := range out.Len() {
			i := index(k, out.Shape)
			o, ic, ki, kj := i[0], i[1], i[2], i[3]
			ch := (o/og)*cg + ic
			sum := 0.0
			for b := range n {
				for y := range gc.ho {
					for xx := range gc.wo {
						sum += xp[flat([]int{b, ch, y*s[0] + ki*dl[0], xx*s[1] + kj*dl[1]}, []int{n, gc.c, hp, wp})] *
							g.F[flat([]int{b, o, y, xx}, g.Shape)]
					}
				}
			}
			out.F[k] = sum
		}
		return out
	}
}

func withAttr(a ir.Attrs, k string, v []int) ir.Attrs {
	a = a.Clone()
	a[k] = v
	return a
}

func conv2DCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(c ir.ConvParams) ir.Attrs { return c.Attrs() }
	one := cp(1, 1, 0, 0, 1, 1, 1)
	tc := opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 1, 28, 28), T(6, 1, 5, 5)}, attrs: a(cp(1, 1, 2, 2, 1, 1, 1)), want: T("n", 6, 28, 28)},
			{args: []ir.Type{T("n", 6, 14, 14), T(16, 6, 5, 5)}, attrs: a(one), want: T("n", 16, 10, 10)},
			{args: []ir.Type{T(2, 4, 9, 8), T(6, 2, 3, 3)}, attrs: a(cp(2, 3, 1, 0, 1, 2, 2)), want: T(2, 6, 5, 2)},
			{args: []ir.Type{T("n", 3, 28, 28), T(6, 1, 5, 5)}, attrs: a(one), err: "input [n,3,28,28] has 3 channels, but weight [6,1,5,5] with groups=1 expects 1"},
			{args: []ir.Type{T("n", 4, 8, 8), T(5, 2, 3, 3)}, attrs: a(cp(1, 1, 0, 0, 1, 1, 2)), err: "weight [5,2,3,3] has 5 output channels, not divisible by groups=2"},
			{args: []ir.Type{T("n", 1, 4, 4), T(2, 1, 5, 5)}, attrs: a(one), err: "does not fit input [n,1,4,4]"},
			{args: []ir.Type{T("n", 1, 5, 5), T(2, 1, 3, 3)}, attrs: a(cp(1, 1, 0, 0, 3, 1, 1)), err: "does not fit"},
			{args: []ir.Type{T("n", 1, 8, 8), T(2, 1, 3, 3)}, attrs: a(cp(0, 1, 0, 0, 1, 1, 1)), err: "stride [0 1] must be ≥ 1"},
			{args: []ir.Type{T("n", 1, 8, 8), T(2, 1, 3, 3)}, attrs: a(cp(1, 1, -1, 0, 1, 1, 1)), err: "padding [-1 0] must be ≥ 0"},
			{args: []ir.Type{T("n", 1, 8, 8), T(2, 1, 3, 3)}, attrs: a(cp(1, 1, 0, 0, 1, 1, 0)), err: "groups 0 must be ≥ 1"},
			{args: []ir.Type{T("n", 1, 8, 8), T(2, 1, 3, 3)}, attrs: withAttr(a(one), "stride", []int{1}), err: "stride [1] must be 2 ints"},
			{args: []ir.Type{T("n", 8, 8), T(2, 1, 3, 3)}, attrs: a(one), err: "must both be rank 4"},
			{args: []ir.Type{T("n", 1, "n", 8), T(2, 1, 3, 3)}, attrs: a(one), err: "dim 2 is symbolic"},
			{args: []ir.Type{T("n", 1, 8, 8), T("n", 1, 3, 3)}, attrs: a(one), err: "weight [n,1,3,3] must have static dims"},
			{args: []ir.Type{T("n", 1, 8, 8), tt(otherFloat(d), 2, 1, 3, 3)}, attrs: a(one), err: "floats of one dtype"},
		},
	}
	for _, gc := range convGeoms {
		tc.shapes = append(tc.shapes, shapeCase{args: []ir.Type{T("n", gc.c, gc.h, gc.w), T(gc.o, gc.c/gc.p.Groups, gc.kh, gc.kw)}, attrs: a(gc.p), want: T("n", gc.o, gc.ho, gc.wo)})
		tc.evals = append(tc.evals, evalCase{name: gc.name, args: []ir.Type{T("n", gc.c, gc.h, gc.w), T(gc.o, gc.c/gc.p.Groups, gc.kh, gc.kw)}, attrs: a(gc.p), ref: refConv2D(d, gc)})
	}
	return tc
}

func conv2DInputGradCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(c ir.ConvParams, h, w int) ir.Attrs { return withAttr(c.Attrs(), "input", []int{h, w}) }
	pad2 := cp(1, 1, 2, 2, 1, 1, 1)
	tc := opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 6, 28, 28), T(6, 1, 5, 5)}, attrs: a(pad2, 28, 28), want: T("n", 1, 28, 28)},
			// stride 2 maps both 9 and 10 to 5: the input attr decides.
			{args: []ir.Type{T("n", 6, 5, 5), T(6, 2, 3, 3)}, attrs: a(cp(2, 2, 1, 1, 1, 1, 3), 10, 9), want: T("n", 6, 10, 9)},
			{args: []ir.Type{T("n", 6, 27, 28), T(6, 1, 5, 5)}, attrs: a(pad2, 28, 28), err: "output gradient [n,6,27,28] has spatial size 27x28, but input 28x28 with kernel 5x5, stride [1 1], padding [2 2], dilation [1 1] gives 28x28"},
			{args: []ir.Type{T("n", 4, 28, 28), T(6, 1, 5, 5)}, attrs: a(pad2, 28, 28), err: "output gradient [n,4,28,28] has 4 channels, but weight [6,1,5,5] has 6 output channels"},
			{args: []ir.Type{T("n", 6, 1, 1), T(6, 1, 5, 5)}, attrs: a(cp(1, 1, 0, 0, 1, 1, 1), 3, 3), err: "does not fit"},
			{args: []ir.Type{T("n", 6, 28, 28), T(6, 1, 5, 5)}, attrs: withAttr(pad2.Attrs(), "input", []int{28}), err: "input [28] must be 2 ints"},
			{args: []ir.Type{T("n", 6, 28, 28), T(6, 1, 5, 5)}, attrs: pad2.Attrs(), err: "needs attribute input"},
			{args: []ir.Type{T("n", 6, 4, 4), T(6, 2, 3, 3)}, attrs: a(cp(1, 1, 0, 0, 1, 1, 4), 6, 6), err: "not divisible by groups=4"},
		},
	}
	for _, gc := range convGeoms {
		args := []ir.Type{T("n", gc.o, gc.ho, gc.wo), T(gc.o, gc.c/gc.p.Groups, gc.kh, gc.kw)}
		tc.shapes = append(tc.shapes, shapeCase{args: args, attrs: a(gc.p, gc.h, gc.w), want: T("n", gc.c, gc.h, gc.w)})
		tc.evals = append(tc.evals, evalCase{name: gc.name, args: args, attrs: a(gc.p, gc.h, gc.w), ref: refConv2DInputGrad(d, gc)})
	}
	return tc
}

func conv2DWeightGradCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(c ir.ConvParams, kh, kw int) ir.Attrs { return withAttr(c.Attrs(), "kernel", []int{kh, kw}) }
	one := cp(1, 1, 0, 0, 1, 1, 1)
	tc := opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 6, 14, 14), T("n", 16, 10, 10)}, attrs: a(one, 5, 5), want: T(16, 6, 5, 5)},
			{args: []ir.Type{T("n", 6, 14, 14), T(3, 16, 10, 10)}, attrs: a(one, 5, 5), err: "batch dims differ: input [n,6,14,14], output gradient [3,16,10,10]"},
			{args: []ir.Type{T("n", 6, 14, 14), T("n", 16, 10, 11)}, attrs: a(one, 5, 5), err: "has spatial size 10x11, but input 14x14 with kernel 5x5"},
			{args: []ir.Type{T("n", 6, 14, 14), T("n", 16, 10, 10)}, attrs: a(cp(1, 1, 0, 0, 1, 1, 4), 5, 5), err: "both must be divisible by groups=4"},
			{args: []ir.Type{T("n", 6, 14, 14), T("n", 16, 10, "n")}, attrs: a(one, 5, 5), err: "dim 3 is symbolic"},
			{args: []ir.Type{T("n", 6, 14, 14), T("n", 16, 10, 10)}, attrs: a(one, 5, 0), err: "kernel [5 0] must be ≥ 1"},
		},
	}
	for _, gc := range convGeoms {
		args := []ir.Type{T("n", gc.c, gc.h, gc.w), T("n", gc.o, gc.ho, gc.wo)}
		tc.shapes = append(tc.shapes, shapeCase{args: args, attrs: a(gc.p, gc.kh, gc.kw), want: T(gc.o, gc.c/gc.p.Groups, gc.kh, gc.kw)})
		tc.evals = append(tc.evals, evalCase{name: gc.name, args: args, attrs: a(gc.p, gc.kh, gc.kw), ref: refConv2DWeightGrad(d, gc)})
	}
	return tc
}
