package codegen

import "github.com/bpgen/bpgen/dsl"

// Harness models of the normalization ops (ir/ops_norm.go).

func normModels() []*testModel {
	return []*testModel{
		f64("op_var", varModel, -1, 1),
		f64("op_layer_norm", layerNormModel, -2, 2),
		f64("op_batch_norm", batchNormModel, -2, 2),
		withNs(f64("op_batch_norm_nc", batchNormNC, -2, 2), 3, 5), // a batch of 1 has no unbiased variance; of 2, x̂ = ±1 whatever x
	}
}

func withNs(m *testModel, ns ...int) *testModel {
	m.ns = ns
	return m
}

// varModel takes variances of h [n,3,4] over adjacent and non-adjacent
// axes, population and unbiased, kept and dropped.
func varModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3, 4)
	p := g.Param("p", 3, 4, dsl.Normal(0, 0.3))
	w1 := g.Param("w1", 4, dsl.Normal(1, 0.5))
	w2 := g.Param("w2", 3, dsl.Normal(1, 0.5))
	h := x.Add(p)
	a := h.Var(1, 1)                        // [n,4]
	b := h.Var(0, 0, 2)                     // [3]: non-adjacent axes
	c := h.VarKeep(0, 2)                    // [n,3,1]
	d := h.Var(1)                           // []
	e := h.Square().Var(0, 0)               // [3,4] over the symbolic batch (n may be 1)
	f := h.Reshape(n, 3, 2, 2).Var(1, 0, 2) // [3,2]: reduced axes in two blocks (rt.VarAxes)
	g.Output("a", a)
	g.Output("c", c)
	g.Minimize(a.Mul(w1).Sum().Add(b.Mul(w2).Sum()).Add(c.Sum().Mul(0.5)).Add(d).Add(e.Mean()).Add(f.Sum()))
}

// layerNormModel normalizes h [n,3,4] over its last dim (the layer
// helper, params named ln.weight and ln.bias) and over its last two.
func layerNormModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3, 4)
	p := g.Param("p", 3, 4, dsl.Normal(0, 0.3))
	gamma := g.Param("gamma", 3, 4, dsl.Normal(1, 0.3))
	beta := g.Param("beta", 3, 4, dsl.Normal(0, 0.3))
	w := g.Param("w", 3, 4, dsl.Normal(0, 1))
	h := x.Mul(p.Add(1))
	a := g.LayerNorm("ln", h, 1)
	b := dsl.LayerNorm(dsl.Tanh(h), gamma, beta, 0.01)
	g.Output("a", a)
	g.Minimize(a.Mul(w).Sum().Add(b.Mul(w).Square().Mean()))
}

// batchNormModel normalizes [n,2,3] (NCL) and [n,3,2,2] (NCHW) inputs
// with the layer helper (params bn.weight, bn.bias; state
// bn.running_mean, bn.running_var) and with a custom eps and momentum.
func batchNormModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 2, 3)
	x2 := g.Input("x2", dsl.Float32, n, 3, 2, 2)
	p := g.Param("p", 2, 3, dsl.Normal(0, 0.3))
	w := g.Param("w", 2, 3, dsl.Normal(0, 1))
	w2 := g.Param("w2", 3, 2, 2, dsl.Normal(0, 1))
	a := g.BatchNorm("bn", x.Mul(p.Add(1)))
	b := g.BatchNormWith("bn2", dsl.Tanh(x2), 0.01, 0.3)
	g.Output("a", a)
	g.Minimize(a.Mul(w).Sum().Add(b.Mul(w2).Square().Mean()))
}

// batchNormNC normalizes features [n,4] (BatchNorm1d) after a matmul.
func batchNormNC(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	W := g.Param("W", 3, 4, dsl.Normal(0, 0.5))
	w := g.Param("w", 4, dsl.Normal(0, 1))
	h := g.BatchNorm("bn1", x.MatMul(W))
	g.Output("h", h)
	g.Minimize(dsl.Tanh(h).Mul(w).Sum())
}
