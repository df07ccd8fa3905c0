package models

import (
	"math"

	"github.com/bpgen/bpgen/dsl"
)

//go:generate go run ../../cmd/bpgen -func LeNet -out ../../generated/lenet

// LeNet is LeNet-5 as in Dive into Deep Learning §7.6, with the ReLU
// activations and max-pooling its text suggests instead of sigmoids and
// average pooling: conv 1→6 5×5 (padding 2), ReLU, 2×2 max-pool; conv
// 6→16 5×5, ReLU, 2×2 max-pool; flatten to 400; dense 400→120→84→10 with
// ReLU; the mean softmax cross-entropy. The input is a batch of 28×28
// grey images, [n,1,28,28]. In PyTorch:
//
//	nn.Sequential(
//		nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
//		nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
//		nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
//
// Weights are He-initialized (the conv kernels with their fan-in
// in-channels·5·5); dense weights are stored in × out.
func LeNet(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 1, 28, 28)
	y := g.Labels("y", n)
	he := func(fanIn int) dsl.Init { return dsl.Normal(0, math.Sqrt(2/float64(fanIn))) }
	C1 := g.Param("C1", 6, 1, 5, 5, he(1*5*5))
	c1 := g.Param("c1", 6, 1, 1)
	C2 := g.Param("C2", 16, 6, 5, 5, he(6*5*5))
	c2 := g.Param("c2", 16, 1, 1)
	W3 := g.Param("W3", 400, 120, dsl.HeNormal())
	b3 := g.Param("b3", 120)
	W4 := g.Param("W4", 120, 84, dsl.HeNormal())
	b4 := g.Param("b4", 84)
	W5 := g.Param("W5", 84, 10, dsl.XavierUniform())
	b5 := g.Param("b5", 10)

	pool := dsl.Pool2D{Kernel: [2]int{2, 2}}
	h1 := dsl.ReLU(dsl.Conv2D(x, C1, dsl.Padding(2)).Add(c1)).Named("h1") // [n,6,28,28]
	p1 := dsl.MaxPool2D(h1, pool).Named("p1")                             // [n,6,14,14]
	h2 := dsl.ReLU(dsl.Conv2D(p1, C2).Add(c2)).Named("h2")                // [n,16,10,10]
	p2 := dsl.MaxPool2D(h2, pool).Named("p2")                             // [n,16,5,5]
	f := p2.Reshape(n, 400)
	h3 := dsl.ReLU(f.MatMul(W3).Add(b3)).Named("h3")
	h4 := dsl.ReLU(h3.MatMul(W4).Add(b4)).Named("h4")
	o := h4.MatMul(W5).Add(b5).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L)
}
