package kernels

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend selects the GEMM implementation used by Sgemm and Dgemm.
type Backend int

const (
	// BackendAuto picks the fastest implementation the CPU supports:
	// AVX-512, then AVX2+FMA, then portable Go.
	BackendAuto Backend = iota
	// BackendGonum delegates to gonum.org/v1/gonum/blas/gonum (the old path,
	// kept for comparison). It may allocate and start goroutines.
	BackendGonum
	// BackendPortable is blocked pure Go; it runs on every architecture.
	BackendPortable
	// BackendAVX2 uses AVX2+FMA assembly micro-kernels (amd64 only).
	BackendAVX2
	// BackendAVX512 uses AVX-512F assembly micro-kernels (amd64 only).
	BackendAVX512
)

// String returns the backend's name, e.g. "avx512".
func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendGonum:
		return "gonum"
	case BackendPortable:
		return "portable"
	case BackendAVX2:
		return "avx2"
	case BackendAVX512:
		return "avx512"
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// Available reports whether backend b can run on this machine.
// BackendAuto, BackendGonum and BackendPortable are always available.
func (b Backend) Available() bool {
	switch b {
	case BackendAuto, BackendGonum, BackendPortable:
		return true
	case BackendAVX2:
		return hasAVX2
	case BackendAVX512:
		return hasAVX512
	}
	return false
}

// bestBackend is what BackendAuto resolves to on this machine.
func bestBackend() Backend {
	switch {
	case hasAVX512:
		return BackendAVX512
	case hasAVX2:
		return BackendAVX2
	}
	return BackendPortable
}

var (
	curBackend atomic.Int64 // resolved backend (never BackendAuto)
	numThreads atomic.Int64
)

// EnvBackend is the environment variable read once at program start to
// force a backend: auto, avx512, avx2, portable or gonum (case-insensitive;
// empty means auto). For example, BPGEN_KERNELS=avx2 benchmarks the AVX2
// kernels on an AVX-512 machine. An unknown name, or a backend this machine
// cannot run, is reported on standard error and auto is used instead; the
// program is not stopped. SetBackend overrides it.
const EnvBackend = "BPGEN_KERNELS"

func init() {
	b, err := backendFromEnv(os.Getenv(EnvBackend))
	if err != nil {
		fmt.Fprintf(os.Stderr, "bpgen/runtime/kernels: %v; using %v\n", err, bestBackend())
	}
	curBackend.Store(int64(b))
}

// ParseBackend returns the backend named s (auto, gonum, portable, avx2 or
// avx512, case-insensitive, surrounding spaces ignored; "" is auto).
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return BackendAuto, nil
	case "gonum":
		return BackendGonum, nil
	case "portable":
		return BackendPortable, nil
	case "avx2":
		return BackendAVX2, nil
	case "avx512":
		return BackendAVX512, nil
	}
	return BackendAuto, fmt.Errorf("unknown backend %q (want auto, avx512, avx2, portable or gonum)", s)
}

// backendFromEnv resolves the value of EnvBackend to a concrete backend that
// runs here; on an error it returns the best backend and says why.
func backendFromEnv(s string) (Backend, error) {
	b, err := ParseBackend(s)
	if err != nil {
		return bestBackend(), fmt.Errorf("%s=%s: %v", EnvBackend, s, err)
	}
	if !b.Available() {
		return bestBackend(), fmt.Errorf("%s=%s: backend %v is not available on this machine (the CPU lacks it or this is not amd64)", EnvBackend, s, b)
	}
	if b == BackendAuto {
		b = bestBackend()
	}
	return b, nil
}

// SetBackend selects the implementation used by subsequent Sgemm/Dgemm calls
// process-wide and returns the previous one. BackendAuto picks the best the
// CPU supports; CurrentBackend then reports the concrete choice. It panics if
// b is not available on this machine (see Backend.Available).
func SetBackend(b Backend) (prev Backend) {
	if !b.Available() {
		panic(fmt.Sprintf("kernels: SetBackend: backend %v is not available on this machine", b))
	}
	if b == BackendAuto {
		b = bestBackend()
	}
	return Backend(curBackend.Swap(int64(b)))
}

// CurrentBackend returns the backend in use (never BackendAuto).
func CurrentBackend() Backend { return Backend(curBackend.Load()) }

// SetThreads sets how many goroutines large GEMMs and For are split across
// and returns the previous setting (0 for the default). n <= 0 restores
// the default, which follows runtime.GOMAXPROCS(0) at each call (so
// `go test -cpu 1,2` runs serially, then on two cores); 1 means serial;
// values above 64 are clamped to 64. GEMMs are split over rows or columns of C, never over k,
// so results do not depend on n. Products with m·n·k below 2²⁰ always run
// serially. A part that no worker has started by the time the caller has
// finished its own is run by the caller, so on a machine whose other cores
// are busy a call costs about what it costs on one thread.
func SetThreads(n int) (prev int) {
	if n <= 0 {
		n = 0
	}
	if n > maxThreads {
		n = maxThreads
	}
	return int(numThreads.Swap(int64(n)))
}

// Threads returns the current thread count: the value set by SetThreads,
// or runtime.GOMAXPROCS(0) (at most 64) by default.
func Threads() int {
	if n := int(numThreads.Load()); n > 0 {
		return n
	}
	return min(runtime.GOMAXPROCS(0), maxThreads)
}

// maxThreads bounds SetThreads (the number of persistent workers is at most
// maxThreads-1).
const maxThreads = 64

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// op(X) = X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n. lda/ldb/ldc are row
// strides (leading dimensions) of A, B, C as stored. It panics with a clear
// message if a slice is too short for the given sizes (a programming error in
// generated code).
//
// As in BLAS, when beta == 0 C is not read (NaNs in C are overwritten), and
// when alpha == 0 or k == 0, A and B are not read.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs("Sgemm", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	gemm(gonum.Implementation.Sgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is the float64 version of Sgemm.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkArgs("Dgemm", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	gemm(gonum.Implementation.Dgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gonumGemm is the signature of gonum.Implementation.Sgemm/Dgemm as method
// expressions.
type gonumGemm[T float] func(gonum.Implementation, blas.Transpose, blas.Transpose, int, int, int, T, []T, int, []T, int, T, []T, int)

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// checkArgs panics if the sizes are negative, a leading dimension is smaller
// than the stored row length, or a slice is too short.
func checkArgs(fn string, transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: %s: negative size m=%d n=%d k=%d", fn, m, n, k))
	}
	ra, ca := stored(transA, m, k)
	rb, cb := stored(transB, k, n)
	checkMat(fn, "a", "lda", transA, ra, ca, la, lda)
	checkMat(fn, "b", "ldb", transB, rb, cb, lb, ldb)
	checkMat(fn, "c", "ldc", false, m, n, lc, ldc)
}

// stored returns the rows and columns, as stored, of a matrix whose op()
// is rows×cols.
func stored(trans bool, rows, cols int) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

func checkMat(fn, name, ldName string, t bool, rows, cols, l, ld int) {
	if ld < cols {
		panic(fmt.Sprintf("kernels: %s: %s=%d is smaller than the %d columns of %s as stored (transposed=%v)", fn, ldName, ld, cols, name, t))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; l < need {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d is too short: %d×%d stored with %s=%d (transposed=%v) needs %d elements", fn, name, l, rows, cols, ldName, ld, t, need))
	}
}

type float interface{ ~float32 | ~float64 }

// scaleC sets C = beta*C (C = 0 if beta == 0, so NaNs in C are cleared).
func scaleC[T float](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
