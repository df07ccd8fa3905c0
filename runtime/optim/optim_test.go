package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

const (
	// tol64 bounds the relative difference between the float64 optimizers
	// and the reference: both evaluate the same formulas in float64, only
	// the operation order differs, so a few ulps (~1e-16 each) over 10
	// steps stay far below 1e-12.
	tol64 = 1e-12
	// tol32 bounds the relative difference between the float32 optimizers
	// and the float64 reference: float32 has ~6e-8 relative precision and
	// each step compounds a handful of roundings (Adam divides by a small
	// sqrt(vhat)), so 1e-4 over 10 steps leaves a wide margin while still
	// catching any formula error, which shows up at the 1e-2 level or above.
	tol32 = 1e-4
	// nSteps is how many consecutive updates are compared: enough for
	// momentum and bias correction to matter.
	nSteps = 10
	// nParams is the length of the test parameter vector.
	nParams = 17
)

// refSGD is a straightforward float64 transcription of torch.optim.SGD's
// update (dampening 0), including PyTorch's "buffer starts as the first
// gradient" rule.
func refSGD(p, g, buf []float64, first bool, lr, mu, wd float64, nesterov bool) {
	for i := range p {
		d := g[i]
		if wd != 0 {
			d = d + wd*p[i]
		}
		if mu != 0 {
			if first {
				buf[i] = d
			} else {
				buf[i] = mu*buf[i] + d
			}
			if nesterov {
				d = d + mu*buf[i]
			} else {
				d = buf[i]
			}
		}
		p[i] = p[i] - lr*d
	}
}

// refAdam is a straightforward float64 transcription of torch.optim.Adam /
// AdamW's single-tensor update, written the way PyTorch writes it
// (step_size and denom form) rather than the mhat/vhat form of the package.
func refAdam(p, g, m, v []float64, step int, lr, b1, b2, eps, wd float64, decoupled bool) {
	bc1 := 1 - math.Pow(b1, float64(step))
	bc2 := 1 - math.Pow(b2, float64(step))
	for i := range p {
		d := g[i]
		if decoupled {
			p[i] *= 1 - lr*wd
		} else if wd != 0 {
			d += wd * p[i]
		}
		m[i] = m[i]*b1 + d*(1-b1)
		v[i] = v[i]*b2 + d*d*(1-b2)
		denom := math.Sqrt(v[i])/math.Sqrt(bc2) + eps
		stepSize := lr / bc1
		p[i] -= stepSize * m[i] / denom
	}
}

func relErr(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-30)
}

// gradsFor returns a deterministic gradient for step s that depends on p,
// like a real loss would (gradient of sum(p^2)/2 plus noise).
func gradsFor(r *rand.Rand, p []float64) []float64 {
	g := make([]float64, len(p))
	for i := range p {
		g[i] = p[i] + r.NormFloat64()*0.5
	}
	return g
}

func conv[T Float](x []float64) []T {
	y := make([]T, len(x))
	for i := range x {
		y[i] = T(x[i])
	}
	return y
}

func initParams(seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]float64, nParams)
	for i := range p {
		p[i] = r.NormFloat64()
	}
	return p
}

func checkClose[T Float](t *testing.T, what string, step int, got []T, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		// An element fails only if both its relative and its absolute
		// error exceed tol: the absolute test covers parameters that pass
		// close to zero, where a relative error is meaningless.
		if e := relErr(float64(got[i]), want[i]); e > tol && math.Abs(float64(got[i])-want[i]) > tol {
			t.Fatalf("%s step %d: param[%d] = %g, reference %g (rel err %.3g > %g)", what, step, i, float64(got[i]), want[i], e, tol)
		}
	}
}

func testSGD[T Float](t *testing.T, tol float64) {
	cases := []struct {
		name        string
		lr, mu, wd  float64
		nesterov    bool
		nilVelocity bool
	}{
		{"plain", 0.1, 0, 0, false, true},
		{"weight-decay", 0.1, 0, 0.01, false, true},
		{"momentum", 0.05, 0.9, 0, false, false},
		{"momentum+wd", 0.05, 0.9, 1e-3, false, false},
		{"nesterov+wd", 0.05, 0.9, 1e-3, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := initParams(1)
			p := conv[T](ref)
			refBuf := make([]float64, nParams)
			var vel []T
			if !c.nilVelocity {
				vel = make([]T, nParams)
			}
			opt := SGD[T]{LR: T(c.lr), Momentum: T(c.mu), WeightDecay: T(c.wd), Nesterov: c.nesterov}
			r := rand.New(rand.NewPCG(2, 3))
			for s := 1; s <= nSteps; s++ {
				// The gradient is computed from the reference parameters and
				// fed to both, so the comparison isolates one update.
				g := gradsFor(r, ref)
				refSGD(ref, g, refBuf, s == 1, c.lr, c.mu, c.wd, c.nesterov)
				opt.Update(p, conv[T](g), vel)
				checkClose(t, "SGD/"+c.name, s, p, ref, tol)
				// Resynchronize to the reference so float32 error does not compound.
				copy(p, conv[T](ref))
			}
		})
	}
}

func testAdam[T Float](t *testing.T, tol float64) {
	cases := []struct {
		name string
		opt  Adam[float64]
	}{
		{"default", Adam[float64]{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"big-lr", Adam[float64]{LR: 0.1, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6}},
		{"l2", Adam[float64]{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}},
		{"adamw", Adam[float64]{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, Decoupled: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := initParams(4)
			p := conv[T](ref)
			rm, rv := make([]float64, nParams), make([]float64, nParams)
			m, v := make([]T, nParams), make([]T, nParams)
			o := c.opt
			opt := Adam[T]{LR: T(o.LR), Beta1: T(o.Beta1), Beta2: T(o.Beta2), Eps: T(o.Eps), WeightDecay: T(o.WeightDecay), Decoupled: o.Decoupled}
			r := rand.New(rand.NewPCG(5, 6))
			for s := 1; s <= nSteps; s++ {
				g := gradsFor(r, ref)
				refAdam(ref, g, rm, rv, s, o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Decoupled)
				opt.Update(p, conv[T](g), m, v, s)
				checkClose(t, "Adam/"+c.name, s, p, ref, tol)
				copy(p, conv[T](ref))
				copy(m, conv[T](rm))
				copy(v, conv[T](rv))
			}
		})
	}
}

func TestSGD64(t *testing.T)  { testSGD[float64](t, tol64) }
func TestSGD32(t *testing.T)  { testSGD[float32](t, tol32) }
func TestAdam64(t *testing.T) { testAdam[float64](t, tol64) }
func TestAdam32(t *testing.T) { testAdam[float32](t, tol32) }

// TestAdamFirstStep checks a property independent of any transcription: on
// step 1 the bias-corrected moments are g and g², so each parameter moves
// by LR*g/(|g|+Eps), i.e. almost exactly LR against the gradient's sign.
func TestAdamFirstStep(t *testing.T) {
	opt := DefaultAdam[float64]()
	p := []float64{1, 1, 1}
	g := []float64{3, -0.5, 1e-3}
	m, v := make([]float64, 3), make([]float64, 3)
	opt.Update(p, g, m, v, 1)
	for i := range p {
		want := 1 - opt.LR*g[i]/(math.Abs(g[i])+opt.Eps)
		if relErr(p[i], want) > tol64 {
			t.Errorf("p[%d] = %.17g, expected %.17g", i, p[i], want)
		}
	}
}

// Custom float types (~float64) must work too.
type myFloat float64

func TestNamedFloatType(t *testing.T) {
	opt := SGD[myFloat]{LR: 0.5}
	p := []myFloat{2}
	opt.Update(p, []myFloat{1}, nil)
	if p[0] != 1.5 {
		t.Fatalf("p = %v, expected 1.5", p[0])
	}
}

func TestZeroAllocs(t *testing.T) {
	const n = 1000
	p32, g32, a32, b32 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	p64, g64, a64, b64 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range g32 {
		g32[i], g64[i] = 0.01*float32(i), 0.01*float64(i)
	}
	sgd32 := SGD[float32]{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
	sgd64 := SGD[float64]{LR: 0.1, WeightDecay: 1e-4}
	adam32 := DefaultAdam[float32]()
	adam64 := Adam[float64]{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Decoupled: true}
	step := 0
	checks := map[string]func(){
		"SGD[float32]":  func() { sgd32.Update(p32, g32, a32) },
		"SGD[float64]":  func() { sgd64.Update(p64, g64, nil) },
		"Adam[float32]": func() { step++; adam32.Update(p32, g32, a32, b32, step) },
		"Adam[float64]": func() { step++; adam64.Update(p64, g64, a64, b64, step) },
	}
	for name, f := range checks {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s.Update allocates %v times per call, expected 0", name, a)
		}
	}
}

func expectPanic(t *testing.T, wantSubstr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("expected a panic mentioning %q, got none", wantSubstr)
		}
		if s, _ := r.(string); !strings.Contains(s, wantSubstr) {
			t.Fatalf("panic %q does not mention %q", r, wantSubstr)
		}
	}()
	f()
}

func TestLengthMismatchPanics(t *testing.T) {
	p := make([]float64, 3)
	sgd := SGD[float64]{LR: 0.1, Momentum: 0.9}
	expectPanic(t, "grad has 2 elements, expected 3", func() { sgd.Update(p, make([]float64, 2), make([]float64, 3)) })
	expectPanic(t, "velocity has 0 elements, expected 3", func() { sgd.Update(p, make([]float64, 3), nil) })
	adam := DefaultAdam[float64]()
	expectPanic(t, "found 3, 4 and 3", func() { adam.Update(p, make([]float64, 3), make([]float64, 4), make([]float64, 3), 1) })
	expectPanic(t, "step must be 1-based", func() { adam.Update(p, p, p, p, 0) })
}
