package bench

import (
	"github.com/bpgen/bpgen/internal/cputime"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/testdata/bench/t"
	"github.com/bpgen/bpgen/codegen/testdata/bench/t0"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/runtime/kernels"
	"github.com/bpgen/bpgen/runtime/rt"
)

// blockBatch is the seeded random batch of the transformer-block
// benchmark: x, a target y and the causal mask.
func blockBatch() (x, y, mask []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x = make([]float32, benchmodels.TBatch*benchmodels.TSeq*benchmodels.TWidth)
	y = make([]float32, len(x))
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	mask = make([]float32, benchmodels.TSeq*benchmodels.TSeq)
	for i, v := range models.CausalMask(benchmodels.TSeq) {
		mask[i] = float32(v)
	}
	return x, y, mask
}

// newBlockPair is the generated transformer block (t) and the
// hand-written baseline with the same initial params.
func newBlockPair(tb testing.TB, gemm gemmFunc[float32]) (*t.Model, *blockBaseline) {
	mdl, err := t.New(t.Config{MaxN: benchmodels.TBatch, Seed: 1, Optimizer: t.Optimizer{LR: blockLR}})
	if err != nil {
		tb.Fatal(err)
	}
	bl := newBlockBaseline(benchmodels.TBatch, benchmodels.TSeq, benchmodels.TWidth, benchmodels.THeads, 4*benchmodels.TWidth, gemm)
	p := mdl.Params
	for _, c := range [][2][]float32{{bl.g1, p.Ln1_weight}, {bl.be1, p.Ln1_bias}, {bl.g2, p.Ln2_weight}, {bl.be2, p.Ln2_bias},
		{bl.Wq, p.Attn_Wq}, {bl.Wk, p.Attn_Wk}, {bl.Wv, p.Attn_Wv}, {bl.Wo, p.Attn_Wo}, {bl.bo, p.Attn_bo},
		{bl.W1, p.Mlp_W1}, {bl.b1, p.Mlp_b1}, {bl.W2, p.Mlp_W2}, {bl.b2, p.Mlp_b2}} {
		copy(c[0], c[1])
	}
	return mdl, bl
}

// blockLR is the SGD learning rate of the transformer-block benchmark.
const blockLR = 0.01

// blockBaselineTol is how closely the hand-written step must agree with
// the generated one (norm-wise relative difference of the loss and of each
// gradient): both compute in float32, with different summation orders in
// the GEMMs, softmax and layer norm, and differ by about 1e-6 (measured:
// 9.4e-7); 1e-5 leaves a factor of ten while a missing or wrong term (the
// softmax scale dropped from the backward pass, a transposed product) is
// off by 1e-2 or more.
const blockBaselineTol = 1e-5

// TestBlockBaselineAgrees: the baseline of BenchmarkTransformerBlock
// computes what the generated step does — over two steps from the same
// params, the losses and every gradient agree.
func TestBlockBaselineAgrees(tt *testing.T) {
	x, y, mask := blockBatch()
	mdl, bl := newBlockPair(tt, rt.GonumSgemm)
	worst := 0.0
	for step := range 2 {
		want, err := mdl.TrainStep(t.Inputs{X: x, Mask: mask, Y: y, N: benchmodels.TBatch})
		if err != nil {
			tt.Fatal(err)
		}
		got := bl.step(x, y, mask, blockLR)
		if e := math.Abs(got-float64(want)) / float64(want); !(e <= blockBaselineTol) {
			tt.Errorf("step %d: loss %v, generated %v (rel diff %.2g)", step, got, want, e)
		}
		g := mdl.Grads
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"ln1.weight", bl.dg1, g.Ln1_weight}, {"ln1.bias", bl.dbe1, g.Ln1_bias}, {"ln2.weight", bl.dg2, g.Ln2_weight}, {"ln2.bias", bl.dbe2, g.Ln2_bias},
			{"attn.Wq", bl.dWq, g.Attn_Wq}, {"attn.Wk", bl.dWk, g.Attn_Wk}, {"attn.Wv", bl.dWv, g.Attn_Wv}, {"attn.Wo", bl.dWo, g.Attn_Wo}, {"attn.bo", bl.dbo, g.Attn_bo},
			{"mlp.W1", bl.dW1, g.Mlp_W1}, {"mlp.b1", bl.db1, g.Mlp_b1}, {"mlp.W2", bl.dW2, g.Mlp_W2}, {"mlp.b2", bl.db2, g.Mlp_b2}} {
			var diff, norm float64
			for i := range c.got {
				diff += (float64(c.got[i]) - float64(c.want[i])) * (float64(c.got[i]) - float64(c.want[i]))
				norm += float64(c.want[i]) * float64(c.want[i])
			}
			e := math.Sqrt(diff / norm)
			worst = max(worst, e)
			if !(e <= blockBaselineTol) {
				tt.Errorf("step %d: gradient of %s: baseline and generated differ by %.2g of its norm", step, c.name, e)
			}
		}
	}
	tt.Logf("worst norm-wise relative difference of a gradient: %.2g", worst)
}

// BenchmarkTransformerBlock times one training step (forward, backward,
// SGD update) of a pre-LN transformer block — batch 32, sequence 64,
// width 128, 4 causal heads, float32 (benchmodels.TransformerBlock) —
// generated with every pass on and with every optional pass off, and
// hand-written (blockBaseline: strided heads, no transposes) over gonum's
// GEMM and over runtime/kernels':
//
//	go test -C codegen/testdata/bench -run='^$' -bench=TransformerBlock -benchmem -count=6 . > bench.txt
//	benchstat -col /step bench.txt
func BenchmarkTransformerBlock(b *testing.B) {
	const n = benchmodels.TBatch
	x, y, mask := blockBatch()
	run := func(b *testing.B, step func()) {
		step() // grows the GEMM's workspaces
		b.ReportAllocs()
		c0, ok := cputime.Process()
		for b.Loop() {
			step()
		}
		if c1, _ := cputime.Process(); ok {
			// CPU time of all threads: on a loaded machine it leaves out
			// the waits for a core that inflate ns/op.
			b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
		}
	}
	b.Run("step=passes-on", func(b *testing.B) {
		mdl, err := t.New(t.Config{MaxN: n, Seed: 1, Optimizer: t.Optimizer{LR: blockLR}})
		run(b, trainStep(b, mdl, err, t.Inputs{X: x, Mask: mask, Y: y, N: n}))
	})
	b.Run("step=passes-off", func(b *testing.B) {
		mdl, err := t0.New(t0.Config{MaxN: n, Seed: 1, Optimizer: t0.Optimizer{LR: blockLR}})
		run(b, trainStep(b, mdl, err, t0.Inputs{X: x, Mask: mask, Y: y, N: n}))
	})
	for _, c := range []struct {
		name string
		gemm gemmFunc[float32]
	}{{"hand-gonum", rt.GonumSgemm}, {"hand-kernels", kernels.Sgemm}} {
		b.Run("step="+c.name, func(b *testing.B) {
			_, bl := newBlockPair(b, c.gemm)
			run(b, func() { bl.step(x, y, mask, blockLR) })
		})
	}
}
