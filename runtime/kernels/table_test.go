package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/bpgen/bpgen/internal/cputime"
)

// gemmTableShapes are the float32 products of the M and L benchmark train
// steps exactly as the generated code calls Sgemm (see
// codegen/testdata/bench/{m,l}/kernels.go): op(A) is m×k, op(B) k×n,
// ta/tb the transposes. M is batch 256, 784→256→10; L is batch 128,
// 512→(512×6)→10 (each of its six hidden layers makes the fwd, dW and — but
// the first — dX product). sq1024 is the square product of
// BenchmarkSgemm, the third "large shape" with M.fwd1 and L.fwd.
var gemmTableShapes = []struct {
	name    string
	ta, tb  bool
	m, n, k int
}{
	{"M.fwd1", false, false, 256, 256, 784}, // h1 = X·W1
	{"M.fwd2", false, false, 256, 10, 256},  // logits = h1·W2
	{"M.dW2", true, false, 256, 10, 256},    // dW2 = h1ᵀ·dlogits
	{"M.dX2", false, true, 256, 256, 10},    // dh1 = dlogits·W2ᵀ
	{"M.dW1", true, false, 784, 256, 256},   // dW1 = Xᵀ·dh1
	{"L.fwd", false, false, 128, 512, 512},  // h = h·W (×6)
	{"L.fwd7", false, false, 128, 10, 512},  // logits = h6·W7
	{"L.dW7", true, false, 512, 10, 128},    // dW7 = h6ᵀ·dlogits
	{"L.dX7", false, true, 128, 512, 10},    // dh6 = dlogits·W7ᵀ
	{"L.dW", true, false, 512, 512, 128},    // dW = hᵀ·dh (×6)
	{"L.dX", false, true, 128, 512, 512},    // dh = dh'·Wᵀ (×5)
	{"sq1024", false, false, 1024, 1024, 1024},
}

// gemmTableImpls: this package's kernels (the AVX2 ones forced on an
// AVX-512 machine) and gonum's (build with -tags noasm for its pure-Go
// kernels). Unavailable backends are skipped.
var gemmTableImpls = []struct {
	name string
	be   Backend
	prev bool // as before issue 13: its packers removed (prevPacking), no transposed C (noSwap)
}{
	{"avx512", BackendAVX512, false},
	{"avx512-prev", BackendAVX512, true},
	{"avx2", BackendAVX2, false},
	{"avx2-prev", BackendAVX2, true},
	{"portable", BackendPortable, false},
	{"portable-prev", BackendPortable, true},
	{"gonum", BackendGonum, false},
}

// BenchmarkGemmTable times the training products of the M and L steps for
// every implementation at 1 and 2 threads (SetThreads and GOMAXPROCS both
// set to the count, so gonum's goroutines are limited alike) and reports
// GFLOP/s, and the process CPU time per call (cpu-ns/op: on a loaded
// machine wall time includes waiting for a core; at 1 thread CPU time does
// not, at 2 threads it is the sum over both cores), and the fastest single
// call (min-ns/op: the time when nothing else held the cores; the measure
// for 1 vs 2 threads on a loaded machine). Compare in one run:
//
//	go test -run='^$' -bench=GemmTable -count=6 ./runtime/kernels/ | tee table.txt
//	benchstat -col /impl -row .name table.txt    # implementations side by side
//	benchstat -col /threads table.txt            # 1 vs 2 threads
func BenchmarkGemmTable(b *testing.B) {
	for _, s := range gemmTableShapes {
		for _, im := range gemmTableImpls {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("shape=%s/impl=%s/threads=%d", s.name, im.name, th), func(b *testing.B) {
					if !im.be.Available() {
						b.Skipf("%v is not available on this machine", im.be)
					}
					defer SetBackend(SetBackend(im.be))
					if im.prev {
						ks := kernels32(im.be)
						saved := *ks
						*ks = prevPacking(ks)
						noSwap = true
						defer func() { *ks, noSwap = saved, false }()
					}
					defer SetThreads(SetThreads(th))
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(th))
					benchTableShape(b, s.ta, s.tb, s.m, s.n, s.k)
				})
			}
		}
	}
}

func benchTableShape(b *testing.B, ta, tb bool, m, n, k int) {
	r := rand.New(rand.NewPCG(7, 8))
	a, bb, c := randSlice[float32](r, m*k), randSlice[float32](r, k*n), make([]float32, m*n)
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	Sgemm(ta, tb, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	cpu0, cpuOK := cputime.Process()
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		t0 := time.Now()
		Sgemm(ta, tb, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
		best = min(best, time.Since(t0))
	}
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(best.Nanoseconds()), "min-ns/op")
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// prevPacking returns a copy of ks with the packers added for issue 13
// (asm row copies, the AVX2 6-row A packer) removed: the previous kernel,
// kept reachable for BenchmarkGemmTable's before/after comparison.
func prevPacking[T float](ks *kernelSet[T]) kernelSet[T] {
	p := *ks
	if p.mr == 2 && p.nr == 4 {
		p.kern = portableKernel2x4Prev[T]
	}
	p.copyAT, p.copyB = nil, nil
	if p.mr == 6 {
		p.packA = nil
	}
	return p
}

// BenchmarkParallelCrossover times products just above the serial
// threshold (parMNK) at 1 and 2 threads on the auto backend, to check that
// the split never makes a product slower (threads=2-wait: the split before
// issue 13, which waited for a worker even when none had a core):
//
//	go test -run='^$' -bench=ParallelCrossover -count=6 ./runtime/kernels/ | benchstat -col /threads -
func BenchmarkParallelCrossover(b *testing.B) {
	for _, s := range []struct {
		ta, tb  bool
		m, n, k int
	}{
		{false, false, 64, 128, 128}, {false, false, 128, 128, 128}, {false, false, 128, 256, 128},
		{false, false, 256, 256, 128}, {false, false, 128, 512, 32}, {false, false, 128, 16, 512},
		{true, false, 128, 128, 64}, {false, true, 128, 128, 64}, {true, false, 512, 512, 16},
		{false, false, 128, 512, 512}, {false, false, 1024, 1024, 1024},
	} {
		for _, th := range []string{"1", "2", "2-wait"} {
			b.Run(fmt.Sprintf("shape=%v%v-%dx%dx%d/threads=%s", s.ta, s.tb, s.m, s.n, s.k, th), func(b *testing.B) {
				defer SetThreads(SetThreads(int(th[0] - '0')))
				if th == "2-wait" { // the previous split: always wait for the worker
					defer func() { waitForWorkers = false }()
					waitForWorkers = true
				}
				benchTableShape(b, s.ta, s.tb, s.m, s.n, s.k)
			})
		}
	}
}

// portableKernel2x4Prev is the 2×4 portable kernel before issue 13 (impl=portable-prev).
func portableKernel2x4Prev[T float](kc int, a, b, c *T, ldc int, alpha, beta T, accum int) {
	as := unsafe.Slice(a, 2*kc)
	bs := unsafe.Slice(b, 4*kc)
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	for len(as) >= 2 && len(bs) >= 4 {
		a0, a1 := as[0], as[1]
		b0, b1, b2, b3 := bs[0], bs[1], bs[2], bs[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		as, bs = as[2:], bs[4:]
	}
	cs := unsafe.Slice(c, ldc+4)
	storeRow4(cs[0:4:4], c00, c01, c02, c03, alpha, beta, accum)
	storeRow4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta, accum)
}
