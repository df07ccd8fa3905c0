package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestSgemmAcc64 checks that every element of SgemmAcc64 is the float64
// result rounded once: within half an ulp of float32 of a float64
// reference plus the float64 summation error (which may flip a rounding
// that falls on a tie: at most 1 float32 ulp apart, rarely).
func TestSgemmAcc64(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	r := rand.New(rand.NewPCG(3, 4))
	shapes := []shape{{1, 1, 1}, {3, 5, 7}, {32, 4, 16}, {13, 17, 600}, {97, 33, 784}, {256, 10, 256}}
	flipped, total := 0, 0
	for _, be := range backendsUnderTest() {
		SetBackend(be)
		for _, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1, -0.7}, {0, 2}} {
					f, n := checkAcc64(t, r, tr[0], tr[1], s, ab[0], ab[1])
					flipped += f
					total += n
				}
			}
		}
	}
	// A flip needs the float64 result within Dgemm's summation error
	// (~k·eps64 relative) of a float32 rounding boundary: about one element
	// in a million for these shapes (none, on the machines measured), so at
	// most 1 in 10⁴ is a generous bound.
	if flipped*10000 > total {
		t.Errorf("%d of %d elements differ from the correctly rounded result", flipped, total)
	}
	t.Logf("%d of %d elements 1 ulp from the correctly rounded float64 result", flipped, total)
}

func checkAcc64(t *testing.T, r *rand.Rand, transA, transB bool, s shape, alpha, beta float32) (flipped, total int) {
	t.Helper()
	m, n, k := s.m, s.n, s.k
	ra, ca := stored(transA, m, k)
	rb, cb := stored(transB, k, n)
	lda, ldb, ldc := ca+1, cb+2, n+3
	a := randSlice[float32](r, ra*lda)
	b := randSlice[float32](r, rb*ldb)
	c := randSlice[float32](r, m*ldc)
	if beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN()) // must not be read
		}
	}
	c0 := append([]float32(nil), c...)
	SgemmAcc64(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
					t.Fatalf("wrote padding C[%d][%d]", i, j)
				}
				continue
			}
			var sum float64
			for p := 0; p < k; p++ {
				var x, y float32
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				sum += float64(x) * float64(y)
			}
			w := float64(alpha) * sum
			if beta != 0 {
				w += float64(beta) * float64(c0[i*ldc+j])
			}
			want := float32(w)
			total++
			if got == want {
				continue
			}
			if math.Nextafter32(want, float32(math.Inf(1))) != got && math.Nextafter32(want, float32(math.Inf(-1))) != got {
				t.Fatalf("%v transA=%v transB=%v %v alpha=%v beta=%v: C[%d][%d] = %v, want %v (float64 %v)", CurrentBackend(), transA, transB, s, alpha, beta, i, j, got, want, w)
			}
			flipped++
		}
	}
	return flipped, total
}

func TestSgemmAcc64Edges(t *testing.T) {
	SgemmAcc64(false, false, 0, 3, 2, 1, nil, 2, make([]float32, 6), 3, 0, nil, 3)
	c := []float32{float32(math.NaN()), 2}
	SgemmAcc64(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, c, 2) // k = 0, beta = 0: C = 0
	if c[0] != 0 || c[1] != 0 {
		t.Errorf("k=0, beta=0: C = %v, want zeros", c)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("short a: no panic")
		}
	}()
	SgemmAcc64(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
}

func TestSgemmAcc64ZeroAllocs(t *testing.T) {
	defer SetThreads(SetThreads(2))
	a, b, c := make([]float32, 256*784), make([]float32, 784*256), make([]float32, 256*256)
	f := func() { SgemmAcc64(false, true, 256, 256, 784, 1, a, 784, b, 784, 0, c, 256) }
	f()
	runtime.GC()
	runtime.GC()
	if n := testing.AllocsPerRun(5, f); n != 0 {
		t.Errorf("%v allocs per call, want 0", n)
	}
}

// BenchmarkSgemmAcc64 compares SgemmAcc64 with Sgemm (both two threads) on
// the large benchmark shapes:
//
//	go test -run='^$' -bench=SgemmAcc64 -count=6 ./runtime/kernels/ | benchstat -col /acc -
func BenchmarkSgemmAcc64(b *testing.B) {
	for _, s := range benchShapes[:3] {
		for _, acc := range []string{"f32", "f64"} {
			b.Run(fmt.Sprintf("%dx%dx%d/acc=%s", s.m, s.k, s.n, acc), func(b *testing.B) {
				r := rand.New(rand.NewPCG(5, 6))
				a, bb, c := randSlice[float32](r, s.m*s.k), randSlice[float32](r, s.k*s.n), make([]float32, s.m*s.n)
				f := Sgemm
				if acc == "f64" {
					f = SgemmAcc64
				}
				f(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				b.ReportAllocs()
				for b.Loop() {
					f(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}
