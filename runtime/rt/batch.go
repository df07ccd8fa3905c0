package rt

import "github.com/bpgen/bpgen/runtime/kernels"

// GemmFunc is a GEMM with the BLAS-like signature of kernels.Sgemm and
// kernels.Dgemm (C = alpha·op(A)·op(B) + beta·C, row-major, leading
// dimensions lda, ldb, ldc).
type GemmFunc[T Float] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// Batch is the batch loop of GemmBatch: N1 × N0 products (i1 outer, i0
// inner), the matrices of product (i1, i0) starting at i1·A1 + i0·A0 in
// a (likewise B and C). A stride of 0 broadcasts the operand along that
// loop.
type Batch struct {
	N0, N1         int
	A0, A1, B0, B1 int
	C0, C1         int
}

// GemmBatch runs the products of b with gemm, split across
// kernels.Threads() cores by kernels.For; each writes its own matrix of C
// (C's strides must keep them apart), so the result does not depend on
// the split. Matrices may be strided views of larger buffers: the
// per-head products of attention read the heads of [n, s, h·dh] in place
// (lda h·dh, head offset dh, batch offset s·h·dh). a, b and c start at
// product (0, 0) and reach at least to the last product's last element.
func GemmBatch[T Float](gemm GemmFunc[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bt Batch) {
	count := bt.N0 * bt.N1
	if count == 0 {
		return
	}
	l := freeListOf[gemmBatchBody[T]](&batchBodies32, &batchBodies64)
	if l == nil { // a named float type: serially
		w := gemmBatchBody[T]{gemm: gemm, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
			a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, bt: bt}
		w.Run(0, count)
		return
	}
	w := l.get()
	*w = gemmBatchBody[T]{gemm: gemm, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, bt: bt}
	// grain: products worth about 2¹⁸ multiply-adds (a few µs).
	grain := max(1, (1<<18)/max(1, m*n*k))
	kernels.For(count, grain, w)
	*w = gemmBatchBody[T]{} // do not keep the caller's buffers alive
	l.put(w)
}

// gemmBatchBody is GemmBatch's kernels.Body: products [lo, hi) in
// row-major order of (i1, i0).
type gemmBatchBody[T Float] struct {
	gemm           GemmFunc[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	bt             Batch
}

func (w *gemmBatchBody[T]) Run(lo, hi int) {
	bt := w.bt
	for p := lo; p < hi; p++ {
		i1, i0 := p/bt.N0, p%bt.N0
		w.gemm(w.transA, w.transB, w.m, w.n, w.k, w.alpha,
			w.a[i1*bt.A1+i0*bt.A0:], w.lda, w.b[i1*bt.B1+i0*bt.B0:], w.ldb, w.beta, w.c[i1*bt.C1+i0*bt.C0:], w.ldc)
	}
}

var (
	batchBodies32 freeList[gemmBatchBody[float32]]
	batchBodies64 freeList[gemmBatchBody[float64]]
)
