package apitest

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/generated/lenet"
	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/kernels"
)

// TestThreadCountsBitIdentical trains mlp (batch 256: its bias-and-ReLU
// epilogue and weight-decay loops are split over the cores) and lenet
// (batch 64: its convolutions, pooling and elementwise loops) for three
// steps on one thread and on four, and checks that the params and the
// losses agree bit for bit: every split the generated code and the kernels
// make is of independent elements, or of fixed chunks summed in order.
func TestThreadCountsBitIdentical(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer kernels.SetThreads(kernels.SetThreads(0))
	type run struct {
		losses []float32
		params []uint32
	}
	trainMLP := func() run {
		m, err := mlp.New(mlp.Config{MaxN: 256, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		var r run
		for i := range 3 {
			loss, err := m.TrainStep(batch(256, uint64(10+i)))
			if err != nil {
				t.Fatal(err)
			}
			r.losses = append(r.losses, loss)
		}
		r.params = bits(m.ParamVector())
		return r
	}
	trainLeNet := func() run {
		m, err := lenet.New(lenet.Config{MaxN: 64, Seed: 3, Optimizer: lenet.Optimizer{LR: 0.05}})
		if err != nil {
			t.Fatal(err)
		}
		var r run
		for i := range 3 {
			rng := rand.New(rand.NewPCG(uint64(20+i), 2))
			in := lenet.Inputs{N: 64, X: make([]float32, 64*28*28), Y: make([]int32, 64)}
			for j := range in.X {
				in.X[j] = rng.Float32()
			}
			for j := range in.Y {
				in.Y[j] = int32(rng.IntN(10))
			}
			loss, err := m.TrainStep(in)
			if err != nil {
				t.Fatal(err)
			}
			r.losses = append(r.losses, loss)
		}
		r.params = bits(m.ParamVector())
		return r
	}
	for _, c := range []struct {
		name  string
		train func() run
	}{{"mlp", trainMLP}, {"lenet", trainLeNet}} {
		kernels.SetThreads(1)
		one := c.train()
		kernels.SetThreads(4)
		four := c.train()
		if !slices.Equal(one.losses, four.losses) {
			t.Errorf("%s: losses on 1 thread %v, on 4 %v", c.name, one.losses, four.losses)
		}
		for j := range one.params {
			if one.params[j] != four.params[j] {
				t.Errorf("%s: param element %d differs between 1 and 4 threads", c.name, j)
				break
			}
		}
	}
}
