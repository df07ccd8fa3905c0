package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Benchmark shapes, named MxKxN: op(A) is M×K, op(B) is K×N.
var benchShapes = []struct{ m, k, n int }{
	{256, 784, 256},
	{128, 512, 512},
	{1024, 1024, 1024},
	{32, 4, 16},
}

// benchVariants: "gonum" and "bpgen" run single-threaded (GOMAXPROCS=1 so
// gonum's internal goroutines cannot run in parallel, and SetThreads(1));
// the "-par" variants use the default GOMAXPROCS and SetThreads default.
var benchVariants = []struct {
	name    string
	backend Backend
	par     bool
}{
	{"gonum", BackendGonum, false},
	{"bpgen", BackendAuto, false},
	{"gonum-par", BackendGonum, true},
	{"bpgen-par", BackendAuto, true},
}

func benchGemm[T float](b *testing.B) {
	for _, s := range benchShapes {
		for _, v := range benchVariants {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, v.name), func(b *testing.B) {
				defer SetBackend(SetBackend(v.backend))
				if v.par {
					defer SetThreads(SetThreads(0))
				} else {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
					defer SetThreads(SetThreads(1))
				}
				r := rand.New(rand.NewPCG(5, 6))
				a, bb, c := randSlice[T](r, s.m*s.k), randSlice[T](r, s.k*s.n), make([]T, s.m*s.n)
				callGemm(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				b.ResetTimer()
				for b.Loop() {
					callGemm(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

func BenchmarkSgemm(b *testing.B) { benchGemm[float32](b) }
func BenchmarkDgemm(b *testing.B) { benchGemm[float64](b) }

// BenchmarkSmallCrossover compares the unpacked small path with the packed
// path on the auto backend, single-threaded, to choose smallMNK.
func BenchmarkSmallCrossover(b *testing.B) {
	defer SetThreads(SetThreads(1))
	defer func(v int) { smallMNK = v }(smallMNK)
	for _, s := range []struct{ m, k, n int }{{32, 4, 16}, {16, 16, 16}, {32, 16, 32}, {32, 32, 32}, {64, 16, 64}, {48, 48, 48}, {64, 64, 64}, {128, 8, 128}} {
		for _, path := range []string{"small", "packed", "small-transB", "packed-transB", "gonum-transB"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, path), func(b *testing.B) {
				switch path {
				case "small", "small-transB":
					smallMNK = math.MaxInt
				case "gonum-transB":
					defer SetBackend(SetBackend(BackendGonum))
				default:
					smallMNK = 0
				}
				transB, ldb := strings.HasSuffix(path, "transB"), s.n
				if transB {
					ldb = s.k
				}
				r := rand.New(rand.NewPCG(5, 6))
				a, bb, c := randSlice[float32](r, s.m*s.k), randSlice[float32](r, s.k*s.n), make([]float32, s.m*s.n)
				for b.Loop() {
					Sgemm(false, transB, s.m, s.n, s.k, 1, a, s.k, bb, ldb, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// BenchmarkMicroKernel measures the auto backend's micro-kernel alone on
// L1-resident packed panels: the ceiling for the blocked GEMM.
func BenchmarkMicroKernel(b *testing.B) {
	b.Run("float32", func(b *testing.B) { benchMicroKernel(b, kernels32(CurrentBackend())) })
	b.Run("float64", func(b *testing.B) { benchMicroKernel(b, kernels64(CurrentBackend())) })
}

func benchMicroKernel[T float](b *testing.B, ks *kernelSet[T]) {
	const kc = 256
	a, bb, c := make([]T, ks.mr*kc), make([]T, ks.nr*kc), make([]T, ks.mr*ks.nr)
	for b.Loop() {
		ks.kern(kc, &a[0], &bb[0], &c[0], ks.nr, 1, 1, 1)
	}
	flops := 2 * float64(ks.mr*ks.nr*kc) * float64(b.N)
	b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// BenchmarkBlockSizes sweeps the cache-block sizes (MC, KC, NC) of the auto
// backend, single-threaded, on the benchmark shapes; it is how the constants
// in blocking.go were chosen. It is slow, so it only runs with
// KERNELS_SWEEP=1 in the environment.
func BenchmarkBlockSizes(b *testing.B) {
	if os.Getenv("KERNELS_SWEEP") == "" {
		b.Skip("set KERNELS_SWEEP=1 to run the block-size sweep")
	}
	defer SetThreads(SetThreads(1))
	b.Run("float32", func(b *testing.B) { sweepBlocks(b, kernels32(CurrentBackend())) })
	b.Run("float64", func(b *testing.B) { sweepBlocks(b, kernels64(CurrentBackend())) })
}

func sweepBlocks[T float](b *testing.B, ks *kernelSet[T]) {
	orig := *ks
	defer func() { *ks = orig }()
	for _, s := range benchShapes[:3] {
		for _, mc := range []int{ks.mr * 8, ks.mr * 16, ks.mr * 32} {
			for _, kc := range []int{128, 256, 384, 512} {
				for _, nc := range []int{ks.nr * 16, ks.nr * 128} {
					b.Run(fmt.Sprintf("%dx%dx%d/mc%d-kc%d-nc%d", s.m, s.k, s.n, mc, kc, nc), func(b *testing.B) {
						ks.mc, ks.kc, ks.nc = mc, kc, nc
						r := rand.New(rand.NewPCG(5, 6))
						a, bb, c := randSlice[T](r, s.m*s.k), randSlice[T](r, s.k*s.n), make([]T, s.m*s.n)
						for b.Loop() {
							callGemm(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
						}
						flops := 2 * float64(s.m*s.n*s.k) * float64(b.N)
						b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
					})
				}
			}
		}
	}
}

// BenchmarkSgemmMLP covers the three products of one dense layer's training
// step (forward X·W, dX = dY·Wᵀ, dW = Xᵀ·dY) for MNIST-MLP-like shapes,
// single-threaded, gonum vs the auto backend. Names: tA-tB-MxKxN.
func BenchmarkSgemmMLP(b *testing.B) {
	defer SetThreads(SetThreads(1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	type cs struct {
		ta, tb  bool
		m, n, k int
	}
	for _, s := range []cs{
		{false, false, 64, 128, 784}, {false, true, 64, 784, 128}, {true, false, 784, 128, 64},
		{false, false, 64, 10, 128}, {false, true, 64, 128, 10}, {true, false, 128, 10, 64},
		{false, false, 32, 16, 4}, {false, true, 32, 4, 16}, {true, false, 4, 16, 32},
	} {
		for _, be := range []Backend{BackendGonum, BackendAuto} {
			b.Run(fmt.Sprintf("tA%v-tB%v-%dx%dx%d/%v", s.ta, s.tb, s.m, s.k, s.n, be), func(b *testing.B) {
				defer SetBackend(SetBackend(be))
				r := rand.New(rand.NewPCG(5, 6))
				a, bb, c := randSlice[float32](r, s.m*s.k), randSlice[float32](r, s.k*s.n), make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.ta {
					lda = s.m
				}
				if s.tb {
					ldb = s.k
				}
				for b.Loop() {
					Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}
