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
// one sample at a time) and no working space. Float32 convolutions with
// few taps and stride 1 along rows (LeNet's first) take the tap path on
// AVX-512 and AVX2 instead (conv_taps.go): no column matrix at all. On
// float32 the column matrix's rows are copied and folded back by AVX row
// kernels (rows_amd64.s).
//
// The chunks (or samples) of a batch are dealt to convSlots slots of the
// working space, which run in parallel on the cores (kernels.For); a
// weight gradient is summed per slot and then over the slots in order, so
// every result is the same on any number of threads.

import (
	"sync"

	"github.com/bpgen/bpgen/runtime/kernels"
)

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
// functions need for a batch of up to N samples: for each of convSlots
// slots, a chunk's column matrix, (C/Groups·KH·KW) × (samples·HO·WO), and
// its output channels of one group, (O/Groups) × (samples·HO·WO), at most
// max(convColBudget, one sample's), or the tap path's (tapLen), and a
// partial weight gradient; 0 if Direct. Generated code allocates it in
// New, for the capacity.
func (s ConvShape) ColLen() int {
	if s.Direct() {
		return 0
	}
	return convSlots * (s.slotLen() + s.O*s.C/s.Groups*s.KH*s.KW)
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
				if xlo > 0 || xhi < wo {
					for y := ylo; y < yhi; y++ {
						clear(row[y*wo : y*wo+xlo])
						clear(row[y*wo+xhi : y*wo+wo])
					}
				}
				if ylo >= yhi {
					continue
				}
				di, si := ylo*wo+xlo, (ylo*sh-ph+i*dh)*w+off
				if sw == 1 {
					if rowsAsm(false, row, xc, di, si, n, yhi-ylo, wo, sh*w) {
						continue
					}
					switch n {
					// Element by element: an array assigned from one slice to
					// another is a call of memmove (the two might overlap),
					// and through a local its 16-byte moves overlap at the
					// end, so the second load waits for two stores (a failed
					// store forwarding); either costs 2.5× as much on 10
					// elements (Zen 3).
					case 10: // LeNet's second convolution
						for y := ylo; y < yhi; y, di, si = y+1, di+wo, si+sh*w {
							d, s := (*[10]T)(row[di:]), (*[10]T)(xc[si:])
							d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9] = s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]
						}
					case 28: // 7 whole 16-byte moves through a local
						for y := ylo; y < yhi; y, di, si = y+1, di+wo, si+sh*w {
							v := [28]T(xc[si:])
							*(*[28]T)(row[di:]) = v
						}
					default:
						for y := ylo; y < yhi; y, di, si = y+1, di+wo, si+sh*w {
							copyShort(row[di:di+n], xc[si:si+n])
						}
					}
					continue
				}
				for y := ylo; y < yhi; y, di, si = y+1, di+wo, si+sh*w {
					d := row[di : di+n]
					for k := range d {
						d[k] = xc[si+k*sw]
					}
				}
			}
		}
	}
}

// copyShort copies src into dst (as long), four elements at a time:
// rows of a column matrix are short, and a call of copy (or memmove, which
// the compiler calls for an array copy in generic code) costs more than
// they take.
func copyShort[T Float](dst, src []T) {
	src = src[:len(dst)]
	for len(dst) >= 4 {
		d, s := dst[:4:4], src[:4:4]
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
		dst, src = dst[4:], src[4:]
	}
	for k, v := range src {
		dst[k] = v
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
				if sw == 1 && ylo < yhi && rowsAsm(true, xc, row, (ylo*sh-ph+i*dh)*w+off, ylo*wo+xlo, n, yhi-ylo, sh*w, wo) {
					continue
				}
				for y := ylo; y < yhi; y++ {
					src := row[y*wo+xlo : y*wo+xhi]
					dst := xc[(y*sh-ph+i*dh)*w:][:w]
					if sw == 1 {
						if n == 10 { // LeNet's second convolution
							d, s := (*[10]T)(dst[off:]), (*[10]T)(src)
							d[0], d[1], d[2], d[3], d[4] = d[0]+s[0], d[1]+s[1], d[2]+s[2], d[3]+s[3], d[4]+s[4]
							d[5], d[6], d[7], d[8], d[9] = d[5]+s[5], d[6]+s[6], d[7]+s[7], d[8]+s[8], d[9]+s[9]
							continue
						}
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

// convSlots is the number of working-space slots of a convolution: its
// chunks of samples (single samples on the tap path and the unpacked
// weight gradient) are dealt to the slots round-robin, and the slots run
// in parallel (kernels.For), each on its own part of the working space.
// It is fixed, not the thread count, so that a weight gradient, summed
// slot by slot and then over the slots in order, is the same on any number
// of threads.
const convSlots = 2

// slotLen is the working space of one slot: a chunk's column matrix and
// output channels of one group, or the tap path's planes and sums.
func (s ConvShape) slotLen() int {
	return max(min(s.chunk(), s.N)*(s.C/s.Groups*s.KH*s.KW+s.O/s.Groups)*s.HO*s.WO, s.tapLen())
}

// The products a convJob runs.
const (
	jobFwd    = iota // Conv2D on column matrices
	jobDX            // Conv2DInputGrad
	jobDW            // Conv2DWeightGrad, packed
	jobDWRows        // Conv2DWeightGrad, unpacked pieces of one sample's rows
	jobTapFwd        // Conv2D on the tap path
	jobTapDW         // Conv2DWeightGrad on the tap path
)

// convJob is one product split over the slots: kernels.For calls Run with
// ranges of slots. Jobs come from a free list (newJob), so a step
// allocates nothing.
type convJob[T Float] struct {
	op      int
	gemm    Gemm[T]
	s       ConvShape
	r, a, b []T // the result and the two operands, in the exported function's order
	col     []T
	units   int // chunks (or samples) to deal out
	piece   int // jobDWRows: the unpacked pieces' length
}

func (j *convJob[T]) Run(lo, hi int) {
	for slot := lo; slot < hi; slot++ {
		j.slot(slot)
	}
}

// slot runs the units slot, slot+convSlots, ... on the slot's working
// space; the weight gradients sum into the slot's partial result.
func (j *convJob[T]) slot(slot int) {
	s := j.s
	ws := j.col[slot*s.slotLen():][:s.slotLen()]
	var part []T // the slot's partial weight gradient
	if j.op == jobDW || j.op == jobDWRows {
		part = j.col[convSlots*s.slotLen()+slot*len(j.r):][:len(j.r)]
	}
	nb := min(s.chunk(), s.N)
	for u := slot; u < j.units; u += convSlots {
		first := u == slot
		switch j.op {
		case jobFwd:
			convChunk(j.gemm, s, j.r, j.a, j.b, ws, u*nb, min(nb, s.N-u*nb))
		case jobDX:
			convInputGradChunk(j.gemm, s, j.r, j.a, j.b, ws, u*nb, min(nb, s.N-u*nb))
		case jobDW:
			convWeightGradChunk(j.gemm, s, part, j.a, j.b, ws, u*nb, min(nb, s.N-u*nb), first)
		case jobDWRows:
			convWeightGradRows(j.gemm, s, part, j.a, j.b, ws, u, j.piece, first)
		case jobTapFwd:
			tapsFwd(s, j.r, j.a, j.b, ws, u, first)
		case jobTapDW:
			tapsDW(s, j.a, j.b, ws, u, first)
		}
	}
}

var (
	jobs32 freeList[convJob[float32]]
	jobs64 freeList[convJob[float64]]
)

// runJob deals op's units to the slots and runs them in parallel, on a job
// from the free list.
func runJob[T Float](op int, gemm Gemm[T], s ConvShape, r, a, b, col []T, units, piece int) {
	l := freeListOf[convJob[T]](&jobs32, &jobs64)
	var j *convJob[T]
	if l != nil {
		j = l.get()
	} else {
		j = new(convJob[T])
	}
	*j = convJob[T]{op: op, gemm: gemm, s: s, r: r, a: a, b: b, col: col, units: units, piece: piece}
	kernels.For(min(convSlots, units), 1, j)
	*j = convJob[T]{}
	if l != nil {
		l.put(j)
	}
}

// freeList is a mutex-guarded free list (not a sync.Pool, which may drop
// its items at a GC and allocate again): get allocates only when more
// goroutines than ever before hold an item at once.
type freeList[W any] struct {
	mu   sync.Mutex
	free []*W
}

// freeListOf returns whichever of l32 and l64 (the float32 and float64
// free lists of a generic body type) is the free list of W, or nil (for
// a body of a named float type, which runs without one).
func freeListOf[W any](l32, l64 any) *freeList[W] {
	if l, ok := l32.(*freeList[W]); ok {
		return l
	}
	l, _ := l64.(*freeList[W])
	return l
}

func (l *freeList[W]) get() *W {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		w := l.free[n-1]
		l.free = l.free[:n-1]
		return w
	}
	return new(W)
}

func (l *freeList[W]) put(w *W) {
	l.mu.Lock()
	l.free = append(l.free, w)
	l.mu.Unlock()
}

// units is the number of chunks of samples of s's batch.
func (s ConvShape) units() int {
	nb := s.chunk()
	return (s.N + nb - 1) / nb
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
	if tapsOn[T](s) {
		runJob(jobTapFwd, gemm, s, out, x, w, col, s.N, 0)
		return
	}
	runJob(jobFwd, gemm, s, out, x, w, col, s.units(), 0)
}

// convChunk is Conv2D of the m samples from n0, on the working space ws.
func convChunk[T Float](gemm Gemm[T], s ConvShape, out, x, w, ws []T, n0, m int) {
	cg, og, k, p, hw, ld := s.layout(m)
	c, y := ws[:k*ld], ws[k*ld:][:og*ld]
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
	runJob(jobDX, gemm, s, dx, g, w, col, s.units(), 0)
}

// convInputGradChunk is Conv2DInputGrad of the m samples from n0, on the
// working space ws.
func convInputGradChunk[T Float](gemm Gemm[T], s ConvShape, dx, g, w, ws []T, n0, m int) {
	cg, og, k, p, hw, ld := s.layout(m)
	c, y := ws[:k*ld], ws[k*ld:][:og*ld]
	clear(dx[n0*s.C*hw : (n0+m)*s.C*hw])
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
}

// Conv2DWeightGrad computes dw [O, C/Groups, KH, KW], the gradient of
// conv2d with respect to its weight, from the input x and the output
// gradient g, summed over the batch, with gemm and working space col
// (s.ColLen() elements).
func Conv2DWeightGrad[T Float](gemm Gemm[T], s ConvShape, dw, x, g, col []T) {
	_, _, k, _, _, _ := s.layout(1)
	dw = dw[:s.O*k]
	if s.N == 0 {
		clear(dw)
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
	units := s.units()
	switch piece := kernels.UnpackedK(s.O/s.Groups, k); {
	case tapsOn[T](s):
		runJob(jobTapDW, gemm, s, dw, x, g, col, s.N, 0)
		tapsSum(s, dw, col, min(convSlots, s.N))
		return
	case piece >= minPiece:
		units = s.N
		runJob(jobDWRows, gemm, s, dw, x, g, col, units, piece)
	default:
		runJob(jobDW, gemm, s, dw, x, g, col, units, 0)
	}
	// The slots' partial sums, in slot order.
	parts := col[convSlots*s.slotLen():]
	copy(dw, parts[:len(dw)])
	for sl := 1; sl < min(convSlots, units); sl++ {
		for i, v := range parts[sl*len(dw):][:len(dw)] {
			dw[i] += v
		}
	}
}

// convWeightGradChunk adds the weight gradient of the m samples from n0
// to dw (sets it, if first), on the working space ws.
func convWeightGradChunk[T Float](gemm Gemm[T], s ConvShape, dw, x, g, ws []T, n0, m int, first bool) {
	cg, og, k, p, hw, ld := s.layout(m)
	c, y := ws[:k*ld], ws[k*ld:][:og*ld]
	beta := T(b2i(!first))
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
}

// convWeightGradRows adds the weight gradient of sample n to dw (sets it,
// if first) as a sum of unpacked products of the given length: g's rows
// of a group (the sample's output channels) times rows, the sample's
// transposed column matrix [positions, k], in the working space ws.
func convWeightGradRows[T Float](gemm Gemm[T], s ConvShape, dw, x, g, ws []T, n, piece int, first bool) {
	cg, og, k, p, hw, _ := s.layout(1)
	rows := ws[:p*k]
	for gr := range s.Groups {
		im2row(s, rows, k, x[(n*s.C+gr*cg)*hw:])
		gn := g[(n*s.O+gr*og)*p:][:og*p]
		for l0 := 0; l0 < p; l0 += piece {
			beta := T(b2i(!first || l0 > 0))
			gemm(false, false, og, k, min(piece, p-l0), 1, gn[l0:], p, rows[l0*k:], k, beta, dw[gr*og*k:][:og*k], k)
		}
	}
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
