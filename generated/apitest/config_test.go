package apitest

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/generated/mlp"
)

// noPanic runs f and fails the test if it panics.
func noPanic(t *testing.T, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panicked: %v", r)
		}
	}()
	return f()
}

// TestBadConfig checks that New returns an error, never panics, for every
// kind of invalid or absurd configuration, and names the field.
func TestBadConfig(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	sgd := func(o mlp.Optimizer) mlp.Config { o.Kind = "sgd"; return mlp.Config{MaxN: 8, Optimizer: o} }
	adam := func(o mlp.Optimizer) mlp.Config { o.Kind = "adam"; return mlp.Config{MaxN: 8, Optimizer: o} }
	cases := []struct {
		name string
		cfg  mlp.Config
		want string
	}{
		{"zero capacity", mlp.Config{}, "Config.MaxN is 0; it must be positive"},
		{"negative capacity", mlp.Config{MaxN: -3}, "Config.MaxN is -3"},
		{"capacity beyond memory", mlp.Config{MaxN: 1 << 40}, "more memory than this machine has"},
		{"capacity overflow", mlp.Config{MaxN: 1 << 50}, "it must be at most"},
		{"capacity MaxInt", mlp.Config{MaxN: math.MaxInt}, "it must be at most"},
		{"negative LR", sgd(mlp.Optimizer{LR: -1}), "Config.Optimizer.LR is -1"},
		{"NaN LR", sgd(mlp.Optimizer{LR: nan}), "Config.Optimizer.LR is NaN"},
		{"infinite LR", adam(mlp.Optimizer{LR: inf}), "Config.Optimizer.LR is +Inf"},
		{"negative momentum", sgd(mlp.Optimizer{Momentum: -0.5}), "Momentum is -0.5"},
		{"NaN momentum", sgd(mlp.Optimizer{Momentum: nan}), "Momentum is NaN"},
		{"Nesterov without momentum", sgd(mlp.Optimizer{Nesterov: true}), "Nesterov needs a nonzero Momentum"},
		{"negative weight decay", sgd(mlp.Optimizer{WeightDecay: -1}), "WeightDecay is -1"},
		{"NaN weight decay", adam(mlp.Optimizer{WeightDecay: nan}), "WeightDecay is NaN"},
		{"beta1 one", adam(mlp.Optimizer{Beta1: 1}), "Beta1 is 1; it must be in [0, 1)"},
		{"beta1 negative", adam(mlp.Optimizer{Beta1: -0.1}), "Beta1 is -0.1"},
		{"beta2 above one", adam(mlp.Optimizer{Beta2: 1.5}), "Beta2 is 1.5"},
		{"beta2 NaN", adam(mlp.Optimizer{Beta2: nan}), "Beta2 is NaN"},
		{"negative eps", adam(mlp.Optimizer{Eps: -1e-8}), "Eps is -1e-08"},
		{"adam with momentum", adam(mlp.Optimizer{Momentum: 0.9}), "no Momentum"},
		{"sgd with betas", sgd(mlp.Optimizer{Beta1: 0.5}), "Kind \"sgd\" has no Beta1"},
		{"unknown kind", mlp.Config{MaxN: 8, Optimizer: mlp.Optimizer{Kind: "rmsprop"}}, `Config.Optimizer.Kind is "rmsprop", want "sgd" or "adam"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m *mlp.Model
			err := noPanic(t, func() (err error) { m, err = mlp.New(c.cfg); return err })
			if err == nil {
				t.Fatal("New succeeded")
			}
			if m != nil {
				t.Error("New returned a model with its error")
			}
			if !strings.HasPrefix(err.Error(), "mlp: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestBadCalls checks that every entry point returns an error, never
// panics, for invalid inputs and calls out of order.
func TestBadCalls(t *testing.T) {
	m := newMLP(t, 1)
	x, y := make([]float32, 3*784), make([]int32, 3)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"Backward before Forward", m.Backward, "Backward called without a successful Forward"},
		{"zero N", func() error { _, err := m.Forward(mlp.Inputs{N: 0}); return err }, "Inputs.N is 0"},
		{"N above capacity", func() error {
			_, err := m.TrainStep(mlp.Inputs{N: 9, X: make([]float32, 9*784), Y: make([]int32, 9)})
			return err
		}, "Inputs.N is 9, want 1 ≤ N ≤ 8"},
		{"short input", func() error { _, err := m.TrainStep(mlp.Inputs{N: 3, X: x[:10], Y: y}); return err }, "Inputs.X has 10 elements"},
		{"nil target", func() error { _, err := m.Forward(mlp.Inputs{N: 3, X: x}); return err }, "Inputs.Y has 0 elements"},
		{"Predict nil input", func() error { _, err := m.Predict(mlp.Inputs{N: 3}); return err }, "Inputs.X has 0 elements"},
		{"label out of range", func() error { _, err := m.TrainStep(mlp.Inputs{N: 3, X: x, Y: []int32{0, 10, -1}}); return err }, "label"},
		{"Evaluate without targets", func() error { _, err := m.Evaluate(mlp.Inputs{N: 3, X: x}); return err }, "Inputs.Y has 0 elements"},
		{"Evaluate N above capacity", func() error { _, err := m.Evaluate(mlp.Inputs{N: 100}); return err }, "Inputs.N is 100"},
		{"Predictor short input", func() error {
			pr, err := m.NewPredictor()
			if err != nil {
				return nil // reported as "no error"
			}
			_, err = pr.Predict(mlp.Inputs{N: 3, X: x[:5]})
			return err
		}, "Inputs.X has 5 elements"},
		{"TrainStepFeed nil", func() error { _, err := m.TrainStepFeed(nil); return err }, "the feed is nil"},
		{"Load missing file", func() error { return m.Load(filepath.Join(t.TempDir(), "none")) }, "no such file"},
		{"Load a directory", func() error { return m.Load(t.TempDir()) }, ""},
		{"Save to a missing directory", func() error { return m.Save(filepath.Join(t.TempDir(), "no", "m.safetensors")) }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := noPanic(t, c.call)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
	// A replaced field of Params.
	m.Params.W1 = make([]float32, len(m.Params.W1))
	err := noPanic(t, func() error { _, err := m.TrainStep(mlp.Inputs{N: 3, X: x, Y: y}); return err })
	if err == nil || !strings.Contains(err.Error(), "Params.W1 was replaced") {
		t.Errorf("TrainStep with a replaced Params.W1: %v", err)
	}
	if err := noPanic(t, m.Apply); err == nil {
		t.Error("Apply with a replaced Params.W1: no error")
	}
}
