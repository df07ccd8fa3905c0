package passes_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// Gradients inside the model (dsl.Grad): a WGAN-GP-style gradient penalty
// whose training gradient differentiates through ∇ₓD.

// gradPenaltyModel is a critic D(x) = tanh(x·W1 + b1)·W2 per example, and
// J = mean(D) + 10·mean((‖∇ₓD(x_i)‖ − 1)²).
func gradPenaltyModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float64, n, 3)
	W1 := g.Param("W1", 3, 4, dsl.HeNormal())
	b1 := g.Param("b1", 4)
	W2 := g.Param("W2", 4, 1, dsl.XavierUniform())
	d := dsl.Tanh(x.MatMul(W1).Add(b1)).MatMul(W2).Reshape(n).Named("d")
	gx := dsl.Grad(d.Sum(), x)[0].Named("gx") // row i: ∇ₓD(x_i)
	norm := dsl.Sqrt(gx.Square().Sum(1))
	penalty := norm.Sub(1).Square().Mean().Named("penalty")
	g.Output("gx", gx)
	g.Output("penalty", penalty)
	g.Minimize(d.Mean().Add(penalty.Mul(10)))
}

func TestGradientPenalty(t *testing.T) {
	g := build64(t, "gradpenalty", gradPenaltyModel)
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 4
	env := map[string]*ir.Tensor{"x": randTensor(rng, -1, 1, n, 3), "W1": randTensor(rng, -1, 1, 3, 4), "b1": randTensor(rng, -0.5, 0.5, 4), "W2": randTensor(rng, -1, 1, 4, 1)}
	dims := map[string]int{"n": n}

	// gx is ∇ₓ Σ D: check it against central differences of D.
	res, err := ir.Interp(g, ir.Env{Dims: dims, Inputs: env})
	if err != nil {
		t.Fatal(err)
	}
	gx := res.Outputs["gx"].F
	const h = 1e-6
	for k := range env["x"].F {
		sumD := func(s float64) float64 {
			e := map[string]*ir.Tensor{}
			for name, v := range env {
				e[name] = v
			}
			x := env["x"].Clone()
			x.F[k] += s
			e["x"] = x
			r, err := ir.Interp(g, ir.Env{Dims: dims, Inputs: e})
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			for _, v := range g.Values {
				if v.Name == "d" {
					for _, x := range r.Values[v.ID].F {
						sum += x
					}
				}
			}
			return sum
		}
		fd := (sumD(h) - sumD(-h)) / (2 * h)
		if d := math.Abs(gx[k] - fd); d > gradTol*math.Max(1, math.Abs(fd)) {
			t.Errorf("∇ₓD[%d] = %.10g, finite differences %.10g", k, gx[k], fd)
		}
	}

	// Training differentiates through ∇ₓD: gradcheck of J's gradient.
	p, err := newGradProblem(g, nil, env, dims)
	if err != nil {
		t.Fatal(err)
	}
	checkFD(t, p)
}

func TestGradInsideModelErrors(t *testing.T) {
	_, err := dsl.Build("bad", func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float32, 3)
		W := g.Param("W", 3)
		dsl.Grad(x.Mul(W), x) // not a scalar
		g.Minimize(x.Mul(W).Sum())
	})
	if err == nil || !strings.Contains(err.Error(), "want a float scalar") || !strings.Contains(err.Error(), "gradpenalty_test.go:") {
		t.Errorf("dsl.Grad of a vector: %v, want an error at the call saying y must be a scalar", err)
	}
}
