package rt

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// cpuNs is the process's user+system CPU time in nanoseconds: on a loaded
// machine it does not count the time spent waiting for a core.
func cpuNs() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// loopCPU runs f in b.Loop and reports its CPU time per call.
func loopCPU(b *testing.B, f func()) {
	t0 := cpuNs()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuNs()-t0)/float64(b.N), "cpu-ns/op")
}

// Benchmarks of the row kernels of the transformer-block step (batch 32,
// sequence 64, width 128, 4 heads): softmax over the scores' rows of 64,
// layer norm, variance and mean over rows of 128.
func BenchmarkBlockRows(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float32, 32*4*64*64)
	for i := range scores {
		scores[i] = float32(r.NormFloat64())
		if i%64 > (i/64)%64 {
			scores[i] += -1e9
		}
	}
	att := make([]float32, len(scores))
	x := make([]float32, 32*64*128)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, len(x))
	g, be := make([]float32, 128), make([]float32, 128)
	for i := range g {
		g[i], be[i] = 1, 0
	}
	st := make([]float32, 32*64)
	b.Run("softmax", func(b *testing.B) {
		loopCPU(b, func() { Softmax(att, scores, 32*4*64, 64, 1) })
	})
	b.Run("layernorm", func(b *testing.B) {
		loopCPU(b, func() { LayerNorm(y, x, g, be, 32*64, 128, 1e-5) })
	})
	b.Run("var", func(b *testing.B) {
		loopCPU(b, func() { Var(st, x, 32*64, 128, 1, 0) })
	})
	b.Run("mean", func(b *testing.B) {
		loopCPU(b, func() { Reduce(Mean, st, x, 32*64, 128, 1) })
	})
	b.Run("sumcols", func(b *testing.B) {
		loopCPU(b, func() { Reduce(Sum, st[:128], x, 1, 32*64, 128) })
	})
	b.Run("transpose", func(b *testing.B) {
		loopCPU(b, func() { Transpose(y, x, []int{32, 64, 4, 32}, []int{0, 2, 1, 3}) })
	})
}
