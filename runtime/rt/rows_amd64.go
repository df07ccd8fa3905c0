//go:build amd64

package rt

import "github.com/bpgen/bpgen/runtime/kernels"

//go:noescape
func copyRowsF32(dst, src *float32, n, rows, dstride, sstride int)

//go:noescape
func addRowsF32(dst, src *float32, n, rows, dstride, sstride int)

// rowsAsm runs rows runs of n elements, dst[di:di+n] = src[si:si+n] (or
// += if add), di += dstride, si += sstride, on the kernels of
// rows_amd64.s, and reports whether it did: only float32 on an AVX
// backend (the portable one keeps the Go loops, which tests compare them
// with).
func rowsAsm[T Float](add bool, dst, src []T, di, si, n, rows, dstride, sstride int) bool {
	d, ok := any(dst).([]float32)
	if !ok || rows <= 0 || n <= 0 {
		return false
	}
	if be := kernels.CurrentBackend(); be != kernels.BackendAVX2 && be != kernels.BackendAVX512 {
		return false
	}
	s := any(src).([]float32)
	// The kernels do not check bounds: the first and last rows must be inside.
	_, _ = d[di:di+n], s[si:si+n]
	dl, sl := di+(rows-1)*dstride, si+(rows-1)*sstride
	_, _ = d[dl:dl+n], s[sl:sl+n]
	if add {
		addRowsF32(&d[di], &s[si], n, rows, 4*dstride, 4*sstride)
	} else {
		copyRowsF32(&d[di], &s[si], n, rows, 4*dstride, 4*sstride)
	}
	return true
}
