package model

import "github.com/bpgen/bpgen/dsl"

func Tiny(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	y := g.Labels("y", n)
	W := g.Param("W", 3, 2)
	g.Minimize(dsl.SoftmaxCrossEntropy(x.MatMul(W.T()), y).Mean())
}
