package models

import (
	"math"

	"github.com/bpgen/bpgen/dsl"
)

// MaskedValue is the additive attention-mask entry that blocks a key: it
// underflows exp to 0 in float32 and float64 alike, as PyTorch's −inf in a
// float attn_mask does, without the NaN of an all-blocked row.
const MaskedValue = -1e9

// CausalMask returns the additive causal mask of a sequence of length s,
// row-major [s,s]: 0 where query i may attend to key j (j ≤ i), MaskedValue
// elsewhere — torch.triu(torch.full((s, s), -inf), 1).
func CausalMask(s int) []float64 {
	m := make([]float64, s*s)
	for i := range s {
		for j := i + 1; j < s; j++ {
			m[i*s+j] = MaskedValue
		}
	}
	return m
}

// MultiHeadAttention is multi-head self-attention over x [n,s,d] with an
// additive mask that broadcasts to the scores [n,heads,s,s] (PyTorch's
// float attn_mask: a causal [s,s] mask, or a padding mask [n,1,1,s]), as
// torch.nn.MultiheadAttention(d, heads, batch_first=True) without biases
// on q, k, v: q, k, v = x·Wq, x·Wk, x·Wv ([n,s,d]·[d,d]); each split into
// heads [n,h,s,d/h]; softmax(q·kᵀ/√(d/h) + mask)·v; the heads merged back
// into [n·s,d] rows, projected by Wo and bo, and returned as [n,s,d]. Its
// params are named name.Wq, name.Wk, name.Wv, name.Wo, name.bo.
func MultiHeadAttention(g *dsl.Graph, name string, x, mask *dsl.Tensor, heads int) *dsl.Tensor {
	sh := x.Shape()
	n, s, d := sh[0], sh[1], sh[2].N
	dk := d / heads
	Wq := g.Param(name+".Wq", d, d, dsl.XavierUniform())
	Wk := g.Param(name+".Wk", d, d, dsl.XavierUniform())
	Wv := g.Param(name+".Wv", d, d, dsl.XavierUniform())
	Wo := g.Param(name+".Wo", d, d, dsl.XavierUniform())
	bo := g.Param(name+".bo", d)
	split := func(t *dsl.Tensor) *dsl.Tensor { // [n,s,d] → [n,h,s,dk]
		return t.Reshape(n, s, heads, dk).Transpose(0, 2, 1, 3)
	}
	q := split(x.MatMul(Wq).Named(name + ".q"))
	k := split(x.MatMul(Wk).Named(name + ".k"))
	v := split(x.MatMul(Wv).Named(name + ".v"))
	scores := dsl.MatMul(q, k, false, true).Mul(1 / math.Sqrt(float64(dk))).Add(mask).Named(name + ".scores") // [n,h,s,s]
	att := dsl.Softmax(scores).Named(name + ".att")
	ctx := att.MatMul(v)                                                 // [n,h,s,dk]
	merged := ctx.Transpose(0, 2, 1, 3).Reshape(dsl.Prod(n, s), d)       // [n·s,d]
	return merged.MatMul(Wo).Add(bo).Named(name+".out").Reshape(n, s, d) // [n,s,d]
}

// AttentionBlock is one causal multi-head self-attention layer (width 8,
// 2 heads) with a residual connection, fitted to a target by squared
// error: the attention block of the acceptance tests, with a batch of n
// sequences of run-time length s. The mask input is CausalMask(s).
func AttentionBlock(g *dsl.Graph) {
	n, s := g.Dim("n"), g.Dim("s")
	x := g.Input("x", dsl.Float32, n, s, 8)
	mask := g.Input("mask", dsl.Float32, s, s)
	y := g.Target("y", dsl.Float32, n, s, 8)
	h := x.Add(MultiHeadAttention(g, "attn", x, mask, 2)).Named("h")
	g.Output("h", h)
	g.Minimize(dsl.SquaredError(h, y).Mean())
}
