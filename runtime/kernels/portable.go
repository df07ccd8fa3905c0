package kernels

import "unsafe"

// Portable kernel sets: a register tile in plain Go, 4×4 where the
// architecture has 32 FP registers, 2×4 on amd64 (16 XMM registers; the 4×4
// tile spills there: 4.9 vs 7.1 GFLOP/s float32 in BenchmarkMicroKernel on
// Zen 5). Blocking: the A and B micro-panels stay in L1 for kc=256; an
// mc×kc A block of 128×256 is 128 KiB (float32) to 256 KiB (float64), in L2.
var (
	portable32 = newPortable[float32](portableNarrow)
	portable64 = newPortable[float64](portableNarrow)
)

// newPortable returns the 2×4 (narrow) or 4×4 portable kernel set.
func newPortable[T float](narrow bool) *kernelSet[T] {
	if narrow {
		return &kernelSet[T]{mr: 2, nr: 4, mc: 128, kc: 256, nc: 2048, kern: portableKernel2x4[T]}
	}
	return &kernelSet[T]{mr: 4, nr: 4, mc: 128, kc: 256, nc: 2048, kern: portableKernel[T]}
}

func kernels32(b Backend) *kernelSet[float32] {
	switch b {
	case BackendAVX512:
		return avx512Set32
	case BackendAVX2:
		return avx2Set32
	}
	return portable32
}

// kernelsFor is kernels32 or kernels64 by element type.
func kernelsFor[T float](b Backend) *kernelSet[T] {
	if is32[T]() {
		return any(kernels32(b)).(*kernelSet[T])
	}
	return any(kernels64(b)).(*kernelSet[T])
}

func kernels64(b Backend) *kernelSet[float64] {
	switch b {
	case BackendAVX512:
		return avx512Set64
	case BackendAVX2:
		return avx2Set64
	}
	return portable64
}

// portableKernel is the 4×4 micro-kernel in Go (see kernelSet for the contract).
func portableKernel[T float](kc int, a, b, c *T, ldc int, alpha, beta T, accum int) {
	as := unsafe.Slice(a, 4*kc)
	bs := unsafe.Slice(b, 4*kc)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 T
	for len(as) >= 4 && len(bs) >= 4 {
		a0, a1, a2, a3 := as[0], as[1], as[2], as[3]
		b0, b1, b2, b3 := bs[0], bs[1], bs[2], bs[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		as, bs = as[4:], bs[4:]
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	storeRow4(cs[0:4:4], c00, c01, c02, c03, alpha, beta, accum)
	storeRow4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta, accum)
	storeRow4(cs[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta, accum)
	storeRow4(cs[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta, accum)
}

// portableKernel2x4 is the 2×4 micro-kernel in Go (see kernelSet). Each B
// value is loaded and used for both rows before the next and the panels are
// walked by pointer, so on amd64 (15 usable XMM registers) the accumulators
// stay in registers and the loop has no bounds checks; the order a0·b0..b3,
// a1·b0..b3 with slice re-slicing spilled.
func portableKernel2x4[T float](kc int, a, b, c *T, ldc int, alpha, beta T, accum int) {
	es := unsafe.Sizeof(*a)
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	for p := 0; p < kc; p++ {
		a0, a1 := *(*T)(pa), *(*T)(unsafe.Add(pa, es))
		x := *(*T)(pb)
		c00 += a0 * x
		c10 += a1 * x
		x = *(*T)(unsafe.Add(pb, es))
		c01 += a0 * x
		c11 += a1 * x
		x = *(*T)(unsafe.Add(pb, 2*es))
		c02 += a0 * x
		c12 += a1 * x
		x = *(*T)(unsafe.Add(pb, 3*es))
		c03 += a0 * x
		c13 += a1 * x
		pa, pb = unsafe.Add(pa, 2*es), unsafe.Add(pb, 4*es)
	}
	cs := unsafe.Slice(c, ldc+4)
	storeRow4(cs[0:4:4], c00, c01, c02, c03, alpha, beta, accum)
	storeRow4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta, accum)
}

func storeRow4[T float](r []T, x0, x1, x2, x3, alpha, beta T, accum int) {
	r = r[:4]
	if accum == 0 {
		r[0], r[1], r[2], r[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	r[0] = alpha*x0 + beta*r[0]
	r[1] = alpha*x1 + beta*r[1]
	r[2] = alpha*x2 + beta*r[2]
	r[3] = alpha*x3 + beta*r[3]
}
