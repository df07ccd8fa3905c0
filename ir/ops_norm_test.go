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

var _ = math.Sqrt
