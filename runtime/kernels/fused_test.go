package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refEpilogue applies bias and act to C the straightforward way.
func refEpilogue[T float](m, n int, c []T, ldc int, bias []T, act Activation) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := c[i*ldc+j]
			if bias != nil {
				v += bias[j]
			}
			switch act {
			case ActReLU:
				if v < 0 {
					v = 0
				}
			case ActSigmoid:
				v = T(1 / (1 + math.Exp(-float64(v))))
			case ActTanh:
				v = T(math.Tanh(float64(v)))
			}
			c[i*ldc+j] = v
		}
	}
}

func callGemmBias[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bias []T, act Activation) {
	switch any(alpha).(type) {
	case float32:
		SgemmBias(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc, any(bias).([]float32), act)
	case float64:
		DgemmBias(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc, any(bias).([]float64), act)
	}
}

// fusedMatches checks that the fused call is bit-identical to the plain GEMM
// followed by the reference epilogue (the fused path performs the same
// floating-point operations on each element).
func fusedMatches[T float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []shape{{1, 1, 1}, {32, 16, 4}, {7, 13, 29}, {37, 101, 300}, {200, 70, 513}, {40, 900, 64}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, act := range []Activation{ActNone, ActReLU, ActSigmoid, ActTanh} {
				for _, withBias := range []bool{false, true} {
					ra, ca := stored(tr[0], s.m, s.k)
					rb, cb := stored(tr[1], s.k, s.n)
					a, b := randSlice[T](r, ra*ca), randSlice[T](r, rb*cb)
					c := randSlice[T](r, s.m*s.n)
					var bias []T
					if withBias {
						bias = randSlice[T](r, s.n)
					}
					want := append([]T(nil), c...)
					callGemm(tr[0], tr[1], s.m, s.n, s.k, 0.5, a, ca, b, cb, 0.25, want, s.n)
					refEpilogue(s.m, s.n, want, s.n, bias, act)
					got := append([]T(nil), c...)
					callGemmBias(tr[0], tr[1], s.m, s.n, s.k, 0.5, a, ca, b, cb, 0.25, got, s.n, bias, act)
					if i := bitsEqual(want, got); i >= 0 {
						t.Fatalf("%v %v trans=%v act=%v bias=%v: C[%d]=%v want %v", CurrentBackend(), s, tr, act, withBias, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestFusedEpilogue(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	defer SetThreads(SetThreads(0))
	for _, be := range backendsUnderTest() {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v/threads=%d", be, th), func(t *testing.T) {
				SetBackend(be)
				SetThreads(th)
				fusedMatches[float32](t)
				fusedMatches[float64](t)
			})
		}
	}
}

func TestFusedZeroAllocs(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, th := range []int{1, 2} {
		SetThreads(th)
		for _, s := range []shape{{32, 16, 4}, {256, 256, 784}} {
			a, b, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
			bias := make([]float32, s.n)
			f := func() { SgemmBias(false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, c, s.n, bias, ActReLU) }
			f()
			if n := testing.AllocsPerRun(5, f); n != 0 {
				t.Errorf("threads=%d %v: %v allocs per SgemmBias call, want 0", th, s, n)
			}
		}
	}
}

func TestFusedPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("short bias did not panic")
		}
	}()
	SgemmBias(false, false, 2, 3, 1, 1, make([]float32, 2), 1, make([]float32, 3), 3, 0, make([]float32, 6), 3, make([]float32, 2), ActNone)
}
