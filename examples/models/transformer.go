package models

import "github.com/bpgen/bpgen/dsl"

//go:generate go run ../../cmd/bpgen -func Transformer -out ../../generated/transformer

// The digit tasks of Transformer: DigitsLen digits, the separator, then
// DigitsLen digits computed from them (reversed, or sorted), predicted one
// at a time.
const (
	DigitsLen   = 8             // digits in, and out
	DigitsSep   = 10            // the separator token, after the digits 0–9
	DigitsVocab = 11            // digits and the separator
	DigitsSeq   = 2 * DigitsLen // tokens the model reads: x₁…x_L, SEP, y₁…y_{L−1}

	transformerWidth = 64 // d_model
	transformerHeads = 4  // attention heads
	transformerFF    = 4 * transformerWidth
	transformerDepth = 2 // decoder blocks
)

// Transformer is a small decoder-only (GPT-style, pre-LN) transformer for
// sequence-to-sequence tasks on digits (examples/transformer reverses or
// sorts them): it reads x₁…x_L, SEP, y₁…y_{L−1} under a causal mask and,
// at SEP and at each yᵢ, predicts the next y — next-token prediction with
// teacher forcing, as a language model is trained. Tokens are embedded
// (embed, as nn.Embedding) and a learned positional embedding (pos, as
// GPT-2's wpe) is added; each block is h += attn(LayerNorm(h));
// h += MLP(LayerNorm(h)), with a ReLU MLP of width 4d; a final LayerNorm
// and a linear head give the logits of the L predicted positions. The
// mask input is CausalMask(DigitsSeq).
func Transformer(g *dsl.Graph) {
	n := g.Dim("n")
	const d = transformerWidth
	tokens := g.Indices("tokens", n, DigitsSeq)
	mask := g.Input("mask", dsl.Float32, DigitsSeq, DigitsSeq)
	y := g.Labels("y", n, DigitsLen)
	embed := g.Param("embed", DigitsVocab, d, dsl.Normal(0, 0.1))
	pos := g.Param("pos", DigitsSeq, d, dsl.Normal(0, 0.1))
	h := embed.Gather(0, tokens).Add(pos).Named("h0") // [n,s,d]
	for l := range transformerDepth {
		name := "block" + string(rune('0'+l))
		h = h.Add(MultiHeadAttention(g, name+".attn", g.LayerNorm(name+".ln1", h, 1), mask, transformerHeads))
		W1 := g.Param(name+".mlp.W1", d, transformerFF, dsl.HeNormal())
		b1 := g.Param(name+".mlp.b1", transformerFF)
		W2 := g.Param(name+".mlp.W2", transformerFF, d, dsl.XavierUniform())
		b2 := g.Param(name+".mlp.b2", d)
		u := dsl.ReLU(g.LayerNorm(name+".ln2", h, 1).MatMul(W1).Add(b1)) // [n,s,4d]
		h = h.Add(u.MatMul(W2).Add(b2)).Named(name + ".out")
	}
	h = g.LayerNorm("ln_f", h, 1)
	Wout := g.Param("head.W", d, DigitsVocab, dsl.XavierUniform())
	bout := g.Param("head.b", DigitsVocab)
	// Positions L (SEP) … 2L−1 predict y₁ … y_L.
	logits := h.Slice(1, DigitsLen, DigitsSeq).MatMul(Wout).Add(bout).Named("logits") // [n,L,vocab]
	loss := dsl.SoftmaxCrossEntropy(logits, y).Mean().Named("loss")
	g.Output("logits", logits)
	g.Output("loss", loss)
	g.Minimize(loss)
}
