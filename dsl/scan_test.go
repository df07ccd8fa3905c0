package dsl_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// rnnModel is h ← tanh(h·W + x_t·U + b) over xs [T, n, 2], with loss
// mean(hs²) + sum(h_T), written with dsl.Scan (or unrolled with a Go loop).
func rnnModel(T any, unrolled bool) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		g.SetFloat(dsl.Float64)
		n := g.Dim("n")
		xs := g.Input("xs", dsl.Float64, T, n, 2)
		h0 := g.Input("h0", dsl.Float64, n, 3)
		W, U, b := g.Param("W", 3, 3, dsl.Normal(0, 0.5)), g.Param("U", 2, 3, dsl.Normal(0, 0.5)), g.Param("b", 3, dsl.Normal(0, 0.5))
		cell := func(h, x *dsl.Tensor) *dsl.Tensor { return dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)).Add(b)) }
		var last, sq *dsl.Tensor
		if unrolled {
			h := h0
			for t := range T.(int) {
				h = cell(h, xs.Slice(0, t, t+1).Reshape(n, 2))
				if sq == nil {
					sq = h.Square().Sum()
				} else {
					sq = sq.Add(h.Square().Sum())
				}
			}
			last, sq = h, sq.Mul(1/float64(T.(int)*5*3))
		} else {
			var hs *dsl.Tensor
			last, hs = dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
				h = cell(h, x)
				return h, h
			})
			sq = hs.Square().Mean()
		}
		g.Output("last", last)
		g.Minimize(sq.Add(last.Sum()))
	}
}

// TestScanMatchesUnrolled: the scan model and the Go-loop-unrolled model
// agree on the forward and on every gradient (in the interpreter), the
// scan model at a symbolic length too.
func TestScanMatchesUnrolled(t *testing.T) {
	const T, n = 4, 5
	rng := rand.New(rand.NewPCG(3, 4))
	env := map[string]*ir.Tensor{}
	for name, shape := range map[string][]int{"xs": {T, n, 2}, "h0": {n, 3}, "W": {3, 3}, "U": {2, 3}, "b": {3}} {
		tt := ir.NewTensor(ir.F64, shape...)
		for i := range tt.F {
			tt.F[i] = rng.Float64()*2 - 1
		}
		env[name] = tt
	}
	run := func(name string, fn func(*dsl.Graph), dims map[string]int) *ir.Result {
		g, err := dsl.Build(name, fn)
		if err != nil {
			t.Fatal(err)
		}
		joint, _, err := passes.Grad(g, passes.GradOptions{Wrt: []string{"xs", "h0"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := ir.Interp(joint, ir.Env{Dims: dims, Inputs: env})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	want := run("rnn.unrolled", rnnModel(T, true), map[string]int{"n": n})
	scanned := run("rnn.scan", rnnModel(T, false), map[string]int{"n": n})
	symbolic := run("rnn.scanT", func(g *dsl.Graph) { rnnModel(g.Dim("T"), false)(g) }, map[string]int{"n": n, "T": T})
	// Same operations in another order of association (sums): agreement
	// to a few ulps of float64 sums over ~60 terms.
	const tol = 1e-12
	for _, got := range []*ir.Result{scanned, symbolic} {
		check := func(what string, a, b *ir.Tensor) {
			for i := range b.F {
				if d := a.F[i] - b.F[i]; d > tol || d < -tol {
					t.Errorf("%s[%d] = %v, unrolled %v", what, i, a.F[i], b.F[i])
					return
				}
			}
		}
		check("objective", got.Objective, want.Objective)
		for _, name := range []string{"last", "grad/W", "grad/U", "grad/b", "grad/xs", "grad/h0"} {
			check(name, got.Outputs[name], want.Outputs[name])
		}
	}
}

// TestScanErrors: mistakes in a Scan body are reported at the user's line.
func TestScanErrors(t *testing.T) {
	_, err := dsl.Build("bad", func(g *dsl.Graph) {
		xs := g.Input("xs", dsl.Float32, 4, 3)
		h0 := g.Input("h0", dsl.Float32, 3)
		W := g.Param("W", 3, 3)
		h, _ := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
			return h.Reshape(1, 3).MatMul(W), nil // a carry of the wrong shape
		})
		g.Minimize(h.Sum())
	})
	if err == nil || !strings.Contains(err.Error(), "scan_test.go:") || !strings.Contains(err.Error(), "the body's next carry 0 is f32[1,3], but the initial carry is f32[3]") {
		t.Errorf("got %v", err)
	}
	_, err = dsl.Build("bad2", func(g *dsl.Graph) {
		xs := g.Input("xs", dsl.Float32, 4, 3)
		h0 := g.Input("h0", dsl.Float32, 3)
		W := g.Param("W", 4, 3)
		h, _ := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
			return x.Reshape(1, 3).MatMul(W).Reshape(3), nil
		})
		g.Minimize(h.Sum())
	})
	if err == nil || !strings.Contains(err.Error(), "in the body of Scan (scan_test.go:") || !strings.Contains(err.Error(), "matmul(f32[1,3], f32[4,3])") {
		t.Errorf("got %v", err)
	}
	// After a mistake in the body, the ys are invalid, not nil: using
	// them reports the mistake, not a nil dereference.
	_, err = dsl.Build("bad3", func(g *dsl.Graph) {
		xs := g.Input("xs", dsl.Float64, 4, 3)
		h0 := g.Input("h0", dsl.Float64, 3)
		W := g.Param("W", 3, 3) // float32: the model did not SetFloat(Float64)
		_, hs := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
			h = h.Reshape(1, 3).MatMul(W).Reshape(3)
			return h, h
		})
		g.Minimize(hs.Square().Mean())
	})
	if err == nil || !strings.Contains(err.Error(), "operands must be floats of one dtype") || strings.Contains(err.Error(), "panicked") {
		t.Errorf("got %v", err)
	}
	// Checkpoint(k) needs k ≥ 1.
	_, err = dsl.Build("bad4", func(g *dsl.Graph) {
		xs := g.Input("xs", dsl.Float32, 4, 3)
		h, _ := dsl.Scan(g.Input("h0", dsl.Float32, 3), xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) { return h.Add(x), nil }, dsl.Checkpoint(0))
		g.Minimize(h.Sum())
	})
	if err == nil || !strings.Contains(err.Error(), "scan_test.go:") || !strings.Contains(err.Error(), "Checkpoint(0): k must be at least 1") {
		t.Errorf("got %v", err)
	}
}
