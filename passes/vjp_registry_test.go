package passes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// This file walks the op table: every differentiable op's VJP rule is
// checked, through passes.Grad on a tiny graph, against central finite
// differences, and every non-differentiable op is checked to stop the
// gradient. A newly registered op fails TestVJPRegistry until it has a
// case here.

// domain maps a point of the test grid (distinct values in about ±2, none
// within 0.02 of 0) into an op's domain. Every domain is strictly
// increasing, so distinct grid points stay distinct: no ties for
// max/min/maximum/minimum, and no value at a kink (0 for relu, abs,
// leaky_relu, sign).
type domain func(float64) float64

var (
	anyReal  domain = func(v float64) float64 { return v }
	positive domain = func(v float64) float64 { return (v + 2.5) / 2 } // about [0.26, 2.24]: log, sqrt, pow's base, negative powers
	awayZero domain = func(v float64) float64 {                        // |x| ≥ 0.52: denominators
		if v < 0 {
			return v - 0.5
		}
		return v + 0.5
	}
	aboveM1 domain = func(v float64) float64 { return 0.4 * v }     // about ±0.8: log1p
	unit    domain = func(v float64) float64 { return (v + 2) / 4 } // (0, 1): targets
)

type argKind uint8

const (
	diffArg  argKind = iota // a float64 param: checked against finite differences
	fixedArg                // a float64 input not differentiated (explicit values)
	intArg                  // an int32 input (labels, indices)
)

type argSpec struct {
	kind  argKind
	shape []int
	dom   domain    // diffArg
	vals  []float64 // fixedArg
	ints  []int32   // intArg
}

func p(shape ...int) argSpec              { return argSpec{kind: diffArg, shape: shape, dom: anyReal} }
func pd(dom domain, shape ...int) argSpec { return argSpec{kind: diffArg, shape: shape, dom: dom} }
func fixed(vals []float64, shape ...int) argSpec {
	return argSpec{kind: fixedArg, shape: shape, vals: vals}
}
func ints(vals []int32, shape ...int) argSpec { return argSpec{kind: intArg, shape: shape, ints: vals} }

// vjpCase is one application of an op: its arguments and attributes.
type vjpCase struct {
	name   string
	args   []argSpec
	attrs  ir.Attrs
	unused []string // params the rule rightly gives no gradient (passes.GradReport.Unused)
}

// unaryCases: a matrix and a scalar in the op's domain.
func unaryCases(dom domain, attrs ir.Attrs) []vjpCase {
	return []vjpCase{
		{name: "[3,4]", args: []argSpec{pd(dom, 3, 4)}, attrs: attrs},
		{name: "scalar", args: []argSpec{pd(dom)}, attrs: attrs},
	}
}

// binaryCases: equal shapes and the broadcasting variants.
func binaryCases(dx, dy domain) []vjpCase {
	return []vjpCase{
		{name: "[3,4]⊕[3,4]", args: []argSpec{pd(dx, 3, 4), pd(dy, 3, 4)}},
		{name: "[3,4]⊕[4]", args: []argSpec{pd(dx, 3, 4), pd(dy, 4)}},
		{name: "[4]⊕[3,4]", args: []argSpec{pd(dx, 4), pd(dy, 3, 4)}},
		{name: "[3,1]⊕[1,4]", args: []argSpec{pd(dx, 3, 1), pd(dy, 1, 4)}},
		{name: "scalar⊕[2,3]", args: []argSpec{pd(dx), pd(dy, 2, 3)}},
		{name: "[2,3]⊕scalar", args: []argSpec{pd(dx, 2, 3), pd(dy)}},
		{name: "[2,1,4]⊕[3,1]", args: []argSpec{pd(dx, 2, 1, 4), pd(dy, 3, 1)}},
	}
}

// reduceCases: axes and keepdims variants over ranks 1 to 3.
func reduceCases() []vjpCase {
	r := func(name string, shape []int, axes []int, keep bool) vjpCase {
		return vjpCase{name: name, args: []argSpec{p(shape...)}, attrs: ir.Attrs{"axes": axes, "keepdims": keep}}
	}
	return []vjpCase{
		r("[3,4]/axes=[0]", []int{3, 4}, []int{0}, false),
		r("[3,4]/axes=[1]/keepdims", []int{3, 4}, []int{1}, true),
		r("[3,4]/axes=[0,1]", []int{3, 4}, []int{0, 1}, false),
		r("[3,4]/axes=[0,1]/keepdims", []int{3, 4}, []int{0, 1}, true),
		r("[5]/axes=[0]", []int{5}, []int{0}, false),
		r("[2,3,4]/axes=[0,2]", []int{2, 3, 4}, []int{0, 2}, false),
		r("[2,3,4]/axes=[1]/keepdims", []int{2, 3, 4}, []int{1}, true),
	}
}

func axisCases() []vjpCase {
	a := func(name string, shape []int, axis int) vjpCase {
		return vjpCase{name: name, args: []argSpec{p(shape...)}, attrs: ir.Attrs{"axis": axis}}
	}
	return []vjpCase{a("[3,4]/axis=0", []int{3, 4}, 0), a("[3,4]/axis=1", []int{3, 4}, 1), a("[5]/axis=0", []int{5}, 0), a("[2,3,4]/axis=1", []int{2, 3, 4}, 1)}
}

// matmulCases: every transA/transB combination, rank 2, rank 3 (batched) and
// broadcast batch dims (of either operand, missing or of size 1),
// with m, k, n all different so a wrong transpose cannot type-check by luck.
func matmulCases() []vjpCase {
	var cs []vjpCase
	const m, k, n = 2, 3, 4
	for _, batch := range []int{0, 2} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a, bs := []int{m, k}, []int{k, n}
				if ta {
					a = []int{k, m}
				}
				if tb {
					bs = []int{n, k}
				}
				name := fmt.Sprintf("rank2/transA=%v/transB=%v", ta, tb)
				if batch > 0 {
					a, bs = append([]int{batch}, a...), append([]int{batch}, bs...)
					name = fmt.Sprintf("rank3/transA=%v/transB=%v", ta, tb)
				}
				cs = append(cs, vjpCase{name: name, args: []argSpec{p(a...), p(bs...)}, attrs: ir.Attrs{"transA": ta, "transB": tb}})
			}
		}
	}
	// Broadcast batch dims (torch.matmul): the cotangent of the operand
	// that was broadcast is summed over the batch dims it stretched along.
	bcast := []struct {
		name   string
		ab, bb []int // batch dims of a and b
	}{
		{"[2,3]·rank2", []int{2, 3}, nil},
		{"rank2·[2]", nil, []int{2}},
		{"[2,1]·[3]", []int{2, 1}, []int{3}},
		{"[2,3]·[3]", []int{2, 3}, []int{3}},
		{"[2,3]·[1]", []int{2, 3}, []int{1}},
		{"[1,3]·[2,1]", []int{1, 3}, []int{2, 1}},
	}
	for _, c := range bcast {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a, bs := []int{m, k}, []int{k, n}
				if ta {
					a = []int{k, m}
				}
				if tb {
					bs = []int{n, k}
				}
				a, bs = append(append([]int{}, c.ab...), a...), append(append([]int{}, c.bb...), bs...)
				name := fmt.Sprintf("bcast%s/transA=%v/transB=%v", c.name, ta, tb)
				cs = append(cs, vjpCase{name: name, args: []argSpec{p(a...), p(bs...)}, attrs: ir.Attrs{"transA": ta, "transB": tb}})
			}
		}
	}
	return cs
}

// vjpCases is the case table: every differentiable op but those in
// coveredElsewhere has at least one case.
var vjpCases = map[string][]vjpCase{
	"neg":        unaryCases(anyReal, nil),
	"abs":        unaryCases(anyReal, nil),
	"exp":        unaryCases(anyReal, nil),
	"log":        unaryCases(positive, nil),
	"log1p":      unaryCases(aboveM1, nil),
	"sqrt":       unaryCases(positive, nil),
	"square":     unaryCases(anyReal, nil),
	"reciprocal": unaryCases(awayZero, nil),
	"tanh":       unaryCases(anyReal, nil),
	"sigmoid":    unaryCases(anyReal, nil),
	"relu":       unaryCases(anyReal, nil),
	"softplus":   unaryCases(anyReal, nil),
	"sin":        unaryCases(anyReal, nil),
	"cos":        unaryCases(anyReal, nil),
	"leaky_relu": append(unaryCases(anyReal, ir.Attrs{"alpha": 0.1}),
		vjpCase{name: "alpha=-0.5", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"alpha": -0.5}},
		vjpCase{name: "alpha=0", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"alpha": 0.0}}),
	"powc": {
		{name: "p=3", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"p": 3.0}},
		{name: "p=2", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"p": 2.0}},
		{name: "p=1", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"p": 1.0}},
		{name: "p=0", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"p": 0.0}, unused: []string{"a0"}}, // x⁰ is constant
		{name: "p=-2", args: []argSpec{pd(awayZero, 3, 4)}, attrs: ir.Attrs{"p": -2.0}},
		{name: "p=0.5", args: []argSpec{pd(positive, 3, 4)}, attrs: ir.Attrs{"p": 0.5}},
		{name: "p=-1.5", args: []argSpec{pd(positive, 3, 4)}, attrs: ir.Attrs{"p": -1.5}},
	},
	// float64 → float64; float32 round trips are checked exactly in TestConvertVJP.
	"convert": unaryCases(anyReal, ir.Attrs{"dtype": ir.F64}),

	"add":        binaryCases(anyReal, anyReal),
	"sub":        binaryCases(anyReal, anyReal),
	"mul":        binaryCases(anyReal, anyReal),
	"div":        binaryCases(anyReal, awayZero),
	"maximum":    binaryCases(anyReal, anyReal),
	"minimum":    binaryCases(anyReal, anyReal),
	"pow":        binaryCases(positive, anyReal),
	"bce_logits": binaryCases(anyReal, unit),
	"select": {
		{name: "[3,4]", args: []argSpec{fixed(nil, 3, 4), p(3, 4), p(3, 4)}},
		{name: "c[3,4]/x[4]/y[3,1]", args: []argSpec{fixed(nil, 3, 4), p(4), p(3, 1)}},
		{name: "c[3,1]/x[1,4]/y-scalar", args: []argSpec{fixed(nil, 3, 1), p(1, 4), p()}},
		{name: "c-scalar/x[2,3]/y[2,3]", args: []argSpec{fixed([]float64{1}), p(2, 3), p(2, 3)}},
		// A condition that is a param (nonzero, so every element picks x)
		// gets no gradient, which is also its true derivative.
		{name: "c-param", args: []argSpec{pd(awayZero, 3, 4), p(3, 4), p(3, 4)}, unused: []string{"a0"}},
	},

	"matmul": matmulCases(),

	"sum":         reduceCases(),
	"mean":        reduceCases(),
	"max":         reduceCases(),
	"min":         reduceCases(),
	"logsumexp":   reduceCases(),
	"softmax":     axisCases(),
	"log_softmax": axisCases(),
	"softmax_xent": {
		{name: "[3,4]", args: []argSpec{p(3, 4), ints([]int32{2, 0, 3}, 3)}},
		{name: "[2,3,5]", args: []argSpec{p(2, 3, 5), ints([]int32{4, 0, 1, 1, 3, 2}, 2, 3)}},
	},

	"reshape": {
		{name: "[3,4]→[2,6]", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"shape": ir.S(2, 6)}},
		{name: "[2,3,2]→[12]", args: []argSpec{p(2, 3, 2)}, attrs: ir.Attrs{"shape": ir.S(12)}},
		{name: "scalar→[1,1]", args: []argSpec{p()}, attrs: ir.Attrs{"shape": ir.S(1, 1)}},
	},
	"transpose": {
		{name: "[3,4]/perm=[1,0]", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"perm": []int{1, 0}}},
		{name: "[2,3,4]/perm=[2,0,1]", args: []argSpec{p(2, 3, 4)}, attrs: ir.Attrs{"perm": []int{2, 0, 1}}},
		{name: "[2,3,4]/perm=[1,2,0]", args: []argSpec{p(2, 3, 4)}, attrs: ir.Attrs{"perm": []int{1, 2, 0}}},
	},
	"broadcast_to": {
		{name: "[4]→[3,4]", args: []argSpec{p(4)}, attrs: ir.Attrs{"shape": ir.S(3, 4)}},
		{name: "[3,1]→[2,3,4]", args: []argSpec{p(3, 1)}, attrs: ir.Attrs{"shape": ir.S(2, 3, 4)}},
		{name: "scalar→[2,3]", args: []argSpec{p()}, attrs: ir.Attrs{"shape": ir.S(2, 3)}},
		{name: "[1,4]→[3,4]", args: []argSpec{p(1, 4)}, attrs: ir.Attrs{"shape": ir.S(3, 4)}},
	},
	"slice": {
		{name: "[5,3]/axis=0/[1:4]", args: []argSpec{p(5, 3)}, attrs: ir.Attrs{"axis": 0, "start": 1, "end": 4}},
		{name: "[2,6]/axis=1/[0:2]", args: []argSpec{p(2, 6)}, attrs: ir.Attrs{"axis": 1, "start": 0, "end": 2}},
		{name: "[2,6,2]/axis=1/[3:6]", args: []argSpec{p(2, 6, 2)}, attrs: ir.Attrs{"axis": 1, "start": 3, "end": 6}},
	},
	"pad": {
		{name: "[3,4]/axis=0/1+2", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"axis": 0, "before": 1, "after": 2}},
		{name: "[3,4]/axis=1/0+3", args: []argSpec{p(3, 4)}, attrs: ir.Attrs{"axis": 1, "before": 0, "after": 3}},
		{name: "[2,2,3]/axis=2/2+0", args: []argSpec{p(2, 2, 3)}, attrs: ir.Attrs{"axis": 2, "before": 2, "after": 0}},
	},
	"concat": {
		{name: "axis=0/2-args", args: []argSpec{p(2, 3), p(4, 3)}, attrs: ir.Attrs{"axis": 0}},
		{name: "axis=1/3-args", args: []argSpec{p(2, 1), p(2, 3), p(2, 2)}, attrs: ir.Attrs{"axis": 1}},
		{name: "axis=0/1-arg", args: []argSpec{p(3, 2)}, attrs: ir.Attrs{"axis": 0}},
	},
	"gather": { // repeated indices: their cotangents must add up
		{name: "[4,3]/axis=0", args: []argSpec{p(4, 3), ints([]int32{2, 0, 2, 3, 1}, 5)}, attrs: ir.Attrs{"axis": 0}},
		{name: "[2,4]/axis=1/idx[2,3]", args: []argSpec{p(2, 4), ints([]int32{3, 0, 3, 1, 1, 2}, 2, 3)}, attrs: ir.Attrs{"axis": 1}},
	},
	"scatter_add": {
		{name: "[4,3]/axis=0", args: []argSpec{p(5, 3), ints([]int32{2, 0, 2, 3, 1}, 5)}, attrs: ir.Attrs{"axis": 0, "shape": ir.S(4, 3)}},
		{name: "[2,4]/axis=1", args: []argSpec{p(2, 2, 3), ints([]int32{3, 0, 3, 1, 1, 2}, 2, 3)}, attrs: ir.Attrs{"axis": 1, "shape": ir.S(2, 4)}},
	},
}

// coveredElsewhere are differentiable ops whose gradient needs more than
// one op to set up (a registered Go function, a backward func): their
// tests are named here.
var coveredElsewhere = map[string]string{
	"extern":     "TestExternGradient (grad_test.go)",
	"custom_vjp": "TestCustomVJPStraightThrough, TestCustomVJPGradientClipping (grad_test.go)",
}

// buildCase makes params a0, a1, … (inputs for fixed and int arguments),
// v = op(a0, a1, …) and the objective sum(v ⊙ w) for a fixed input w of
// random signed weights, so the cotangent reaching the rule is not uniform.
func buildCase(opName string, c vjpCase, rng *rand.Rand) (*ir.Graph, map[string]*ir.Tensor, error) {
	b := ir.NewBuilder("vjp." + opName)
	env := map[string]*ir.Tensor{}
	// Draw every differentiable element from one grid without replacement.
	total := 0
	for _, a := range c.args {
		if a.kind == diffArg {
			n := 1
			for _, d := range a.shape {
				n *= d
			}
			total += n
		}
	}
	npts := max(80, total)
	grid := make([]float64, npts)
	for i := range grid {
		grid[i] = -2 + 4*(float64(i)+0.5)/float64(npts)
	}
	rng.Shuffle(len(grid), func(i, j int) { grid[i], grid[j] = grid[j], grid[i] })
	next := 0

	var args []*ir.Value
	for i, a := range c.args {
		name := fmt.Sprintf("a%d", i)
		t := ir.NewTensor(ir.F64, a.shape...)
		switch a.kind {
		case diffArg:
			for j := range t.F {
				t.F[j] = a.dom(grid[next])
				next++
			}
			args = append(args, b.Param(name, ir.T(ir.F64, shp(a.shape)), ir.Attrs{"init": "zeros"}))
		case fixedArg:
			if a.vals != nil {
				copy(t.F, a.vals)
			} else {
				for j := range t.F {
					t.F[j] = float64(rng.IntN(2))
				}
			}
			args = append(args, b.Input(name, ir.T(ir.F64, shp(a.shape))))
		case intArg:
			t = ir.FromInts(a.ints, a.shape...)
			args = append(args, b.Input(name, ir.T(ir.I32, shp(a.shape))))
		}
		env[name] = t
	}
	v := b.Op(opName, c.attrs, args...)
	if err := b.Err(); err != nil {
		return nil, nil, err
	}
	b.Graph().Objective = weightedSum(b, v, "w")
	env["w"] = signedWeights(rng, shapeInts(v.Type.Shape)...)
	if err := b.Err(); err != nil {
		return nil, nil, err
	}
	return b.Graph(), env, ir.Verify(b.Graph())
}

func TestVJPRegistry(t *testing.T) {
	var nonDiff []string
	worst, worstCase := 0.0, ""
	for _, op := range ir.Ops() {
		if !op.Differentiable() {
			nonDiff = append(nonDiff, op.Name)
			continue
		}
		if _, ok := coveredElsewhere[op.Name]; ok {
			continue
		}
		cases := vjpCases[op.Name]
		if len(cases) == 0 {
			t.Errorf("op %s has no gradient test case", op.Name)
			continue
		}
		for i, c := range cases {
			t.Run(op.Name+"/"+c.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(op.Name)), uint64(i)))
				g, env, err := buildCase(op.Name, c, rng)
				if err != nil {
					t.Fatalf("building the case: %v", err)
				}
				prob, err := newGradProblem(g, nil, env, nil)
				if err != nil {
					t.Fatalf("passes.Grad: %v\n%s", err, ir.Print(g))
				}
				prob.training = op.Training // batch_norm: the rule of the training step
				if !slices.Equal(prob.report.Unused, c.unused) {
					t.Errorf("params %v reported unused, want %v", prob.report.Unused, c.unused)
				}
				rep, err := prob.check(uint64(i))
				if e := reportWorst(rep); e > worst {
					worst, worstCase = e, op.Name+"/"+c.name
				}
				if err != nil {
					t.Errorf("%v\n%s\njoint graph:\n%s", err, rep, ir.Print(prob.joint))
				}
			})
		}
	}
	for name := range vjpCases {
		if op := ir.Lookup(name); op == nil || !op.Differentiable() {
			t.Errorf("the case table names %s, which is not a differentiable op", name)
		}
	}
	for name := range coveredElsewhere {
		if op := ir.Lookup(name); op == nil || !op.Differentiable() {
			t.Errorf("coveredElsewhere names %s, which is not a differentiable op", name)
		}
	}
	for name := range nonDiffElsewhere {
		if op := ir.Lookup(name); op == nil || op.Differentiable() {
			t.Errorf("nonDiffElsewhere names %s, which is not a non-differentiable op", name)
		}
	}
	t.Logf("worst relative error of a passing rule: %.3g (%s); tolerance %g", worst, worstCase, gradTol)
	t.Logf("non-differentiable ops (checked by TestNonDiffOpsStopGradient): %s", strings.Join(nonDiff, " "))
}

// TestRegisterRejectsOpWithoutVJP: an op with neither a VJP rule nor a
// NonDiff mark cannot enter the table, so TestVJPRegistry only has to
// deal with the two kinds.
func TestRegisterRejectsOpWithoutVJP(t *testing.T) {
	name := "test_incomplete_op_without_vjp"
	if ir.Lookup(name) != nil {
		t.Fatalf("op %s is already registered", name)
	}
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
	msg := panicked(&ir.OpDef{Name: name, Doc: "identity, but no VJP and no NonDiff mark", Class: ir.Elementwise, Arity: 1, Formula: "x", TypeRule: elementwise})
	if !strings.Contains(msg, "neither a VJP rule nor a NonDiff mark") {
		t.Errorf("ir.Register of an op without VJP or NonDiff: panic %q, want one naming the missing VJP rule", msg)
	}
	if ir.Lookup(name) != nil {
		t.Errorf("the rejected op %s was registered anyway", name)
	}
	// Both at once is rejected too.
	msg = panicked(&ir.OpDef{Name: name, Doc: "identity", Class: ir.Elementwise, Arity: 1, Formula: "x", TypeRule: elementwise, NonDiff: true,
		VJP: func(b *ir.Builder, v, g *ir.Value) []*ir.Value { return []*ir.Value{g} }})
	if !strings.Contains(msg, "VJP rule and a NonDiff mark") {
		t.Errorf("ir.Register of an op with both VJP and NonDiff: panic %q", msg)
	}
	if ir.Lookup(name) != nil {
		t.Errorf("the rejected op %s was registered anyway", name)
	}
}

// nonDiffCases build, from a float param p of shape [3,4], a float value
// that depends on p only through the op.
var nonDiffCases = map[string]func(b *ir.Builder, p *ir.Value) *ir.Value{
	"sign":          func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("sign", nil, p) },
	"stop_gradient": func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("stop_gradient", nil, p) },
	"eq":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("eq", nil, p, b.ScalarLike(0.5, p)) },
	"ne":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("ne", nil, p, b.ScalarLike(0.5, p)) },
	"lt":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("lt", nil, p, b.ScalarLike(0.5, p)) },
	"le":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("le", nil, b.ScalarLike(0.5, p), p) },
	"gt":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("gt", nil, p, b.ScalarLike(0.5, p)) },
	"ge":            func(b *ir.Builder, p *ir.Value) *ir.Value { return b.Op("ge", nil, b.ScalarLike(0.5, p), p) },
	"argmax": func(b *ir.Builder, p *ir.Value) *ir.Value {
		return b.Reshape(b.Op("convert", ir.Attrs{"dtype": ir.F64}, b.Op("argmax", ir.Attrs{"axis": 1}, p)), ir.S(3, 1))
	},
	"onehot": func(b *ir.Builder, p *ir.Value) *ir.Value {
		return b.Op("onehot", ir.Attrs{"depth": 4, "dtype": ir.F64}, b.Op("argmax", ir.Attrs{"axis": 1}, p))
	},
}

// nonDiffElsewhere are non-differentiable ops checked in another test.
var nonDiffElsewhere = map[string]string{
	"extern_vjp": "TestExternGradient (grad_test.go)",
}

// TestNonDiffOpsStopGradient: for every NonDiff op, an objective that
// depends on a param p only through the op gives p no gradient: p is
// listed in GradReport.Unused and its gradient output is zero. The
// objective also depends on a second param q directly, so the backward
// pass does run through the op's consumers.
func TestNonDiffOpsStopGradient(t *testing.T) {
	for _, op := range ir.Ops() {
		if op.Differentiable() {
			continue
		}
		if op.Class == ir.Source {
			if op.Arity != 0 {
				t.Errorf("source op %s takes arguments", op.Name)
			}
			continue // no arguments: nothing can flow through it
		}
		if _, ok := nonDiffElsewhere[op.Name]; ok {
			continue
		}
		build := nonDiffCases[op.Name]
		if build == nil {
			t.Errorf("non-differentiable op %s has no stop-gradient test case", op.Name)
			continue
		}
		t.Run(op.Name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(op.Name))))
			b := ir.NewBuilder("nondiff." + op.Name)
			pv := b.Param("p", ir.T(ir.F64, ir.S(3, 4)), ir.Attrs{"init": "zeros"})
			qv := b.Param("q", ir.T(ir.F64, ir.S(3, 4)), ir.Attrs{"init": "zeros"})
			v := build(b, pv)
			if !slices.ContainsFunc(b.Graph().Values, func(x *ir.Value) bool { return x.Op == op }) {
				t.Fatalf("the case does not use op %s", op.Name)
			}
			obj := b.Add(weightedSum(b, b.Mul(v, qv), "w"), weightedSum(b, qv, "w2"))
			b.Graph().Objective = obj
			g := mustBuild(t, b)
			env := map[string]*ir.Tensor{"p": randTensor(rng, -1, 1, 3, 4), "q": randTensor(rng, -1, 1, 3, 4)}
			env["w"] = signedWeights(rng, 3, 4)
			env["w2"] = signedWeights(rng, 3, 4)
			prob, err := newGradProblem(g, nil, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(prob.report.Unused, []string{"p"}) {
				t.Errorf("report.Unused = %v, want [p]", prob.report.Unused)
			}
			gs := prob.grads(env)
			for i, x := range gs["p"].F {
				if x != 0 {
					t.Fatalf("grad/p[%d] = %g, want 0", i, x)
				}
			}
			// Away from thresholds these ops are piecewise constant, so the
			// finite-difference gradient of p is zero too; stop_gradient's
			// true derivative is not zero, so for it only q is compared.
			names := []string{"p", "q"}
			if op == ir.OpStopGradient {
				names = []string{"q"}
			}
			if _, err := prob.check(1, names...); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// TestConvertVJP: the cotangent of a float32 → float64 conversion is
// converted back to float32, exactly.
func TestConvertVJP(t *testing.T) {
	b := ir.NewBuilder("convert")
	x := b.Param("x", ir.T(ir.F32, ir.S(2, 3)), ir.Attrs{"init": "zeros"})
	y := b.Op("convert", ir.Attrs{"dtype": ir.F64}, x)
	b.Graph().Objective = weightedSum(b, y, "w")
	g := mustBuild(t, b)
	rng := rand.New(rand.NewPCG(3, 3))
	w := randTensor(rng, -1, 1, 2, 3)
	env := map[string]*ir.Tensor{"x": ir.FromFloats(ir.F32, []float64{1, 2, 3, 4, 5, 6}, 2, 3), "w": w}
	prob, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	gx := prob.grads(env)["x"]
	if gx.DType != ir.F32 {
		t.Fatalf("grad/x is %v, want f32", gx.DType)
	}
	for i := range w.F {
		if want := float64(float32(w.F[i])); gx.F[i] != want {
			t.Errorf("grad/x[%d] = %v, want float32(w) = %v", i, gx.F[i], want)
		}
	}
}

// TestPowGradientAtZero: xʸ and xᵖ at x = 0 have finite gradients where
// the function is smooth (JAX's convention at the singular points): the
// rules used to give 0·(−∞) = NaN for ∂y at x = 0 and 0·∞ = NaN for the
// derivative of x⁰.
func TestPowGradientAtZero(t *testing.T) {
	b := ir.NewBuilder("pow0")
	x := b.Param("x", ir.T(ir.F64, ir.S(4)), ir.Attrs{"init": "zeros"})
	y := b.Param("y", ir.T(ir.F64, ir.S(4)), ir.Attrs{"init": "zeros"})
	z := b.Param("z", ir.T(ir.F64, ir.S(4)), ir.Attrs{"init": "zeros"})
	b.Graph().Objective = b.Add(weightedSum(b, b.Op("pow", nil, x, y), "w"), weightedSum(b, b.Op("powc", ir.Attrs{"p": 0.0}, z), "w2"))
	g := mustBuild(t, b)
	w := []float64{1.5, -0.75, 2, 0.5}
	env := map[string]*ir.Tensor{
		"x": ir.FromFloats(ir.F64, []float64{0, 0, 1.5, 0}, 4),
		"y": ir.FromFloats(ir.F64, []float64{2, 3, 0.5, 0}, 4),
		"z": ir.FromFloats(ir.F64, []float64{0, 1, -2, 0.5}, 4),
		"w": ir.FromFloats(ir.F64, w, 4), "w2": ir.FromFloats(ir.F64, w, 4),
	}
	prob, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	gs := prob.grads(env)
	// ∂/∂x xʸ = y·x^(y−1): 0 at (0, 2) and (0, 3); at (0, 0) x⁰ is taken as constant.
	wantX := []float64{0, 0, w[2] * 0.5 / math.Sqrt(1.5), 0}
	// ∂/∂y xʸ = xʸ·log x: 0ʸ is constant for y > 0, and 0 at (0, 0) by convention.
	wantY := []float64{0, 0, w[2] * math.Sqrt(1.5) * math.Log(1.5), 0}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{{"∂J/∂x", gs["x"].F, wantX}, {"∂J/∂y", gs["y"].F, wantY}, {"∂J/∂z (z⁰)", gs["z"].F, make([]float64, 4)}} {
		for i := range c.want {
			if !(math.Abs(c.got[i]-c.want[i]) <= 1e-15) { // NaN, the old rules' answer, fails
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				break
			}
		}
	}
}
