package passes_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// Random graphs (internal/randgraph: differentiable elementwise, reduce,
// matmul and movement ops on random shapes with broadcasting, values
// reused by several ops and several params), checked entry by entry
// against central finite differences (see checkRandomGradient): at gradTol
// relative, or within the differences' own round-off for entries too small
// to resolve that well.

const (
	randomGraphs   = 200
	kinkMargin     = 1e-3 // a kink (relu/abs at 0, max/min ties) at least this far from every argument value
	domainMargin   = 0.05 // inputs of log, sqrt, reciprocal, pow's base are at least this large
	magnitudeLimit = 1e3  // every value is at most this large in magnitude
	maxAttempts    = 50   // graphs drawn per seed before giving up

	// roundoffUnits is the error, in units of ε·max(1, |J|), with which
	// the interpreter computes an objective J: the rounding of each op
	// along the paths to J, accumulated (see roundoff). The largest error
	// beyond the gradTol term, over the first 3000 seeds, was 10 units (1.5
	// over the 200 the test draws); 32 leaves a margin of 3 and still
	// checks every entry above ~4e-7·max(1, |J|) to 1%.
	roundoffUnits = 32
)

// suitable rejects a graph whose forward values come within kinkMargin of
// a kink, leave the safe domain, or grow too large: there finite
// differences are not a valid reference.
func suitable(g *ir.Graph, env map[string]*ir.Tensor) error {
	res, err := ir.Interp(g, ir.Env{Inputs: env})
	if err != nil {
		return err
	}
	val := func(v *ir.Value) *ir.Tensor { return res.Values[v.ID] }
	for _, v := range g.Values {
		t := val(v)
		for _, x := range t.F {
			if math.IsNaN(x) || math.Abs(x) > magnitudeLimit {
				return fmt.Errorf("%s: value %g", v.Ref(), x)
			}
		}
		switch v.Op {
		case ir.OpReLU, ir.OpAbs, ir.OpLeakyReLU:
			for _, x := range val(v.Args[0]).F {
				if math.Abs(x) < kinkMargin {
					return fmt.Errorf("%s: %s at %g", v.Ref(), v.Op.Name, x)
				}
			}
		case ir.OpLog, ir.OpSqrt, ir.OpReciprocal, ir.OpPowC:
			for _, x := range val(v.Args[0]).F {
				if x < domainMargin {
					return fmt.Errorf("%s: %s at %g", v.Ref(), v.Op.Name, x)
				}
			}
		case ir.OpMaximum, ir.OpMinimum:
			// |x − y| elementwise over the broadcast shape, via the interpreter.
			b := ir.NewBuilder("gap")
			x := b.Input("x", ir.T(ir.F64, v.Args[0].Type.Shape))
			y := b.Input("y", ir.T(ir.F64, v.Args[1].Type.Shape))
			b.Graph().AddOutput("d", b.Op("abs", nil, b.Sub(x, y)))
			r, err := ir.Interp(b.Graph(), ir.Env{Inputs: map[string]*ir.Tensor{"x": val(v.Args[0]), "y": val(v.Args[1])}})
			if err != nil {
				return err
			}
			for _, d := range r.Outputs["d"].F {
				if d < kinkMargin {
					return fmt.Errorf("%s: %s tie (gap %g)", v.Ref(), v.Op.Name, d)
				}
			}
		case ir.OpMax, ir.OpMin:
			// The runner-up of each group is at least kinkMargin away from the extreme.
			x := val(v.Args[0])
			if err := checkReduceTies(x, v.Attrs.Ints("axes"), v.Op == ir.OpMax); err != nil {
				return fmt.Errorf("%s: %v", v.Ref(), err)
			}
		}
	}
	return nil
}

// checkReduceTies reports an error if, in some group of x reduced over
// axes, the two most extreme elements are within kinkMargin.
func checkReduceTies(x *ir.Tensor, axes []int, isMax bool) error {
	groups := map[int][]float64{}
	idx := make([]int, len(x.Shape))
	for k := range x.F {
		rem := k
		for d := len(x.Shape) - 1; d >= 0; d-- {
			idx[d] = rem % x.Shape[d]
			rem /= x.Shape[d]
		}
		key := 0
		for d := range x.Shape {
			if !slices.Contains(axes, d) {
				key = key*x.Shape[d] + idx[d]
			}
		}
		groups[key] = append(groups[key], x.F[k])
	}
	for _, vals := range groups {
		slices.Sort(vals)
		if len(vals) < 2 {
			continue
		}
		gap := vals[len(vals)-1] - vals[len(vals)-2]
		if !isMax {
			gap = vals[1] - vals[0]
		}
		if gap < kinkMargin {
			return fmt.Errorf("near-tie (gap %g) in a %s reduction", gap, map[bool]string{true: "max", false: "min"}[isMax])
		}
	}
	return nil
}

// fdGradient is the central finite-difference gradient of the objective
// with respect to every param, at gradcheck's default step for each param
// (h = DefaultStep·max(1, max|p|)), and the objective J.
func fdGradient(g *ir.Graph, env map[string]*ir.Tensor) (grads map[string][]float64, steps map[string]float64, J float64) {
	obj := func() float64 {
		res, err := ir.Interp(g, ir.Env{Inputs: env})
		if err != nil {
			panic(err)
		}
		return res.Objective.Scalar()
	}
	J = obj()
	grads, steps = map[string][]float64{}, map[string]float64{}
	for _, p := range g.Params() {
		orig := env[p.Name]
		scale := 1.0
		for _, x := range orig.F {
			scale = math.Max(scale, math.Abs(x))
		}
		h := gradcheck.DefaultStep * scale
		d := make([]float64, len(orig.F))
		for i := range orig.F {
			t := orig.Clone()
			t.F[i] = orig.F[i] + h
			env[p.Name] = t
			fp := obj()
			t.F[i] = orig.F[i] - h
			fm := obj()
			env[p.Name] = orig
			d[i] = (fp - fm) / (2 * h)
		}
		grads[p.Name], steps[p.Name] = d, h
	}
	return grads, steps, J
}

// roundoff is the bound on the round-off error of a central difference
// at step h of an objective of value J: (J(x+h) − J(x−h))/2h carries the
// float64 errors of the two evaluations of J divided by 2h, each about
// roundoffUnits·ε·max(1, |J|) with ε = 2⁻⁵³.
func roundoff(J, h float64) float64 {
	return roundoffUnits * 0x1p-53 * math.Max(1, math.Abs(J)) / h
}

// checkRandomGradient compares the gradient passes.Grad computes (the
// joint graph under ir.Interp) with central finite differences, entry by
// entry:
//
//	|analytic − numeric| ≤ gradTol·max(|analytic|, |numeric|) + roundoff(J, h)
//
// The relative term decides for entries of order one; the absolute
// round-off term for entries too small for finite differences to resolve
// to gradTol (below ~roundoff/gradTol), which are still checked to the
// precision finite differences have. The truncation error h²|∂³J|/6 is
// ~1e-12 at h = 1e-6 and left out.
func checkRandomGradient(p *gradProblem) error {
	fd, steps, J := fdGradient(p.g, p.env)
	analytic := p.grads(p.env)
	var errs []string
	for _, l := range p.leaves {
		a, d, bound := analytic[l.Name].F, fd[l.Name], roundoff(J, steps[l.Name])
		for i := range d {
			if diff := math.Abs(a[i] - d[i]); !(diff <= gradTol*math.Max(math.Abs(a[i]), math.Abs(d[i]))+bound) {
				errs = append(errs, fmt.Sprintf("∂J/∂%s[%d]: analytic %.10g, finite differences %.10g (difference %.3g; round-off bound %.3g)", l.Name, i, a[i], d[i], diff, bound))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the gradient disagrees with finite differences (J = %.6g):\n  %s", J, strings.Join(errs, "\n  "))
	}
	return nil
}

// checkable reports an error if no entry of the finite-difference
// gradient stands out of the round-off bound: the objective is constant
// up to round-off and there is nothing to check.
func checkable(g *ir.Graph, env map[string]*ir.Tensor) error {
	fd, steps, J := fdGradient(g, env)
	for name, d := range fd {
		for _, x := range d {
			if math.Abs(x) > roundoff(J, steps[name])/gradTol {
				return nil
			}
		}
	}
	return fmt.Errorf("the objective is constant up to round-off (J = %.3g)", J)
}

// drawSuitable draws graphs for seed until one is suitable.
func drawSuitable(seed uint64) (*ir.Graph, map[string]*ir.Tensor, int, error) {
	var last error
	for attempt := range maxAttempts {
		g, env, err := randomGraph(seed, attempt)
		if err != nil {
			return nil, nil, attempt, fmt.Errorf("building the graph: %v", err) // a generator bug
		}
		if err := suitable(g, env); err != nil {
			last = err
			continue
		}
		if err := checkable(g, env); err != nil {
			last = err
			continue
		}
		return g, env, attempt, nil
	}
	return nil, nil, maxAttempts, fmt.Errorf("no suitable graph in %d attempts; last: %v", maxAttempts, last)
}

func TestRandomGraphGradients(t *testing.T) {
	rejected := 0
	ops := map[string]int{}
	for seed := range uint64(randomGraphs) {
		g, env, attempts, err := drawSuitable(seed)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			continue
		}
		rejected += attempts
		for _, v := range g.Values {
			ops[v.Op.Name]++
		}
		p, err := newGradProblem(g, nil, env, nil)
		if err != nil {
			t.Errorf("seed %d: passes.Grad: %v\ngraph:\n%s", seed, err, ir.Print(g))
			continue
		}
		if err := checkRandomGradient(p); err != nil {
			t.Errorf("seed %d: %v\ngraph:\n%s", seed, err, ir.Print(g))
		}
	}
	t.Logf("%d graphs (%d draws rejected: near kinks or domain edges, or constant up to round-off); ops used: %v", randomGraphs, rejected, ops)
}

// TestRandomGraphsDeterministic: a seed always gives the same graph.
func TestRandomGraphGradientsDeterministic(t *testing.T) {
	for _, seed := range []uint64{0, 17, 199} {
		g1, _, _, err1 := drawSuitable(seed)
		g2, _, _, err2 := drawSuitable(seed)
		if err1 != nil || err2 != nil {
			t.Fatalf("seed %d: %v, %v", seed, err1, err2)
		}
		if a, b := ir.Print(g1), ir.Print(g2); a != b {
			t.Errorf("seed %d gives two different graphs:\n%s\n%s", seed, a, b)
		}
	}
}
