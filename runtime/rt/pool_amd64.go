//go:build amd64

package rt

import "github.com/bpgen/bpgen/runtime/kernels"

//go:noescape
func maxPool2x2F32(x, out *float32, rowBytes, ow, oh int)

//go:noescape
func maxPool2x2GradF32(dst, x, gr *float32, rowBytes, ow, oh int)

// pool2x2Asm reports whether the 2×2 max-pooling of p's planes runs on
// the assembly kernels (pool_amd64.s): float32, at least 4 windows per row,
// and an AVX backend (the portable one keeps the Go loops, which tests
// compare them with).
func pool2x2Asm[T Float](p *Pool) bool {
	var z T
	_, f32 := any(z).(float32)
	if !f32 || !p.is2x2() || p.OW < 4 || p.OH < 1 {
		return false
	}
	be := kernels.CurrentBackend()
	return be == kernels.BackendAVX2 || be == kernels.BackendAVX512
}

// maxPool2x2Plane writes the maxima of one plane's 2×2 windows (x is H·W,
// out OH·OW elements; pool2x2Asm holds).
func maxPool2x2Plane[T Float](out, x []T, p *Pool) {
	xs, ys := any(x).([]float32), any(out).([]float32)
	_, _ = xs[(2*p.OH-1)*p.W+2*p.OW-1], ys[p.OH*p.OW-1]
	maxPool2x2F32(&xs[0], &ys[0], 4*p.W, p.OW, p.OH)
}

// maxPool2x2GradPlane writes the 2·OH rows of one plane's gradient dst
// (the pooled columns of them: the last column of an odd width is the
// caller's) from x and g (OH·OW; pool2x2Asm holds).
func maxPool2x2GradPlane[T Float](dst, x, g []T, p *Pool) {
	ds, xs, gs := any(dst).([]float32), any(x).([]float32), any(g).([]float32)
	last := (2*p.OH-1)*p.W + 2*p.OW - 1
	_, _, _ = ds[last], xs[last], gs[p.OH*p.OW-1]
	maxPool2x2GradF32(&ds[0], &xs[0], &gs[0], 4*p.W, p.OW, p.OH)
}
