package ir_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// largeLogits returns float32 logits of magnitude about 1e4: rows all
// positive, all negative, mixed, and one with a single huge entry, where a
// naive exp overflows (e^88 already exceeds float32) or underflows to 0.
func largeLogits(r *rand.Rand, rows, cols int) []float64 {
	x := make([]float64, rows*cols)
	for i := range rows {
		for j := range cols {
			var v float64
			switch i % 4 {
			case 0:
				v = 1e4 + 50*r.Float64()
			case 1:
				v = -1e4 - 50*r.Float64()
			case 2:
				v = 1e4 * (2*r.Float64() - 1)
			case 3:
				v = -1e4
				if j == 0 {
					v = 1e4
				}
			}
			x[i*cols+j] = float64(float32(v))
		}
	}
	return x
}

// TestStableAtLargeMagnitude checks the ops that must not overflow for
// logits of magnitude 1e4 in float32: finite, and equal to a float64
// reference computed with the max-shift trick (or the branch on the sign
// of x for the elementwise ones).
func TestStableAtLargeMagnitude(t *testing.T) {
	const rows, cols = 8, 5
	r := rand.New(rand.NewPCG(10, 11))
	xs := largeLogits(r, rows, cols)
	labels := make([]int32, rows)
	targets := make([]float64, rows*cols)
	for i := range labels {
		labels[i] = int32(r.IntN(cols))
	}
	for i := range targets {
		targets[i] = []float64{0, 0.25, 1}[r.IntN(3)]
	}

	b := ir.NewBuilder("test.stable")
	x := b.Input("x", tt(ir.F32, rows, cols))
	y := b.Input("y", tt(ir.I32, rows))
	p := b.Input("p", tt(ir.F32, rows, cols))
	g := b.Graph()
	g.AddOutput("logsumexp", b.Op("logsumexp", ir.Attrs{"axes": []int{1}}, x))
	g.AddOutput("log_softmax", b.Op("log_softmax", ir.Attrs{"axis": 1}, x))
	g.AddOutput("softmax", b.Op("softmax", ir.Attrs{"axis": 1}, x))
	g.AddOutput("softmax_xent", b.Op("softmax_xent", nil, x, y))
	g.AddOutput("softplus", b.Op("softplus", nil, x))
	g.AddOutput("bce_logits", b.Op("bce_logits", nil, x, p))
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	res, err := ir.Interp(g, ir.Env{Inputs: map[string]*ir.Tensor{
		"x": ir.FromFloats(ir.F32, xs, rows, cols),
		"y": ir.FromInts(labels, rows),
		"p": ir.FromFloats(ir.F32, targets, rows, cols),
	}})
	if err != nil {
		t.Fatal(err)
	}

	row := func(i int) []float64 { return xs[i*cols : (i+1)*cols] }
	softplus := func(v float64) float64 { // log(1 + e^v) without overflow
		if v > 0 {
			return v + math.Log1p(math.Exp(-v))
		}
		return math.Log1p(math.Exp(v))
	}
	want := map[string][]float64{}
	for i := range rows {
		want["logsumexp"] = append(want["logsumexp"], lseRef(row(i)))
		want["log_softmax"] = append(want["log_softmax"], logSoftmaxRef(row(i))...)
		want["softmax"] = append(want["softmax"], softmaxRef(row(i))...)
		want["softmax_xent"] = append(want["softmax_xent"], -logSoftmaxRef(row(i))[labels[i]])
	}
	for i, v := range xs {
		want["softplus"] = append(want["softplus"], softplus(v))
		// −y·log σ(v) − (1−y)·log(1−σ(v)) = y·softplus(−v) + (1−y)·softplus(v)
		want["bce_logits"] = append(want["bce_logits"], targets[i]*softplus(-v)+(1-targets[i])*softplus(v))
	}
	for name, w := range want {
		got := res.Outputs[name].F
		if len(got) != len(w) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(w))
		}
		for i := range w {
			if math.IsNaN(got[i]) || math.IsInf(got[i], 0) {
				t.Errorf("%s[%d] = %v, want finite %v", name, i, got[i], w[i])
			} else if !closeTo(got[i], w[i], relTol32) {
				t.Errorf("%s[%d] = %.9g, want %.9g", name, i, got[i], w[i])
			}
		}
	}
}
