package codegen

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/internal/benchmodels/t"
	"github.com/bpgen/bpgen/codegen/internal/benchmodels/t0"
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/passes"
)

// TestTransformerBenchModelsFresh regenerates the transformer-block
// benchmark's packages (t: every pass on; t0: every optional pass off) in
// memory and fails on any byte of difference from the checked-in ones
// (-update rewrites them).
func TestTransformerBenchModelsFresh(tt *testing.T) {
	for _, variant := range []string{"t", "t0"} {
		g, err := dsl.Build("benchmodels.TransformerBlock", benchmodels.TransformerBlock)
		if err != nil {
			tt.Fatal(err)
		}
		var opts passes.Options
		if variant == "t0" {
			opts.Disable = optionalPasses()
		}
		prog, err := passes.CompileProgram(g, opts)
		if err != nil {
			tt.Fatal(err)
		}
		files, err := EmitProgram(prog, Options{Package: variant, Source: "benchmodels.TransformerBlock"})
		if err != nil {
			tt.Fatal(err)
		}
		dir := filepath.Join("internal", "benchmodels", variant)
		for fname, b := range files {
			path := filepath.Join(dir, fname)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					tt.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					tt.Fatal(err)
				}
				continue
			}
			old, err := os.ReadFile(path)
			if err != nil {
				tt.Fatalf("%v (run go test -run TestTransformerBenchModelsFresh -update ./codegen/)", err)
			}
			if !bytes.Equal(old, b) {
				tt.Errorf("%s is stale: run go test -run TestTransformerBenchModelsFresh -update ./codegen/", path)
			}
		}
	}
}

// BenchmarkTransformerBlock times one training step (forward, backward,
// SGD update) of a pre-LN transformer block — batch 32, sequence 64,
// width 128, 4 causal heads, float32 (benchmodels.TransformerBlock) —
// generated with every pass on and with every optional pass off:
//
//	go test -run='^$' -bench=TransformerBlock -benchmem -count=6 ./codegen/ > bench.txt
//	benchstat -col /passes bench.txt
func BenchmarkTransformerBlock(b *testing.B) {
	const n = benchmodels.TBatch
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*benchmodels.TSeq*benchmodels.TWidth)
	y := make([]float32, len(x))
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	mask := make([]float32, benchmodels.TSeq*benchmodels.TSeq)
	for i, v := range models.CausalMask(benchmodels.TSeq) {
		mask[i] = float32(v)
	}
	for _, on := range []string{"on", "off"} {
		b.Run("passes="+on, func(b *testing.B) {
			var step func()
			if on == "on" {
				mdl, err := t.New(t.Config{MaxN: n, Seed: 1, Optimizer: t.Optimizer{LR: 0.01}})
				step = trainStep(b, mdl, err, t.Inputs{X: x, Mask: mask, Y: y, N: n})
			} else {
				mdl, err := t0.New(t0.Config{MaxN: n, Seed: 1, Optimizer: t0.Optimizer{LR: 0.01}})
				step = trainStep(b, mdl, err, t0.Inputs{X: x, Mask: mask, Y: y, N: n})
			}
			step() // grows the GEMM's workspaces
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
		})
	}
}
