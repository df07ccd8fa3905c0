package gradcheck

import (
	"math"
	"strings"
	"testing"
)

const (
	// tightTol is the relative tolerance for correct VJPs. With the
	// default step (1e-6, central differences) on functions whose values
	// and derivatives are of order one, truncation (~h²·f''' ≈ 1e-12) and
	// round-off (~ε·|u·f|/h ≈ 1e-10) errors stay around 1e-9 or below;
	// 1e-6 leaves a margin of about three orders of magnitude while any
	// real gradient bug (a missing term, transpose or factor) gives errors
	// of 1e-2 or more.
	tightTol = 1e-6
)

func sinX2() Func {
	return Func{
		Inputs: []Input{{Name: "x", Shape: []int{5}, Value: []float64{-2, -0.5, 0, 0.7, 3}}},
		Eval: func(in [][]float64) []float64 {
			y := make([]float64, len(in[0]))
			for i, x := range in[0] {
				y[i] = math.Sin(x) * x * x
			}
			return y
		},
		VJP: func(in [][]float64, u []float64) [][]float64 {
			g := make([]float64, len(in[0]))
			for i, x := range in[0] {
				g[i] = u[i] * (math.Cos(x)*x*x + 2*x*math.Sin(x))
			}
			return [][]float64{g}
		},
	}
}

// matmul returns C = A·B for row-major A (m×k) and B (k×n).
func matmul(a, b []float64, m, k, n int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for l := 0; l < k; l++ {
				c[i*n+j] += a[i*k+l] * b[l*n+j]
			}
		}
	}
	return c
}

func transpose(a []float64, r, c int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	return t
}

// matmulFunc is C = A·B with A 2×3 and B 3×4; wrongB scales dB by 1.01.
func matmulFunc(wrongB bool) Func {
	const m, k, n = 2, 3, 4
	return Func{
		Inputs: []Input{
			{Name: "A", Shape: []int{m, k}, Value: []float64{1, -2, 0.5, 3, 0.1, -1}},
			{Name: "B", Shape: []int{k, n}, Value: []float64{0.2, 1, -1, 2, 0, 0.3, 0.7, -0.4, 1.5, -2, 0.9, 0.6}},
		},
		Eval: func(in [][]float64) []float64 { return matmul(in[0], in[1], m, k, n) },
		VJP: func(in [][]float64, u []float64) [][]float64 {
			dA := matmul(u, transpose(in[1], k, n), m, n, k) // U·Bᵀ
			dB := matmul(transpose(in[0], m, k), u, k, m, n) // Aᵀ·U
			if wrongB {
				for i := range dB {
					dB[i] *= 1.01
				}
			}
			return [][]float64{dA, dB}
		},
	}
}

func softmax(x []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	y := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		y[i] = math.Exp(v - mx)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}

func softmaxFunc() Func {
	return Func{
		Inputs: []Input{{Name: "logits", Shape: []int{6}, Value: []float64{0.1, 2, -1, 0.5, 3, -0.3}}},
		Eval:   func(in [][]float64) []float64 { return softmax(in[0]) },
		VJP: func(in [][]float64, u []float64) [][]float64 {
			y := softmax(in[0])
			uy := 0.0
			for i := range y {
				uy += u[i] * y[i]
			}
			g := make([]float64, len(y))
			for i := range y {
				g[i] = y[i] * (u[i] - uy)
			}
			return [][]float64{g}
		},
	}
}

func TestCorrectVJPsPass(t *testing.T) {
	for name, f := range map[string]Func{"sin(x)x²": sinX2(), "matmul": matmulFunc(false), "softmax": softmaxFunc()} {
		t.Run(name, func(t *testing.T) {
			rep, err := Check(f, Options{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Inputs) != len(f.Inputs) {
				t.Fatalf("report has %d inputs, expected %d", len(rep.Inputs), len(f.Inputs))
			}
			if err := rep.Err(tightTol); err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			t.Logf("\n%s", rep)
			d, err := Directional(f, Options{Seed: 3, Probes: 5})
			if err != nil {
				t.Fatal(err)
			}
			if d > tightTol {
				t.Errorf("Directional rel err %.3g > %g for a correct VJP", d, tightTol)
			}
		})
	}
}

func TestWrongVJPFails(t *testing.T) {
	f := matmulFunc(true)
	rep, err := Check(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := rep.Err(tightTol)
	if e == nil {
		t.Fatalf("a VJP with dB off by 1%% passed:\n%s", rep)
	}
	msg := e.Error()
	if !strings.Contains(msg, `input "B"`) || strings.Contains(msg, `input "A"`) {
		t.Errorf("error should name input B and only B:\n%s", msg)
	}
	if !strings.Contains(msg, "directional") {
		t.Errorf("error should report the directional check too:\n%s", msg)
	}
	// Relative error of a 1% scaling is about 0.01.
	if rep.Inputs[1].MaxRelErr < 0.009 || rep.Inputs[1].MaxRelErr > 0.011 {
		t.Errorf("B max rel err %.4g, expected ≈ 0.0099", rep.Inputs[1].MaxRelErr)
	}
	d, err := Directional(f, Options{Inputs: []string{"B"}})
	if err != nil || d < 1e-3 {
		t.Errorf("Directional on B = %.3g, %v; expected a large error", d, err)
	}
	// Restricting the check to A passes.
	rep, err = Check(f, Options{Inputs: []string{"A"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Inputs) != 1 || rep.Inputs[0].Name != "A" {
		t.Fatalf("Options.Inputs=[A] gave report for %+v", rep.Inputs)
	}
	if err := rep.Err(tightTol); err != nil {
		t.Errorf("checking only A: %v", err)
	}
}

func TestNilGradientIsCheckedAsZero(t *testing.T) {
	f := matmulFunc(false)
	vjp := f.VJP
	f.VJP = func(in [][]float64, u []float64) [][]float64 {
		g := vjp(in, u)
		g[0] = nil
		return g
	}
	rep, err := Check(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Err(tightTol); e == nil || !strings.Contains(e.Error(), `input "A"`) {
		t.Fatalf("a nil gradient for an input the function depends on should fail naming A, got %v", e)
	}
}

func TestMisuseErrors(t *testing.T) {
	good := sinX2()
	cases := map[string]struct {
		f    func() Func
		opt  Options
		want string
	}{
		"shape": {func() Func { f := sinX2(); f.Inputs[0].Shape = []int{2, 2}; return f }, Options{}, `input "x" has shape [2 2] (4 elements) but 5 values`},
		"name":  {sinX2, Options{Inputs: []string{"y"}}, `Options.Inputs names "y"`},
		"vjp count": {func() Func {
			f := sinX2()
			f.VJP = func([][]float64, []float64) [][]float64 { return nil }
			return f
		}, Options{}, "VJP returned 0 gradients, expected one per input (1)"},
		"vjp len": {func() Func {
			f := sinX2()
			f.VJP = func([][]float64, []float64) [][]float64 { return [][]float64{{1}} }
			return f
		}, Options{}, `gradient for input "x" has 1 elements, expected 5`},
		"nan": {func() Func {
			f := sinX2()
			f.Eval = func([][]float64) []float64 { return []float64{math.NaN()} }
			return f
		}, Options{}, "output[0] is NaN"},
		"perturbed output": {func() Func {
			f := sinX2()
			eval := f.Eval
			f.Eval = func(in [][]float64) []float64 {
				if in[0][0] != -2 {
					return []float64{1}
				}
				return eval(in)
			}
			return f
		}, Options{}, "Eval returned 1 outputs at a perturbed point, expected 5"},
		"step":  {sinX2, Options{Step: -1}, "Step must be positive"},
		"nil":   {func() Func { return Func{Inputs: good.Inputs} }, Options{}, "needs both Eval and VJP"},
		"empty": {func() Func { return Func{Eval: good.Eval, VJP: good.VJP} }, Options{}, "no inputs"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Check(c.f(), c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, expected one containing %q", err, c.want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a, errA := Check(matmulFunc(true), Options{Seed: 11})
	b, errB := Check(matmulFunc(true), Options{Seed: 11})
	if errA != nil || errB != nil || len(a.Inputs) != 2 {
		t.Fatalf("Check: %v, %v, %d input reports; expected no error and 2 reports", errA, errB, len(a.Inputs))
	}
	if a.String() != b.String() {
		t.Fatalf("same seed gave different reports:\n%s\n%s", a, b)
	}
}

func TestCheckDoesNotModifyInputs(t *testing.T) {
	f := sinX2()
	before := append([]float64(nil), f.Inputs[0].Value...)
	eval := f.Eval
	f.Eval = func(in [][]float64) []float64 {
		y := eval(in)
		in[0][0] = 1e9 // a misbehaving Eval
		return y
	}
	if _, err := Check(f, Options{}); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if f.Inputs[0].Value[i] != before[i] {
			t.Fatalf("Check modified input value %d: %g, was %g", i, f.Inputs[0].Value[i], before[i])
		}
	}
}

func TestStringIsAlignedTable(t *testing.T) {
	rep := Report{Inputs: []InputReport{
		{Name: "W", MaxAbsErr: 1e-10, MaxRelErr: 2e-9, WorstIndex: 3},
		{Name: "bias_long_name", MaxAbsErr: 0.5, MaxRelErr: 0.25, WorstIndex: 10},
	}}
	s := rep.String()
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "max abs err") || !strings.Contains(lines[3], "directional") {
		t.Fatalf("unexpected table:\n%s", s)
	}
	// Right-aligned columns: the three table lines have equal length.
	if len(lines[0]) != len(lines[1]) || len(lines[1]) != len(lines[2]) {
		t.Errorf("table rows are not aligned:\n%s", s)
	}
}

func TestFDErrorsVShape(t *testing.T) {
	f := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += math.Sin(v)
		}
		return s
	}
	x := []float64{0.5, 1, 2}
	exact := []float64{math.Cos(0.5), math.Cos(1), math.Cos(2)}
	steps := []float64{1e-1, 1e-6, 1e-12}
	for name, errs := range map[string][]float64{
		"forward": ForwardDiffErrors(f, x, exact, steps),
		"central": CentralDiffErrors(f, x, exact, steps),
	} {
		t.Logf("%s: error at h=1e-1, 1e-6, 1e-12: %.3g", name, errs)
		if !(errs[0] > errs[1]) {
			t.Errorf("%s: truncation: error at h=1e-1 (%.3g) should exceed error at h=1e-6 (%.3g)", name, errs[0], errs[1])
		}
		if !(errs[2] > errs[1]) {
			t.Errorf("%s: round-off: error at h=1e-12 (%.3g) should exceed error at h=1e-6 (%.3g)", name, errs[2], errs[1])
		}
	}
	// Central differences are more accurate at a moderate step.
	fw := ForwardDiffErrors(f, x, exact, []float64{1e-4})
	ce := CentralDiffErrors(f, x, exact, []float64{1e-4})
	if !(ce[0] < fw[0]) {
		t.Errorf("central error %.3g should be below forward error %.3g at h=1e-4", ce[0], fw[0])
	}
}
