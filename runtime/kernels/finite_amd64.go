//go:build amd64

package kernels

//go:noescape
func nonFinite32AVX2(x *float32, n int) bool

//go:noescape
func nonFinite64AVX2(x *float64, n int) bool

// sweepNonFinite32 reports whether x[:n] holds a NaN or an infinity, for n
// a multiple of 32, or ok false if there is no vector sweep.
func sweepNonFinite32(x []float32) (bad, ok bool) {
	if !hasAVX2 || len(x) < 32 {
		return false, false
	}
	return nonFinite32AVX2(&x[0], len(x)&^31), true
}

// sweepNonFinite64 is sweepNonFinite32 for float64, n a multiple of 16.
func sweepNonFinite64(x []float64) (bad, ok bool) {
	if !hasAVX2 || len(x) < 16 {
		return false, false
	}
	return nonFinite64AVX2(&x[0], len(x)&^15), true
}
