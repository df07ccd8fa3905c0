package apitest

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/optim"
)

// batch returns a batch of n random inputs of mlp.
func batch(n int, seed uint64) mlp.Inputs {
	r := rand.New(rand.NewPCG(seed, 1))
	in := mlp.Inputs{N: n, X: make([]float32, n*784), Y: make([]int32, n)}
	for i := range in.X {
		in.X[i] = r.Float32()
	}
	for i := range in.Y {
		in.Y[i] = int32(r.IntN(10))
	}
	return in
}

// TestNonFiniteStep checks that a batch with a NaN or an infinity makes
// TrainStep fail naming the objective, and a non-finite gradient makes
// Apply (TrainStep's last step) fail naming the parameter and element,
// and that neither changes the params, the optimizer's state or the step
// count: a model that went through the failed steps and then one good
// step equals, bit for bit, one that took only the good step (with SGD
// momentum and with Adam, whose states and step counts would show it).
func TestNonFiniteStep(t *testing.T) {
	for _, opt := range []mlp.Optimizer{{Kind: "sgd", Momentum: 0.9}, {Kind: "adam"}} {
		t.Run(opt.Kind, func(t *testing.T) {
			cfg := mlp.Config{MaxN: 8, Seed: 1, Optimizer: opt}
			m, err := mlp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := mlp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			good := batch(8, 1)
			// One good step on both, so that the optimizer has state.
			for _, x := range []*mlp.Model{m, ref} {
				if _, err := x.TrainStep(good); err != nil {
					t.Fatal(err)
				}
			}
			before := bits(m.ParamVector())
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				in := batch(8, 2)
				in.X[5*784+17] = bad
				obj, err := m.TrainStep(in)
				if err == nil {
					t.Fatalf("TrainStep with %v in the input: objective %v, no error", bad, obj)
				}
				if !strings.Contains(err.Error(), "mlp: TrainStep: the objective is") || !strings.Contains(err.Error(), "no update was applied") {
					t.Errorf("error %q does not name the objective", err)
				}
				var nf *optim.NonFiniteError
				if !errors.As(err, &nf) || nf.Param != "" || !math.IsNaN(float64(obj)) && !math.IsInf(float64(obj), 0) {
					t.Errorf("TrainStep with %v in the input: objective %v, error %#v", bad, obj, err)
				}
				if !slices.Equal(before, bits(m.ParamVector())) {
					t.Fatalf("TrainStep with %v in the input changed the params", bad)
				}
			}
			// A non-finite gradient, as a caller's all-reduce could leave it.
			if _, err := m.Forward(good); err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			m.Grads.B1[7] = float32(math.Inf(-1))
			err = m.Apply()
			if err == nil || !strings.Contains(err.Error(), "mlp: Apply: the gradient of b1 is -Inf at element 7 (GradVector()[200711]); no update was applied") {
				t.Errorf("Apply with an infinite gradient of b1: %v", err)
			}
			if !slices.Equal(before, bits(m.ParamVector())) {
				t.Fatal("Apply with an infinite gradient changed the params")
			}
			// Now a good step on both: equal bit for bit.
			for _, x := range []*mlp.Model{m, ref} {
				if _, err := x.TrainStep(batch(8, 3)); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(bits(m.ParamVector()), bits(ref.ParamVector())) {
				t.Error("after the failed steps, a good step gives other params than without them")
			}
		})
	}
}
