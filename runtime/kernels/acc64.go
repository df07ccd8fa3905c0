package kernels

// SgemmAcc64 is Sgemm computed in float64: C = alpha·op(A)·op(B) + beta·C
// with every product and sum in float64 and each element of C rounded to
// float32 once. It is what ir.Interp computes for a float32 matmul, at about
// half of Sgemm's speed: op(A) and op(B) are converted into float64 copies
// (kept in a pool, so calls after the first of a size do not allocate) and
// multiplied by Dgemm. Generated float32 code calls it when it is generated
// with float64 accumulation (bpgen -accumulate f64).
//
// Argument checks and the BLAS conventions are Sgemm's: when beta == 0, C
// is not read.
func SgemmAcc64(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs("SgemmAcc64", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	ws := acc64Pool.get()
	grow(&ws.a, m*k)
	grow(&ws.b, k*n)
	grow(&ws.c, m*n)
	a64, b64, c64 := ws.a[:m*k], ws.b[:k*n], ws.c[:m*n]
	ra, ca := stored(transA, m, k)
	rb, cb := stored(transB, k, n)
	widen(ra, ca, a, lda, a64)
	widen(rb, cb, b, ldb, b64)
	Dgemm(transA, transB, m, n, k, 1, a64, ca, b64, cb, 0, c64, n)
	al, be := float64(alpha), float64(beta)
	for i := 0; i < m; i++ {
		row, src := c[i*ldc:i*ldc+n], c64[i*n:i*n+n]
		for j, s := range src {
			if be == 0 {
				row[j] = float32(al * s)
			} else {
				row[j] = float32(al*s + be*float64(row[j]))
			}
		}
	}
	acc64Pool.put(ws)
}

// acc64Work holds SgemmAcc64's float64 copies of op(A), op(B) and C.
type acc64Work struct{ a, b, c []float64 }

// acc64Pool holds the acc64Work of finished calls (see freeList).
var acc64Pool freeList[acc64Work]

// widen copies the rows×cols matrix X, stored row-major with leading
// dimension ld, into the dense row-major float64 matrix dst (the transpose
// flags are left to Dgemm's packing).
func widen(rows, cols int, x []float32, ld int, dst []float64) {
	for i := 0; i < rows; i++ {
		d := dst[i*cols : i*cols+cols]
		for j, v := range x[i*ld : i*ld+cols] {
			d[j] = float64(v)
		}
	}
}
