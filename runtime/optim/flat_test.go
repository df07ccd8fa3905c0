package optim

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// flatParams is a vector of three params of different sizes.
var flatParams = []Param{{Name: "W", Size: 6}, {Name: "b", Size: 3}, {Name: "s", Size: 1}}

// TestFlatMatchesUpdate checks that a Flat step over the whole vector
// gives, bit for bit, what the per-tensor rules give applied to each
// param with state of its own, over several steps.
func TestFlatMatchesUpdate(t *testing.T) {
	for _, cfg := range []Config{
		{Kind: "sgd", LR: 0.1},
		{Kind: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true},
		{Kind: "adam", LR: 0.01, WeightDecay: 0.1, Eps: 1e-3},
		{LR: 0.2}, // the default kind
	} {
		o, err := NewFlat[float64]("test", cfg, "sgd", flatParams)
		if err != nil {
			t.Fatal(err)
		}
		rc := o.Config()
		r := rand.New(rand.NewPCG(1, 2))
		flat := make([]float64, 10)
		for i := range flat {
			flat[i] = r.NormFloat64()
		}
		sep := slices.Clone(flat)
		vel, m, v := make([]float64, 10), make([]float64, 10), make([]float64, 10)
		for step := 1; step <= 5; step++ {
			g := make([]float64, 10)
			for i := range g {
				g[i] = r.NormFloat64()
			}
			o.Step(flat, g)
			off := 0
			for _, p := range flatParams {
				sl := func(x []float64) []float64 { return x[off : off+p.Size] }
				if rc.Kind == "adam" {
					a := Adam[float64]{LR: rc.LR, Beta1: rc.Beta1, Beta2: rc.Beta2, Eps: rc.Eps, WeightDecay: rc.WeightDecay}
					a.Update(sl(sep), sl(g), sl(m), sl(v), step)
				} else {
					s := SGD[float64]{LR: rc.LR, Momentum: rc.Momentum, WeightDecay: rc.WeightDecay, Nesterov: rc.Nesterov}
					s.Update(sl(sep), sl(g), sl(vel))
				}
				off += p.Size
			}
			if !slices.Equal(flat, sep) {
				t.Fatalf("%+v step %d: Flat %v, per param %v", cfg, step, flat, sep)
			}
		}
		if o.Steps() != 5 {
			t.Errorf("Steps() = %d, want 5", o.Steps())
		}
	}
}

func TestFlatDefaults(t *testing.T) {
	o, err := NewFlat[float32]("test", Config{}, "adam", flatParams)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Config(), (Config{Kind: "adam", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}); !configEqual(got, want) {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
	o, err = NewFlat[float32]("test", Config{}, "sgd", flatParams)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Config(), (Config{Kind: "sgd", LR: 0.1}); !configEqual(got, want) {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
}

func configEqual(a, b Config) bool {
	return a.Kind == b.Kind && a.LR == b.LR && a.Momentum == b.Momentum && a.WeightDecay == b.WeightDecay &&
		a.Nesterov == b.Nesterov && a.Beta1 == b.Beta1 && a.Beta2 == b.Beta2 && a.Eps == b.Eps
}

func TestFlatZeroAllocs(t *testing.T) {
	for _, cfg := range []Config{{Kind: "sgd", Momentum: 0.9}, {Kind: "adam"}} {
		o, err := NewFlat[float32]("test", cfg, "sgd", flatParams)
		if err != nil {
			t.Fatal(err)
		}
		p, g := make([]float32, 10), make([]float32, 10)
		if a := testing.AllocsPerRun(100, func() { o.Step(p, g) }); a != 0 {
			t.Errorf("%s: Step allocates %v times per call", cfg.Kind, a)
		}
	}
}

func TestFlatLengthPanics(t *testing.T) {
	o, err := NewFlat[float64]("test", Config{}, "sgd", flatParams)
	if err != nil {
		t.Fatal(err)
	}
	expectPanic(t, "params and grads have 9 and 10 elements, want 10", func() { o.Step(make([]float64, 9), make([]float64, 10)) })
}

// TestFlatThreads checks that a Step over a vector large enough to be
// split across cores (several kernels.ElemGrain, spans with and without
// weight decay, one boundary off the grain) gives the same bits at every
// thread count, and allocates nothing when split.
func TestFlatThreads(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(0))
	n := 5*kernels.ElemGrain + 123
	params := []Param{{Name: "W", Size: n - 1000}, {Name: "b", Size: 1000, NoDecay: true}}
	for _, cfg := range []Config{
		{Kind: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 0.01},
		{Kind: "adam", LR: 0.01, WeightDecay: 0.1},
	} {
		var want []float32
		for _, th := range []int{1, 2, 3} {
			kernels.SetThreads(th)
			o, err := NewFlat[float32]("test", cfg, "sgd", params)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			p, g := make([]float32, n), make([]float32, n)
			for i := range p {
				p[i] = float32(r.NormFloat64())
			}
			for step := 0; step < 3; step++ {
				for i := range g {
					g[i] = float32(r.NormFloat64())
				}
				o.Step(p, g)
			}
			if want == nil {
				want = slices.Clone(p)
			} else if !slices.Equal(p, want) {
				t.Errorf("%s: threads=%d differs from threads=1", cfg.Kind, th)
			}
			if a := testing.AllocsPerRun(20, func() { o.Step(p, g) }); a != 0 {
				t.Errorf("%s: threads=%d: Step allocates %v times per call", cfg.Kind, th, a)
			}
		}
	}
}
