package models

import (
	"math"

	"github.com/bpgen/bpgen/dsl"
)

//go:generate go run ../../cmd/bpgen -func RNN -out ../../generated/rnn

// RNNHidden is the hidden size of RNN.
const RNNHidden = 16

// RNN is the recurrent network of Dive into Deep Learning §9.4–9.5 as a
// one-step-ahead predictor of a scalar sequence: over a window of T steps
// of n sequences, h ← tanh(h·W + x_t·U + b) and the prediction of x_{t+1}
// is h·V + c; the loss is the mean squared error against the next values.
// The loop is a dsl.Scan: compiled once, whatever T. The initial state h0
// is an input and the final state h an output, so a caller can carry the
// state from one window to the next (truncated backprop through time).
// In PyTorch: nn.RNN(1, 16, nonlinearity="tanh") and nn.Linear(16, 1).
func RNN(g *dsl.Graph) {
	T, n := g.Dim("T"), g.Dim("n")
	xs := g.Input("xs", dsl.Float32, T, n, 1)
	h0 := g.Input("h0", dsl.Float32, n, RNNHidden)
	next := g.Target("next", dsl.Float32, T, n, 1)
	s := 1 / math.Sqrt(RNNHidden)
	W := g.Param("W", RNNHidden, RNNHidden, dsl.Uniform(-s, s))
	U := g.Param("U", 1, RNNHidden, dsl.Uniform(-s, s))
	b := g.Param("b", RNNHidden, dsl.Uniform(-s, s))
	V := g.Param("V", RNNHidden, 1, dsl.Uniform(-s, s))
	c := g.Param("c", 1)
	h, pred := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
		h = dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)).Add(b)).Named("h")
		return h, h.MatMul(V).Add(c)
	})
	g.Output("h", h)
	g.Output("pred", pred)
	loss := pred.Sub(next).Square().Mean()
	g.Output("loss", loss)
	g.Minimize(loss)
}
