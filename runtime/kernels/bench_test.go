package kernels

import (
	"fmt"
	"math/rand/v2"
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
					smallMNK = 1 << 62
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
