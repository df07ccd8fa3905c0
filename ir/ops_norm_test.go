package ir_test

import (
	"fmt"
	"math"

	"github.com/bpgen/bpgen/ir"
)

// Registry data of the normalization ops (ir/ops_norm.go). The references
// are plain loops in float64 over the definitions: the two-pass variance
// of the values of each group, and normalization written out per element.

func init() {
	opCases["var"] = varCase
	opCases["layer_norm"] = layerNormCase
}

// foldVar is the variance of v with correction c, by the definition.
func foldVar(c int) func(v []float64) float64 {
	return func(v []float64) float64 {
		m := foldMean(v)
		s := 0.0
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return s / float64(len(v)-c)
	}
}

func varCase(d ir.DType) opTest {
	ax := func(keep bool, c int, axes ...int) ir.Attrs {
		return ir.Attrs{"axes": axes, "keepdims": keep, "correction": c}
	}
	var evals []evalCase
	for _, c := range []struct {
		axes []int
		keep bool
		corr int
	}{{[]int{1}, false, 0}, {[]int{1}, true, 1}, {[]int{0, 2}, false, 1}, {[]int{0, 1, 2}, false, 0}, {[]int{2, 0}, true, 0}, {[]int{0}, false, 1}} {
		evals = append(evals, evalCase{
			name: fmt.Sprintf("axes%v keep%v corr%d", c.axes, c.keep, c.corr), args: []ir.Type{tt(d, "n", 3, 4)},
			// an offset far from 0: the variance must not cancel against the mean
			gens:  []gen{uniform(50, 54)},
			attrs: ax(c.keep, c.corr, c.axes...), ref: refReduce(d, c.axes, c.keep, foldVar(c.corr))})
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{tt(d, "n", 3, 4)}, attrs: ax(false, 1, 1), want: tt(d, "n", 4)},
			{args: []ir.Type{tt(d, "n", 3, 4)}, attrs: ax(true, 0, 0, 2), want: tt(d, 1, 3, 1)},
			{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 1, 0, 1), want: tt(d)},
			{args: []ir.Type{tt(d, "n", 1)}, attrs: ax(false, 1, 0), want: tt(d, 1)}, // n may be 1 at run time: NaN, as torch
			{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 0, 2), err: "axis 2 is out of range for rank 2"},
			{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 0), err: "over no axes"},
			{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, -1, 1), err: "correction -1 is negative"},
			{args: []ir.Type{tt(d, "n", 1)}, attrs: ax(false, 1, 1), err: "groups of 1 element(s) leave no degree of freedom"},
			{args: []ir.Type{tt(ir.I32, "n", 3)}, attrs: ax(false, 0, 1), err: "want a float type"},
			{args: []ir.Type{tt(d, "n", 3)}, attrs: ir.Attrs{"axes": []int{1}}, err: "needs attribute correction"},
		},
		evals: evals,
	}
}

// refLayerNorm normalizes each row of x (its last len(gamma) dims
// flattened) by its mean and biased variance, then applies gamma and beta.
func refLayerNorm(d ir.DType, eps float64) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x, gamma, beta := in[0], in[1], in[2]
		cols := gamma.Len()
		res := ir.NewTensor(d, x.Shape...)
		for r := 0; r < x.Len()/cols; r++ {
			row := x.F[r*cols : (r+1)*cols]
			m := foldMean(row)
			v := foldVar(0)(row)
			for j, xv := range row {
				res.F[r*cols+j] = (xv-m)/math.Sqrt(v+eps)*gamma.F[j] + beta.F[j]
			}
		}
		return res
	}
}

func layerNormCase(d ir.DType) opTest {
	eps := func(e float64) ir.Attrs { return ir.Attrs{"eps": e} }
	lnArgs := func(x ir.Type, norm ...any) []ir.Type { return []ir.Type{x, tt(d, norm...), tt(d, norm...)} }
	gens := []gen{uniform(-3, 5), uniform(0.5, 2), anyReal}
	return opTest{
		shapes: []shapeCase{
			{args: lnArgs(tt(d, "n", 3, 4), 4), attrs: eps(1e-5), want: tt(d, "n", 3, 4)},
			{args: lnArgs(tt(d, "n", 3, 4), 3, 4), attrs: eps(0), want: tt(d, "n", 3, 4)},
			{args: lnArgs(tt(d, "n", 4), 3), attrs: eps(1e-5), err: "gamma [3] must be the trailing dims of x [n,4]"},
			{args: lnArgs(tt(d, 4), 2, 4), attrs: eps(1e-5), err: "gamma [2,4] must be the trailing dims of x [4]"},
			{args: []ir.Type{tt(d, "n", 4), tt(d, 4), tt(d, 3)}, attrs: eps(1e-5), err: "beta [3] must have gamma's shape [4]"},
			{args: []ir.Type{tt(d, "n", 4), tt(otherFloat(d), 4), tt(d, 4)}, attrs: eps(1e-5), err: "floats of one dtype"},
			{args: []ir.Type{tt(d, "n", 4), tt(d), tt(d)}, attrs: eps(1e-5), err: "is a scalar"},
			{args: lnArgs(tt(d, "n", 4), 4), attrs: eps(-1), err: "eps -1 must be finite and non-negative"},
			{args: lnArgs(tt(d, "n", 4), 4), attrs: nil, err: "needs attribute eps"},
		},
		evals: []evalCase{
			{name: "last dim", args: lnArgs(tt(d, "n", 3, 4), 4), gens: gens, attrs: eps(1e-5), ref: refLayerNorm(d, 1e-5)},
			{name: "two dims", args: lnArgs(tt(d, "n", 3, 4), 3, 4), gens: gens, attrs: eps(0.1), ref: refLayerNorm(d, 0.1)},
			{name: "all dims", args: lnArgs(tt(d, 2, 3), 2, 3), gens: gens, attrs: eps(1e-5), ref: refLayerNorm(d, 1e-5)},
		},
	}
}
