package ir_test

import (
	"math"

	"github.com/bpgen/bpgen/ir"
)

// Pooling: test data for TestOpRegistry. The references pad the input
// explicitly (−∞ for max, 0 for avg) and scan each whole padded window,
// as PyTorch's definition reads; the interpreter skips the padding instead.

func init() {
	opCases["max_pool2d"] = maxPoolCase
	opCases["max_pool2d_grad"] = maxPoolGradCase
	opCases["max_pool2d_gather"] = maxPoolGatherCase
	opCases["avg_pool2d"] = avgPoolCase
	opCases["avg_pool2d_grad"] = avgPoolGradCase
}

// poolSpec is one geometry for the references.
type poolSpec struct{ kh, kw, sh, sw, ph, pw int }

func (p poolSpec) attrs() ir.Attrs {
	return ir.Attrs{"kernel": []int{p.kh, p.kw}, "stride": []int{p.sh, p.sw}, "padding": []int{p.ph, p.pw}}
}

// padded returns plane pl of x (NCHW) padded by ph, pw with fill.
func (p poolSpec) padded(x *ir.Tensor, pl int, fill float64) [][]float64 {
	h, w := x.Shape[2], x.Shape[3]
	r := make([][]float64, h+2*p.ph)
	for i := range r {
		r[i] = make([]float64, w+2*p.pw)
		for j := range r[i] {
			r[i][j] = fill
			if i >= p.ph && i < h+p.ph && j >= p.pw && j < w+p.pw {
				r[i][j] = x.F[pl*h*w+(i-p.ph)*w+(j-p.pw)]
			}
		}
	}
	return r
}

func (p poolSpec) out(h, w int) (int, int) {
	return (h+2*p.ph-p.kh)/p.sh + 1, (w+2*p.pw-p.kw)/p.sw + 1
}

// argmaxRef returns, for each output element of plane pl (flat), the flat
// plane index of its window's first maximum in row-major order.
func (p poolSpec) argmaxRef(x *ir.Tensor, pl int) []int {
	h, w := x.Shape[2], x.Shape[3]
	xp := p.padded(x, pl, math.Inf(-1))
	oh, ow := p.out(h, w)
	var r []int
	for i := 0; i < oh; i++ {
		for j := 0; j < ow; j++ {
			bi, bj := -1, -1
			for a := i * p.sh; a < i*p.sh+p.kh; a++ {
				for b := j * p.sw; b < j*p.sw+p.kw; b++ {
					// PyTorch's rule: greater, or NaN (so the last NaN wins).
					if bi < 0 || xp[a][b] > xp[bi][bj] || math.IsNaN(xp[a][b]) {
						bi, bj = a, b
					}
				}
			}
			r = append(r, (bi-p.ph)*w+(bj-p.pw))
		}
	}
	return r
}

var poolSpecs = []struct {
	name  string
	in    []any
	spec  poolSpec
	attrs ir.Attrs // nil: spec.attrs()
}{
	// stride ≠ kernel (overlapping rows, gaps in columns) and padding.
	{name: "k3x2/s2x3/p1x1", in: []any{"n", 2, 7, 8}, spec: poolSpec{3, 2, 2, 3, 1, 1}},
	{name: "k2/default", in: []any{2, "n", 6, 5}, spec: poolSpec{2, 2, 2, 2, 0, 0}, attrs: ir.Attrs{"kernel": []int{2, 2}}},
	{name: "k3/s1/p1", in: []any{"n", 1, 4, 5}, spec: poolSpec{3, 3, 1, 1, 1, 1}, attrs: ir.Attrs{"kernel": []int{3, 3}, "stride": []int{1, 1}, "padding": []int{1, 1}}},
}

func poolShapeCases(d ir.DType, ok func(x, y ir.Type) shapeCase) []shapeCase {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	k := func(kernel ...int) ir.Attrs { return ir.Attrs{"kernel": kernel} }
	return []shapeCase{
		ok(T("n", 3, 8, 8), T("n", 3, 4, 4)),
		{args: []ir.Type{T("n", 3, 8)}, attrs: k(2, 2), err: "want a float NCHW tensor (rank 4)"},
		{args: []ir.Type{T("n", 3, "h", 8)}, attrs: k(2, 2), err: "height and width must be static"},
		{args: []ir.Type{T("n", 3, 2, 8)}, attrs: k(3, 3), err: "input [n,3,2,8] padded by [0,0] is smaller than the kernel [3,3]"},
		{args: []ir.Type{T("n", 3, 8, 8)}, attrs: ir.Attrs{"kernel": []int{3, 3}, "padding": []int{2, 1}}, err: "padding [2,1] must be at most half the kernel [3,3]"},
		{args: []ir.Type{T("n", 3, 8, 8)}, attrs: ir.Attrs{"kernel": []int{2, 2}, "stride": []int{0, 1}}, err: "stride [0,1] must be at least 1"},
		{args: []ir.Type{T("n", 3, 8, 8)}, attrs: k(2, 2, 2), err: "kernel [2,2,2] must have 2 entries"},
		{args: []ir.Type{tt(ir.I32, "n", 3, 8, 8)}, attrs: k(2, 2), err: "want a float NCHW tensor"},
	}
}

// fwdShapes: the shape cases of a one-argument pooling op, with the
// geometry of the first case: [n,3,8,8] → kernel 3, stride 2, padding 1 →
// [n,3,4,4].
func fwdShapes(d ir.DType) []shapeCase {
	a := ir.Attrs{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}}
	cs := poolShapeCases(d, func(x, y ir.Type) shapeCase { return shapeCase{args: []ir.Type{x}, attrs: a, want: y} })
	cs = append(cs, shapeCase{args: []ir.Type{tt(d, 1, "c", 7, 6)}, attrs: ir.Attrs{"kernel": []int{3, 2}, "stride": []int{2, 1}}, want: tt(d, 1, "c", 3, 5)})
	return cs
}

// withNaN draws ties and NaNs (several in some windows).
var withNaN = choice(-1, 0.5, math.NaN(), 1, 1)

func maxPoolCase(d ir.DType) opTest {
	tc := opTest{shapes: fwdShapes(d)}
	for _, c := range poolSpecs {
		p := c.spec
		a := c.attrs
		if a == nil {
			a = p.attrs()
		}
		ref := func(in []*ir.Tensor) *ir.Tensor {
			x := in[0]
			oh, ow := p.out(x.Shape[2], x.Shape[3])
			r := ir.NewTensor(d, x.Shape[0], x.Shape[1], oh, ow)
			for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
				xp := p.padded(x, pl, math.Inf(-1))
				for i := 0; i < oh; i++ {
					for j := 0; j < ow; j++ {
						m := math.Inf(-1)
						for a := i * p.sh; a < i*p.sh+p.kh; a++ {
							for b := j * p.sw; b < j*p.sw+p.kw; b++ {
								m = math.Max(m, xp[a][b]) // NaN if any is
							}
						}
						r.F[(pl*oh+i)*ow+j] = m
					}
				}
			}
			return r
		}
		tc.evals = append(tc.evals, evalCase{name: c.name, args: []ir.Type{tt(d, c.in...)}, attrs: a, ref: ref},
			evalCase{name: c.name + "/nan", args: []ir.Type{tt(d, c.in...)}, gens: []gen{withNaN}, attrs: a, ref: ref})
	}
	return tc
}

func avgPoolCase(d ir.DType) opTest {
	tc := opTest{shapes: fwdShapes(d)}
	for _, c := range poolSpecs {
		p := c.spec
		a := c.attrs
		if a == nil {
			a = p.attrs()
		}
		tc.evals = append(tc.evals, evalCase{name: c.name, args: []ir.Type{tt(d, c.in...)}, attrs: a,
			ref: func(in []*ir.Tensor) *ir.Tensor {
				x := in[0]
				oh, ow := p.out(x.Shape[2], x.Shape[3])
				r := ir.NewTensor(d, x.Shape[0], x.Shape[1], oh, ow)
				for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
					xp := p.padded(x, pl, 0)
					for i := 0; i < oh; i++ {
						for j := 0; j < ow; j++ {
							s := 0.0
							for a := i * p.sh; a < i*p.sh+p.kh; a++ {
								for b := j * p.sw; b < j*p.sw+p.kw; b++ {
									s += xp[a][b]
								}
							}
							r.F[(pl*oh+i)*ow+j] = s / float64(p.kh*p.kw) // padded zeros counted
						}
					}
				}
				return r
			}})
	}
	return tc
}

// pooledShape is the NCHW shape of c.in after pooling with c.spec.
func pooledShape(in []any, p poolSpec) []any {
	h, w := in[2].(int), in[3].(int)
	oh, ow := p.out(h, w)
	return []any{in[0], in[1], oh, ow}
}

func maxPoolGradCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := ir.Attrs{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}}
	tc := opTest{shapes: poolShapeCases(d, func(x, y ir.Type) shapeCase {
		return shapeCase{args: []ir.Type{x, y}, attrs: a, want: x}
	})}
	for i := range tc.shapes {
		if len(tc.shapes[i].args) == 1 {
			tc.shapes[i].args = append(tc.shapes[i].args, T("n", 3, 4, 4))
		}
	}
	tc.shapes = append(tc.shapes,
		shapeCase{args: []ir.Type{T("n", 3, 8, 8), T("n", 3, 8, 8)}, attrs: a, err: "second argument is " + d.String() + "[n,3,8,8], want " + d.String() + "[n,3,4,4]"},
		shapeCase{args: []ir.Type{T("n", 3, 8, 8), tt(otherFloat(d), "n", 3, 4, 4)}, attrs: a, err: "second argument is"})
	for _, c := range poolSpecs {
		p := c.spec
		at := c.attrs
		if at == nil {
			at = p.attrs()
		}
		ref := func(in []*ir.Tensor) *ir.Tensor {
			x, g := in[0], in[1]
			r := ir.NewTensor(d, x.Shape...)
			hw := x.Shape[2] * x.Shape[3]
			for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
				oo := len(g.F) / (x.Shape[0] * x.Shape[1])
				for o, at := range p.argmaxRef(x, pl) {
					r.F[pl*hw+at] += g.F[pl*oo+o]
				}
			}
			return r
		}
		args := []ir.Type{T(c.in...), T(pooledShape(c.in, p)...)}
		tc.evals = append(tc.evals,
			evalCase{name: c.name, args: args, attrs: at, ref: ref},
			// Ties: the first maximum in scan order gets the gradient.
			evalCase{name: c.name + "/ties", args: args, gens: []gen{ties, anyReal}, attrs: at, ref: ref},
			evalCase{name: c.name + "/nan", args: args, gens: []gen{withNaN, anyReal}, attrs: at, ref: ref})
	}
	return tc
}

func maxPoolGatherCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := ir.Attrs{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}}
	tc := opTest{shapes: poolShapeCases(d, func(x, y ir.Type) shapeCase {
		return shapeCase{args: []ir.Type{x, x}, attrs: a, want: y}
	})}
	for i := range tc.shapes {
		if len(tc.shapes[i].args) == 1 {
			tc.shapes[i].args = append(tc.shapes[i].args, tc.shapes[i].args[0])
		}
	}
	tc.shapes = append(tc.shapes,
		shapeCase{args: []ir.Type{T("n", 3, 8, 8), T("n", 3, 4, 4)}, attrs: a, err: "second argument is " + d.String() + "[n,3,4,4], want " + d.String() + "[n,3,8,8]"})
	for _, c := range poolSpecs {
		p := c.spec
		at := c.attrs
		if at == nil {
			at = p.attrs()
		}
		ref := func(in []*ir.Tensor) *ir.Tensor {
			x, h := in[0], in[1]
			oh, ow := p.out(x.Shape[2], x.Shape[3])
			r := ir.NewTensor(d, x.Shape[0], x.Shape[1], oh, ow)
			hw := x.Shape[2] * x.Shape[3]
			for pl := 0; pl < x.Shape[0]*x.Shape[1]; pl++ {
				for o, at := range p.argmaxRef(x, pl) {
					r.F[pl*oh*ow+o] = h.F[pl*hw+at]
				}
			}
			return r
		}
		args := []ir.Type{T(c.in...), T(c.in...)}
		tc.evals = append(tc.evals,
			evalCase{name: c.name, args: args, attrs: at, ref: ref},
			evalCase{name: c.name + "/ties", args: args, gens: []gen{ties, anyReal}, attrs: at, ref: ref},
			evalCase{name: c.name + "/nan", args: args, gens: []gen{withNaN, anyReal}, attrs: at, ref: ref})
	}
	return tc
}

func avgPoolGradCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(size ...int) ir.Attrs {
		return ir.Attrs{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}, "size": size}
	}
	tc := opTest{shapes: []shapeCase{
		{args: []ir.Type{T("n", 3, 4, 4)}, attrs: a(8, 8), want: T("n", 3, 8, 8)},
		{args: []ir.Type{T("n", 3, 4, 4)}, attrs: a(7, 7), want: T("n", 3, 7, 7)}, // floor: 7 and 8 both pool to 4
		{args: []ir.Type{T("n", 3, 4, 4)}, attrs: a(9, 8), err: "cotangent has shape [n,3,4,4], but pooling an input [n,3,9,8] gives [n,3,5,4]"},
		{args: []ir.Type{T("n", 3, 4)}, attrs: a(8, 8), err: "want a float NCHW tensor"},
		{args: []ir.Type{T("n", 3, 4, 4)}, attrs: a(8), err: "size [8] must be the input's [height, width]"},
		{args: []ir.Type{T("n", 3, 1, 1)}, attrs: ir.Attrs{"kernel": []int{3, 3}, "size": []int{2, 2}}, err: "input [n,3,2,2] padded by [0,0] is smaller than the kernel [3,3]"},
	}}
	for _, c := range poolSpecs {
		p := c.spec
		at := c.attrs
		if at == nil {
			at = p.attrs()
		}
		at = at.Clone()
		h, w := c.in[2].(int), c.in[3].(int)
		at["size"] = []int{h, w}
		tc.evals = append(tc.evals, evalCase{name: c.name, args: []ir.Type{T(pooledShape(c.in, p)...)}, attrs: at,
			ref: func(in []*ir.Tensor) *ir.Tensor {
				g := in[0]
				oh, ow := g.Shape[2], g.Shape[3]
				r := ir.NewTensor(d, g.Shape[0], g.Shape[1], h, w)
				for pl := 0; pl < g.Shape[0]*g.Shape[1]; pl++ {
					// The padded input's gradient, then its interior.
					gp := make([][]float64, h+2*p.ph)
					for i := range gp {
						gp[i] = make([]float64, w+2*p.pw)
					}
					for i := 0; i < oh; i++ {
						for j := 0; j < ow; j++ {
							for a := i * p.sh; a < i*p.sh+p.kh; a++ {
								for b := j * p.sw; b < j*p.sw+p.kw; b++ {
									gp[a][b] += g.F[(pl*oh+i)*ow+j] / float64(p.kh*p.kw)
								}
							}
						}
					}
					for i := 0; i < h; i++ {
						for j := 0; j < w; j++ {
							r.F[(pl*h+i)*w+j] = gp[i+p.ph][j+p.pw]
						}
					}
				}
				return r
			}})
	}
	return tc
}
