package models

import "github.com/bpgen/bpgen/dsl"

//go:generate go run ../../cmd/bpgen -func Rosenbrock -out ../../generated/rosenbrock
//go:generate go run ../../cmd/bpgen -func CurveFit -out ../../generated/curvefit

// RosenbrockN is the dimension of Rosenbrock.
const RosenbrockN = 100

// Rosenbrock is the extended Rosenbrock function of RosenbrockN variables,
// f(x) = Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)² for i < N−1, in float64: a
// function, not a network, minimized by examples/optimize with gonum's
// L-BFGS on the generated gradient. x is the only param; its minimum is
// x = (1, …, 1), f = 0.
func Rosenbrock(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	x := g.Param("x", RosenbrockN)
	head := x.Slice(0, 0, RosenbrockN-1).Named("head") // xᵢ
	tail := x.Slice(0, 1, RosenbrockN).Named("tail")   // xᵢ₊₁
	valley := tail.Sub(head.Square()).Named("valley")
	slope := head.Neg().Add(1.0).Named("slope")
	f := valley.SumSquares().Mul(100.0).Add(slope.SumSquares()).Named("f")
	g.Minimize(f)
}

// CurveFit is the least-squares fit of y ≈ a·exp(−b·t) + c to n points
// (t, y), in float64: the objective is ½ Σ (a·exp(−b·t) + c − y)², the
// params are the scalars a, b and c, and the output "fit" is the model's
// curve at t.
func CurveFit(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	n := g.Dim("n")
	t := g.Input("t", dsl.Float64, n)
	y := g.Input("y", dsl.Float64, n)
	a := g.Param("a")
	b := g.Param("b")
	c := g.Param("c")
	fit := dsl.Exp(t.Mul(b).Neg()).Mul(a).Add(c).Named("fit")
	r := fit.Sub(y).Named("r")
	g.Output("fit", fit)
	g.Minimize(r.SumSquares().Mul(0.5))
}
