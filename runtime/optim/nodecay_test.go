package optim

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestFlatNoDecay excludes b (Param.NoDecay, as dsl.NoDecay does) and s
// (Config.NoDecay, a parameter group at run time) from the weight decay
// and checks each step bit for bit against the per-tensor rules with
// WeightDecay 0 for those two and the config's for W, with SGD momentum
// and with Adam, and that the decay changes W's step and not b's or s's.
func TestFlatNoDecay(t *testing.T) {
	params := []Param{{Name: "W", Size: 6}, {Name: "b", Size: 3, NoDecay: true}, {Name: "s", Size: 1}, {Name: "V", Size: 2}}
	for _, cfg := range []Config{
		{Kind: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 0.5, NoDecay: []string{"s"}},
		{Kind: "adam", LR: 0.01, WeightDecay: 0.5, NoDecay: []string{"s"}},
	} {
		o, err := NewFlat[float64]("test", cfg, "sgd", params)
		if err != nil {
			t.Fatal(err)
		}
		plain := cfg
		plain.WeightDecay, plain.NoDecay = 0, nil
		without, err := NewFlat[float64]("test", plain, "sgd", params)
		if err != nil {
			t.Fatal(err)
		}
		rc := o.Config()
		r := rand.New(rand.NewPCG(3, 4))
		flat := make([]float64, 12)
		for i := range flat {
			flat[i] = r.NormFloat64()
		}
		sep, nod := slices.Clone(flat), slices.Clone(flat)
		vel, m, v := make([]float64, 12), make([]float64, 12), make([]float64, 12)
		for step := 1; step <= 4; step++ {
			g := make([]float64, 12)
			for i := range g {
				g[i] = r.NormFloat64()
			}
			o.Step(flat, g)
			without.Step(nod, g)
			off := 0
			for _, p := range params {
				wd := rc.WeightDecay
				if p.NoDecay || p.Name == "s" {
					wd = 0
				}
				sl := func(x []float64) []float64 { return x[off : off+p.Size] }
				if rc.Kind == "adam" {
					a := Adam[float64]{LR: rc.LR, Beta1: rc.Beta1, Beta2: rc.Beta2, Eps: rc.Eps, WeightDecay: wd}
					a.Update(sl(sep), sl(g), sl(m), sl(v), step)
				} else {
					s := SGD[float64]{LR: rc.LR, Momentum: rc.Momentum, WeightDecay: wd}
					s.Update(sl(sep), sl(g), sl(vel))
				}
				off += p.Size
			}
			if !slices.Equal(flat, sep) {
				t.Fatalf("%s step %d: Flat %v, per param %v", cfg.Kind, step, flat, sep)
			}
		}
		// b and s (elements 6 to 9) took the undecayed steps; W and V did not.
		if !slices.Equal(flat[6:10], nod[6:10]) || slices.Equal(flat[:6], nod[:6]) || slices.Equal(flat[10:], nod[10:]) {
			t.Errorf("%s: the decay reached b or s, or missed W or V", cfg.Kind)
		}
		if a := testing.AllocsPerRun(20, func() { o.Step(flat, flat) }); a != 0 {
			t.Errorf("%s: Step with NoDecay allocates %v times", cfg.Kind, a)
		}
	}
	_, err := NewFlat[float32]("m: Config.Optimizer", Config{NoDecay: []string{"bias"}}, "sgd", params)
	if err == nil || !strings.Contains(err.Error(), `m: Config.Optimizer.NoDecay names "bias", which is not a param (the params: [W b s V])`) {
		t.Errorf("NoDecay of an unknown name: %v", err)
	}
}
