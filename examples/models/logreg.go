package models

import "github.com/bpgen/bpgen/dsl"

// The Newton-CG example's model (examples/newton, issue 16): its gradient
// package and its Hessian-vector product package, both in float64.
//go:generate go run ../../cmd/bpgen -func LogReg -dtype f64 -out ../../generated/logreg
//go:generate go run ../../cmd/bpgen -func LogReg -dtype f64 -hvp -out ../../generated/logreghvp

// LogRegFeatures is LogReg's number of features.
const LogRegFeatures = 20

// LogRegLambda is LogReg's L2 penalty weight λ.
const LogRegLambda = 1e-2

// LogReg is L2-regularized logistic regression:
// J = mean_i BCE(x_i·w + b, y_i) + λ/2 ‖w‖², with targets y in {0, 1}
// (PyTorch's F.binary_cross_entropy_with_logits, mean reduction).
func LogReg(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, LogRegFeatures)
	y := g.Target("y", dsl.Float32, n)
	w := g.Param("w", LogRegFeatures, 1, dsl.Zeros())
	b := g.Param("b", 1, dsl.Zeros())
	z := x.MatMul(w).Reshape(n).Add(b).Named("z")
	L := dsl.BCEWithLogits(z, y).Mean().Named("L")
	J := L.Add(w.SumSquares().Mul(LogRegLambda / 2)).Named("J")
	g.Output("loss", L)
	g.Minimize(J)
}
