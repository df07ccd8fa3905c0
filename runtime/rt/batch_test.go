package rt

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// TestGemmBatch: GemmBatch equals one GEMM per product at the strides of
// its Batch, bit for bit and on one or two threads, for each transpose
// combination, broadcast operands (stride 0) along either loop and the
// strided head views of attention: q and k of [n, s, h·dh] read in place
// (lda h·dh, head offset dh, batch offset s·h·dh) and the context written
// into [n, s, h·dh] (ldc h·dh).
func TestGemmBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n, s, h, dh = 3, 5, 2, 4
	fill := func(k int) []float32 {
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	type gcase struct {
		name           string
		transA, transB bool
		m, nn, k       int
		lda, ldb, ldc  int
		a, b           []float32
		cLen           int
		bt             Batch
	}
	var cases []gcase
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			// [N1=2][N0=3] products of 4×5 by 5×6, a broadcast along loop 1
			// and b along loop 0.
			m, nn, k := 4, 6, 5
			lda, ldb := k, nn
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			cases = append(cases, gcase{name: "bcast", transA: ta, transB: tb, m: m, nn: nn, k: k, lda: lda, ldb: ldb, ldc: nn,
				a: fill(3 * m * k), b: fill(2 * k * nn), cLen: 6 * m * nn,
				bt: Batch{N0: 3, N1: 2, A0: m * k, B1: k * nn, C0: m * nn, C1: 3 * m * nn}})
		}
	}
	// Attention's scores q·kᵀ over the heads of [n, s, h·dh] in place, and
	// the context att·v written to [n, s, h·dh] in place.
	q, kk := fill(n*s*h*dh), fill(n*s*h*dh)
	cases = append(cases,
		gcase{name: "heads q·kᵀ", transB: true, m: s, nn: s, k: dh, lda: h * dh, ldb: h * dh, ldc: s,
			a: q, b: kk, cLen: n * h * s * s,
			bt: Batch{N0: h, N1: n, A0: dh, A1: s * h * dh, B0: dh, B1: s * h * dh, C0: s * s, C1: h * s * s}},
		gcase{name: "heads att·v", m: s, nn: dh, k: s, lda: s, ldb: h * dh, ldc: h * dh,
			a: fill(n * h * s * s), b: kk, cLen: n * s * h * dh,
			bt: Batch{N0: h, N1: n, A0: s * s, A1: h * s * s, B0: dh, B1: s * h * dh, C0: dh, C1: s * h * dh}})
	// Products large enough (64·64·32 multiply-adds) that For splits
	// them: 2 per range.
	cases = append(cases, gcase{name: "split", transB: true, m: 64, nn: 64, k: 32, lda: 32, ldb: 32, ldc: 64,
		a: fill(8 * 64 * 32), b: fill(8 * 64 * 32), cLen: 8 * 64 * 64,
		bt: Batch{N0: 4, N1: 2, A0: 2048, A1: 4 * 2048, B0: 2048, B1: 4 * 2048, C0: 4096, C1: 4 * 4096}})
	defer kernels.SetThreads(kernels.SetThreads(0))
	for _, c := range cases {
		want := make([]float32, c.cLen)
		for i1 := range c.bt.N1 {
			for i0 := range c.bt.N0 {
				kernels.Sgemm(c.transA, c.transB, c.m, c.nn, c.k, 1, c.a[i1*c.bt.A1+i0*c.bt.A0:], c.lda,
					c.b[i1*c.bt.B1+i0*c.bt.B0:], c.ldb, 0, want[i1*c.bt.C1+i0*c.bt.C0:], c.ldc)
			}
		}
		for _, th := range []int{1, 2} {
			kernels.SetThreads(th)
			got := make([]float32, c.cLen)
			GemmBatch(kernels.Sgemm, c.transA, c.transB, c.m, c.nn, c.k, 1, c.a, c.lda, c.b, c.ldb, 0, got, c.ldc, c.bt)
			if !slices.Equal(got, want) {
				t.Errorf("%s transA %v transB %v, %d threads: GemmBatch differs from one GEMM per product", c.name, c.transA, c.transB, th)
			}
		}
	}
}

// TestRows32Parallel: the float32 row kernels give the same bits on one
// and two threads (each row is one call of the serial kernel), and
// allocate nothing.
func TestRows32Parallel(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const rows, cols = 300, 64
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	g, b := x[:cols], x[cols:2*cols]
	run := func() (soft, ln, v, mean, cs []float32) {
		soft, ln, v, mean, cs = make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows), make([]float32, rows), make([]float32, 2*cols)
		Softmax(soft, x, rows, cols, 1)
		LayerNorm(ln, x, g, b, rows, cols, 1e-5)
		Var(v, x, rows, cols, 1, 1)
		Reduce(Mean, mean, x, rows, cols, 1)
		Reduce(Sum, cs, x, 2, rows/2, cols) // column sums of two groups
		return
	}
	defer kernels.SetThreads(kernels.SetThreads(0))
	kernels.SetThreads(1)
	s1, l1, v1, m1, c1 := run()
	kernels.SetThreads(2)
	s2, l2, v2, m2, c2 := run()
	if !slices.Equal(s1, s2) || !slices.Equal(l1, l2) || !slices.Equal(v1, v2) || !slices.Equal(m1, m2) || !slices.Equal(c1, c2) {
		t.Errorf("row kernels differ between one and two threads")
	}
	y := make([]float32, rows*cols)
	a := testing.AllocsPerRun(20, func() {
		Softmax(y, x, rows, cols, 1)
		LayerNorm(y, x, g, b, rows, cols, 1e-5)
		Var(y[:rows], x, rows, cols, 1, 0)
		Reduce(Sum, y[:rows], x, rows, cols, 1)
		Reduce(Sum, y[:cols], x, 1, rows, cols)
		GemmBatch(kernels.Sgemm, false, true, 64, 64, 32, 1, x, 32, x, 32, 0, y, 64, Batch{N0: 4, N1: 1, A0: 2048, B0: 2048, C0: 4096})
	})
	if a != 0 {
		t.Errorf("%v allocations per run of the parallel row kernels and GemmBatch", a)
	}
}

// TestTransposeRunsParallel: a head split large enough for kernels.For to
// split its runs across cores, against direct loops.
func TestTransposeRunsParallel(t *testing.T) {
	const n, s, h, dh = 2, 64, 4, 128
	x := make([]float32, n*s*h*dh)
	for i := range x {
		x[i] = float32(i)
	}
	defer kernels.SetThreads(kernels.SetThreads(0))
	for _, th := range []int{1, 2} {
		kernels.SetThreads(th)
		got := make([]float32, len(x))
		Transpose(got, x, []int{n, s, h, dh}, []int{0, 2, 1, 3})
		for b := range n {
			for i := range s {
				for j := range h {
					for e := range dh {
						if g, w := got[((b*h+j)*s+i)*dh+e], x[((b*s+i)*h+j)*dh+e]; g != w {
							t.Fatalf("%d threads: out[%d,%d,%d,%d] = %v, want %v", th, b, j, i, e, g, w)
						}
					}
				}
			}
		}
	}
	y := make([]float32, len(x))
	if a := testing.AllocsPerRun(10, func() { Transpose(y, x, []int{n, s, h, dh}, []int{0, 2, 1, 3}) }); a != 0 {
		t.Errorf("%v allocations per parallel Transpose", a)
	}
}
