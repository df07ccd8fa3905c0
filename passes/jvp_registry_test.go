package passes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// This file walks the op table for forward mode: every differentiable
// op's JVP rule is checked, through passes.JVP on the tiny graphs of
// TestVJPRegistry's case table (vjpCases, broadcasting variants included),
// against central finite differences of the op's result along a random
// tangent of its differentiable arguments.

// jvpTol is the relative error (‖ẏ − fd‖∞ / ‖fd‖∞ over the op's result)
// at which a tangent computed by passes.JVP and ir.Interp must agree with
// central finite differences in float64. The step is jvpStep along a
// tangent with entries in [−1, 1], at points in about [−2.5, 2.5] away
// from kinks and domain edges: truncation ~h²·|f”'|/6 ≈ 2e-11 and
// round-off ~ε·|f|/h ≈ 2e-11·|f|, so correct rules agree to ~1e-9; 1e-6
// (the bound) leaves margin while a wrong rule (a missing term, a
// transpose, a factor) is off by 1e-2 or more.
const (
	jvpTol  = 1e-6
	jvpStep = 1e-5
)

// jvpProblem is a graph, its JVP graph, the values of its inputs and a
// tangent for each leaf.
type jvpProblem struct {
	g, jg    *ir.Graph
	env      map[string]*ir.Tensor
	tangents map[string]*ir.Tensor // by leaf name
	dims     map[string]int
	training bool
}

func newJVPProblem(g *ir.Graph, wrt []string, env map[string]*ir.Tensor, rng *rand.Rand) (*jvpProblem, error) {
	jg, err := passes.JVP(g, passes.JVPOptions{Wrt: wrt})
	if err != nil {
		return nil, err
	}
	p := &jvpProblem{g: g, jg: jg, env: env, tangents: map[string]*ir.Tensor{}}
	for _, v := range jg.Inputs() {
		if leaf, ok := strings.CutPrefix(v.Name, "tangent."); ok {
			p.tangents[leaf] = randTensor(rng, -1, 1, shapeInts(v.Type.Shape)...)
		}
	}
	return p, nil
}

// tangentOutputs evaluates the JVP graph: the tangent outputs by the name
// of the output they are the tangent of.
func (p *jvpProblem) tangentOutputs() map[string]*ir.Tensor {
	env := map[string]*ir.Tensor{}
	for k, t := range p.env {
		env[k] = t
	}
	for k, t := range p.tangents {
		env[passes.TangentName(k)] = t
	}
	res, err := ir.Interp(p.jg, ir.Env{Dims: p.dims, Inputs: env, Training: p.training})
	if err != nil {
		panic(fmt.Sprintf("interp jvp graph: %v", err))
	}
	m := map[string]*ir.Tensor{}
	for name, t := range res.Outputs {
		if o, ok := strings.CutPrefix(name, "tangent."); ok {
			m[o] = t
		}
	}
	return m
}

// outputsAt evaluates g with every leaf moved by s times its tangent.
func (p *jvpProblem) outputsAt(s float64) map[string]*ir.Tensor {
	env := map[string]*ir.Tensor{}
	for k, t := range p.env {
		env[k] = t
	}
	for k, d := range p.tangents {
		x := p.env[k].Clone()
		for i := range x.F {
			x.F[i] += s * d.F[i]
		}
		env[k] = x
	}
	res, err := ir.Interp(p.g, ir.Env{Dims: p.dims, Inputs: env, Training: p.training})
	if err != nil {
		panic(fmt.Sprintf("interp forward: %v", err))
	}
	out := res.Outputs
	if res.Objective != nil {
		out["objective"] = res.Objective
	}
	return out
}

// check compares every tangent output with central differences and
// returns the worst relative error.
func (p *jvpProblem) check() (worst float64, err error) {
	got := p.tangentOutputs()
	plus, minus := p.outputsAt(jvpStep), p.outputsAt(-jvpStep)
	if len(got) == 0 {
		return 0, fmt.Errorf("the JVP graph has no tangent outputs")
	}
	for name, t := range got {
		fp, fm := plus[name], minus[name]
		if fp == nil {
			return 0, fmt.Errorf("no output %q to compare tangent.%s with", name, name)
		}
		diff, scale := 0.0, 0.0
		for i := range t.F {
			fd := (fp.F[i] - fm.F[i]) / (2 * jvpStep)
			diff = math.Max(diff, math.Abs(t.F[i]-fd))
			scale = math.Max(scale, math.Abs(fd))
			if math.IsNaN(t.F[i]) {
				diff = math.NaN()
			}
		}
		e := diff / math.Max(scale, 1e-12)
		if scale == 0 && diff == 0 {
			e = 0
		}
		if !(e <= jvpTol) {
			return e, fmt.Errorf("tangent of %s: relative error %.3g > %g (max |ẏ − fd| %.3g, max |fd| %.3g)", name, e, jvpTol, diff, scale)
		}
		worst = math.Max(worst, e)
	}
	return worst, nil
}

// opValue is the value of the op under test in a buildCase graph.
func opValue(g *ir.Graph, op *ir.OpDef) *ir.Value {
	for i := len(g.Values) - 1; i >= 0; i-- {
		if g.Values[i].Op == op {
			return g.Values[i]
		}
	}
	return nil
}

func TestJVPRegistry(t *testing.T) {
	worst, worstCase := 0.0, ""
	for _, op := range ir.Ops() {
		if !op.Differentiable() {
			if op.JVP != nil {
				t.Errorf("non-differentiable op %s has a JVP rule", op.Name)
			}
			continue
		}
		if op.JVP == nil {
			t.Errorf("op %s has no JVP rule", op.Name)
			continue
		}
		if _, ok := coveredElsewhere[op.Name]; ok {
			continue // extern, custom_vjp: TestJVPNoRule
		}
		cases := vjpCases[op.Name]
		if len(cases) == 0 {
			t.Errorf("op %s has no case in vjpCases", op.Name)
			continue
		}
		for i, c := range cases {
			t.Run(op.Name+"/"+c.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(op.Name)), uint64(i)))
				g, env, err := buildCase(op.Name, c, rng)
				if err != nil {
					t.Fatalf("building the case: %v", err)
				}
				g.AddOutput("y", opValue(g, op))
				var wrt []string
				for j, a := range c.args {
					if a.kind == diffArg {
						wrt = append(wrt, fmt.Sprintf("a%d", j))
					}
				}
				p, err := newJVPProblem(g, wrt, env, rand.New(rand.NewPCG(7, uint64(i))))
				if err != nil {
					t.Fatalf("passes.JVP: %v\n%s", err, ir.Print(g))
				}
				p.training = op.Training
				e, err := p.check()
				if e > worst && err == nil {
					worst, worstCase = e, op.Name+"/"+c.name
				}
				if err != nil {
					t.Errorf("%v\nJVP graph:\n%s", err, ir.Print(p.jg))
				}
			})
		}
	}
	t.Logf("worst relative error of a passing rule: %.3g (%s); tolerance %g", worst, worstCase, jvpTol)
}

// TestRegisterRejectsOpWithoutJVP: an op with a VJP rule but no JVP rule
// cannot enter the table (nor a NonDiff op with one).
func TestRegisterRejectsOpWithoutJVP(t *testing.T) {
	name := "test_incomplete_op_without_jvp"
	elementwise := ir.MustLookup("neg").TypeRule
	panicked := func(op *ir.OpDef) (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		ir.Register(op)
		return ""
	}
	vjp := func(b *ir.Builder, v, g *ir.Value) []*ir.Value { return []*ir.Value{g} }
	msg := panicked(&ir.OpDef{Name: name, Doc: "identity with a VJP rule but no JVP rule", Class: ir.Elementwise, Arity: 1, Formula: "x", TypeRule: elementwise, VJP: vjp})
	if !strings.Contains(msg, "has a VJP rule but no JVP rule") {
		t.Errorf("ir.Register of an op with a VJP but no JVP: panic %q, want one naming the missing JVP rule", msg)
	}
	if ir.Lookup(name) != nil {
		t.Errorf("the rejected op %s was registered anyway", name)
	}
	msg = panicked(&ir.OpDef{Name: name, Doc: "identity", Class: ir.Elementwise, Arity: 1, Formula: "x", TypeRule: elementwise, NonDiff: true, JVP: ir.DiagJVP})
	if !strings.Contains(msg, "JVP rule and a NonDiff mark") {
		t.Errorf("ir.Register of a NonDiff op with a JVP rule: panic %q", msg)
	}
	if ir.Lookup(name) != nil {
		t.Errorf("the rejected op %s was registered anyway", name)
	}
}

// TestJVPNoRule: forward mode through custom_vjp, extern, or extern's Go
// backward (forward-over-reverse) is a clear error, never a number.
func TestJVPNoRule(t *testing.T) {
	for name, g := range map[string]*ir.Graph{
		"custom_vjp": build64(t, "ste", steModel(1)),
		"extern":     build64(t, "extern", externModel(extMulSinVJP)),
	} {
		_, err := passes.JVP(g, passes.JVPOptions{})
		if err == nil || !strings.Contains(err.Error(), name+" has no JVP rule") {
			t.Errorf("JVP through %s: error %v, want one saying %s has no JVP rule", name, err, name)
		}
		joint, _, err := passes.Grad(g, passes.GradOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = passes.JVP(joint, passes.JVPOptions{})
		if err == nil || !strings.Contains(err.Error(), "has no JVP rule") {
			t.Errorf("JVP of the gradient through %s: error %v, want one saying there is no JVP rule", name, err)
		}
	}
}
