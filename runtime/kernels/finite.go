package kernels

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// NonFinite returns the index of the first NaN or infinite element of x,
// or -1 if every element is finite. It sweeps x once without a branch per
// element (AVX-512 or AVX2 where the CPU has them and the backend is not
// forced below them: 16 or 8 float32 per instruction, at the speed of the
// cache), split over cores with For when x is long, and looks for the
// index only when there is one. Generated models check every gradient
// with it before an optimizer step.
func NonFinite[T ~float32 | ~float64](x []T) int {
	var bad bool
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		bad = anyNonFinite(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), nonFinite32)
	} else {
		bad = anyNonFinite(unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), nonFinite64)
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

// nonFiniteGrain is For's grain for the sweep: 64K elements, 256 KiB of
// float32, about 10 µs from memory.
const nonFiniteGrain = 64 * 1024

// anyNonFinite reports whether sweep finds a non-finite element in x,
// splitting long slices over cores (an "any" does not depend on the split).
func anyNonFinite[T float](x []T, sweep func([]T) bool) bool {
	if len(x) < 2*nonFiniteGrain || Threads() < 2 {
		return sweep(x)
	}
	fl := nonFiniteBodiesFor[T]()
	b := fl.get()
	b.x, b.sweep = x, sweep
	b.bad.Store(false)
	For(len(x), nonFiniteGrain, b)
	bad := b.bad.Load()
	b.x, b.sweep = nil, nil
	fl.put(b)
	return bad
}

// nonFiniteBody is anyNonFinite's Body.
type nonFiniteBody[T float] struct {
	x     []T
	sweep func([]T) bool
	bad   atomic.Bool
}

func (b *nonFiniteBody[T]) Run(lo, hi int) {
	if b.sweep(b.x[lo:hi]) {
		b.bad.Store(true)
	}
}

var (
	nonFiniteBodies32 freeList[nonFiniteBody[float32]]
	nonFiniteBodies64 freeList[nonFiniteBody[float64]]
)

func nonFiniteBodiesFor[T float]() *freeList[nonFiniteBody[T]] {
	if is32[T]() {
		return any(&nonFiniteBodies32).(*freeList[nonFiniteBody[T]])
	}
	return any(&nonFiniteBodies64).(*freeList[nonFiniteBody[T]])
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
