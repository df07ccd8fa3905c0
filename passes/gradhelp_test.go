package passes_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/internal/randgraph"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// gradTol is the relative tolerance (gradcheck.RelErr) at which a gradient
// computed by passes.Grad and ir.Interp must agree with central finite
// differences in float64. With gradcheck's default step h = 1e-6·max(1,|x|)
// the central difference has truncation error ~h²·|f”'|/6 ≈ 1e-12 and
// round-off error ~ε·|f|/h ≈ 1e-10·|f| for the order-one functions and
// inputs (kept in about [-2.5, 2.5], away from kinks and domain edges) the
// tests use, so correct rules agree to ~1e-8 or better; 1e-6 leaves two
// orders of margin, while a wrong rule (a missing term, a transpose, a
// factor, an un-summed broadcast) is off by 1e-2 or more.
const gradTol = 1e-6

// gradProblem is a graph with a scalar objective, the values of all its
// inputs and params, and the joint graph passes.Grad made from it: a
// gradcheck.Func over the leaves (every param, and the Wrt inputs).
type gradProblem struct {
	g, joint *ir.Graph
	report   *passes.GradReport
	dims     map[string]int
	env      map[string]*ir.Tensor // every input and param
	leaves   []*ir.Value           // params, then Wrt inputs, in graph order
	training bool                  // evaluate in training mode (Env.Training), as the training step differentiates
}

// newGradProblem runs passes.Grad on g (differentiating also with respect
// to the inputs named in wrt) and binds env.
func newGradProblem(g *ir.Graph, wrt []string, env map[string]*ir.Tensor, dims map[string]int) (*gradProblem, error) {
	joint, rep, err := passes.Grad(g, passes.GradOptions{Wrt: wrt})
	if err != nil {
		return nil, err
	}
	p := &gradProblem{g: g, joint: joint, report: rep, dims: dims, env: env}
	for _, v := range g.Values {
		if v.Op == ir.OpParam || v.Op == ir.OpInput && slices.Contains(wrt, v.Name) {
			p.leaves = append(p.leaves, v)
		}
	}
	return p, nil
}

// bind returns env with the leaves replaced by vals (flat float64 data).
func (p *gradProblem) bind(vals [][]float64) map[string]*ir.Tensor {
	m := make(map[string]*ir.Tensor, len(p.env))
	for k, t := range p.env {
		m[k] = t
	}
	for i, l := range p.leaves {
		t := p.env[l.Name]
		m[l.Name] = ir.FromFloats(t.DType, vals[i], t.Shape...)
	}
	return m
}

// objective evaluates the forward graph.
func (p *gradProblem) objective(env map[string]*ir.Tensor) float64 {
	res, err := ir.Interp(p.g, ir.Env{Dims: p.dims, Inputs: env, Training: p.training})
	if err != nil {
		panic(fmt.Sprintf("interp forward: %v", err))
	}
	return res.Objective.Scalar()
}

// grads evaluates the joint graph and returns the gradient outputs by leaf name.
func (p *gradProblem) grads(env map[string]*ir.Tensor) map[string]*ir.Tensor {
	res, err := ir.Interp(p.joint, ir.Env{Dims: p.dims, Inputs: env, Training: p.training})
	if err != nil {
		panic(fmt.Sprintf("interp joint: %v", err))
	}
	m := map[string]*ir.Tensor{}
	for _, o := range p.joint.Outputs {
		if o.Grad != "" {
			m[o.Grad] = res.Outputs[o.Name]
		}
	}
	return m
}

// Func is the problem as a gradcheck.Func: Eval is the objective (one
// output), VJP the joint graph's gradients scaled by the cotangent.
func (p *gradProblem) Func() gradcheck.Func {
	f := gradcheck.Func{
		Eval: func(in [][]float64) []float64 { return []float64{p.objective(p.bind(in))} },
		VJP: func(in [][]float64, u []float64) [][]float64 {
			gs := p.grads(p.bind(in))
			r := make([][]float64, len(p.leaves))
			for i, l := range p.leaves {
				g := gs[l.Name]
				if g == nil {
					panic("no gradient output for " + l.Name)
				}
				r[i] = make([]float64, len(g.F))
				for j, x := range g.F {
					r[i][j] = u[0] * x
				}
			}
			return r
		},
	}
	for _, l := range p.leaves {
		t := p.env[l.Name]
		f.Inputs = append(f.Inputs, gradcheck.Input{Name: l.Name, Shape: t.Shape, Value: slices.Clone(t.F)})
	}
	return f
}

// check runs gradcheck.Check and returns the report and its verdict at
// gradTol; a panic in the interpreter becomes the error.
// Names, if given, restrict the check to those leaves.
func (p *gradProblem) check(seed uint64, names ...string) (rep gradcheck.Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	rep, err = gradcheck.Check(p.Func(), gradcheck.Options{Seed: seed, Inputs: names})
	if err != nil {
		return rep, err
	}
	return rep, rep.Err(gradTol)
}

// mustBuild fails the test if b recorded errors or the graph does not verify.
func mustBuild(t testing.TB, b *ir.Builder) *ir.Graph {
	t.Helper()
	if err := b.Err(); err != nil {
		t.Fatalf("building the graph: %v", err)
	}
	if err := ir.Verify(b.Graph()); err != nil {
		t.Fatalf("verify: %v", err)
	}
	return b.Graph()
}

// maxRelDiff is the largest |a-b| / max(|a|, |b|, floor) over elements;
// NaN if any element's is (max keeps a NaN, so no later element hides it).
func maxRelDiff(a, b []float64, floor float64) float64 {
	worst := 0.0
	for i := range a {
		worst = max(worst, math.Abs(a[i]-b[i])/math.Max(math.Max(math.Abs(a[i]), math.Abs(b[i])), floor))
	}
	return worst
}

// reportWorst is the largest relative error in a gradcheck report.
func reportWorst(r gradcheck.Report) float64 {
	w := r.DirectionalRelErr
	for _, in := range r.Inputs {
		w = math.Max(w, in.MaxRelErr)
	}
	return w
}

// The random graphs' helpers (internal/randgraph), under the names these
// tests use.
var (
	randTensor    = randgraph.Uniform
	signedWeights = randgraph.SignedWeights
	shapeInts     = randgraph.Ints
	allAxes       = randgraph.AllAxes
	weightedSum   = randgraph.WeightedSum
	shp           = randgraph.Shape
	randomGraph   = randgraph.Graph
)
