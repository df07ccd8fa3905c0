package main

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// TestClaims checks what the program prints: autodiff matches the
// complex-step reference and the hand-derived formula to round-off, and
// the finite-difference errors form a V with its bottom far above it.
func TestClaims(t *testing.T) {
	p, err := newProblem()
	if err != nil {
		t.Fatal(err)
	}
	ad := p.autodiff()
	// A few ulps of the largest gradient entry (|∂J/∂θ| ≤ 1 here).
	const roundOff = 1e-14
	if e := maxAbsDiff(ad, p.complexStep(1e-200)); e > roundOff {
		t.Errorf("autodiff vs complex step: %.3g > %g", e, roundOff)
	}
	if e := maxAbsDiff(ad, p.handBackprop()); e > roundOff {
		t.Errorf("autodiff vs hand backprop: %.3g > %g", e, roundOff)
	}
	steps := []float64{1e-2, 1e-5, 1e-8, 1e-11}
	fwd := gradcheck.ForwardDiffErrors(p.objective, p.theta, ad, steps)
	cen := gradcheck.CentralDiffErrors(p.objective, p.theta, ad, steps)
	if !(fwd[0] > fwd[2] && fwd[2] < fwd[3]) || !(cen[0] > cen[1] && cen[1] < cen[3]) {
		t.Errorf("no V shape: forward %v, central %v", fwd, cen)
	}
	if best := math.Min(fwd[2], cen[1]); best < 1e3*roundOff {
		t.Errorf("finite differences reach %.3g: the demonstration would not show a gap", best)
	}
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := writePlot(path, steps, fwd, cen, fwd, 1e-16); err != nil {
		t.Fatal(err)
	}
}
