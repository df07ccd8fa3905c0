package ir_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// Registry data of the normalization ops (ir/ops_norm.go). The references
// are plain loops in float64 over the definitions: the two-pass variance
// of the values of each group, and normalization written out per element.

func init() {
	opCases["var"] = varCase
	opCases["layer_norm"] = layerNormCase
	opCases["batch_norm"] = batchNormCase
	opCases["state"] = stateCase
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

// refBatchNorm normalizes each channel (axis 1) of x: in training by the
// mean and biased variance of the channel's elements over every other
// axis, at inference by the running mean and var (arguments 3 and 4).
func refBatchNorm(d ir.DType, eps float64, training bool) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x, gamma, beta, rm, rv := in[0], in[1], in[2], in[3], in[4]
		n, c := x.Shape[0], x.Shape[1]
		inner := x.Len() / (n * c)
		res := ir.NewTensor(d, x.Shape...)
		for ch := 0; ch < c; ch++ {
			var vals []float64
			for i := 0; i < n; i++ {
				for j := 0; j < inner; j++ {
					vals = append(vals, x.F[(i*c+ch)*inner+j])
				}
			}
			m, v := rm.F[ch], rv.F[ch]
			if training {
				m, v = foldMean(vals), foldVar(0)(vals)
			}
			for i := 0; i < n; i++ {
				for j := 0; j < inner; j++ {
					k := (i*c+ch)*inner + j
					res.F[k] = (x.F[k]-m)/math.Sqrt(v+eps)*gamma.F[ch] + beta.F[ch]
				}
			}
		}
		return res
	}
}

func batchNormCase(d ir.DType) opTest {
	eps := func(e float64) ir.Attrs { return ir.Attrs{"eps": e} }
	bnArgs := func(x ir.Type, c any) []ir.Type { return []ir.Type{x, tt(d, c), tt(d, c), tt(d, c), tt(d, c)} }
	gens := []gen{uniform(-3, 5), uniform(0.5, 2), anyReal, anyReal, uniform(0.25, 3)}
	var evals []evalCase
	for _, training := range []bool{true, false} {
		mode := map[bool]string{true: "training", false: "inference"}[training]
		evals = append(evals,
			evalCase{name: mode + " NC", args: bnArgs(tt(d, "n", 3), 3), gens: gens, attrs: eps(1e-5), training: training, ref: refBatchNorm(d, 1e-5, training)},
			evalCase{name: mode + " NCHW", args: bnArgs(tt(d, "n", 2, 3, 2), 2), gens: gens, attrs: eps(0.1), training: training, ref: refBatchNorm(d, 0.1, training)})
	}
	return opTest{
		shapes: []shapeCase{
			{args: bnArgs(tt(d, "n", 3), 3), attrs: eps(1e-5), want: tt(d, "n", 3)},
			{args: bnArgs(tt(d, "n", 4, 5, 5), 4), attrs: eps(1e-5), want: tt(d, "n", 4, 5, 5)},
			{args: bnArgs(tt(d, "n"), 3), attrs: eps(1e-5), err: "needs rank 2 or more"},
			{args: bnArgs(tt(d, "n", 4, 5, 5), 5), attrs: eps(1e-5), err: "gamma is " + d.String() + "[5], want " + d.String() + "[4] (one per channel of x [n,4,5,5])"},
			{args: []ir.Type{tt(d, "n", 3), tt(d, 3), tt(d, 3), tt(d, 3), tt(otherFloat(d), 3)}, attrs: eps(1e-5), err: "running var is"},
			{args: bnArgs(tt(ir.I32, "n", 3), 3), attrs: eps(1e-5), err: "want a float type"},
			{args: bnArgs(tt(d, "n", 3), 3), attrs: eps(math.NaN()), err: "must be finite and non-negative"},
		},
		evals: evals,
	}
}

func stateCase(d ir.DType) opTest {
	return opTest{
		shapes: []shapeCase{
			{declared: tt(d, 16), attrs: ir.Attrs{"value": 1.0}, want: tt(d, 16)},
			{declared: tt(d, "n", 3), attrs: ir.Attrs{"value": 0.0}, err: "has a symbolic dim"},
			{declared: tt(ir.I32, 3), attrs: ir.Attrs{"value": 0.0}, err: "state must be float"},
			{declared: tt(d, 3), err: "needs attribute value"},
		},
		evals: []evalCase{
			{declared: tt(d, 3, 4), attrs: ir.Attrs{"value": 1.0}, self: anyReal, ref: identity},
		},
	}
}

// TestStateUpdates: a state value and its update print and parse back,
// verify, and Interp returns the update in training mode only.
func TestStateUpdates(t *testing.T) {
	build := func() (*ir.Graph, *ir.Value, *ir.Value) {
		b := ir.NewBuilder("test.state")
		b.Graph().AddDim("n")
		x := b.Input("x", tt(ir.F64, "n", 2))
		s := b.State("bn.running_mean", tt(ir.F64, 2), 0)
		next := b.Add(b.Scale(s, 0.9), b.Scale(b.Apply(ir.OpMean, ir.Attrs{"axes": []int{0}}, x), 0.1))
		b.Graph().AddOutput("y", b.Sub(x, b.BroadcastTo(s, ir.S("n", 2))))
		b.Graph().UpdateState(s, next)
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		return b.Graph(), s, x
	}
	g, s, _ := build()
	text := ir.Print(g)
	if !strings.Contains(text, "out bn.running_mean = v7 state bn.running_mean\n") {
		t.Errorf("printed:\n%s", text)
	}
	g2, err := ir.Parse(text)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	if got := ir.Print(g2); got != text {
		t.Errorf("round trip:\n%s\nwant\n%s", got, text)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	init, err := ir.InitState(g)
	if err != nil || !slices.Equal(init[s.Name].F, []float64{0, 0}) {
		t.Fatalf("InitState = %v, %v", init, err)
	}
	env := ir.Env{Dims: map[string]int{"n": 2}, Inputs: map[string]*ir.Tensor{
		"x": ir.FromFloats(ir.F64, []float64{1, 2, 3, 6}, 2, 2), s.Name: ir.FromFloats(ir.F64, []float64{1, -1}, 2)}}
	for _, training := range []bool{true, false} {
		env.Training = training
		res, err := ir.Interp(g, env)
		if err != nil {
			t.Fatal(err)
		}
		if !training {
			if res.State != nil {
				t.Errorf("inference updated the state: %v", res.State)
			}
			continue
		}
		if got, want := res.State[s.Name].F, []float64{0.9*1 + 0.1*2, 0.9*-1 + 0.1*4}; !slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-15 }) {
			t.Errorf("updated state = %v, want %v", got, want)
		}
	}
	// Verify's errors.
	for _, c := range []struct {
		edit func(g *ir.Graph)
		err  string
	}{
		{func(g *ir.Graph) { g.Outputs[1].State = "x" }, `updates "x", which is not a state value`},
		{func(g *ir.Graph) { g.Outputs[1].Value = g.Values[0] }, "the update of state \"bn.running_mean\" is f64[n,2], want the state's type f64[2]"},
		{func(g *ir.Graph) {
			g.Outputs = append(g.Outputs, ir.Output{Name: "again", Value: g.Outputs[1].Value, State: "bn.running_mean"})
		}, "updated twice"},
		{func(g *ir.Graph) { g.Outputs[1].Grad = "x" }, "both a gradient and a state update"},
	} {
		g, _, _ := build()
		c.edit(g)
		if err := ir.Verify(g); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Verify = %v, want an error containing %q", err, c.err)
		}
	}
}
