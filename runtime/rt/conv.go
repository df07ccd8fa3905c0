package rt

// 2-D convolution (bpgen's conv2d, PyTorch's torch.nn.functional.conv2d
// without bias) and its two gradient products, on a GEMM: for each sample
// and group, the input's windows are unrolled into the columns of a
// matrix (im2col, into the caller's working space col), so that
//
//	forward:       out[o, p]  = Σ_k w[o, k] · col[k, p]
//	input grad:    dcol[k, p] = Σ_o w[o, k] · g[o, p], then folded back (col2im)
//	weight grad:   dw[o, k]  += Σ_p g[o, p] · col[k, p]
//
// with k = (c', i, j) over the group's input channels and kernel taps and
// p = (y, x) over the output positions. A 1×1 kernel with stride 1 and no
// padding needs no unrolling (the input is its own column matrix) and no
// working space.

// ConvShape is the geometry of one convolution: input [N, C, H, W], weight
// [O, C/Groups, KH, KW], output [N, O, HO, WO]; stride (SH, SW), padding
// (PH, PW), dilation (DH, DW).
type ConvShape struct {
	N, C, H, W             int
	O, KH, KW              int
	HO, WO                 int
	SH, SW, PH, PW, DH, DW int
	Groups                 int
}

// Direct reports whether the convolution needs no unrolling: a 1×1 kernel
// with stride 1 and no padding.
func (s ConvShape) Direct() bool {
	return s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0
}

// ColLen is the number of elements of working space the convolution's
// functions need: one group's column matrix of one sample, (C/Groups·KH·KW)
// × (HO·WO), or 0 if Direct.
func (s ConvShape) ColLen() int {
	if s.Direct() {
		return 0
	}
	return s.C / s.Groups * s.KH * s.KW * s.HO * s.WO
}

// Gemm is the call shape of kernels.Sgemm and kernels.Dgemm (row-major
// C = alpha·op(A)·op(B) + beta·C), which generated code passes.
type Gemm[T Float] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// span returns the output positions o in [0, n) whose input position
// o·stride + off is inside [0, size): [lo, hi).
func span(n, stride, off, size int) (lo, hi int) {
	if off < 0 {
		lo = min(n, (-off+stride-1)/stride)
	}
	if last := size - 1 - off; last >= 0 {
		hi = min(n, last/stride+1)
	}
	return lo, max(lo, hi)
}

// Im2Col unrolls x, the [C/Groups, H, W] input channels of one group of
// one sample, into col [(C/Groups)·KH·KW, HO·WO]: row (c, i, j), column
// (y, x) holds x[c, y·SH − PH + i·DH, x·SW − PW + j·DW], or 0 outside x.
func Im2Col[T Float](s ConvShape, col, x []T) {
	cg, p := s.C/s.Groups, s.HO*s.WO
	col = col[:cg*s.KH*s.KW*p]
	x = x[:cg*s.H*s.W]
	r := 0
	for c := range cg {
		xc := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for i := range s.KH {
			ylo, yhi := span(s.HO, s.SH, i*s.DH-s.PH, s.H)
			for j := range s.KW {
				offX := j*s.DW - s.PW
				xlo, xhi := span(s.WO, s.SW, offX, s.W)
				row := col[r*p : (r+1)*p]
				r++
				clear(row[:ylo*s.WO])
				clear(row[yhi*s.WO:])
				for y := ylo; y < yhi; y++ {
					dst := row[y*s.WO : (y+1)*s.WO]
					src := xc[(y*s.SH-s.PH+i*s.DH)*s.W:][:s.W]
					clear(dst[:xlo])
					clear(dst[xhi:])
					if s.SW == 1 {
						copy(dst[xlo:xhi], src[xlo+offX:xhi+offX])
						continue
					}
					for xo := xlo; xo < xhi; xo++ {
						dst[xo] = src[xo*s.SW+offX]
					}
				}
			}
		}
	}
}

// Col2Im adds col [(C/Groups)·KH·KW, HO·WO] back into dx [C/Groups, H,
// W], the transpose of Im2Col: each element of col is added to the input
// element Im2Col took it from (none, for padding).
func Col2Im[T Float](s ConvShape, dx, col []T) {
	cg, p := s.C/s.Groups, s.HO*s.WO
	col = col[:cg*s.KH*s.KW*p]
	dx = dx[:cg*s.H*s.W]
	r := 0
	for c := range cg {
		xc := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for i := range s.KH {
			ylo, yhi := span(s.HO, s.SH, i*s.DH-s.PH, s.H)
			for j := range s.KW {
				offX := j*s.DW - s.PW
				xlo, xhi := span(s.WO, s.SW, offX, s.W)
				row := col[r*p : (r+1)*p]
				r++
				for y := ylo; y < yhi; y++ {
					src := row[y*s.WO : (y+1)*s.WO]
					dst := xc[(y*s.SH-s.PH+i*s.DH)*s.W:][:s.W]
					if s.SW == 1 {
						d := dst[xlo+offX : xhi+offX]
						for k, v := range src[xlo:xhi] {
							d[k] += v
						}
						continue
					}
					for xo := xlo; xo < xhi; xo++ {
						dst[xo*s.SW+offX] += src[xo]
					}
				}
			}
		}
	}
}

// Conv2D computes out [N, O, HO, WO] = conv2d(x [N, C, H, W], w [O,
// C/Groups, KH, KW]) with gemm, using col (at least s.ColLen() elements)
// as working space.
func Conv2D[T Float](gemm Gemm[T], s ConvShape, out, x, w, col []T) {
	cg, og := s.C/s.Groups, s.O/s.Groups
	k, p, hw := cg*s.KH*s.KW, s.HO*s.WO, s.H*s.W
	direct := s.Direct()
	for n := range s.N {
		for g := range s.Groups {
			xg := x[(n*s.C+g*cg)*hw:][:cg*hw]
			b := xg
			if !direct {
				b = col[:k*p]
				Im2Col(s, b, xg)
			}
			gemm(false, false, og, p, k, 1, w[g*og*k:][:og*k], k, b, p, 0, out[(n*s.O+g*og)*p:][:og*p], p)
		}
	}
}

// Conv2DInputGrad computes dx [N, C, H, W], the gradient of conv2d with
// respect to its input, from the output gradient g [N, O, HO, WO] and the
// weight w, with gemm and working space col (s.ColLen() elements).
func Conv2DInputGrad[T Float](gemm Gemm[T], s ConvShape, dx, g, w, col []T) {
	cg, og := s.C/s.Groups, s.O/s.Groups
	k, p, hw := cg*s.KH*s.KW, s.HO*s.WO, s.H*s.W
	direct := s.Direct()
	if !direct {
		clear(dx[:s.N*s.C*hw])
	}
	for n := range s.N {
		for gr := range s.Groups {
			gg := g[(n*s.O+gr*og)*p:][:og*p]
			dxg := dx[(n*s.C+gr*cg)*hw:][:cg*hw]
			wg := w[gr*og*k:][:og*k]
			if direct {
				gemm(true, false, k, p, og, 1, wg, k, gg, p, 0, dxg, p)
				continue
			}
			c := col[:k*p]
			gemm(true, false, k, p, og, 1, wg, k, gg, p, 0, c, p)
			Col2Im(s, dxg, c)
		}
	}
}

// Conv2DWeightGrad computes dw [O, C/Groups, KH, KW], the gradient of
// conv2d with respect to its weight, from the input x and the output
// gradient g, summed over the batch, with gemm and working space col
// (s.ColLen() elements).
func Conv2DWeightGrad[T Float](gemm Gemm[T], s ConvShape, dw, x, g, col []T) {
	cg, og := s.C/s.Groups, s.O/s.Groups
	k, p, hw := cg*s.KH*s.KW, s.HO*s.WO, s.H*s.W
	direct := s.Direct()
	if s.N == 0 {
		clear(dw[:s.O*k])
	}
	for n := range s.N {
		var beta T
		if n > 0 {
			beta = 1
		}
		for gr := range s.Groups {
			xg := x[(n*s.C+gr*cg)*hw:][:cg*hw]
			b := xg
			if !direct {
				b = col[:k*p]
				Im2Col(s, b, xg)
			}
			gemm(false, true, og, k, p, 1, g[(n*s.O+gr*og)*p:][:og*p], p, b, p, beta, dw[gr*og*k:][:og*k], k)
		}
	}
}
