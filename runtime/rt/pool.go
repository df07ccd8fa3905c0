package rt

import "github.com/bpgen/bpgen/runtime/kernels"

// Pool is the geometry of a 2-D pooling over planes of H×W elements
// (row-major) into planes of OH×OW: windows of KH×KW with strides SH, SW,
// starting PH rows above and PW columns left of the plane (the padding).
// Every window must hold at least one element of the plane (padding at
// most half the kernel, as the ops' type rules check).
type Pool struct {
	H, W, OH, OW, KH, KW, SH, SW, PH, PW int
}

// window returns the rows [r0, r1) and columns [c0, c1) of the plane that
// output (i, j)'s window covers.
func (p *Pool) window(i, j int) (r0, r1, c0, c1 int) {
	r0, c0 = i*p.SH-p.PH, j*p.SW-p.PW
	r1, c1 = min(r0+p.KH, p.H), min(c0+p.KW, p.W)
	return max(r0, 0), r1, max(c0, 0), c1
}

// argmax is the plane index of the first maximum of output (i, j)'s
// window in the plane x, in row-major order; every NaN replaces
// the maximum so far (PyTorch's rule: the last NaN of a window wins).
func argmax[T Float](p *Pool, x []T, i, j int) int {
	r0, r1, c0, c1 := p.window(i, j)
	at := r0*p.W + c0
	m := x[at]
	for r := r0; r < r1; r++ {
		row := x[r*p.W : r*p.W+c1]
		for c := c0; c < c1; c++ {
			if v := row[c]; v > m || v != v {
				at, m = r*p.W+c, v
			}
		}
	}
	return at
}

// is2x2 reports whether p is 2×2 windows with stride 2 and no padding
// (LeNet's, VGG's, ...), which have a faster path.
func (p *Pool) is2x2() bool {
	return p.KH == 2 && p.KW == 2 && p.SH == 2 && p.SW == 2 && p.PH == 0 && p.PW == 0
}

// max2x2Row writes the maxima of the 2×2 windows of rows r0, r1 (stride 2,
// no padding) into o. Go's max is branch-free and returns NaN if any
// argument is NaN, as PyTorch's max-pooling does; the one difference from
// the first maximum of argmax is a window holding −0 first and +0 later,
// whose maximum here is +0.
func max2x2Row[T Float](o, r0, r1 []T) {
	if len(o) == 0 {
		return
	}
	_, _ = r0[2*len(o)-1], r1[2*len(o)-1]
	for j := range o {
		o[j] = max(max(r0[2*j], r0[2*j+1]), max(r1[2*j], r1[2*j+1]))
	}
}

// max2x2GradRow sets the two rows of dst (w wide each) to zeros with each
// g[j] at the first maximum of the 2×2 window j of the same two rows of x
// (stride 2, no padding), as added to zeros (so −0 becomes +0), and zeros
// in the last column of an odd width. The index is chosen without
// branches (maxima in pooled data are unpredictable): a candidate replaces
// it when greater than the maximum so far or NaN, as in argmax.
func max2x2GradRow[T Float](dst, x, g []T, w int) {
	clear(dst[2*len(g) : w])
	clear(dst[w+2*len(g) : 2*w])
	if len(g) == 0 {
		return
	}
	_, _ = x[w+2*len(g)-1], dst[w+2*len(g)-1]
	for j, gj := range g {
		a, b, c, d := x[2*j], x[2*j+1], x[w+2*j], x[w+2*j+1]
		at := 2 * j
		at += (b2i(b > a) | b2i(b != b)) * (2*j + 1 - at)
		m := max(a, b) // NaN stays NaN; ±0 ties compare alike
		at += (b2i(c > m) | b2i(c != c)) * (w + 2*j - at)
		m = max(m, c)
		at += (b2i(d > m) | b2i(d != d)) * (w + 2*j + 1 - at)
		dst[2*j], dst[2*j+1], dst[w+2*j], dst[w+2*j+1] = 0, 0, 0, 0
		dst[at] = gj + 0
	}
}

// b2i is 1 if b, else 0, as a flag move (see B2F).
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// MaxPool2D writes the maximum of each window of the planes of src
// (planes·H·W) into dst (planes·OH·OW): PyTorch's max_pool2d. The planes
// are split over the cores (kernels.For; each output is computed alike on
// any number of threads).
func MaxPool2D[T Float](dst, src []T, planes int, p Pool) {
	runPool(false, dst, src, nil, planes, p)
}

// maxPool2D is MaxPool2D on one thread.
func maxPool2D[T Float](dst, src []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	fast := p.is2x2()
	asm := pool2x2Asm[T](&p)
	for pl := 0; pl < planes; pl++ {
		x, out := src[pl*hw:][:hw], dst[pl*ohw:][:ohw]
		if asm {
			maxPool2x2Plane(out, x, &p)
			continue
		}
		for i := 0; i < p.OH; i++ {
			o := out[i*p.OW : (i+1)*p.OW]
			if fast {
				max2x2Row(o, x[2*i*p.W:][:p.W], x[(2*i+1)*p.W:][:p.W])
				continue
			}
			for j := range o {
				o[j] = x[argmax(&p, x, i, j)]
			}
		}
	}
}

// MaxPool2DGrad sets dst (planes·H·W) to zeros with each element of g
// (planes·OH·OW) added at the first maximum of its window in x: the VJP of
// MaxPool2D. The planes are split over the cores, as in MaxPool2D.
func MaxPool2DGrad[T Float](dst, x, g []T, planes int, p Pool) {
	runPool(true, dst, x, g, planes, p)
}

// maxPool2DGrad is MaxPool2DGrad on one thread.
func maxPool2DGrad[T Float](dst, x, g []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	if p.is2x2() {
		// One sweep: each pair of rows written whole, no clearing first.
		asm := pool2x2Asm[T](&p)
		for pl := 0; pl < planes; pl++ {
			xs, gs, out := x[pl*hw:][:hw], g[pl*ohw:][:ohw], dst[pl*hw:][:hw]
			if asm {
				maxPool2x2GradPlane(out, xs, gs, &p)
				if 2*p.OW < p.W { // the last column of an odd width
					for r := range 2 * p.OH {
						out[r*p.W+p.W-1] = 0
					}
				}
				clear(out[2*p.OH*p.W:])
				continue
			}
			for i := 0; i < p.OH; i++ {
				r := 2 * i * p.W
				max2x2GradRow(out[r:][:2*p.W], xs[r:][:2*p.W], gs[i*p.OW:][:p.OW], p.W)
			}
			clear(out[2*p.OH*p.W:]) // the last row of an odd height
		}
		return
	}
	clear(dst[:planes*hw])
	for pl := 0; pl < planes; pl++ {
		xs, gs, out := x[pl*hw:][:hw], g[pl*ohw:][:ohw], dst[pl*hw:][:hw]
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				out[argmax(&p, xs, i, j)] += gs[i*p.OW+j]
			}
		}
	}
}

// MaxPool2DGather writes h (planes·H·W) read at the first maximum of each
// window of x into dst (planes·OH·OW): the transpose of MaxPool2DGrad.
func MaxPool2DGather[T Float](dst, x, h []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	for pl := 0; pl < planes; pl++ {
		xs, hs, out := x[pl*hw:][:hw], h[pl*hw:][:hw], dst[pl*ohw:][:ohw]
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				out[i*p.OW+j] = hs[argmax(&p, xs, i, j)]
			}
		}
	}
}

// AvgPool2D writes the sum of each window of src divided by KH·KW (the
// padding counts as zeros) into dst: PyTorch's avg_pool2d with
// count_include_pad. Sums are accumulated in float64.
func AvgPool2D[T Float](dst, src []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	div := float64(p.KH * p.KW)
	for pl := 0; pl < planes; pl++ {
		x, out := src[pl*hw:][:hw], dst[pl*ohw:][:ohw]
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				r0, r1, c0, c1 := p.window(i, j)
				var s float64
				for r := r0; r < r1; r++ {
					for _, v := range x[r*p.W+c0 : r*p.W+c1] {
						s += float64(v)
					}
				}
				out[i*p.OW+j] = T(s / div)
			}
		}
	}
}

// AvgPool2DGrad sets dst (planes·H·W) to zeros with each element of g
// (planes·OH·OW), divided by KH·KW, added over its window: the VJP of
// AvgPool2D.
func AvgPool2DGrad[T Float](dst, g []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	div := T(p.KH * p.KW)
	clear(dst[:planes*hw])
	for pl := 0; pl < planes; pl++ {
		gs, out := g[pl*ohw:][:ohw], dst[pl*hw:][:hw]
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				r0, r1, c0, c1 := p.window(i, j)
				d := gs[i*p.OW+j] / div
				for r := r0; r < r1; r++ {
					row := out[r*p.W+c0 : r*p.W+c1]
					for c := range row {
						row[c] += d
					}
				}
			}
		}
	}
}

// poolJob is a max-pooling (or its gradient, if grad) over a range of
// planes, as kernels.For runs it; jobs come from a free list, so a step
// allocates nothing.
type poolJob[T Float] struct {
	grad      bool
	dst, x, g []T
	p         Pool
}

func (j *poolJob[T]) Run(lo, hi int) {
	hw, ohw := j.p.H*j.p.W, j.p.OH*j.p.OW
	if j.grad {
		maxPool2DGrad(j.dst[lo*hw:hi*hw], j.x[lo*hw:hi*hw], j.g[lo*ohw:hi*ohw], hi-lo, j.p)
		return
	}
	maxPool2D(j.dst[lo*ohw:hi*ohw], j.x[lo*hw:hi*hw], hi-lo, j.p)
}

var (
	poolJobs32 freeList[poolJob[float32]]
	poolJobs64 freeList[poolJob[float64]]
)

// poolGrain is the planes' elements worth handing to another core (a few
// microseconds of pooling).
const poolGrain = 16 * 1024

// runPool runs a poolJob over the planes on the cores.
func runPool[T Float](grad bool, dst, x, g []T, planes int, p Pool) {
	l := freeListOf[poolJob[T]](&poolJobs32, &poolJobs64)
	if l == nil { // a named float type: no free list, one thread
		(&poolJob[T]{grad: grad, dst: dst, x: x, g: g, p: p}).Run(0, planes)
		return
	}
	j := l.get()
	*j = poolJob[T]{grad: grad, dst: dst, x: x, g: g, p: p}
	kernels.For(planes, max(1, poolGrain/max(1, p.H*p.W)), j)
	*j = poolJob[T]{}
	l.put(j)
}
