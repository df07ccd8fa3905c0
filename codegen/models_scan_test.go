package codegen

import (
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// Scan (issue 17): an RNN h ← tanh(h·W + x_t·U + b) as a loop over a
// symbolic length, with gradients to the params and the inputs; two
// carries and two sequences; and the RNN at a static length next to the
// same model unrolled with a Go loop (both checked against the
// interpreter, whose scan and unrolled results agree: dsl's
// TestScanMatchesUnrolled).
func scanModels() []*testModel { return scanModelsWith(false) }

// scanCheckpointModels are scanModels' models with checkpointing, and
// forward mode and Hessian-vector products through a scan (bpgen -jvp,
// -hvp) (listed after every other model, so that the others' seeds stay
// put).
func scanCheckpointModels() []*testModel { return scanModelsWith(true) }

func scanModelsWith(checkpointed bool) []*testModel {
	rnn := func(length any, unrolled bool, opts ...dsl.ScanOption) func(g *dsl.Graph) {
		return func(g *dsl.Graph) {
			T := length
			if T == nil {
				T = g.Dim("T")
			}
			n := g.Dim("n")
			xs := g.Input("xs", dsl.Float32, T, n, 2)
			h0 := g.Input("h0", dsl.Float32, n, 3)
			W, U, b := g.Param("W", 3, 3, dsl.Normal(0, 0.5)), g.Param("U", 2, 3, dsl.Normal(0, 0.5)), g.Param("b", 3, dsl.Normal(0, 0.5))
			cell := func(h, x *dsl.Tensor) *dsl.Tensor { return dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)).Add(b)) }
			var last, loss *dsl.Tensor
			if unrolled {
				h := h0
				for t := range T.(int) {
					h = cell(h, xs.Slice(0, t, t+1).Reshape(n, 2))
					if loss == nil {
						loss = h.Square().Sum()
					} else {
						loss = loss.Add(h.Square().Sum())
					}
				}
				last = h
			} else {
				var hs *dsl.Tensor
				last, hs = dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
					h = cell(h, x)
					return h, h
				}, opts...)
				g.Output("hs", hs)
				loss = hs.Square().Sum()
			}
			g.Output("last", last)
			g.Minimize(loss.Add(last.Sum()))
		}
	}
	pair := func(g *dsl.Graph, opts ...dsl.ScanOption) {
		T, n := g.Dim("T"), g.Dim("n")
		xs := g.Input("xs", dsl.Float32, T, n)
		ws := g.Input("ws", dsl.Float32, T, 2)
		a0, c0 := g.Param("a0", 2, dsl.Normal(0, 0.5)), g.Param("c0", 2, dsl.Normal(1, 0.2))
		q := g.Param("q", 2, dsl.Normal(0, 0.5))
		fs, ys := dsl.ScanN([]*dsl.Tensor{a0, c0}, []*dsl.Tensor{xs, ws}, func(c, x []*dsl.Tensor) ([]*dsl.Tensor, []*dsl.Tensor) {
			a := dsl.Sin(c[0].Mul(c[1])).Add(x[0].Mean()).Add(q)
			return []*dsl.Tensor{a, c[0].Mul(x[1])}, []*dsl.Tensor{a.Mul(c[1]).Sum(), x[0].Square()}
		}, opts...)
		g.Output("a", fs[0])
		g.Minimize(fs[0].Sum().Add(fs[1].Square().Sum()).Add(ys[0].Square().Sum()).Add(ys[1].Mean()))
	}
	if checkpointed {
		return []*testModel{
			// Checkpointing (the backward recomputes the carries segment by
			// segment): k = 2 and 3 divide some of the lengths run and not
			// others, k = 1 keeps every carry, k = 50 exceeds every length.
			{name: "scan_rnn64_ckpt2", fn: rnn(nil, false, dsl.Checkpoint(2)), dtype: ir.F64, lo: -1, hi: 1, adam: true, wrt: []string{"xs", "h0"}},
			{name: "scan_rnn32_ckpt3", fn: rnn(nil, false, dsl.Checkpoint(3)), dtype: ir.F32, lo: -1, hi: 1},
			{name: "scan_rnn64_ckpt1", fn: rnn(nil, false, dsl.Checkpoint(1)), dtype: ir.F64, lo: -1, hi: 1},
			{name: "scan_rnn64_ckpt50", fn: rnn(nil, false, dsl.Checkpoint(50)), dtype: ir.F64, lo: -1, hi: 1},
			{name: "scan_pair64_ckpt2", fn: func(g *dsl.Graph) { pair(g, dsl.Checkpoint(2)) }, dtype: ir.F64, lo: -1, hi: 1},
			{name: "scan_static64_ckpt3", fn: rnn(4, false, dsl.Checkpoint(3)), dtype: ir.F64, lo: -1, hi: 1},
			{name: "scan_jvp64", fn: rnn(nil, false), dtype: ir.F64, lo: -1, hi: 1, noGrad: true, transform: jvpTransform},
			{name: "scan_hvp64", fn: rnn(nil, false), dtype: ir.F64, lo: -1, hi: 1, noGrad: true, transform: hvpTransform},
			{name: "scan_pair_hvp64", fn: func(g *dsl.Graph) { pair(g) }, dtype: ir.F64, lo: -1, hi: 1, noGrad: true, transform: hvpTransform},
		}
	}
	return []*testModel{
		{name: "scan_rnn64", fn: rnn(nil, false), dtype: ir.F64, lo: -1, hi: 1, adam: true, wrt: []string{"xs", "h0"}},
		{name: "scan_rnn32", fn: rnn(nil, false), dtype: ir.F32, lo: -1, hi: 1},
		{name: "scan_pair64", fn: func(g *dsl.Graph) { pair(g) }, dtype: ir.F64, lo: -1, hi: 1},
		{name: "scan_static64", fn: rnn(4, false), dtype: ir.F64, lo: -1, hi: 1},
		{name: "unrolled_static64", fn: rnn(4, true), dtype: ir.F64, lo: -1, hi: 1},
	}
}
