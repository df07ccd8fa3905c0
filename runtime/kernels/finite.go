package kernels

import (
	"math"
	"unsafe"
)

// NonFinite returns the index of the first NaN or infinite element of x,
// or -1 if every element is finite. It sweeps x once without a branch per
// element (AVX-512 or AVX2 where the CPU has them: 16 or 8 float32 per
// instruction, at the speed of the cache), and looks for the index only when there is
// one. Generated models check every gradient with it before an optimizer
// step.
func NonFinite[T ~float32 | ~float64](x []T) int {
	var bad bool
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		bad = nonFinite32(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)))
	} else {
		bad = nonFinite64(unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x)))
	}
	if !bad {
		return -1
	}
	for i, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

func nonFinite32(x []float32) bool {
	var acc uint32
	bad, n := sweepNonFinite32(x)
	if bad {
		return true
	}
	rest := x[n:]
	// (b & exponent) + exponent's lowest bit sets bit 31 exactly when the
	// exponent is all ones (NaN, ±Inf), and never carries out.
	for _, v := range rest {
		acc |= math.Float32bits(v)&0x7f800000 + 0x00800000
	}
	return acc&0x80000000 != 0
}

func nonFinite64(x []float64) bool {
	var acc uint64
	bad, n := sweepNonFinite64(x)
	if bad {
		return true
	}
	rest := x[n:]
	for _, v := range rest {
		acc |= math.Float64bits(v)&0x7ff0000000000000 + 0x0010000000000000
	}
	return acc&(1<<63) != 0
}
