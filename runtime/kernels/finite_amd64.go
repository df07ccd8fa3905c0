//go:build amd64

package kernels

//go:noescape
func nonFinite32AVX2(x *float32, n int) bool

//go:noescape
func nonFinite64AVX2(x *float64, n int) bool

//go:noescape
func nonFinite32AVX512(x *float32, n int) bool

//go:noescape
func nonFinite64AVX512(x *float64, n int) bool

// sweepNonFinite32 reports whether x holds a NaN or an infinity in its
// first n elements, and n (a multiple of the vector block, 0 if there is
// no vector sweep here); the caller checks the rest.
func sweepNonFinite32(x []float32) (bad bool, n int) {
	avx512, avx2 := sweepISA()
	switch {
	case avx512 && len(x) >= 64:
		n = len(x) &^ 63
		return nonFinite32AVX512(&x[0], n), n
	case avx2 && len(x) >= 32:
		n = len(x) &^ 31
		return nonFinite32AVX2(&x[0], n), n
	}
	return false, 0
}

// sweepNonFinite64 is sweepNonFinite32 for float64.
func sweepNonFinite64(x []float64) (bad bool, n int) {
	avx512, avx2 := sweepISA()
	switch {
	case avx512 && len(x) >= 32:
		n = len(x) &^ 31
		return nonFinite64AVX512(&x[0], n), n
	case avx2 && len(x) >= 16:
		n = len(x) &^ 15
		return nonFinite64AVX2(&x[0], n), n
	}
	return false, 0
}

// sweepISA reports which vector sweeps to use: the CPU's best, but not
// above the GEMM backend when it is forced lower (BPGEN_KERNELS=avx2 runs
// every vector kernel of this package as AVX2, for a like-for-like
// comparison with an AVX2 build of another library; portable runs none).
func sweepISA() (avx512, avx2 bool) {
	switch CurrentBackend() {
	case BackendAVX2:
		return false, hasAVX2
	case BackendPortable:
		return false, false
	}
	return hasAVX512, hasAVX2
}
