package kernels

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/gonum"
)

// Activation is an elementwise function applied by the fused GEMM epilogues.
type Activation int

const (
	ActNone    Activation = iota // identity
	ActReLU                      // max(x, 0)
	ActSigmoid                   // 1/(1+exp(-x))
	ActTanh                      // tanh(x)
)

// String returns the activation's name, e.g. "relu".
func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	case ActSigmoid:
		return "sigmoid"
	case ActTanh:
		return "tanh"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// SgemmBias computes C = act(alpha*op(A)*op(B) + beta*C + bias) where bias,
// if non-nil, has one entry per column of C (len(bias) >= n) and is added to
// every row. The bias and activation are applied to each tile of C while it
// is still in cache. Arguments are otherwise as for Sgemm.
//
// Generated code does not call SgemmBias/DgemmBias: codegen fuses a GEMM's
// epilogue in one pass after a plain Sgemm, which measured faster on the
// benchmark models (see fusedGemm in codegen/fused.go). They are optional
// API for hand-written code.
func SgemmBias(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, act Activation) {
	checkArgs("SgemmBias", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	epi := newEpilogue("SgemmBias", n, bias, act)
	gemm(gonum.Implementation.Sgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi)
}

// DgemmBias is the float64 version of SgemmBias.
func DgemmBias(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int, bias []float64, act Activation) {
	checkArgs("DgemmBias", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	epi := newEpilogue("DgemmBias", n, bias, act)
	gemm(gonum.Implementation.Dgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi)
}

// epilogue is the fused bias+activation applied to finished C tiles. The
// zero value does nothing.
type epilogue[T float] struct {
	bias []T // indexed by column, relative to the C slice it is applied to
	act  Activation
}

func newEpilogue[T float](fn string, n int, bias []T, act Activation) epilogue[T] {
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels: %s: len(bias)=%d is shorter than n=%d", fn, len(bias), n))
	}
	if act < ActNone || act > ActTanh {
		panic(fmt.Sprintf("kernels: %s: unknown activation %v", fn, act))
	}
	return epilogue[T]{bias: bias, act: act}
}

func (e epilogue[T]) active() bool { return e.bias != nil || e.act != ActNone }

// cols returns the epilogue for the C columns starting at j.
func (e epilogue[T]) cols(j int) epilogue[T] {
	if e.bias != nil {
		e.bias = e.bias[j:]
	}
	return e
}

// apply runs the epilogue on the m×n block of C at c (row stride ldc).
func (e epilogue[T]) apply(m, n int, c []T, ldc int) {
	if !e.active() {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if e.bias != nil {
			for j, b := range e.bias[:n] {
				row[j] += b
			}
		}
		switch e.act {
		case ActReLU:
			for j, v := range row {
				if v < 0 {
					row[j] = 0
				}
			}
		case ActSigmoid:
			for j, v := range row {
				row[j] = T(1 / (1 + math.Exp(-float64(v))))
			}
		case ActTanh:
			for j, v := range row {
				row[j] = T(math.Tanh(float64(v)))
			}
		}
	}
}
