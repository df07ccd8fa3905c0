// Package models holds the models bundled with bpgen, written in its DSL.
// `go generate ./...` in this repository compiles each into a package under
// generated/; the examples import those packages.
package models

import (
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/custom/thirdparty"
	"github.com/bpgen/bpgen/ir"
)

//go:generate go run ../../cmd/bpgen -func MLP -out ../../generated/mlp
//go:generate go run ../../cmd/bpgen -func SoftmaxRegression -out ../../generated/softmaxreg
//go:generate go run ../../cmd/bpgen -func DeepMLP -out ../../generated/deepmlp
//go:generate go run ../../cmd/bpgen -func GELUNet -out ../../generated/gelunet

// Lambda is the L2 penalty weight λ of MLP's objective.
const Lambda = 1e-4

// MLP is the network of Dive into Deep Learning §4.7: one hidden ReLU
// layer, softmax cross-entropy, and the L2 penalty
// J = L + λ/2 (‖W1‖² + ‖W2‖²). Weights are stored in × out.
func MLP(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 784)
	y := g.Labels("y", n)
	W1 := g.Param("W1", 784, 256, dsl.HeNormal())
	b1 := g.Param("b1", 256)
	W2 := g.Param("W2", 256, 10, dsl.XavierUniform())
	b2 := g.Param("b2", 10)

	z := x.MatMul(W1).Add(b1).Named("z")
	h := dsl.ReLU(z).Named("h")
	o := h.MatMul(W2).Add(b2).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	s := W1.SumSquares().Add(W2.SumSquares()).Named("s")
	J := L.Add(s.Mul(Lambda / 2)).Named("J")

	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(J)
}

// SoftmaxRegression is multinomial logistic regression on 784 features.
func SoftmaxRegression(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 784)
	y := g.Labels("y", n)
	W := g.Param("W", 784, 10, dsl.Zeros())
	b := g.Param("b", 10)
	o := x.MatMul(W).Add(b).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L)
}

// DeepMLP is a 784→(256×6)→10 ReLU network: six hidden layers.
func DeepMLP(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 784)
	y := g.Labels("y", n)
	h := x
	in := 784
	for i := range 6 {
		W := g.Param(layerName("W", i+1), in, 256, dsl.HeNormal())
		b := g.Param(layerName("b", i+1), 256)
		h = dsl.ReLU(h.MatMul(W).Add(b)).Named(layerName("h", i+1))
		in = 256
	}
	W := g.Param("Wout", in, 10, dsl.XavierUniform())
	b := g.Param("bout", 10)
	o := h.MatMul(W).Add(b).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L)
}

// layerName (in names.go) numbers the values of a layer: W1, …, W10, …

// GELU is the third-party GELU as an op of the model: generated code calls
// thirdparty.GELU and, for the backward pass, thirdparty.GELUVJP directly.
var GELU = dsl.Extern{
	Func: "github.com/bpgen/bpgen/examples/custom/thirdparty.GELU",
	VJP:  "github.com/bpgen/bpgen/examples/custom/thirdparty.GELUVJP",
}

// The interpreter (and so gradient checks) reaches the extern functions
// through a registry.
func init() {
	ir.RegisterExtern(GELU.Func, thirdparty.GELU[float64])
	ir.RegisterExternVJP(GELU.VJP, thirdparty.GELUVJP[float64])
}

// GELUNet is a 784→128→10 classifier whose activation is the third-party
// GELU, an extern op with a Go backward.
func GELUNet(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 784)
	y := g.Labels("y", n)
	W1 := g.Param("W1", 784, 128, dsl.HeNormal())
	b1 := g.Param("b1", 128)
	W2 := g.Param("W2", 128, 10, dsl.XavierUniform())
	b2 := g.Param("b2", 10)
	h := GELU.Call(x.MatMul(W1).Add(b1)).Named("h")
	o := h.MatMul(W2).Add(b2).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L)
}
