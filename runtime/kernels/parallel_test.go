package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestParallelClaimStress runs many concurrent split calls of both element
// types with more parts than cores, so that callers run parts no worker has
// started and stale task pointers sit in workCh while their parCall is
// reused; every result must equal the serial one bit for bit.
func TestParallelClaimStress(t *testing.T) {
	defer SetThreads(SetThreads(1))
	const m, n, k = 150, 130, 140 // above parMNK
	r := rand.New(rand.NewPCG(11, 12))
	a32, b32 := randSlice[float32](r, m*k), randSlice[float32](r, k*n)
	a64, b64 := randSlice[float64](r, m*k), randSlice[float64](r, k*n)
	want32, want64 := make([]float32, m*n), make([]float64, m*n)
	Sgemm(false, false, m, n, k, 1, a32, k, b32, n, 0, want32, n)
	Dgemm(false, true, m, n, k, 1, a64, k, b64, k, 0, want64, n)
	SetThreads(8)
	iters := 30
	if testing.Short() {
		iters = 8
	}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			c32, c64 := make([]float32, m*n), make([]float64, m*n)
			for it := 0; it < iters; it++ {
				Sgemm(false, false, m, n, k, 1, a32, k, b32, n, 0, c32, n)
				Dgemm(false, true, m, n, k, 1, a64, k, b64, k, 0, c64, n)
				if i := bitsEqual(want32, c32); i >= 0 {
					errs <- fmt.Sprintf("goroutine %d: float32 result differs at %d", g, i)
					return
				}
				if i := bitsEqual(want64, c64); i >= 0 {
					errs <- fmt.Sprintf("goroutine %d: float64 result differs at %d", g, i)
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestSwapChosen checks that the narrow shapes of the tests do take the
// transposed-C path on the assembly kernels (so the conformance tests
// cover it), and wide ones do not.
func TestSwapChosen(t *testing.T) {
	for _, be := range []Backend{BackendAVX2, BackendAVX512, BackendPortable} {
		if !be.Available() {
			continue
		}
		ks := kernels32(be)
		if be != BackendPortable && !swapPays(ks, 4*ks.nr+3, 10) {
			t.Errorf("%v: %d×10 C not computed transposed", be, 4*ks.nr+3)
		}
		if swapPays(ks, 256, 256) || swapPays(ks, 10, 256) {
			t.Errorf("%v: wide C computed transposed", be)
		}
	}
}
