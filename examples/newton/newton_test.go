package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// hvpTol bounds the relative difference (‖a − b‖∞ / ‖b‖∞) between the
// generated HVP and ir.Interp's passes.HVP (forward-over-reverse) in
// float64: the same product in another order of roundings (simplified,
// fused, GEMMs blocking their sums), ~1e-15; 1e-12 leaves room for
// cancellation.
const hvpTol = 1e-12

func testProblem(t testing.TB, n int) (*problem, []float64, []float64) {
	x, y := dataset(n, 3)
	p, err := newProblem(x, y, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	return p, x, y
}

func TestGeneratedHVPMatchesInterp(t *testing.T) {
	const n = 64
	p, x, y := testProblem(t, n)
	rng := rand.New(rand.NewPCG(1, 2))
	theta := p.grad.ParamVector()
	for i := range theta {
		theta[i] = 0.3 * rng.NormFloat64()
	}
	v := make([]float64, d+1)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	got := append([]float64(nil), p.hessVec(v)...)

	g32, err := dsl.Build("models.LogReg", models.LogReg)
	if err != nil {
		t.Fatal(err)
	}
	hg, err := passes.HVP(passes.Retarget(g32, ir.F64))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]*ir.Tensor{
		"x": ir.FromFloats(ir.F64, x, n, d), "y": ir.FromFloats(ir.F64, y, n),
		"w": ir.FromFloats(ir.F64, theta[:d], d, 1), "b": ir.FromFloats(ir.F64, theta[d:], 1),
		passes.TangentName("w"): ir.FromFloats(ir.F64, v[:d], d, 1), passes.TangentName("b"): ir.FromFloats(ir.F64, v[d:], 1),
	}
	res, err := ir.Interp(hg, ir.Env{Dims: map[string]int{"n": n}, Inputs: env})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]float64(nil), res.Outputs[passes.HVPOutputName("w")].F...), res.Outputs[passes.HVPOutputName("b")].F...)
	diff, scale := 0.0, 0.0
	for i := range want {
		diff = math.Max(diff, math.Abs(got[i]-want[i]))
		scale = math.Max(scale, math.Abs(want[i]))
	}
	if e := diff / scale; !(e <= hvpTol) {
		t.Errorf("generated HVP vs ir.Interp: relative difference %.3g > %g\n got %v\nwant %v", e, hvpTol, got, want)
	} else {
		t.Logf("generated HVP vs ir.Interp(passes.HVP): relative difference %.3g", e)
	}
}

func TestGeneratedHVPAllocatesNothing(t *testing.T) {
	p, _, _ := testProblem(t, 64)
	v := make([]float64, d+1)
	for i := range v {
		v[i] = float64(i)
	}
	p.hessVec(v) // warm up
	if a := testing.AllocsPerRun(20, func() { p.hessVec(v) }); a != 0 {
		t.Errorf("H·v allocates %v times per call", a)
	}
}

// TestNewtonConverges: Newton-CG reaches J − J* ≤ 1e-8 in a handful of
// iterations; gradient descent at its best learning rate needs over a
// hundred times as many steps.
func TestNewtonConverges(t *testing.T) {
	p, x, y := testProblem(t, 500)
	newton, hvps := p.newtonCG(50, 1e-10, false)
	gd, err := newProblem(x, y, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	sgd := gd.gradientDescent(3000)
	best := math.Min(newton[len(newton)-1], sgd[len(sgd)-1])
	first := func(js []float64) int {
		for i, J := range js {
			if J-best <= 1e-8 {
				return i
			}
		}
		return len(js)
	}
	nIt, gIt := first(newton), first(sgd)
	t.Logf("J − J* ≤ 1e-8: newton-cg %d iterations (%d H·v), gradient descent %d steps", nIt, hvps, gIt)
	if nIt > 10 || gIt < 100*nIt {
		t.Errorf("newton-cg took %d iterations, gradient descent %d steps: want ≤ 10 and ≥ 100× as many", nIt, gIt)
	}
}

// The cost of H·v relative to one gradient (Forward + Backward):
//
//	go test -run - -bench 'Gradient|HVP' -benchtime=200x -count=3 ./examples/newton
func BenchmarkGradient(b *testing.B) {
	p, _, _ := testProblem(b, 2000)
	b.ResetTimer()
	for range b.N {
		p.gradient()
	}
}

func BenchmarkHVP(b *testing.B) {
	p, _, _ := testProblem(b, 2000)
	v := make([]float64, d+1)
	for i := range v {
		v[i] = 1
	}
	b.ResetTimer()
	for range b.N {
		p.hessVec(v)
	}
}
