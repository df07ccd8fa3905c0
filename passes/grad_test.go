package passes_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// build64 builds a DSL model whose params and constants are float64.
func build64(t *testing.T, name string, fn func(g *dsl.Graph)) *ir.Graph {
	t.Helper()
	g, err := dsl.Build(name, func(g *dsl.Graph) {
		g.SetFloat(dsl.Float64)
		fn(g)
	})
	if err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	return g
}

// randomEnv binds every input and param of g (float64 ones uniform in
// [-1, 1), int32 ones to 0) except those already in env.
func randomEnv(g *ir.Graph, rng *rand.Rand, env map[string]*ir.Tensor) map[string]*ir.Tensor {
	if env == nil {
		env = map[string]*ir.Tensor{}
	}
	for _, v := range g.Values {
		if (v.Op != ir.OpInput && v.Op != ir.OpParam) || env[v.Name] != nil {
			continue
		}
		s := shapeInts(v.Type.Shape)
		if v.Type.DType == ir.I32 {
			env[v.Name] = ir.NewTensor(ir.I32, s...)
		} else {
			env[v.Name] = randTensor(rng, -1, 1, s...)
		}
	}
	return env
}

// checkFD fails the test if the problem's gradients disagree with finite
// differences at gradTol.
func checkFD(t *testing.T, p *gradProblem) {
	t.Helper()
	if rep, err := p.check(1); err != nil {
		t.Errorf("%v\n%s\njoint graph:\n%s", err, rep, ir.Print(p.joint))
	}
}

func wantEqual(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d elements, want %d", what, len(got), len(want))
	}
	if e := maxRelDiff(got, want, 1e-300); !(e <= tol) {
		t.Errorf("%s = %v,\nwant %v (max relative difference %.3g > %g)", what, got, want, e, tol)
	}
}

// autoencoder is a tied-weight autoencoder x → tanh(xW) → tanh(xW)·Wᵀ:
// W is used twice. stopEnc/stopDec cut one of the two uses.
func autoencoder(stopEnc, stopDec bool) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float64, 5, 6)
		W := g.Param("W", 6, 3)
		enc, dec := W, W
		if stopEnc {
			enc = W.StopGradient()
		}
		if stopDec {
			dec = W.StopGradient()
		}
		h := dsl.Tanh(x.MatMul(enc))
		g.Minimize(dsl.SquaredError(h.MatMul(dec.T()), x).Mean())
	}
}

// TestWeightTying: a param used twice (W in the encoder and Wᵀ in the
// decoder) gets the sum of both contributions.
func TestWeightTying(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var env map[string]*ir.Tensor
	grad := func(stopEnc, stopDec bool) (*gradProblem, []float64) {
		g := build64(t, "tied", autoencoder(stopEnc, stopDec))
		env = randomEnv(g, rng, env)
		p, err := newGradProblem(g, nil, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p, p.grads(env)["W"].F
	}
	full, gFull := grad(false, false)
	checkFD(t, full)
	_, gEnc := grad(false, true) // only the encoder's use of W
	_, gDec := grad(true, false) // only the decoder's
	sum := make([]float64, len(gEnc))
	for i := range sum {
		sum[i] = gEnc[i] + gDec[i]
	}
	wantEqual(t, "∂J/∂W", gFull, sum, 1e-13)
	if maxRelDiff(gFull, gEnc, 1e-12) < 1e-3 || maxRelDiff(gFull, gDec, 1e-12) < 1e-3 {
		t.Errorf("one use of W contributes nothing: the test does not exercise accumulation")
	}
	// The joint graph adds the two adjoints of W explicitly.
	if !slices.ContainsFunc(full.joint.Values, func(v *ir.Value) bool { return v.Op == ir.OpAdd && v.Type.Shape.Equal(ir.S(6, 3)) }) {
		t.Errorf("no [6,3] add in the joint graph: adjoints of W are not summed\n%s", ir.Print(full.joint))
	}
}

// steModel quantizes a = x·W to sign(a) with a straight-through estimator
// whose backward is g·1{|a| ≤ 1} (scaled by scale, to test that the
// user's rule is what the gradient follows).
func steModel(scale float64) func(g *dsl.Graph) {
	ste := dsl.CustomVJP("ste",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return dsl.Sign(xs[0]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			pass := dsl.LessEqual(dsl.Abs(xs[0]), 1.0)
			return []*dsl.Tensor{g.Mul(pass).Mul(scale)}
		})
	return func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float64, 4, 3)
		v := g.Input("v", dsl.Float64, 4, 5)
		W := g.Param("W", 3, 5)
		g.Minimize(ste(x.MatMul(W)).Mul(v).Sum())
	}
}

// TestCustomVJPStraightThrough: the gradient through a dsl.CustomVJP is
// the user's backward (sign has zero derivative; the STE passes g where
// |a| ≤ 1), and doubling the backward doubles the gradient exactly.
func TestCustomVJPStraightThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	g := build64(t, "ste", steModel(1))
	env := randomEnv(g, rng, nil)
	env["x"] = randTensor(rng, -1.5, 1.5, 4, 3)
	env["W"] = randTensor(rng, -1.5, 1.5, 3, 5)
	p, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := p.grads(env)["W"].F

	// The user's rule by hand: ∂J/∂W = xᵀ·(v ⊙ 1{|xW| ≤ 1}).
	x, W, v := env["x"].F, env["W"].F, env["v"].F
	want := make([]float64, 3*5)
	passed, blocked := 0, 0
	for i := range 4 {
		for j := range 5 {
			a := 0.0
			for l := range 3 {
				a += x[i*3+l] * W[l*5+j]
			}
			if math.Abs(a) > 1 {
				blocked++
				continue
			}
			passed++
			for l := range 3 {
				want[l*5+j] += x[i*3+l] * v[i*5+j]
			}
		}
	}
	if passed == 0 || blocked == 0 {
		t.Fatalf("%d elements pass the STE and %d are blocked: pick data that exercises both", passed, blocked)
	}
	wantEqual(t, "∂J/∂W through the STE", got, want, 1e-14)

	g2 := build64(t, "ste2", steModel(2))
	p2, err := newGradProblem(g2, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	got2 := p2.grads(env)["W"].F
	for i := range got {
		if got2[i] != 2*got[i] {
			t.Fatalf("with the backward ×2, ∂J/∂W[%d] = %v, want exactly 2·%v", i, got2[i], got[i])
		}
	}
}

// clipModel passes h = x·W through identity with gradient clipping to
// [-c, c]: the cotangent reaching W is clip(v, -c, c).
func clipModel(c float64) func(g *dsl.Graph) {
	clip := dsl.CustomVJP("clipgrad",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0] },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			return []*dsl.Tensor{dsl.Minimum(dsl.Maximum(g, -c), c)}
		})
	return func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float64, 4, 3)
		v := g.Input("v", dsl.Float64, 4, 5)
		W := g.Param("W", 3, 5)
		g.Minimize(clip(x.MatMul(W)).Mul(v).Sum())
	}
}

// TestCustomVJPGradientClipping: with a clip bound above every cotangent
// the custom rule is the true derivative (finite differences agree); with
// a small one the gradient is xᵀ·clip(v).
func TestCustomVJPGradientClipping(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, 4, 3), "v": signedWeights(rng, 4, 5), "W": randTensor(rng, -1, 1, 3, 5)}

	loose, err := newGradProblem(build64(t, "clip10", clipModel(10)), nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFD(t, loose)

	const c = 0.9
	tight, err := newGradProblem(build64(t, "clip", clipModel(c)), nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, v := env["x"].F, env["v"].F
	want := make([]float64, 15)
	for i := range 4 {
		for j := range 5 {
			cv := math.Max(-c, math.Min(c, v[i*5+j]))
			for l := range 3 {
				want[l*5+j] += x[i*3+l] * cv
			}
		}
	}
	wantEqual(t, "∂J/∂W with clipped cotangents", tight.grads(env)["W"].F, want, 1e-14)
	if _, err := tight.check(1); err == nil {
		t.Errorf("the clipped gradient agrees with finite differences: no cotangent was clipped")
	}
}

// The test extern: out = a·b + sin(a), elementwise, with a correct and a
// deliberately wrong Go backward (it forgets the cos(a) term).
const (
	extMulSin      = "example.com/ext.MulSin"
	extMulSinVJP   = "example.com/ext.MulSinVJP"
	extMulSinWrong = "example.com/ext.MulSinWrongVJP"
)

func init() {
	ir.RegisterExtern(extMulSin, func(out []float64, args ...[]float64) {
		a, b := args[0], args[1]
		for i := range out {
			out[i] = a[i]*b[i] + math.Sin(a[i])
		}
	})
	vjp := func(cos bool) ir.ExternVJP {
		return func(grad []float64, arg int, gout []float64, args ...[]float64) {
			a, b := args[0], args[1]
			for i := range grad {
				if arg == 0 {
					grad[i] = gout[i] * b[i]
					if cos {
						grad[i] += gout[i] * math.Cos(a[i])
					}
				} else {
					grad[i] = gout[i] * a[i]
				}
			}
		}
	}
	ir.RegisterExternVJP(extMulSinVJP, vjp(true))
	ir.RegisterExternVJP(extMulSinWrong, vjp(false))
}

func externModel(vjp string) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		A := g.Param("A", 3, 4)
		B := g.Param("B", 4)
		w := g.Input("w", dsl.Float64, 3, 4)
		e := dsl.Extern{Func: extMulSin, VJP: vjp}
		g.Minimize(e.Call(A, B.BroadcastTo(3, 4)).Mul(w).Sum())
	}
}

// TestExternGradient: a dsl.Extern with a Go forward and backward
// (registered with ir.RegisterExtern/RegisterExternVJP) agrees with finite
// differences; a wrong Go backward fails gradcheck; an extern without a
// backward passes no gradient; and extern_vjp (NonDiff) stops the flow.
func TestExternGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	env := map[string]*ir.Tensor{"A": randTensor(rng, -2, 2, 3, 4), "B": randTensor(rng, -2, 2, 4), "w": signedWeights(rng, 3, 4)}

	good, err := newGradProblem(build64(t, "extern", externModel(extMulSinVJP)), nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFD(t, good)
	if n := passes.CountOps(good.joint, ir.OpExternVJP); n != 2 {
		t.Errorf("joint graph has %d extern_vjp values, want 2 (one per argument)", n)
	}

	wrong, err := newGradProblem(build64(t, "extern_wrong", externModel(extMulSinWrong)), nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := wrong.check(1)
	if err == nil {
		t.Errorf("gradcheck passed a Go backward that drops the cos(a) term:\n%s", rep)
	} else if !strings.Contains(err.Error(), `input "A"`) || strings.Contains(err.Error(), `input "B"`) {
		t.Errorf("gradcheck should blame A (whose backward is wrong) and only A:\n%v", err)
	}

	none, err := newGradProblem(build64(t, "extern_nograd", externModel("")), nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(none.report.Unused, []string{"A", "B"}) {
		t.Errorf("extern without a backward: report.Unused = %v, want [A B]", none.report.Unused)
	}

	// extern_vjp's own derivative is unknown: an objective that reaches p
	// through one (second order through an extern) is an error, never a
	// silently zero gradient (issue 16, custom derivatives).
	b := ir.NewBuilder("extern_vjp")
	pv := b.Param("p", ir.T(ir.F64, ir.S(3, 4)), ir.Attrs{"init": "zeros"})
	q := b.Param("q", ir.T(ir.F64, ir.S(3, 4)), ir.Attrs{"init": "zeros"})
	ev := b.Declared("extern_vjp", q.Type, ir.Attrs{"fn": extMulSinVJP, "arg": 1}, pv, q, q)
	b.Graph().Objective = b.Add(weightedSum(b, ev, "w"), weightedSum(b, q, "w2"))
	g := mustBuild(t, b)
	if _, _, err := passes.Grad(g, passes.GradOptions{}); err == nil || !strings.Contains(err.Error(), "extern_vjp has no VJP rule") {
		t.Errorf("grad through extern_vjp: error %v, want one saying extern_vjp has no VJP rule", err)
	}
}

// TestStopGradient: J = sum(stop_gradient(W) ⊙ W ⊙ w) has ∂J/∂W = W ⊙ w
// (one path, not two), and a param used only under stop_gradient is unused.
func TestStopGradient(t *testing.T) {
	g := build64(t, "stop", func(g *dsl.Graph) {
		W := g.Param("W", 2, 3)
		U := g.Param("U", 2, 3)
		w := g.Input("w", dsl.Float64, 2, 3)
		g.Minimize(W.StopGradient().Mul(W).Mul(w).Sum().Add(U.StopGradient().Sum()))
	})
	rng := rand.New(rand.NewPCG(9, 9))
	env := randomEnv(g, rng, nil)
	p, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 6)
	for i := range want {
		want[i] = env["W"].F[i] * env["w"].F[i]
	}
	gs := p.grads(env)
	wantEqual(t, "∂J/∂W", gs["W"].F, want, 0)
	if !slices.Equal(p.report.Unused, []string{"U"}) {
		t.Errorf("report.Unused = %v, want [U]", p.report.Unused)
	}
	if slices.ContainsFunc(gs["U"].F, func(x float64) bool { return x != 0 }) {
		t.Errorf("grad/U = %v, want zeros", gs["U"].F)
	}
}

// TestInt32StopsFlow: a value that passes through int32 carries no
// gradient, and int32 inputs cannot be differentiated with respect to.
func TestInt32StopsFlow(t *testing.T) {
	g := build64(t, "int32", func(g *dsl.Graph) {
		W := g.Param("W", 2, 3)
		V := g.Param("V", 2, 3)
		y := g.Labels("y", 2)
		w := g.Input("w", dsl.Float64, 2, 3)
		r := W.Convert(dsl.Int32).Convert(dsl.Float64) // through int32
		g.Minimize(r.Mul(V).Mul(w).Sum().Add(dsl.SoftmaxCrossEntropy(V, y).Sum()))
	})
	rng := rand.New(rand.NewPCG(10, 10))
	env := randomEnv(g, rng, nil)
	env["W"] = randTensor(rng, -3, 3, 2, 3)
	p, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.report.Unused, []string{"W"}) {
		t.Errorf("report.Unused = %v, want [W]", p.report.Unused)
	}
	checkFD(t, p) // V's gradient (and W's zero: W is rounded to integers)
	if _, _, err := passes.Grad(g, passes.GradOptions{Wrt: []string{"y"}}); err == nil || !strings.Contains(err.Error(), "only float inputs") {
		t.Errorf("Grad with Wrt an int32 input: err = %v, want one saying only float inputs have gradients", err)
	}
}

// TestUnusedParam: a param the objective does not use gets a zero
// gradient of its own type and is listed in report.Unused; it is not an
// error (as in JAX).
func TestUnusedParam(t *testing.T) {
	g := build64(t, "unused", func(g *dsl.Graph) {
		W := g.Param("W", 2, 3)
		g.Param("Spare", 4)
		g.Minimize(W.Square().Sum())
	})
	rng := rand.New(rand.NewPCG(11, 11))
	env := randomEnv(g, rng, nil)
	p, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatalf("an unused param must not be an error: %v", err)
	}
	if !slices.Equal(p.report.Unused, []string{"Spare"}) {
		t.Errorf("report.Unused = %v, want [Spare]", p.report.Unused)
	}
	if !strings.Contains(p.report.String(), "Spare") {
		t.Errorf("report.String() = %q does not name the unused param", p.report)
	}
	out := p.joint.Output(passes.GradOutputName("Spare"))
	if out == nil || !out.Type.Equal(g.Lookup("Spare").Type) {
		t.Fatalf("grad/Spare = %v, want a value of Spare's type", out)
	}
	gs := p.grads(env)
	if !slices.Equal(gs["Spare"].F, make([]float64, 4)) {
		t.Errorf("grad/Spare = %v, want zeros", gs["Spare"].F)
	}
	checkFD(t, p)
}

// TestWrtInput: GradOptions.Wrt adds the gradient of an input, as an
// output "grad/x" with Grad "x".
func TestWrtInput(t *testing.T) {
	g := build64(t, "wrt", func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float64, n, 3)
		W := g.Param("W", 3, 2)
		b := g.Param("b", 2)
		g.Minimize(dsl.Softplus(x.MatMul(W).Add(b)).Mean())
	})
	rng := rand.New(rand.NewPCG(12, 12))
	env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, 4, 3)}
	env = randomEnv(g, rng, env)
	p, err := newGradProblem(g, []string{"x"}, env, map[string]int{"n": 4})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range p.joint.Outputs {
		if o.Name == "grad/x" && o.Grad == "x" {
			found = true
		}
	}
	if !found {
		t.Errorf("no output grad/x with Grad x: %v", p.joint.Outputs)
	}
	checkFD(t, p)
	for _, bad := range []string{"nosuch", "W"} {
		if _, _, err := passes.Grad(g, passes.GradOptions{Wrt: []string{bad}}); err == nil {
			t.Errorf("Grad with Wrt %q: no error", bad)
		}
	}
}

// TestJointIRRoundTrip: the joint graph prints as IR text that parses
// back and prints identically, and the parsed graph computes the same
// gradients.
func TestJointIRRoundTrip(t *testing.T) {
	mlp32, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	graphs := map[string]*ir.Graph{
		"mlp":      mlp32,
		"tied":     build64(t, "tied", autoencoder(false, false)),
		"ste":      build64(t, "ste", steModel(1)),
		"clipgrad": build64(t, "clip", clipModel(0.5)),
		"extern":   build64(t, "extern", externModel(extMulSinVJP)),
	}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			joint, _, err := passes.Grad(g, passes.GradOptions{})
			if err != nil {
				t.Fatal(err)
			}
			text := ir.Print(joint)
			back, err := ir.Parse(text)
			if err != nil {
				t.Fatalf("ir.Parse of the joint graph: %v\n%s", err, text)
			}
			if again := ir.Print(back); again != text {
				t.Fatalf("Print(Parse(Print(joint))) differs:\n--- printed\n%s\n--- reprinted\n%s", text, again)
			}
			if name == "mlp" {
				return // float32 and large: the text comparison is enough
			}
			rng := rand.New(rand.NewPCG(13, 13))
			env := randomEnv(g, rng, nil)
			r1, err1 := ir.Interp(joint, ir.Env{Inputs: env})
			r2, err2 := ir.Interp(back, ir.Env{Inputs: env})
			if err1 != nil || err2 != nil {
				t.Fatalf("interp: %v, %v", err1, err2)
			}
			for _, o := range joint.Outputs {
				if !slices.Equal(r1.Outputs[o.Name].F, r2.Outputs[o.Name].F) {
					t.Errorf("output %s differs after the round trip", o.Name)
				}
			}
		})
	}
}

// TestObjectiveEdgeCases: an objective that is a param itself has
// gradient 1; one that depends on no param leaves every param unused
// (not an error); a graph already differentiated is rejected.
func TestObjectiveEdgeCases(t *testing.T) {
	g := build64(t, "param_objective", func(g *dsl.Graph) { g.Minimize(g.Param("s")) })
	p, err := newGradProblem(g, nil, map[string]*ir.Tensor{"s": ir.FromFloats(ir.F64, []float64{3})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.grads(p.env)["s"].F; !slices.Equal(got, []float64{1}) {
		t.Errorf("∂s/∂s = %v, want [1]", got)
	}

	g = build64(t, "constant_objective", func(g *dsl.Graph) {
		W := g.Param("W", 2)
		g.Output("w2", W.Square())
		g.Minimize(g.Scalar(3))
	})
	joint, rep, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		t.Fatalf("a constant objective must not be an error: %v", err)
	}
	if !slices.Equal(rep.Unused, []string{"W"}) {
		t.Errorf("report.Unused = %v, want [W]", rep.Unused)
	}
	if _, _, err := passes.Grad(joint, passes.GradOptions{}); err == nil {
		t.Errorf("Grad applied twice: no error")
	}
	if _, _, err := passes.Grad(build64(t, "no_objective", func(g *dsl.Graph) { g.Output("x", g.Param("x", 2)) }), passes.GradOptions{}); err == nil {
		t.Errorf("Grad of a graph without an objective: no error")
	}
}

// TestCustomVJPSeveralArgs: a custom rule over two arguments that gives a
// cotangent to only one of them, applied twice in one graph (two backward
// funcs): a gets b·g from each use, and b (used nowhere else) is unused.
func TestCustomVJPSeveralArgs(t *testing.T) {
	halfRule := dsl.CustomVJP("half",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0].Mul(xs[1]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor { return []*dsl.Tensor{g.Mul(xs[1]), nil} })
	g := build64(t, "half", func(g *dsl.Graph) {
		a := g.Param("a", 2, 3)
		b := g.Param("b", 3)
		w := g.Input("w", dsl.Float64, 2, 3)
		g.Minimize(halfRule(a, b.BroadcastTo(2, 3)).Mul(w).Sum().Add(halfRule(a, b.BroadcastTo(2, 3)).Sum()))
	})
	if len(g.Funcs) != 2 {
		t.Fatalf("%d backward funcs, want 2", len(g.Funcs))
	}
	rng := rand.New(rand.NewPCG(14, 14))
	env := randomEnv(g, rng, nil)
	p, err := newGradProblem(g, nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.report.Unused, []string{"b"}) {
		t.Errorf("report.Unused = %v, want [b]", p.report.Unused)
	}
	b, w := env["b"].F, env["w"].F
	want := make([]float64, 6)
	for i := range 2 {
		for j := range 3 {
			want[i*3+j] = b[j]*w[i*3+j] + b[j]
		}
	}
	wantEqual(t, "∂J/∂a", p.grads(env)["a"].F, want, 1e-15)
	checkFD(t, &gradProblem{g: p.g, joint: p.joint, report: p.report, env: env, leaves: p.leaves[:1]}) // the rule is the true derivative for a
}

// TestSymbolicDims: the rules and the grad pass's un-broadcasting work on
// shapes with a symbolic batch dim n (bound only at run time): means over
// n, broadcasts against [n,1], reductions and softmax along n.
func TestSymbolicDims(t *testing.T) {
	g := build64(t, "symbolic", func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float64, n, 4)
		c := g.Input("c", dsl.Float64, n, 1)
		W := g.Param("W", 4, 3)
		b := g.Param("b", 3)
		s := g.Param("s", 1, 3)
		z := dsl.Tanh(x.MatMul(W).Add(b)).Mul(c).Add(s) // [n,3] ⊕ [3], [n,1], [1,3]
		m := z.MeanKeep(0)                              // over n
		u := dsl.Softmax(z, 0).Mul(z).Sum(0)            // along n
		g.Minimize(z.Sub(m).Square().Mean().Add(u.Sum()).Add(z.Max(0).Sum()))
	})
	rng := rand.New(rand.NewPCG(15, 15))
	const n = 5
	env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, n, 4), "c": randTensor(rng, 0.5, 1.5, n, 1)}
	env = randomEnv(g, rng, env)
	p, err := newGradProblem(g, []string{"c"}, env, map[string]int{"n": n})
	if err != nil {
		t.Fatal(err)
	}
	checkFD(t, p)
}

// TestCustomVJPClosureOverParam: a CustomVJP forward that uses a param
// other than through its arguments is rejected (that param would silently
// get no gradient from the use); closing over a stopped param or an input
// is fine.
func TestCustomVJPClosureOverParam(t *testing.T) {
	model := func(closure func(g *dsl.Graph, W *dsl.Tensor) *dsl.Tensor) func(g *dsl.Graph) {
		return func(g *dsl.Graph) {
			g.SetFloat(dsl.Float64)
			W := g.Param("W", 3)
			x := g.Param("x", 3)
			c := closure(g, W)
			f := dsl.CustomVJP("f",
				func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0].Mul(c) },
				func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor { return []*dsl.Tensor{g} })
			g.Minimize(f(x).Sum().Add(W.Sum()))
		}
	}
	_, err := dsl.Build("closure", model(func(g *dsl.Graph, W *dsl.Tensor) *dsl.Tensor { return dsl.Tanh(W) }))
	if err == nil || !strings.Contains(err.Error(), "uses param W without taking it as an argument") {
		t.Errorf("closure over a param: err = %v", err)
	}
	for name, ok := range map[string]func(g *dsl.Graph, W *dsl.Tensor) *dsl.Tensor{
		"stopped": func(g *dsl.Graph, W *dsl.Tensor) *dsl.Tensor { return W.StopGradient() },
		"input":   func(g *dsl.Graph, W *dsl.Tensor) *dsl.Tensor { return g.Input("c", dsl.Float64, 3) },
	} {
		if _, err := dsl.Build("closure", model(ok)); err != nil {
			t.Errorf("closure over a %s value: %v", name, err)
		}
	}
}

// TestReLUMaskReadsOutput checks the contract remat relies on: the
// backward masks of relu and leaky_relu (alpha ≥ 0) read the activation
// h, which the backward pass needs anyway, never its input z; a negative
// alpha flips the sign of h, so that rule reads z.
func TestReLUMaskReadsOutput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		act     func(*dsl.Tensor) *dsl.Tensor
		readsIn bool
	}{
		{"relu", dsl.ReLU, false},
		{"leaky_relu 0.1", func(z *dsl.Tensor) *dsl.Tensor { return dsl.LeakyReLU(z, 0.1) }, false},
		{"leaky_relu 0", func(z *dsl.Tensor) *dsl.Tensor { return dsl.LeakyReLU(z, 0) }, false},
		{"leaky_relu -0.5", func(z *dsl.Tensor) *dsl.Tensor { return dsl.LeakyReLU(z, -0.5) }, true},
	} {
		g, err := dsl.Build("m", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3)
			W := g.Param("W", 3, 3)
			z := x.MatMul(W).Named("z")
			h := tc.act(z).Named("h")
			g.Minimize(h.SumSquares())
		})
		if err != nil {
			t.Fatal(err)
		}
		j, _, err := passes.Grad(g, passes.GradOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var masks int
		for _, v := range j.Values {
			if v.Op != ir.OpGt {
				continue
			}
			masks++
			if got, want := v.Args[0].Name, map[bool]string{false: "h", true: "z"}[tc.readsIn]; got != want {
				t.Errorf("%s: the backward mask %s reads %s, want %s", tc.name, v, v.Args[0].Label(), want)
			}
		}
		if masks != 1 {
			t.Errorf("%s: %d masks in the backward pass, want 1", tc.name, masks)
		}
	}
}
