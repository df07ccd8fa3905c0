//go:build !amd64

package kernels

func sweepNonFinite32(x []float32) (bad bool, n int) { return false, 0 }
func sweepNonFinite64(x []float64) (bad bool, n int) { return false, 0 }
