package passes_test

import (
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// envAt binds every input and param of g at the given dims, uniform in
// [-1, 1).
func envAt(t *testing.T, g *ir.Graph, dims map[string]int, rng *rand.Rand) map[string]*ir.Tensor {
	t.Helper()
	env := map[string]*ir.Tensor{}
	for _, v := range g.Values {
		if v.Op != ir.OpInput && v.Op != ir.OpParam {
			continue
		}
		s, err := v.Type.Shape.Eval(dims)
		if err != nil {
			t.Fatal(err)
		}
		env[v.Name] = randTensor(rng, -1, 1, s...)
	}
	return env
}

// TestGradDimProducts: gradients through reshapes [n,s,d] → [n·s,d] and
// back (and [n,s,d]·[d,e] without a reshape, whose weight gradient folds
// the batch into one product) agree with finite differences, at dims
// where n·s differs from every static size.
func TestGradDimProducts(t *testing.T) {
	g := build64(t, "products", func(g *dsl.Graph) {
		n, s := g.Dim("n"), g.Dim("s")
		x := g.Input("x", dsl.Float64, n, s, 4)
		W := g.Param("W", 4, 3)
		V := g.Param("V", 4, 3)
		h := dsl.Tanh(x.Reshape(dsl.Prod(n, s), 4).MatMul(W)).Reshape(n, s, 3)
		o := dsl.MatMul(h, V, false, true).Flatten(0, 1) // [n,s,3]·[4,3]ᵀ → [n·s,4]
		g.Minimize(o.Reshape(dsl.Prod(n, s, 4)).Square().Mean().Add(h.Mul(x.Sum(2).Reshape(n, s, 1)).Sum()))
	})
	dims := map[string]int{"n": 2, "s": 3}
	p, err := newGradProblem(g, []string{"x"}, envAt(t, g, dims, rand.New(rand.NewPCG(3, 4))), dims)
	if err != nil {
		t.Fatal(err)
	}
	checkFD(t, p)
}
