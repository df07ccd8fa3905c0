package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Error bounds. A length-k dot product computed in precision u = eps/2 has
// |error| <= γ_k·Σ|a||b| with γ_k ≈ k·u; the alpha and beta scalings add two
// more roundings. We allow (k+2)·eps·(|alpha|·Σ|a_ip·b_pj| + |beta·c_ij|),
// i.e. twice the worst-case bound, with eps the type's machine epsilon.
const (
	eps32 = 0x1p-23 // float32 machine epsilon
	eps64 = 0x1p-52 // float64 machine epsilon
)

func epsOf[T float]() float64 {
	if is32[T]() {
		return eps32
	}
	return eps64
}

func backendsUnderTest() []Backend {
	var bs []Backend
	for _, b := range []Backend{BackendGonum, BackendPortable, BackendAVX2, BackendAVX512} {
		if b.Available() {
			bs = append(bs, b)
		}
	}
	return bs
}

func callGemm[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch any(alpha).(type) {
	case float32:
		Sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case float64:
		Dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func randSlice[T float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.Float64()*2 - 1)
	}
	return s
}

type shape struct{ m, n, k int }

// checkOne runs one GEMM on the current backend and compares with a float64
// reference. pad is added to every leading dimension.
func checkOne[T float](t *testing.T, r *rand.Rand, transA, transB bool, s shape, alpha, beta T, pad int) {
	t.Helper()
	m, n, k := s.m, s.n, s.k
	ra, ca := stored(transA, m, k)
	rb, cb := stored(transB, k, n)
	lda, ldb, ldc := ca+pad, cb+pad, n+pad
	a := randSlice[T](r, max(ra*lda, 1))
	b := randSlice[T](r, max(rb*ldb, 1))
	c := randSlice[T](r, m*ldc)
	if beta == 0 {
		for i := range c {
			c[i] = T(math.NaN()) // must not be read
		}
	}
	c0 := append([]T(nil), c...)
	const sentinel = 12345
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			c[i*ldc+j] = sentinel
		}
	}
	opA := func(i, p int) float64 {
		if transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	callGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	tol := float64(k+2) * epsOf[T]()
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := float64(c[i*ldc+j])
			if j >= n {
				if got != sentinel {
					t.Fatalf("%v wrote padding C[%d][%d]", CurrentBackend(), i, j)
				}
				continue
			}
			var sum, mag float64
			for p := 0; p < k; p++ {
				v := opA(i, p) * opB(p, j)
				sum += v
				mag += math.Abs(v)
			}
			want := float64(alpha) * sum
			scale := math.Abs(float64(alpha)) * mag
			if beta != 0 {
				want += float64(beta) * float64(c0[i*ldc+j])
				scale += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			if diff := math.Abs(got - want); !(diff <= tol*scale) {
				t.Fatalf("%v transA=%v transB=%v m=%d n=%d k=%d alpha=%v beta=%v pad=%d: C[%d][%d]=%v want %v (diff %g > bound %g)",
					CurrentBackend(), transA, transB, m, n, k, alpha, beta, pad, i, j, got, want, diff, tol*scale)
			}
		}
	}
}

// shapesFor returns shapes straddling the blocking parameters of ks plus
// generic awkward sizes.
func shapesFor[T float](ks *kernelSet[T]) []shape {
	mr, nr, mc, kc, nc := ks.mr, ks.nr, ks.mc, ks.kc, ks.nc
	ss := []shape{{1, 1, 1}, {7, 13, 29}, {2, 3, 5}, {31, 37, 41}, {16, 32, 4}, {32, 16, 4}, {67, 59, 61}}
	for _, m := range []int{mr - 1, mr, mr + 1, 2*mr + 1} {
		for _, n := range []int{nr - 1, nr, nr + 1, 2*nr + 1} {
			if m > 0 && n > 0 {
				ss = append(ss, shape{m, n, 17}, shape{m, n, 3})
			}
		}
	}
	for _, m := range []int{mc - 1, mc + 1, 2*mc + mr + 1} {
		ss = append(ss, shape{m, nr + 1, 19})
	}
	for _, k := range []int{kc - 1, kc, kc + 1, 2*kc + 1} {
		ss = append(ss, shape{mr + 1, nr + 1, k})
	}
	for _, n := range []int{nc - 1, nc + 1} {
		ss = append(ss, shape{mr + 1, n, 5})
	}
	// narrow C computed transposed (swapPays; split in deterministic)
	ss = append(ss, shape{4*nr + 3, 10, 37}, shape{3 * nr, 1, kc + 5}, shape{5*nr + 1, nr - 1, 2*kc + 1})
	// around the small-path threshold
	ss = append(ss, shape{16, 32, 32}, shape{16, 32, 33}, shape{mc + 3, 2*nr + 3, kc + 5})
	return ss
}

func conformance[T float](t *testing.T, ks *kernelSet[T]) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapesFor(ks) {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, alpha := range []T{1, 0.5, 0} {
				for _, beta := range []T{0, 1, -0.7} {
					pad := 0
					if (s.m+s.n+s.k)%2 == 1 {
						pad = 3
					}
					checkOne(t, r, tr[0], tr[1], s, alpha, beta, pad)
				}
			}
		}
	}
}

// TestConformance checks every available backend, both element types, one
// and two threads, with the small-matrix path chosen normally, forced for
// every shape, and disabled for every shape (so edge tiles of the packed path
// are exercised by the small shapes too).
func TestConformance(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	defer func(v int) { smallMNK = v }(smallMNK)
	paths := []struct {
		name  string
		small int
	}{{"auto", smallMNK}, {"packed", 0}, {"small", math.MaxInt}}
	for _, be := range backendsUnderTest() {
		for _, threads := range []int{1, 2} {
			for _, path := range paths {
				if be == BackendGonum && path.name != "auto" {
					continue
				}
				t.Run(fmt.Sprintf("%v/threads=%d/%s", be, threads, path.name), func(t *testing.T) {
					SetBackend(be)
					smallMNK = path.small
					defer SetThreads(SetThreads(threads))
					t.Run("float32", func(t *testing.T) { conformance(t, kernels32(be)) })
					t.Run("float64", func(t *testing.T) { conformance(t, kernels64(be)) })
				})
			}
		}
	}
}

// TestPortableOtherTile runs the conformance suite on the portable tile this
// architecture does not select (4×4 on amd64, 2×4 elsewhere), so both Go
// micro-kernels are tested wherever the tests run.
func TestPortableOtherTile(t *testing.T) {
	defer SetBackend(SetBackend(BackendPortable))
	defer SetThreads(SetThreads(1))
	defer func(p32 *kernelSet[float32], p64 *kernelSet[float64]) { portable32, portable64 = p32, p64 }(portable32, portable64)
	portable32, portable64 = newPortable[float32](!portableNarrow), newPortable[float64](!portableNarrow)
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		t.Run(fmt.Sprintf("%dx%d/threads=%d", portable32.mr, portable32.nr, threads), func(t *testing.T) {
			conformance(t, portable32)
			conformance(t, portable64)
		})
	}
}

func TestZeroSizes(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	for _, be := range backendsUnderTest() {
		SetBackend(be)
		c := []float32{1, 2, 3, 4}
		Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
		if c[0] != 0.5 || c[3] != 2 {
			t.Errorf("%v: k=0 should scale C by beta, got %v", be, c)
		}
		Sgemm(false, false, 0, 0, 3, 1, nil, 3, nil, 1, 0, nil, 1)
	}
}

func TestPanicsOnShortSlices(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"a", func() {
			Sgemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		}, "len(a)=15"},
		{"b", func() {
			Dgemm(false, true, 4, 5, 3, 1, make([]float64, 12), 3, make([]float64, 14), 3, 0, make([]float64, 20), 5)
		}, "len(b)=14"},
		{"c", func() {
			Sgemm(false, false, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 16), 5)
		}, "len(c)=16"},
		{"ld", func() {
			Sgemm(true, false, 4, 4, 4, 1, make([]float32, 16), 3, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		}, "lda=3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q does not mention %q", msg, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func bitsEqual[T float](x, y []T) int {
	for i := range x {
		if x[i] != y[i] && !(x[i] != x[i] && y[i] != y[i]) {
			return i
		}
	}
	return -1
}

func deterministic[T float](t *testing.T, be Backend) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []shape{{300, 517, 600}, {37, 1030, 700}, {1030, 45, 300}, {256, 256, 784}, {1500, 10, 100}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}} {
			ra, ca := stored(tr[0], s.m, s.k)
			rb, cb := stored(tr[1], s.k, s.n)
			a, b := randSlice[T](r, ra*ca), randSlice[T](r, rb*cb)
			c := randSlice[T](r, s.m*s.n)
			var ref []T
			for _, th := range []int{1, 2, 3, 4} {
				SetThreads(th)
				cc := append([]T(nil), c...)
				callGemm(tr[0], tr[1], s.m, s.n, s.k, 0.75, a, ca, b, cb, T(-0.3), cc, s.n)
				if ref == nil {
					ref = cc
				} else if i := bitsEqual(ref, cc); i >= 0 {
					t.Fatalf("%v %v trans=%v threads=%d differs from threads=1 at %d: %v vs %v", be, s, tr, th, i, cc[i], ref[i])
				}
			}
		}
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	defer SetThreads(SetThreads(0))
	for _, be := range backendsUnderTest() {
		if be == BackendGonum {
			continue
		}
		SetBackend(be)
		t.Run(be.String(), func(t *testing.T) {
			deterministic[float32](t, be)
			deterministic[float64](t, be)
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	defer SetBackend(SetBackend(BackendAuto))
	defer SetThreads(SetThreads(0))
	for _, be := range backendsUnderTest() {
		if be == BackendGonum {
			continue
		}
		SetBackend(be)
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, s := range []shape{{32, 16, 4}, {128, 128, 128}, {256, 256, 784}} {
				a32, b32, c32 := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
				a64, b64, c64 := make([]float64, s.m*s.k), make([]float64, s.k*s.n), make([]float64, s.m*s.n)
				for _, tr := range [][2]bool{{false, false}, {true, true}} {
					lda, ldb := s.k, s.n
					if tr[0] {
						lda = s.m
					}
					if tr[1] {
						ldb = s.k
					}
					f := func() {
						Sgemm(tr[0], tr[1], s.m, s.n, s.k, 1, a32, lda, b32, ldb, 0.5, c32, s.n)
						Dgemm(tr[0], tr[1], s.m, s.n, s.k, 1, a64, lda, b64, ldb, 0.5, c64, s.n)
					}
					f() // warm-up: grows buffers, starts workers
					// Two GCs would empty a sync.Pool (primary, then victim
					// cache); the workspaces must survive them.
					runtime.GC()
					runtime.GC()
					if n := testing.AllocsPerRun(5, f); n != 0 {
						t.Errorf("%v threads=%d %v trans=%v: %v allocs per call, want 0", be, threads, s, tr, n)
					}
				}
			}
		}
	}
}

func TestBackendString(t *testing.T) {
	for b, want := range map[Backend]string{BackendAuto: "auto", BackendGonum: "gonum", BackendPortable: "portable", BackendAVX2: "avx2", BackendAVX512: "avx512"} {
		if b.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(b), b.String(), want)
		}
	}
	prev := SetBackend(BackendAuto)
	defer SetBackend(prev)
	if CurrentBackend() == BackendAuto {
		t.Error("CurrentBackend returned BackendAuto")
	}
	t.Logf("auto backend: %v", CurrentBackend())
}

// TestConcurrentCallers runs parallel GEMMs from several goroutines at once
// (they share the persistent workers) and checks each against a serial run.
func TestConcurrentCallers(t *testing.T) {
	defer SetThreads(SetThreads(2))
	const m, n, k = 150, 130, 140
	r := rand.New(rand.NewPCG(9, 10))
	a, b := randSlice[float32](r, m*k), randSlice[float32](r, k*n)
	SetThreads(1)
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	SetThreads(2)
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			c := make([]float32, m*n)
			for it := 0; it < 20; it++ {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				if i := bitsEqual(want, c); i >= 0 {
					errs <- fmt.Sprintf("goroutine result differs at %d", i)
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestEdgeKernelsBitIdentical: the last row panel of a block computed by
// an edge kernel (4 or 8 rows of the AVX-512 float32 set) gives the same
// bits as the whole 12-row kernel gives those rows: the m×n product's
// rows are compared with the same rows of a 24×n product, for every m
// from 13 to 24 (edge panels of 1 to 12 rows, the scratch tile and C
// itself), with beta 0 and 1, at widths with and without an edge column.
func TestEdgeKernelsBitIdentical(t *testing.T) {
	if !BackendAVX512.Available() {
		t.Skip("no AVX-512 on this machine")
	}
	defer SetBackend(SetBackend(BackendAVX512))
	defer SetThreads(SetThreads(1))
	r := rand.New(rand.NewPCG(3, 4))
	const k = 150 // unrolled by 4, with a tail of 2
	for _, n := range []int{64, 70} {
		a, b := randSlice[float32](r, 24*k), randSlice[float32](r, k*n)
		c0 := randSlice[float32](r, 24*n)
		for _, beta := range []float32{0, 1} {
			full := slices.Clone(c0)
			Sgemm(false, false, 24, n, k, 1, a, k, b, n, beta, full, n)
			for m := 13; m <= 24; m++ {
				c := slices.Clone(c0[:m*n])
				Sgemm(false, false, m, n, k, 1, a, k, b, n, beta, c, n)
				for i, v := range c {
					if math.Float32bits(v) != math.Float32bits(full[i]) {
						t.Fatalf("n %d, beta %v, m %d: C[%d][%d] = %v, the 24-row product's %v", n, beta, m, i/n, i%n, v, full[i])
					}
				}
			}
		}
	}
}
