//go:build !amd64

package rt

// There are no row kernels on this architecture: the Go loops run.
func rowsAsm[T Float](add bool, dst, src []T, di, si, n, rows, dstride, sstride int) bool {
	return false
}
