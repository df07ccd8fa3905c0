// Package gradcheck compares an analytic gradient (a vector-Jacobian
// product, as produced by bpgen's generated backward code or written by
// hand) against finite differences of the function itself.
//
// Users and bpgen's own tests import this package; generated code does not.
// It works in float64 on any function given as a Func — an Eval closure and
// a VJP closure over named flat inputs — and knows nothing about how the
// function is implemented. Check compares every input element
// (∂(u·f)/∂x_i for a random cotangent u); Directional is the cheaper JAX
// check_vjp-style test ⟨u, J·v⟩ vs ⟨Jᵀu, v⟩ for random u, v.
// ForwardDiffErrors and CentralDiffErrors show why autodiff is needed at
// all: finite differences suffer truncation error for large steps and
// round-off error for small ones.
//
// The smallest use:
//
//	f := gradcheck.Func{
//		Inputs: []gradcheck.Input{{Name: "x", Shape: []int{3}, Value: []float64{1, 2, 3}}},
//		Eval: func(in [][]float64) []float64 { // f(x) = x²
//			y := make([]float64, len(in[0]))
//			for i, x := range in[0] { y[i] = x * x }
//			return y
//		},
//		VJP: func(in [][]float64, u []float64) [][]float64 {
//			g := make([]float64, len(in[0]))
//			for i, x := range in[0] { g[i] = 2 * x * u[i] }
//			return [][]float64{g}
//		},
//	}
//	rep, err := gradcheck.Check(f, gradcheck.Options{})
//	if err == nil { err = rep.Err(1e-6) }
package gradcheck

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
)

// Input is one named input of a Func: a flat row-major vector and its shape.
type Input struct {
	Name  string
	Shape []int     // dimensions; the product must equal len(Value) (empty for a scalar)
	Value []float64 // the point at which the gradient is checked
}

// Func is a differentiable function of named inputs to a flat output.
type Func struct {
	Inputs []Input
	// Eval computes the output for inputs[k] = value of Inputs[k]. It must
	// not keep or modify its arguments.
	Eval func(inputs [][]float64) []float64
	// VJP returns the analytic gradient Jᵀ·u for each input, where u (the
	// cotangent) has the output's length. A nil entry means the function
	// claims not to depend on that input; it is checked as a zero gradient
	// (exclude an input from checking with Options.Inputs instead).
	VJP func(inputs [][]float64, cotangent []float64) [][]float64
}

// Options tunes a check. The zero value is ready to use.
type Options struct {
	// Step is the finite-difference step relative to the input's scale: an
	// input is perturbed by Step·max(1, max|x_i|) over its elements. 0 means
	// DefaultStep.
	Step float64
	// Probes is the number of random (u, v) pairs Directional tries.
	// 0 means DefaultProbes.
	Probes int
	// Seed seeds the random cotangents and directions (PCG), so a check is
	// reproducible.
	Seed uint64
	// Inputs restricts the check to the inputs with these names; empty
	// means all inputs.
	Inputs []string
}

const (
	// DefaultStep is the default relative step. Central differences have
	// truncation error ~h²·|f'''| and round-off error ~ε·|f|/h; with h=1e-6
	// both stay below ~1e-10 for well-scaled functions of order one.
	DefaultStep = 1e-6
	// DefaultProbes is the default number of directional probes.
	DefaultProbes = 3
	// Tiny is the floor of the relative-error denominator:
	// relErr(a, n) = |a-n| / max(|a|, |n|, Tiny). Without it two gradients
	// that are both (nearly) zero would give 0/0 or a huge ratio from
	// round-off; with it, entries smaller than Tiny are effectively compared
	// in absolute terms, scaled by 1/Tiny. 1e-8 is well above the
	// round-off noise of a central difference of an exactly-zero
	// derivative at the default step for functions of order one (typically
	// ≤1e-11), yet far below any gradient entry that matters.
	Tiny = 1e-8
)

// RelErr is the relative error used throughout the package:
// |a-n| / max(|a|, |n|, Tiny).
func RelErr(a, n float64) float64 {
	return math.Abs(a-n) / math.Max(math.Max(math.Abs(a), math.Abs(n)), Tiny)
}

// InputReport is the comparison for one input.
type InputReport struct {
	Name       string
	MaxAbsErr  float64 // largest |analytic - numeric| over the input's elements
	MaxRelErr  float64 // largest RelErr over the input's elements
	WorstIndex int     // flat index of the element with the largest RelErr
	Analytic   float64 // analytic gradient at WorstIndex
	Numeric    float64 // finite-difference gradient at WorstIndex
}

// Report is the result of Check.
type Report struct {
	Inputs            []InputReport
	DirectionalRelErr float64 // worst RelErr over the directional probes
}

// prepared holds validated inputs and the selection.
type prepared struct {
	f        Func
	values   [][]float64 // private copies of the input values
	selected []int       // indices of the inputs to check
	step     float64
	probes   int
	rng      *rand.Rand
}

func prepare(f Func, opt Options) (*prepared, error) {
	if f.Eval == nil || f.VJP == nil {
		return nil, errors.New("gradcheck: Func needs both Eval and VJP; found a nil one")
	}
	if len(f.Inputs) == 0 {
		return nil, errors.New("gradcheck: Func has no inputs")
	}
	p := &prepared{f: f, step: opt.Step, probes: opt.Probes}
	if p.step == 0 {
		p.step = DefaultStep
	}
	if p.step < 0 || math.IsNaN(p.step) || math.IsInf(p.step, 0) {
		return nil, fmt.Errorf("gradcheck: Options.Step must be positive, found %g", opt.Step)
	}
	if p.probes == 0 {
		p.probes = DefaultProbes
	}
	if p.probes < 0 {
		return nil, fmt.Errorf("gradcheck: Options.Probes must be >= 0, found %d", opt.Probes)
	}
	byName := map[string]int{}
	for k, in := range f.Inputs {
		n := 1
		for _, d := range in.Shape {
			if d < 0 {
				return nil, fmt.Errorf("gradcheck: input %q has negative dimension in shape %v", in.Name, in.Shape)
			}
			n *= d
		}
		if n != len(in.Value) {
			return nil, fmt.Errorf("gradcheck: input %q has shape %v (%d elements) but %d values", in.Name, in.Shape, n, len(in.Value))
		}
		if _, dup := byName[in.Name]; dup {
			return nil, fmt.Errorf("gradcheck: input name %q appears twice", in.Name)
		}
		byName[in.Name] = k
		p.values = append(p.values, slices.Clone(in.Value))
	}
	if len(opt.Inputs) == 0 {
		for k := range f.Inputs {
			p.selected = append(p.selected, k)
		}
	} else {
		for _, name := range opt.Inputs {
			k, ok := byName[name]
			if !ok {
				names := make([]string, len(f.Inputs))
				for i, in := range f.Inputs {
					names[i] = in.Name
				}
				return nil, fmt.Errorf("gradcheck: Options.Inputs names %q, but the function's inputs are %q", name, names)
			}
			p.selected = append(p.selected, k)
		}
	}
	p.rng = rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	return p, nil
}

// eval calls Eval on fresh copies so a misbehaving Eval cannot corrupt the
// point being checked.
func (p *prepared) eval(values [][]float64) []float64 {
	in := make([][]float64, len(values))
	for k, v := range values {
		in[k] = slices.Clone(v)
	}
	return p.f.Eval(in)
}

// vjp calls VJP and validates the shape of its result.
func (p *prepared) vjp(u []float64) ([][]float64, error) {
	in := make([][]float64, len(p.values))
	for k, v := range p.values {
		in[k] = slices.Clone(v)
	}
	g := p.f.VJP(in, slices.Clone(u))
	if len(g) != len(p.values) {
		return nil, fmt.Errorf("gradcheck: VJP returned %d gradients, expected one per input (%d)", len(g), len(p.values))
	}
	for k, gk := range g {
		if gk == nil {
			g[k] = make([]float64, len(p.values[k]))
			continue
		}
		if len(gk) != len(p.values[k]) {
			return nil, fmt.Errorf("gradcheck: VJP gradient for input %q has %d elements, expected %d", p.f.Inputs[k].Name, len(gk), len(p.values[k]))
		}
	}
	return g, nil
}

func (p *prepared) randVec(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = p.rng.NormFloat64()
	}
	return v
}

// stepFor scales the relative step by max(1, max|x_i|).
func stepFor(step float64, x []float64) float64 {
	return step * math.Max(1, floats.Norm(x, math.Inf(1)))
}

// output evaluates the function once and checks the result.
func (p *prepared) output() ([]float64, error) {
	y := p.eval(p.values)
	if len(y) == 0 {
		return nil, errors.New("gradcheck: Eval returned an empty output")
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("gradcheck: Eval output[%d] is %g at the check point; expected finite values", i, v)
		}
	}
	return y, nil
}

// Check compares, for one random cotangent u (seeded by opt.Seed), the
// analytic gradient VJP(x, u) of every selected input element against the
// central finite difference of u·f(x) with respect to that element
// (gonum's fd.Gradient with fd.Central). It also runs Directional and
// stores its result in Report.DirectionalRelErr. Check costs two Eval calls
// per checked input element. Use Report.Err to turn the report into a
// pass/fail verdict. The error result is for misuse (bad shapes, missing
// inputs, non-finite outputs), not for wrong gradients.
func Check(f Func, opt Options) (rep Report, err error) {
	defer recoverEvalError(&err)
	p, err := prepare(f, opt)
	if err != nil {
		return Report{}, err
	}
	y, err := p.output()
	if err != nil {
		return Report{}, err
	}
	u := p.randVec(len(y))
	analytic, err := p.vjp(u)
	if err != nil {
		return Report{}, err
	}
	work := slices.Clone(p.values)
	for _, k := range p.selected {
		x := p.values[k]
		scalar := func(xk []float64) float64 {
			work[k] = xk
			out := p.eval(work)
			if len(out) != len(u) {
				panic(evalError(fmt.Sprintf("gradcheck: Eval returned %d outputs at a perturbed point, expected %d", len(out), len(u))))
			}
			return floats.Dot(u, out)
		}
		numeric := fd.Gradient(nil, scalar, x, &fd.Settings{Formula: fd.Central, Step: stepFor(p.step, x)})
		work[k] = x
		ir := InputReport{Name: f.Inputs[k].Name, WorstIndex: -1}
		for i := range x {
			a, n := analytic[k][i], numeric[i]
			abs, rel := math.Abs(a-n), RelErr(a, n)
			if math.IsNaN(rel) {
				rel, abs = math.Inf(1), math.Inf(1)
			}
			ir.MaxAbsErr = math.Max(ir.MaxAbsErr, abs)
			if ir.WorstIndex < 0 || rel > ir.MaxRelErr {
				ir.MaxRelErr, ir.WorstIndex, ir.Analytic, ir.Numeric = rel, i, a, n
			}
		}
		rep.Inputs = append(rep.Inputs, ir)
	}
	rep.DirectionalRelErr, err = p.directional(len(y), analytic, u)
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

// Directional is a cheap check in the style of JAX's check_vjp: for
// opt.Probes random pairs (u, v) it compares ⟨u, J·v⟩, where J·v is the
// central finite difference of f along v (over the selected inputs
// jointly), with ⟨Jᵀu, v⟩ from the VJP. It returns the worst RelErr. Each
// probe costs two Eval calls and one VJP call, whatever the input size.
func Directional(f Func, opt Options) (worst float64, err error) {
	defer recoverEvalError(&err)
	p, err := prepare(f, opt)
	if err != nil {
		return 0, err
	}
	y, err := p.output()
	if err != nil {
		return 0, err
	}
	return p.directional(len(y), nil, nil)
}

// evalError is a misuse detected inside a finite-difference callback, where
// it cannot be returned; Check and Directional recover it as an error.
type evalError string

func recoverEvalError(err *error) {
	if r := recover(); r != nil {
		e, ok := r.(evalError)
		if !ok {
			panic(r)
		}
		*err = errors.New(string(e))
	}
}

// directional runs the probes; if firstG is non-nil it is the VJP for the
// cotangent firstU and is reused for the first probe.
func (p *prepared) directional(m int, firstG [][]float64, firstU []float64) (float64, error) {
	worst := 0.0
	for probe := 0; probe < p.probes; probe++ {
		u, g := firstU, firstG
		if probe > 0 || g == nil {
			u = p.randVec(m)
			var err error
			if g, err = p.vjp(u); err != nil {
				return 0, err
			}
		}
		dirs := make([][]float64, len(p.values))
		h := 0.0
		analytic := 0.0
		for _, k := range p.selected {
			dirs[k] = p.randVec(len(p.values[k]))
			h = math.Max(h, stepFor(p.step, p.values[k]))
			analytic += floats.Dot(g[k], dirs[k])
		}
		work := make([][]float64, len(p.values))
		along := func(t float64) float64 {
			for k, x := range p.values {
				if dirs[k] == nil {
					work[k] = x
					continue
				}
				xs := make([]float64, len(x))
				for i := range x {
					xs[i] = x[i] + t*dirs[k][i]
				}
				work[k] = xs
			}
			out := p.eval(work)
			if len(out) != m {
				panic(evalError(fmt.Sprintf("gradcheck: Eval returned %d outputs at a perturbed point, expected %d", len(out), m)))
			}
			return floats.Dot(u, out)
		}
		numeric := fd.Derivative(along, 0, &fd.Settings{Formula: fd.Central, Step: h})
		rel := RelErr(analytic, numeric)
		if math.IsNaN(rel) {
			rel = math.Inf(1)
		}
		worst = math.Max(worst, rel)
	}
	return worst, nil
}

// Err returns nil if every input's MaxRelErr and the DirectionalRelErr are
// at most tolRel, and otherwise an error with one line per check over
// tolerance, naming the input, the worst element and both gradient values.
func (r Report) Err(tolRel float64) error {
	var lines []string
	for _, in := range r.Inputs {
		if !(in.MaxRelErr <= tolRel) {
			lines = append(lines, fmt.Sprintf("  input %q: max rel err %.3g > %.3g at index %d (analytic %.10g, numeric %.10g; max abs err %.3g)",
				in.Name, in.MaxRelErr, tolRel, in.WorstIndex, in.Analytic, in.Numeric, in.MaxAbsErr))
		}
	}
	if !(r.DirectionalRelErr <= tolRel) {
		lines = append(lines, fmt.Sprintf("  directional ⟨u,Jv⟩ vs ⟨Jᵀu,v⟩: rel err %.3g > %.3g", r.DirectionalRelErr, tolRel))
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("gradcheck: analytic gradient disagrees with finite differences:\n%s", strings.Join(lines, "\n"))
}

// String formats the report as an aligned table with one row per input.
func (r Report) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "input\tmax abs err\tmax rel err\tworst index\tanalytic\tnumeric\t")
	for _, in := range r.Inputs {
		fmt.Fprintf(tw, "%s\t%.3g\t%.3g\t%d\t%.6g\t%.6g\t\n", in.Name, in.MaxAbsErr, in.MaxRelErr, in.WorstIndex, in.Analytic, in.Numeric)
	}
	tw.Flush()
	fmt.Fprintf(&b, "directional rel err: %.3g\n", r.DirectionalRelErr)
	return b.String()
}

// ForwardDiffErrors returns, for each step h in steps, the largest absolute
// error over i of the forward-difference gradient (f(x+h·e_i) - f(x))/h
// against exactGrad. Its error is O(h) truncation plus O(ε/h) round-off, so
// plotted against h it forms a V with its minimum near h ≈ √ε ≈ 1e-8.
// It panics if len(exactGrad) != len(x) or a step is not positive.
func ForwardDiffErrors(f func(x []float64) float64, x []float64, exactGrad []float64, steps []float64) []float64 {
	return fdErrors("ForwardDiffErrors", fd.Forward, f, x, exactGrad, steps)
}

// CentralDiffErrors is ForwardDiffErrors for the central difference
// (f(x+h·e_i) - f(x-h·e_i))/(2h), whose error is O(h²) truncation plus
// O(ε/h) round-off, with its minimum near h ≈ ∛ε ≈ 1e-5.
func CentralDiffErrors(f func(x []float64) float64, x []float64, exactGrad []float64, steps []float64) []float64 {
	return fdErrors("CentralDiffErrors", fd.Central, f, x, exactGrad, steps)
}

func fdErrors(fn string, formula fd.Formula, f func(x []float64) float64, x, exactGrad, steps []float64) []float64 {
	if len(exactGrad) != len(x) {
		panic(fmt.Sprintf("gradcheck.%s: exactGrad has %d elements, expected %d (len(x))", fn, len(exactGrad), len(x)))
	}
	errs := make([]float64, len(steps))
	grad := make([]float64, len(x))
	for j, h := range steps {
		if !(h > 0) || math.IsInf(h, 0) {
			panic(fmt.Sprintf("gradcheck.%s: steps[%d] is %g, expected a positive finite step", fn, j, h))
		}
		fd.Gradient(grad, f, x, &fd.Settings{Formula: formula, Step: h})
		worst := 0.0
		for i := range grad {
			worst = math.Max(worst, math.Abs(grad[i]-exactGrad[i]))
		}
		errs[j] = worst
	}
	return errs
}
