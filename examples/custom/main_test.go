package main

import (
	"math"
	"testing"

	"github.com/bpgen/bpgen/examples/custom/thirdparty"
)

func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	rep, err := checkBackward(thirdparty.GELUVJP[float64])
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(maxRelErr); err != nil {
		t.Fatal(err)
	}
}

// TestWrongBackwardIsCaught shows the check is not vacuous: a GELU backward
// that forgets the x·φ(x) term fails it.
func TestWrongBackwardIsCaught(t *testing.T) {
	wrong := func(grad []float64, _ int, gout []float64, args ...[]float64) {
		for i, x := range args[0] {
			grad[i] = gout[i] * 0.5 * (1 + math.Erf(x/math.Sqrt2))
		}
	}
	rep, err := checkBackward(wrong)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err(maxRelErr) == nil {
		t.Fatal("a wrong backward passed the check")
	}
}
