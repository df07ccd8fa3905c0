//go:build !amd64

package kernels

func sweepNonFinite32(x []float32) (bad, ok bool) { return false, false }
func sweepNonFinite64(x []float64) (bad, ok bool) { return false, false }
