//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAsmPackers checks every assembly packer against its definition for
// kc around the unrolled chunk sizes and a padded leading dimension.
func TestAsmPackers(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	rows32 := map[int]func(int, *float32, int, *float32){6: packRows6F32AVX, 12: packRows12F32AVX, 16: packRows16F32AVX, 32: packRows32F32AVX}
	rows64 := map[int]func(int, *float64, int, *float64){6: packRows6F64AVX, 8: packRows8F64AVX, 12: packRows12F64AVX, 16: packRows16F64AVX}
	copy32 := map[int]func(int, *float32, int, *float32){6: packCopy6F32AVX, 12: packCopy12F32AVX, 16: packCopy16F32AVX, 32: packCopy32F32AVX}
	copy64 := map[int]func(int, *float64, int, *float64){6: packCopy6F64AVX, 8: packCopy8F64AVX, 12: packCopy12F64AVX, 16: packCopy16F64AVX}
	for w, f := range rows32 {
		checkPacker(t, fmt.Sprintf("packRows%dF32", w), w, true, f)
	}
	for w, f := range rows64 {
		checkPacker(t, fmt.Sprintf("packRows%dF64", w), w, true, f)
	}
	for w, f := range copy32 {
		checkPacker(t, fmt.Sprintf("packCopy%dF32", w), w, false, f)
	}
	for w, f := range copy64 {
		checkPacker(t, fmt.Sprintf("packCopy%dF64", w), w, false, f)
	}
}

// checkPacker: rows packers set d[p*w+i] = x[i*ld+p]; copy packers
// d[p*w+j] = x[p*ld+j]. Elements of d past w*kc must be untouched.
func checkPacker[T float](t *testing.T, name string, w int, rows bool, f func(int, *T, int, *T)) {
	r := rand.New(rand.NewPCG(3, 4))
	for kc := 1; kc <= 19; kc++ {
		ld := kc + 3
		if !rows {
			ld = w + 5
		}
		n := w * ld
		if !rows {
			n = kc * ld
		}
		x := randSlice[T](r, n)
		d := make([]T, w*kc+1)
		d[w*kc] = 42
		f(kc, &x[0], ld*elemSize[T](), &d[0])
		for p := 0; p < kc; p++ {
			for i := 0; i < w; i++ {
				var want T
				if rows {
					want = x[i*ld+p]
				} else {
					want = x[p*ld+i]
				}
				if d[p*w+i] != want {
					t.Fatalf("%s kc=%d: d[%d*%d+%d] = %v, want %v", name, kc, p, w, i, d[p*w+i], want)
				}
			}
		}
		if d[w*kc] != 42 {
			t.Fatalf("%s kc=%d wrote past the panel", name, kc)
		}
	}
}
