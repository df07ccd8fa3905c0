package main

import (
	"math"
	"testing"

	"github.com/bpgen/bpgen/generated/rosenbrock"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/optimize"
)

// xTol is how close to (1, …, 1) L-BFGS must end on Rosenbrock: at a
// gradient norm of gradTol the error of x is of the order of gradTol over
// the smallest curvature near the minimum (about 0.5), so 1e-5 leaves a
// margin of ten.
const xTol = 1e-5

// TestRosenbrockLBFGS: gonum's L-BFGS converges on the 100-dimensional
// Rosenbrock function with bpgen's gradient, running one forward pass
// per evaluation of f (each gradient gonum asks for at the same x costs
// none): passes = FuncEvaluations, not FuncEvaluations + GradEvaluations.
func TestRosenbrockLBFGS(t *testing.T) {
	r := Rosenbrock(&optimize.LBFGS{}, "L-BFGS", false)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Result.Status != optimize.GradientThreshold {
		t.Errorf("status %v, want GradientThreshold", r.Result.Status)
	}
	for i, x := range r.Result.X {
		if math.Abs(x-1) > xTol {
			t.Fatalf("x[%d] = %v, want 1 ± %v", i, x, xTol)
		}
	}
	s := r.Result.Stats
	if r.Passes != s.FuncEvaluations || s.GradEvaluations == 0 {
		t.Errorf("%d forward passes for %d evaluations of f and %d of the gradient; want one per evaluation of f", r.Passes, s.FuncEvaluations, s.GradEvaluations)
	}
	t.Logf("%d iterations, %d evaluations of f, %d of ∇f, %d forward passes", s.MajorIterations, s.FuncEvaluations, s.GradEvaluations, r.Passes)
}

// gradAgree is the largest relative difference allowed between bpgen's
// gradient and gonum's central differences: their truncation and
// rounding error at the step fd chooses is about 1e-8 relative.
const gradAgree = 1e-6

// TestGradientMatchesFiniteDifferences: ValueAndGrad's gradient at the
// start point agrees with central differences of Forward.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	m, err := rosenbrock.New(rosenbrock.Config{})
	if err != nil {
		t.Fatal(err)
	}
	x := rosenbrockStart()
	grad := make([]float64, len(x))
	if _, err := m.ValueAndGrad(x, grad, rosenbrock.Inputs{}); err != nil {
		t.Fatal(err)
	}
	want := fd.Gradient(nil, func(x []float64) float64 {
		if err := m.SetParams(x); err != nil {
			t.Fatal(err)
		}
		f, err := m.Forward(rosenbrock.Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}, x, &fd.Settings{Formula: fd.Central})
	for i := range want {
		if d := math.Abs(grad[i]-want[i]) / math.Max(1, math.Abs(want[i])); d > gradAgree {
			t.Errorf("∂f/∂x[%d] = %v, finite differences %v", i, grad[i], want[i])
		}
	}
}

// TestParamEditBetweenForwardAndBackward: a write to the params after
// Forward (in place, through SetParams or Params) makes Backward fail;
// writing back the same values does not; Forward again makes it work.
func TestParamEditBetweenForwardAndBackward(t *testing.T) {
	m, err := rosenbrock.New(rosenbrock.Config{})
	if err != nil {
		t.Fatal(err)
	}
	x := rosenbrockStart()
	for name, edit := range map[string]func(){
		"in place":  func() { m.ParamVector()[3] += 1e-9 },
		"Params":    func() { m.Params.X[0] = 7 },
		"SetParams": func() { m.SetParams(make([]float64, len(x))) },
	} {
		if err := m.SetParams(x); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(rosenbrock.Inputs{}); err != nil {
			t.Fatal(err)
		}
		edit()
		if err := m.Backward(); err == nil {
			t.Errorf("%s: Backward after a param edit did not fail", name)
		}
		if _, err := m.Forward(rosenbrock.Inputs{}); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Errorf("%s: Backward after a new Forward: %v", name, err)
		}
	}
	if _, err := m.Forward(rosenbrock.Inputs{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetParams(append([]float64(nil), m.ParamVector()...)); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(); err != nil {
		t.Errorf("Backward after writing back the same params: %v", err)
	}
	if err := m.SetParams(x[:3]); err == nil {
		t.Error("SetParams of 3 elements did not fail")
	}
	if _, err := m.ValueAndGrad(x, x[:1], rosenbrock.Inputs{}); err == nil {
		t.Error("ValueAndGrad with a short grad did not fail")
	}
	if err := m.SetLR(0); err == nil {
		t.Error("SetLR(0) did not fail")
	}
}

// TestSetLR: after SetLR(lr), TrainStep's SGD step is x − lr·∇f(x).
func TestSetLR(t *testing.T) {
	m, err := rosenbrock.New(rosenbrock.Config{Optimizer: rosenbrock.Optimizer{Kind: "sgd", LR: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := m.SetLR(bad); err == nil {
			t.Errorf("SetLR(%v) did not fail", bad)
		}
	}
	const lr = 1e-4
	if err := m.SetLR(lr); err != nil {
		t.Fatal(err)
	}
	x := rosenbrockStart()
	grad := make([]float64, len(x))
	if _, err := m.ValueAndGrad(x, grad, rosenbrock.Inputs{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.TrainStep(rosenbrock.Inputs{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.ParamVector() {
		if want := x[i] - lr*grad[i]; p != want {
			t.Fatalf("after SetLR(%v) and a step, x[%d] = %v, want %v", lr, i, p, want)
		}
	}
}
