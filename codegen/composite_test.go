package codegen

import "github.com/bpgen/bpgen/dsl"

// composite uses every composite of the DSL: softmax, log_softmax,
// logsumexp, softmax cross-entropy, BCE with logits, squared error, SumSquares and
// dropout.
func composite(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 6)
	y := g.Labels("y", n)
	t := g.Target("t", dsl.Float32, n, 4)
	W := g.Param("W", 6, 8, dsl.XavierNormal())
	b := g.Param("b", 8, dsl.Uniform(-0.1, 0.1))
	V := g.Param("V", 8, 4, dsl.HeUniform())
	c := g.Param("c", 4, dsl.Constant(0.05))
	h := dsl.Dropout(dsl.Tanh(x.MatMul(W).Add(b)), 0.25).Named("h")
	o := h.MatMul(V).Add(c).Named("o")
	sm := dsl.Softmax(o).Named("probs")
	ls := dsl.LogSoftmax(o)
	lse := o.LogSumExp(1)
	xent := dsl.SoftmaxCrossEntropy(o, y).Mean()
	bce := dsl.BCEWithLogits(o, dsl.Sigmoid(t)).Mean()
	mse := dsl.SquaredError(sm, t.Mul(0.25)).Mean()
	reg := W.SumSquares().Add(V.SumSquares())
	g.Output("probs", sm)
	g.Output("lse", lse)
	g.Output("xent", xent)
	g.Minimize(xent.Add(bce).Add(mse).Add(ls.Mean().Mul(-0.01)).Add(lse.Mean().Mul(0.01)).Add(reg.Mul(1e-3)))
}
