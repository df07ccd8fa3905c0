package kernels

import (
	"math"
	"testing"
)

// TestNonFinite puts NaN, +Inf and −Inf at every position of slices of
// every length up to past two vector blocks (the AVX2 sweep and the
// scalar tail), among the finite extremes (the largest magnitudes, the
// smallest subnormal, −0), and checks the index NonFinite reports.
func TestNonFinite(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for n := range 70 {
		x32, x64 := make([]float32, n), make([]float64, n)
		for i := range x32 {
			x32[i] = []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1)), 1}[i%5]
			x64[i] = []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1), 1}[i%5]
		}
		if got := NonFinite(x32); got != -1 {
			t.Errorf("n=%d float32: a finite slice gives %d", n, got)
		}
		if got := NonFinite(x64); got != -1 {
			t.Errorf("n=%d float64: a finite slice gives %d", n, got)
		}
		for i := range n {
			for _, bad := range []float64{nan, inf, -inf, -nan} {
				c32, c64 := append([]float32(nil), x32...), append([]float64(nil), x64...)
				c32[i], c64[i] = float32(bad), bad
				if i+3 < n { // a second one after it: the first is reported
					c32[i+3], c64[i+3] = float32(nan), nan
				}
				if got := NonFinite(c32); got != i {
					t.Errorf("n=%d float32 %v at %d: got %d", n, bad, i, got)
				}
				if got := NonFinite(c64); got != i {
					t.Errorf("n=%d float64 %v at %d: got %d", n, bad, i, got)
				}
			}
		}
	}
}

// BenchmarkNonFinite times the sweep over the gradient vectors of the
// benchmark models M (203530 float32) and L (1581066), the cost of the
// finiteness check of their TrainStep (compare BenchmarkTrainStep in
// codegen).
func BenchmarkNonFinite(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"M", 203530}, {"L", 1581066}} {
		x := make([]float32, c.n)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * c.n))
			for b.Loop() {
				if NonFinite(x) != -1 {
					b.Fatal("non-finite")
				}
			}
		})
	}
}

// TestNonFiniteSplit checks the sweep split over cores (a slice of several
// grains) at 1 and 2 threads and on the forced-AVX2 backend: the index of
// the first bad element wherever it falls, -1 for a finite slice, and no
// allocation.
func TestNonFiniteSplit(t *testing.T) {
	defer SetThreads(SetThreads(0))
	defer SetBackend(SetBackend(BackendAuto))
	n := 5*nonFiniteGrain + 17
	x32, x64 := make([]float32, n), make([]float64, n)
	for _, be := range []Backend{BackendAuto, BackendAVX2, BackendPortable} {
		if !be.Available() {
			continue
		}
		SetBackend(be)
		for _, th := range []int{1, 2} {
			SetThreads(th)
			if got := NonFinite(x32); got != -1 {
				t.Errorf("%v threads=%d: finite float32 slice gives %d", be, th, got)
			}
			if a := testing.AllocsPerRun(10, func() { NonFinite(x32); NonFinite(x64) }); a != 0 {
				t.Errorf("%v threads=%d: NonFinite allocates %v times per call", be, th, a)
			}
			for _, i := range []int{0, nonFiniteGrain - 1, nonFiniteGrain, 3*nonFiniteGrain + 5, n - 1} {
				x32[i], x64[i] = float32(math.Inf(-1)), math.NaN()
				if got := NonFinite(x32); got != i {
					t.Errorf("%v threads=%d float32: -Inf at %d gives %d", be, th, i, got)
				}
				if got := NonFinite(x64); got != i {
					t.Errorf("%v threads=%d float64: NaN at %d gives %d", be, th, i, got)
				}
				x32[i], x64[i] = 0, 0
			}
		}
	}
}
