package codegen

import (
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// The harness's transforms of forward-only models (bpgen -jvp, -hvp).
var (
	jvpTransform = func(g *ir.Graph) (*ir.Graph, error) { return passes.JVPModel(g, passes.JVPOptions{}) }
	hvpTransform = passes.HVPModel
)

// gradPenaltyModel (issue 16, gradients inside the model): a critic
// D(x) = tanh(x·W1 + b1)·W2 per example and a WGAN-GP-style penalty on
// ‖∇ₓD(x_i)‖ (dsl.Grad), so the train step differentiates through a
// gradient: its backward pass runs VJP rules of VJP rules.
func gradPenaltyModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	W1 := g.Param("W1", 3, 4, dsl.HeNormal())
	b1 := g.Param("b1", 4)
	W2 := g.Param("W2", 4, 1, dsl.XavierUniform())
	d := dsl.Tanh(x.MatMul(W1).Add(b1)).MatMul(W2).Reshape(n).Named("d")
	gx := dsl.Grad(d.Sum(), x)[0].Named("gx")
	penalty := dsl.Sqrt(gx.Square().Sum(1)).Sub(1).Square().Mean().Named("penalty")
	g.Output("gx", gx)
	g.Output("penalty", penalty)
	g.Minimize(d.Mean().Add(penalty.Mul(10)))
}

// secondOrderMLP is a small MLP (relu, softmax cross-entropy, L2 penalty)
// for the generated JVP and HVP (issue 16).
func secondOrderMLP(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 4)
	y := g.Labels("y", n)
	W1 := g.Param("W1", 4, 5, dsl.HeNormal())
	b1 := g.Param("b1", 5)
	W2 := g.Param("W2", 5, 3, dsl.XavierUniform())
	h := dsl.Tanh(x.MatMul(W1).Add(b1))
	o := dsl.ReLU(h.MatMul(W2)).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L.Add(W1.SumSquares().Add(W2.SumSquares()).Mul(1e-2)))
}
