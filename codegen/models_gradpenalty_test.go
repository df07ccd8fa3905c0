package codegen

import "github.com/bpgen/bpgen/dsl"

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
