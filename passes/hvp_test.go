package passes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Hessian-vector products: forward-over-reverse (passes.HVP) against
// reverse-over-reverse (passes.HVPReverse, passes.Grad applied to a graph
// that already contains gradients) and against central finite
// differences of the gradient along the direction.

const (
	// hvpExactTol bounds ‖a − b‖∞ / ‖b‖∞ between the two exact ways: both
	// compute ∇²J·v in float64 from the same values, only in another
	// order of roundings (the forward tangents vs the second adjoint
	// sums), so they agree to ~1e-13; 1e-10 leaves room for cancellation
	// in the products' sums while a missing term is off by far more.
	hvpExactTol = 1e-10
	// hvpFDTol bounds ‖a − fd‖∞ / ‖fd‖∞ against central differences of
	// the gradient along v at step hvpStep·max(1, ‖θ‖∞) (v in [−1, 1]):
	// truncation ~h²·|∇⁴J| ≈ 1e-10, round-off ~ε·‖∇J‖∞/h ≈ 1e-11 (×
	// roundoffUnits for long sums), so correct products agree to ~1e-8;
	// 1e-6 is the bound.
	hvpFDTol = 1e-6
	hvpStep  = 1e-5
)

// hvpCheck evaluates both HVP graphs of g at env along a random v and
// compares them with each other and with finite differences of the
// gradient of the joint graph. It returns the worst relative errors.
func hvpCheck(g *ir.Graph, env map[string]*ir.Tensor, dims map[string]int, rng *rand.Rand) (exact, fd float64, err error) {
	fwd, err := passes.HVP(g)
	if err != nil {
		return 0, 0, fmt.Errorf("passes.HVP: %v", err)
	}
	rev, err := passes.HVPReverse(g)
	if err != nil {
		return 0, 0, fmt.Errorf("passes.HVPReverse: %v", err)
	}
	joint, _, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		return 0, 0, err
	}
	in := map[string]*ir.Tensor{}
	for k, t := range env {
		in[k] = t
	}
	params := g.Params()
	scale := 1.0
	for _, p := range params {
		v := randTensor(rng, -1, 1, shapeInts(p.Type.Shape)...)
		in[passes.TangentName(p.Name)] = v
		for _, x := range env[p.Name].F {
			scale = math.Max(scale, math.Abs(x))
		}
	}
	run := func(h *ir.Graph, e map[string]*ir.Tensor) map[string]*ir.Tensor {
		res, err2 := ir.Interp(h, ir.Env{Dims: dims, Inputs: e})
		if err2 != nil {
			panic(fmt.Sprintf("interp %s: %v", h.Name, err2))
		}
		return res.Outputs
	}
	a, b := run(fwd, in), run(rev, in)
	// Finite differences of the gradient along v.
	h := hvpStep * scale
	moved := func(s float64) map[string]*ir.Tensor {
		e := map[string]*ir.Tensor{}
		for k, t := range env {
			e[k] = t
		}
		for _, p := range params {
			x := env[p.Name].Clone()
			for i := range x.F {
				x.F[i] += s * in[passes.TangentName(p.Name)].F[i]
			}
			e[p.Name] = x
		}
		return run(joint, e)
	}
	gp, gm := moved(h), moved(-h)
	norm := func(d func(i int, p string) float64) float64 {
		m := 0.0
		for _, p := range params {
			for i := range env[p.Name].F {
				m = math.Max(m, math.Abs(d(i, p.Name)))
			}
		}
		return m
	}
	hv := func(o map[string]*ir.Tensor) func(i int, p string) float64 {
		return func(i int, p string) float64 { return o[passes.HVPOutputName(p)].F[i] }
	}
	fdv := func(i int, p string) float64 {
		n := passes.GradOutputName(p)
		return (gp[n].F[i] - gm[n].F[i]) / (2 * h)
	}
	ref := math.Max(norm(fdv), 1e-300)
	exact = norm(func(i int, p string) float64 { return hv(a)(i, p) - hv(b)(i, p) }) / math.Max(norm(hv(b)), 1e-300)
	fd = norm(func(i int, p string) float64 { return hv(a)(i, p) - fdv(i, p) }) / ref
	if norm(hv(b)) == 0 && norm(hv(a)) == 0 {
		exact = 0
	}
	var errs []string
	if !(exact <= hvpExactTol) {
		errs = append(errs, fmt.Sprintf("forward-over-reverse and reverse-over-reverse differ: relative %.3g > %g", exact, hvpExactTol))
	}
	if !(fd <= hvpFDTol) {
		errs = append(errs, fmt.Sprintf("HVP and finite differences of the gradient differ: relative %.3g > %g (‖fd‖∞ %.3g)", fd, hvpFDTol, ref))
	}
	if len(errs) > 0 {
		return exact, fd, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return exact, fd, nil
}

// TestHVPD2LMLP: the D2L §4.7 network (examples/models.MLP, in float64)
// at its real sizes along a random direction.
func TestHVPD2LMLP(t *testing.T) {
	g32, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	g := toFloat64(g32)
	rng := rand.New(rand.NewPCG(16, 1))
	env, err := ir.InitParams(g, 42)
	if err != nil {
		t.Fatal(err)
	}
	env["b1"] = randTensor(rng, -0.1, 0.1, 256)
	env["b2"] = randTensor(rng, -0.1, 0.1, 10)
	const n = 4
	env["x"] = randTensor(rng, 0, 1, n, 784)
	env["y"] = ir.FromInts([]int32{3, 0, 9, 5}, n)
	exact, fd, err := hvpCheck(g, env, map[string]int{"n": n}, rng)
	if err != nil {
		t.Error(err)
	}
	t.Logf("models.MLP: forward-over-reverse vs reverse-over-reverse %.3g, vs finite differences %.3g", exact, fd)
}

// smallMLP is models.MLP's network at small sizes, with activation act
// (tanh as well as relu, so the first layer's curvature is not zero).
func smallMLP(act func(*dsl.Tensor) *dsl.Tensor) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 4)
		y := g.Labels("y", n)
		W1 := g.Param("W1", 4, 3, dsl.HeNormal())
		b1 := g.Param("b1", 3)
		W2 := g.Param("W2", 3, 2, dsl.XavierUniform())
		b2 := g.Param("b2", 2)
		h := act(x.MatMul(W1).Add(b1))
		o := h.MatMul(W2).Add(b2)
		L := dsl.SoftmaxCrossEntropy(o, y).Mean()
		s := W1.SumSquares().Add(W2.SumSquares())
		g.Output("loss", L)
		g.Minimize(L.Add(s.Mul(models.Lambda / 2)))
	}
}

// TestHVPHessianColumns builds the whole Hessian of a small MLP from
// columns H·eᵢ (forward-over-reverse), checks it is symmetric and that
// every column agrees with reverse-over-reverse; and, for the relu
// network, checks the second layer's block against the formula
// ∂²J/∂W2² = (1/n)·Σ_i h_i h_iᵀ ⊗ (diag(p_i) − p_i p_iᵀ) + λ·I.
func TestHVPHessianColumns(t *testing.T) {
	for _, act := range []struct {
		name string
		f    func(*dsl.Tensor) *dsl.Tensor
		ref  func(float64) float64 // f on one element, for the formula
	}{{"tanh", dsl.Tanh, math.Tanh}, {"relu", dsl.ReLU, func(z float64) float64 { return math.Max(z, 0) }}} {
		t.Run(act.name, func(t *testing.T) {
			g32, err := dsl.Build("small", smallMLP(act.f))
			if err != nil {
				t.Fatal(err)
			}
			g := toFloat64(g32)
			rng := rand.New(rand.NewPCG(3, 3))
			const n = 5
			env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, n, 4), "y": ir.FromInts([]int32{0, 1, 1, 0, 1}, n)}
			params := g.Params()
			size := 0
			for _, p := range params {
				env[p.Name] = randTensor(rng, -1, 1, shapeInts(p.Type.Shape)...)
				size += len(env[p.Name].F)
			}
			dims := map[string]int{"n": n}
			fwd, err := passes.HVP(g)
			if err != nil {
				t.Fatal(err)
			}
			rev, err := passes.HVPReverse(g)
			if err != nil {
				t.Fatal(err)
			}
			column := func(h *ir.Graph, k int) []float64 {
				in := map[string]*ir.Tensor{}
				for name, x := range env {
					in[name] = x
				}
				off := 0
				for _, p := range params {
					e := ir.NewTensor(ir.F64, shapeInts(p.Type.Shape)...)
					if k >= off && k < off+len(e.F) {
						e.F[k-off] = 1
					}
					off += len(e.F)
					in[passes.TangentName(p.Name)] = e
				}
				res, err := ir.Interp(h, ir.Env{Dims: dims, Inputs: in})
				if err != nil {
					t.Fatal(err)
				}
				var c []float64
				for _, p := range params {
					c = append(c, res.Outputs[passes.HVPOutputName(p.Name)].F...)
				}
				return c
			}
			H := make([][]float64, size)
			for k := range size {
				H[k] = column(fwd, k)
				if d := maxRelDiff(H[k], column(rev, k), 1); d > hvpExactTol {
					t.Errorf("column %d: forward-over-reverse vs reverse-over-reverse differ by %.3g", k, d)
				}
			}
			asym := 0.0
			for i := range size {
				for j := range size {
					asym = math.Max(asym, math.Abs(H[i][j]-H[j][i]))
				}
			}
			if asym > hvpExactTol {
				t.Errorf("the Hessian is not symmetric: max |H − Hᵀ| = %.3g", asym)
			}
			// The W2 block by the formula (W2 [3,2] starts after W1 [4,3] and b1 [3]).
			x, W1, b1, W2, b2 := env["x"].F, env["W1"].F, env["b1"].F, env["W2"].F, env["b2"].F
			off := 12 + 3
			want := make([]float64, 36)
			for i := range n {
				hh := make([]float64, 3)
				for j := range 3 {
					z := b1[j]
					for l := range 4 {
						z += x[i*4+l] * W1[l*3+j]
					}
					hh[j] = act.ref(z)
				}
				o := []float64{b2[0], b2[1]}
				for c := range 2 {
					for j := range 3 {
						o[c] += hh[j] * W2[j*2+c]
					}
				}
				m := math.Max(o[0], o[1])
				e0, e1 := math.Exp(o[0]-m), math.Exp(o[1]-m)
				pr := []float64{e0 / (e0 + e1), e1 / (e0 + e1)}
				for a := range 6 { // W2[j][c], row-major: a = j*2+c
					for bb := range 6 {
						j, c, k, d := a/2, a%2, bb/2, bb%2
						s := -pr[c] * pr[d]
						if c == d {
							s += pr[c]
						}
						want[a*6+bb] += hh[j] * hh[k] * s / n
					}
				}
			}
			worst := 0.0
			for a := range 6 {
				want[a*6+a] += models.Lambda
				for bb := range 6 {
					worst = math.Max(worst, math.Abs(H[off+a][off+bb]-want[a*6+bb]))
				}
			}
			if worst > hvpExactTol {
				t.Errorf("∂²J/∂W2²: max difference from the formula %.3g", worst)
			}
			exact, fd, err := hvpCheck(g, env, dims, rng)
			if err != nil {
				t.Error(err)
			}
			t.Logf("%d×%d Hessian, asymmetry %.3g, W2 block vs formula %.3g; along a random v: exact %.3g, finite differences %.3g", size, size, asym, worst, exact, fd)
		})
	}
}

// TestHVPRandomGraphs: 100 seeded random graphs of random_test.go.
func TestHVPRandomGraphs(t *testing.T) {
	worstExact, worstFD := 0.0, 0.0
	for seed := range uint64(100) {
		g, env, _, err := drawSuitable(seed)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			continue
		}
		exact, fd, err := hvpCheck(g, env, nil, rand.New(rand.NewPCG(seed, 99)))
		if err != nil {
			t.Errorf("seed %d: %v\ngraph:\n%s", seed, err, ir.Print(g))
			continue
		}
		worstExact, worstFD = math.Max(worstExact, exact), math.Max(worstFD, fd)
	}
	t.Logf("worst: forward-over-reverse vs reverse-over-reverse %.3g (tolerance %g), vs finite differences %.3g (tolerance %g)", worstExact, hvpExactTol, worstFD, hvpFDTol)
}

// TestGradAgain: Grad refuses a graph with gradients unless asked, and
// reverse-over-reverse through an extern's Go backward is an error.
func TestGradAgain(t *testing.T) {
	g := build64(t, "extern", externModel(extMulSinVJP))
	joint, _, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := passes.Grad(joint, passes.GradOptions{}); err == nil || !strings.Contains(err.Error(), "already has gradient outputs") {
		t.Errorf("Grad of a joint graph without Again: %v", err)
	}
	if _, err := passes.HVPReverse(g); err == nil || !strings.Contains(err.Error(), "extern_vjp has no VJP rule") {
		t.Errorf("reverse-over-reverse through extern: error %v, want one saying extern_vjp has no VJP rule", err)
	}
	if _, err := passes.HVP(g); err == nil || !strings.Contains(err.Error(), "no JVP rule") {
		t.Errorf("forward-over-reverse through extern: error %v, want one saying there is no JVP rule", err)
	}
}

// TestHVPModelAndObjective: the two graphs bpgen can generate HVP code
// from: HVPModel (forward-only, outputs hvp/p) and HVPObjective (whose
// gradient is ∇²J·v) give HVP's product.
func TestHVPModelAndObjective(t *testing.T) {
	g32, err := dsl.Build("small", smallMLP(dsl.Tanh))
	if err != nil {
		t.Fatal(err)
	}
	g := toFloat64(g32)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 5
	env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, n, 4), "y": ir.FromInts([]int32{0, 1, 1, 0, 1}, n)}
	for _, p := range g.Params() {
		env[p.Name] = randTensor(rng, -1, 1, shapeInts(p.Type.Shape)...)
		env[passes.TangentName(p.Name)] = randTensor(rng, -1, 1, shapeInts(p.Type.Shape)...)
	}
	dims := map[string]int{"n": n}
	run := func(h *ir.Graph) *ir.Result {
		res, err := ir.Interp(h, ir.Env{Dims: dims, Inputs: env})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ref, err := passes.HVP(g)
	if err != nil {
		t.Fatal(err)
	}
	model, err := passes.HVPModel(g)
	if err != nil {
		t.Fatal(err)
	}
	if model.Objective != nil {
		t.Error("HVPModel has an objective; it should be forward-only")
	}
	obj, err := passes.HVPObjective(g)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := passes.Grad(obj, passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, gotModel, gotObj := run(ref).Outputs, run(model).Outputs, run(second).Outputs
	for _, p := range g.Params() {
		w := want[passes.HVPOutputName(p.Name)].F
		if d := maxRelDiff(gotModel[passes.HVPOutputName(p.Name)].F, w, 1); d > hvpExactTol {
			t.Errorf("HVPModel, %s: differs from HVP by %.3g", p.Name, d)
		}
		if d := maxRelDiff(gotObj[passes.GradOutputName(p.Name)].F, w, 1); d > hvpExactTol {
			t.Errorf("gradient of HVPObjective, %s: differs from HVP by %.3g", p.Name, d)
		}
	}
}
