package bench

import (
	"github.com/bpgen/bpgen/internal/cputime"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/testdata/bench/lenet"
	"github.com/bpgen/bpgen/codegen/testdata/bench/lenet0"
	"github.com/bpgen/bpgen/runtime/rt"
)

// BenchmarkTrainStepLeNet times one training step (forward, backward, SGD
// update) of LeNet-5 (examples/models.LeNet: two convolutions with ReLU
// and 2×2 max-pooling, three dense layers; float32, batch 256), generated
// with every pass on and with every optional pass off, against the
// hand-written plain-loop step (passes=loops: direct convolution and
// pooling loops, gonum's GEMM for the dense layers), in one run:
//
//	go test -C codegen/testdata/bench -run='^$' -bench=TrainStepLeNet -benchmem -count=6 . | tee lenet.txt
//	benchstat -col /passes lenet.txt
//
// With -cpu 2 the convolutions, pooling and GEMMs run on two cores, with
// -cpu 1 on one. Give each count its own invocation, with GOMAXPROCS set
// to it (GOMAXPROCS=1 go test ... -cpu 1): in one invocation with -cpu 1,2
// the first result of a sub-benchmark is measured at the GOMAXPROCS left
// from before, not at 1 (Go issue 49980). cpu-ns/op is the process's CPU
// time per step (both cores' with -cpu 2): on a loaded machine it does not
// count time spent waiting for a core, where ns/op does; a cpu-ns/op twice
// the ns/op at -cpu 1 gives that mistake away.
func BenchmarkTrainStepLeNet(b *testing.B) {
	const n = benchmodels.LeNetBatch
	x, y := lenetBatch(n)
	for _, passes := range []string{"on", "off"} {
		b.Run("LeNet/passes="+passes, func(b *testing.B) {
			var step func()
			if passes == "on" {
				mdl, err := lenet.New(lenet.Config{MaxN: n, Seed: 1, Optimizer: lenet.Optimizer{LR: 0.01}})
				step = trainStep(b, mdl, err, lenet.Inputs{X: x, Y: y, N: n})
			} else {
				mdl, err := lenet0.New(lenet0.Config{MaxN: n, Seed: 1, Optimizer: lenet0.Optimizer{LR: 0.01}})
				step = trainStep(b, mdl, err, lenet0.Inputs{X: x, Y: y, N: n})
			}
			step() // grows the GEMM's workspaces
			b.ReportAllocs()
			c0, ok := cputime.Process()
			for b.Loop() {
				step()
			}
			if c1, _ := cputime.Process(); ok {
				// Not counting time spent waiting for a core on a loaded
				// machine (with -cpu 2, both cores' time).
				b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
	b.Run("LeNet/passes=loops", func(b *testing.B) {
		bl := newLeNetBaseline(n, rt.GonumSgemm, 1)
		bl.step(x, y, 0.01)
		b.ReportAllocs()
		for b.Loop() {
			bl.step(x, y, 0.01)
		}
	})
}

// lenetBatch is a seeded random batch of n images in [0, 1) and labels.
func lenetBatch(n int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	return x, y
}
