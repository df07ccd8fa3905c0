package benchmodels

import (
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
)

// The transformer-block benchmark (issue 12): batch 32, sequence 64,
// width 128, 4 heads, float32. Its packages are codegen/testdata/bench/t
// (every pass on) and t0 (every optional pass off).
const (
	TBatch = 32
	TSeq   = 64
	TWidth = 128
	THeads = 4
)

// TransformerBlock is one pre-LN transformer block over x [n,64,128]:
// h = x + attn(LayerNorm(x)) with causal 4-head self-attention
// (models.MultiHeadAttention), out = h + MLP(LayerNorm(h)) with a ReLU
// MLP of width 512, fitted to a target by mean squared error.
func TransformerBlock(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, TSeq, TWidth)
	mask := g.Input("mask", dsl.Float32, TSeq, TSeq)
	y := g.Target("y", dsl.Float32, n, TSeq, TWidth)
	h := x.Add(models.MultiHeadAttention(g, "attn", g.LayerNorm("ln1", x, 1), mask, THeads))
	W1 := g.Param("mlp.W1", TWidth, 4*TWidth, dsl.HeNormal())
	b1 := g.Param("mlp.b1", 4*TWidth)
	W2 := g.Param("mlp.W2", 4*TWidth, TWidth, dsl.XavierUniform())
	b2 := g.Param("mlp.b2", TWidth)
	u := dsl.ReLU(g.LayerNorm("ln2", h, 1).MatMul(W1).Add(b1))
	out := h.Add(u.MatMul(W2).Add(b2)).Named("out")
	g.Minimize(dsl.SquaredError(out, y).Mean())
}
