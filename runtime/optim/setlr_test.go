package optim

import (
	"math"
	"testing"
)

// TestSetLR: an optimizer made at one learning rate and set to another
// steps exactly as one made at the other; invalid rates are errors that
// change nothing.
func TestSetLR(t *testing.T) {
	for _, kind := range []string{"sgd", "adam"} {
		ps := []Param{{Name: "w", Size: 2}}
		a, err := NewFlat[float64]("a", Config{Kind: kind, LR: 0.5, Momentum: 0}, "", ps)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewFlat[float64]("b", Config{Kind: kind, LR: 0.1}, "", ps)
		if err := b.SetLR("b", 0.5); err != nil {
			t.Fatal(err)
		}
		pa, pb, g := []float64{1, 2}, []float64{1, 2}, []float64{0.3, -0.7}
		for range 3 {
			a.Step(pa, g)
			b.Step(pb, g)
		}
		if pa[0] != pb[0] || pa[1] != pb[1] {
			t.Errorf("%s: after SetLR(0.5) the steps give %v, at LR 0.5 from New %v", kind, pb, pa)
		}
		if b.Config().LR != 0.5 {
			t.Errorf("%s: Config().LR = %v after SetLR(0.5)", kind, b.Config().LR)
		}
		for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
			if err := b.SetLR("b", bad); err == nil {
				t.Errorf("%s: SetLR(%v) did not fail", kind, bad)
			}
		}
		if b.Config().LR != 0.5 {
			t.Errorf("%s: a failed SetLR changed LR to %v", kind, b.Config().LR)
		}
	}
}
