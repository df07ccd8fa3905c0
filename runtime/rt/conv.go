package rt

// 2-D convolution (bpgen's conv2d, PyTorch's torch.nn.functional.conv2d
// without bias) and its two gradient products, on a GEMM: the input
// windows of a chunk of samples, one group at a time, are unrolled into
// the columns of a matrix (im2col, into the caller's working space col),
// so that
//
//	forward:       out[o, p]  = Σ_k w[o, k] · col[k, p]
//	input grad:    dcol[k, p] = Σ_o w[o, k] · g[o, p], then folded back (col2im)
//	weight grad:   dw[o, k]  += Σ_p g[o, p] · col[k, p]
//
// with k = (c', i, j) over the group's input channels and kernel taps and
// p = (sample, y, x) over the chunk's output positions. Chunks make the
// products wide enough for the GEMM to run at speed (LeNet's 6 output
// channels over one sample's 784 positions are too few); the output and
// its gradient, laid out [sample][channel][position], are copied to and
// from [channel][sample, position] beside col. A 1×1 kernel with stride 1
// and no padding needs no unrolling (the input is its own column matrix,
// one sample at a time) and no working space.

import "github.com/bpgen/bpgen/runtime/kernels"

// convColBudget bounds the working space of a convolution, in elements
// (1 MiB of float32): a chunk holds as many samples as fit, at least one.
const convColBudget = 1 << 18

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

// chunk is the number of samples unrolled together (before limiting it
// to N).
func (s ConvShape) chunk() int {
	per := (s.C/s.Groups*s.KH*s.KW + s.O/s.Groups) * s.HO * s.WO
	return max(1, convColBudget/max(per, 1))
}

// ColLen is the number of elements of working space the convolution's
// functions need for a batch of up to N samples, at most
// max(convColBudget, one sample's): a chunk's column matrix,
// (C/Groups·KH·KW) × (samples·HO·WO), and its output channels of one
// group, (O/Groups) × (samples·HO·WO); 0 if Direct. Generated code
// allocates it in New, for the capacity.
func (s ConvShape) ColLen() int {
	if s.Direct() {
		return 0
	}
	return max(min(s.chunk(), s.N)*(s.C/s.Groups*s.KH*s.KW+s.O/s.Groups)*s.HO*s.WO, s.tapLen())
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
func Im2Col[T Float](s ConvShape, col, x []T) { im2col(s, col, s.HO*s.WO, x) }

// im2col is Im2Col with rows ld elements apart in col.
func im2col[T Float](s ConvShape, col []T, ld int, x []T) {
	cg, p := s.C/s.Groups, s.HO*s.WO
	wo, w, sw, sh, ph, dh := s.WO, s.W, s.SW, s.SH, s.PH, s.DH
	x = x[:cg*s.H*s.W]
	r := 0
	for c := range cg {
		xc := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for i := range s.KH {
			ylo, yhi := span(s.HO, s.SH, i*s.DH-s.PH, s.H)
			for j := range s.KW {
				offX := j*s.DW - s.PW
				xlo, xhi := span(s.WO, s.SW, offX, s.W)
				row := col[r*ld:][:p]
				r++
				clear(row[:ylo*wo])
				clear(row[yhi*wo:])
				n, off := xhi-xlo, xlo*sw+offX // the row's elements inside x, and where they start
				for y := ylo; y < yhi; y++ {
					dst := row[y*wo : y*wo+wo]
					src := xc[(y*sh-ph+i*dh)*w:][:w]
					if xlo > 0 {
						clear(dst[:xlo])
					}
					if xhi < wo {
						clear(dst[xhi:])
					}
					d := dst[xlo:xhi]
					if sw == 1 {
						// A loop, not copy: rows are short (a call costs more).
						for k, v := range src[off : off+n][:len(d)] {
							d[k] = v
						}
						continue
					}
					for k := range d {
						d[k] = src[off+k*sw]
					}
				}
			}
		}
	}
}

// Col2Im adds col [(C/Groups)·KH·KW, HO·WO] back into dx [C/Groups, H,
// W], the transpose of Im2Col: each element of col is added to the input
// element Im2Col took it from (none, for padding).
func Col2Im[T Float](s ConvShape, dx, col []T) { col2im(s, dx, col, s.HO*s.WO) }

// col2im is Col2Im with rows ld elements apart in col.
func col2im[T Float](s ConvShape, dx, col []T, ld int) {
	cg, p := s.C/s.Groups, s.HO*s.WO
	wo, w, sw, sh, ph, dh := s.WO, s.W, s.SW, s.SH, s.PH, s.DH
	dx = dx[:cg*s.H*s.W]
	r := 0
	for c := range cg {
		xc := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for i := range s.KH {
			ylo, yhi := span(s.HO, s.SH, i*s.DH-s.PH, s.H)
			for j := range s.KW {
				offX := j*s.DW - s.PW
				xlo, xhi := span(s.WO, s.SW, offX, s.W)
				row := col[r*ld:][:p]
				r++
				n, off := xhi-xlo, xlo*sw+offX
				for y := ylo; y < yhi; y++ {
					src := row[y*wo+xlo : y*wo+xhi]
					dst := xc[(y*sh-ph+i*dh)*w:][:w]
					if sw == 1 {
						d := dst[off : off+n][:len(src)]
						for k, v := range src {
							d[k] += v
						}
						continue
					}
					for k, v := range src {
						dst[off+k*sw] += v
					}
				}
			}
		}
	}
}

// im2row writes the column matrix of x (see Im2Col) transposed: element
// (r, q) of the [(C/Groups)·KH·KW, HO·WO] matrix at row[q·ld + r], so each
// output position's window is one row of ld ≥ (C/Groups)·KH·KW elements.
// It goes one output row, input channel and kernel row at a time: the
// output columns whose window row lies inside x (xlo..xhi, worked out
// once) copy KW elements each, as one fixed-size array copy for the usual
// kernel widths with DW = 1; the columns at the edges and the rows outside
// x fill in zeros for the padding.
func im2row[T Float](s ConvShape, row []T, ld int, x []T) {
	cg, kw, wo := s.C/s.Groups, s.KW, s.WO
	x = x[:cg*s.H*s.W]
	// Output columns xo whose taps xo·SW − PW + j·DW, j in [0, KW), are all inside [0, W).
	xlo, xhi := span(wo, s.SW, -s.PW, s.W-(kw-1)*s.DW)
	for y := range s.HO {
		rows := row[y*wo*ld:]
		r := 0
		for c := range cg {
			xc := x[c*s.H*s.W : (c+1)*s.H*s.W]
			for i := range s.KH {
				ih := y*s.SH - s.PH + i*s.DH
				if ih < 0 || ih >= s.H {
					for xo := range wo {
						clear(rows[xo*ld+r:][:kw])
					}
					r += kw
					continue
				}
				src := xc[ih*s.W : (ih+1)*s.W]
				for xo := range xlo {
					im2rowEdge(s, rows[xo*ld+r:][:kw], src, xo)
				}
				for xo := xhi; xo < wo; xo++ {
					im2rowEdge(s, rows[xo*ld+r:][:kw], src, xo)
				}
				switch iw := xlo*s.SW - s.PW; {
				case s.DW == 1 && s.SW == 1 && kw == 5:
					for xo := xlo; xo < xhi; xo, iw = xo+1, iw+1 {
						*(*[5]T)(rows[xo*ld+r:]) = [5]T(src[iw:])
					}
				case s.DW == 1 && kw == 5:
					for xo := xlo; xo < xhi; xo, iw = xo+1, iw+s.SW {
						*(*[5]T)(rows[xo*ld+r:]) = [5]T(src[iw:])
					}
				case s.DW == 1 && kw == 3:
					for xo := xlo; xo < xhi; xo, iw = xo+1, iw+s.SW {
						*(*[3]T)(rows[xo*ld+r:]) = [3]T(src[iw:])
					}
				case s.DW == 1:
					for xo := xlo; xo < xhi; xo, iw = xo+1, iw+s.SW {
						d := rows[xo*ld+r:][:kw]
						for t, v := range src[iw : iw+kw] {
							d[t] = v
						}
					}
				default:
					for xo := xlo; xo < xhi; xo, iw = xo+1, iw+s.SW {
						d := rows[xo*ld+r:][:kw]
						for t := range d {
							d[t] = src[iw+t*s.DW]
						}
					}
				}
				r += kw
			}
		}
	}
}

// im2rowEdge writes the KW taps of output column xo's window row src into
// d, with zeros for the taps outside it.
func im2rowEdge[T Float](s ConvShape, d, src []T, xo int) {
	iw := xo*s.SW - s.PW
	for t := range d {
		var v T
		if uint(iw) < uint(len(src)) {
			v = src[iw]
		}
		d[t] = v
		iw += s.DW
	}
}

// minPiece is the shortest unpacked piece (kernels.UnpackedK) worth
// cutting a weight gradient's sum into: shorter ones cost more in calls
// than packing does.
const minPiece = 64

// chunks calls f for each chunk of samples [n0, n0+m) of s's batch.
func (s ConvShape) chunks(f func(n0, m int)) {
	nb := s.chunk()
	for n0 := 0; n0 < s.N; n0 += nb {
		f(n0, min(nb, s.N-n0))
	}
}

// layout is the geometry of one chunk: column matrix rows k, output
// positions p per sample, ld = m·p columns.
func (s ConvShape) layout(m int) (cg, og, k, p, hw, ld int) {
	cg, og = s.C/s.Groups, s.O/s.Groups
	k, p, hw = cg*s.KH*s.KW, s.HO*s.WO, s.H*s.W
	return cg, og, k, p, hw, m * p
}

// Conv2D computes out [N, O, HO, WO] = conv2d(x [N, C, H, W], w [O,
// C/Groups, KH, KW]) with gemm, using col (at least s.ColLen() elements)
// as working space.
func Conv2D[T Float](gemm Gemm[T], s ConvShape, out, x, w, col []T) {
	if s.Direct() {
		_, og, k, p, hw, _ := s.layout(1)
		for n := range s.N {
			for g := range s.Groups {
				gemm(false, false, og, p, k, 1, w[g*og*k:][:og*k], k, x[(n*s.C+g*k)*hw:][:k*hw], p, 0, out[(n*s.O+g*og)*p:][:og*p], p)
			}
		}
		return
	}
	if tapsRun(true, s, out, x, w, col) {
		return
	}
	s.chunks(func(n0, m int) {
		cg, og, k, p, hw, ld := s.layout(m)
		c, y := col[:k*ld], col[k*ld:][:og*ld]
		for g := range s.Groups {
			for j := range m {
				im2col(s, c[j*p:], ld, x[((n0+j)*s.C+g*cg)*hw:])
			}
			gemm(false, false, og, ld, k, 1, w[g*og*k:][:og*k], k, c, ld, 0, y, ld)
			for o := range og {
				for j := range m {
					copy(out[((n0+j)*s.O+g*og+o)*p:][:p], y[o*ld+j*p:][:p])
				}
			}
		}
	})
}

// Conv2DInputGrad computes dx [N, C, H, W], the gradient of conv2d with
// respect to its input, from the output gradient g [N, O, HO, WO] and the
// weight w, with gemm and working space col (s.ColLen() elements).
func Conv2DInputGrad[T Float](gemm Gemm[T], s ConvShape, dx, g, w, col []T) {
	if s.Direct() {
		_, og, k, p, hw, _ := s.layout(1)
		for n := range s.N {
			for gr := range s.Groups {
				gemm(true, false, k, p, og, 1, w[gr*og*k:][:og*k], k, g[(n*s.O+gr*og)*p:][:og*p], p, 0, dx[(n*s.C+gr*k)*hw:][:k*hw], p)
			}
		}
		return
	}
	clear(dx[:s.N*s.C*s.H*s.W])
	s.chunks(func(n0, m int) {
		cg, og, k, p, hw, ld := s.layout(m)
		c, y := col[:k*ld], col[k*ld:][:og*ld]
		for gr := range s.Groups {
			for o := range og {
				for j := range m {
					copy(y[o*ld+j*p:][:p], g[((n0+j)*s.O+gr*og+o)*p:][:p])
				}
			}
			gemm(true, false, k, ld, og, 1, w[gr*og*k:][:og*k], k, y, ld, 0, c, ld)
			for j := range m {
				col2im(s, dx[((n0+j)*s.C+gr*cg)*hw:], c[j*p:], ld)
			}
		}
	})
}

// Conv2DWeightGrad computes dw [O, C/Groups, KH, KW], the gradient of
// conv2d with respect to its weight, from the input x and the output
// gradient g, summed over the batch, with gemm and working space col
// (s.ColLen() elements).
func Conv2DWeightGrad[T Float](gemm Gemm[T], s ConvShape, dw, x, g, col []T) {
	_, _, k, _, _, _ := s.layout(1)
	if s.N == 0 {
		clear(dw[:s.O*k])
		return
	}
	if s.Direct() {
		_, og, k, p, hw, _ := s.layout(1)
		for n := range s.N {
			beta := T(min(n, 1))
			for gr := range s.Groups {
				gemm(false, true, og, k, p, 1, g[(n*s.O+gr*og)*p:][:og*p], p, x[(n*s.C+gr*k)*hw:][:k*hw], p, beta, dw[gr*og*k:][:og*k], k)
			}
		}
		return
	}
	if tapsRun(false, s, g, x, dw, col) {
		return
	}
	if piece := kernels.UnpackedK(s.O/s.Groups, k); piece >= minPiece {
		// dw = Σ pieces of g·rows (unpacked products), one sample at a
		// time: rows is the sample's transposed column matrix, [positions,
		// k], and g's rows of a group are the sample's output channels.
		cg, og, k, p, hw, _ := s.layout(1)
		rows := col[:p*k]
		for n := range s.N {
			for gr := range s.Groups {
				im2row(s, rows, k, x[(n*s.C+gr*cg)*hw:])
				gn := g[(n*s.O+gr*og)*p:][:og*p]
				for l0 := 0; l0 < p; l0 += piece {
					beta := T(min(n+l0, 1))
					gemm(false, false, og, k, min(piece, p-l0), 1, gn[l0:], p, rows[l0*k:], k, beta, dw[gr*og*k:][:og*k], k)
				}
			}
		}
		return
	}
	s.chunks(func(n0, m int) {
		cg, og, k, p, hw, ld := s.layout(m)
		c, y := col[:k*ld], col[k*ld:][:og*ld]
		beta := T(min(n0, 1))
		for gr := range s.Groups {
			for j := range m {
				im2col(s, c[j*p:], ld, x[((n0+j)*s.C+gr*cg)*hw:])
			}
			for o := range og {
				for j := range m {
					copy(y[o*ld+j*p:][:p], g[((n0+j)*s.O+gr*og+o)*p:][:p])
				}
			}
			gemm(false, true, og, k, ld, 1, y, ld, c, ld, beta, dw[gr*og*k:][:og*k], k)
		}
	})
}

// The float64-accumulating forms, for float32 models generated with
// float64 accumulation (bpgen -accumulate f64): the arguments are widened
// to float64, the convolution runs in float64 on kernels.Dgemm (its sums
// over channels, taps, positions and the batch all in float64) and each
// element of the result is rounded to float32 once, as ir.Interp does.
// Their working space work (s.Acc64Len() elements) holds the float64
// copies and the float64 working space.

// Acc64Len is the number of float64 elements of working space the
// float64-accumulating forms need for a batch of up to N samples.
func (s ConvShape) Acc64Len() int {
	return s.N*s.C*s.H*s.W + s.O*s.C/s.Groups*s.KH*s.KW + s.N*s.O*s.HO*s.WO + s.ColLen()
}

// acc64 splits work into float64 copies of x, w and y (input, weight and
// output in the forward op's terms) and the working space of the float64
// convolution.
func (s ConvShape) acc64(work []float64) (x, w, y, col []float64) {
	nx, nw, ny := s.N*s.C*s.H*s.W, s.O*s.C/s.Groups*s.KH*s.KW, s.N*s.O*s.HO*s.WO
	work = work[:s.Acc64Len()]
	return work[:nx], work[nx : nx+nw], work[nx+nw : nx+nw+ny], work[nx+nw+ny:]
}

func widen(dst []float64, src []float32) {
	for i, v := range src[:len(dst)] {
		dst[i] = float64(v)
	}
}

func narrow(dst []float32, src []float64) {
	for i, v := range src[:len(dst)] {
		dst[i] = float32(v)
	}
}

// Conv2DAcc64 is Conv2D of float32 values accumulated in float64.
func Conv2DAcc64(s ConvShape, out, x, w []float32, work []float64) {
	x64, w64, y64, col := s.acc64(work)
	widen(x64, x)
	widen(w64, w)
	Conv2D(kernels.Dgemm, s, y64, x64, w64, col)
	narrow(out[:len(y64)], y64)
}

// Conv2DInputGradAcc64 is Conv2DInputGrad of float32 values accumulated in
// float64.
func Conv2DInputGradAcc64(s ConvShape, dx, g, w []float32, work []float64) {
	x64, w64, y64, col := s.acc64(work)
	widen(y64, g)
	widen(w64, w)
	Conv2DInputGrad(kernels.Dgemm, s, x64, y64, w64, col)
	narrow(dx[:len(x64)], x64)
}

// Conv2DWeightGradAcc64 is Conv2DWeightGrad of float32 values accumulated
// in float64.
func Conv2DWeightGradAcc64(s ConvShape, dw, x, g []float32, work []float64) {
	x64, w64, y64, col := s.acc64(work)
	widen(x64, x)
	widen(y64, g)
	Conv2DWeightGrad(kernels.Dgemm, s, w64, x64, y64, col)
	narrow(dw[:len(w64)], w64)
}
