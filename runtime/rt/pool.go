package rt

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
// window in the plane x, in row-major order; a NaN wins, as in PyTorch.
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

// argmax2x2 is argmax for a 2×2 window at row r, column c (stride 2, no
// padding): the same first maximum, without the window arithmetic.
func argmax2x2[T Float](x []T, w, r, c int) int {
	at := r*w + c
	m := x[at]
	if v := x[at+1]; v > m || v != v {
		at, m = r*w+c+1, v
	}
	if v := x[(r+1)*w+c]; v > m || v != v {
		at, m = (r+1)*w+c, v
	}
	if v := x[(r+1)*w+c+1]; v > m || v != v {
		at = (r+1)*w + c + 1
	}
	return at
}

// MaxPool2D writes the maximum of each window of the planes of src
// (planes·H·W) into dst (planes·OH·OW): PyTorch's max_pool2d.
func MaxPool2D[T Float](dst, src []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	fast := p.is2x2()
	for pl := 0; pl < planes; pl++ {
		x, out := src[pl*hw:][:hw], dst[pl*ohw:][:ohw]
		for i := 0; i < p.OH; i++ {
			o := out[i*p.OW : (i+1)*p.OW]
			if fast {
				for j := range o {
					o[j] = x[argmax2x2(x, p.W, 2*i, 2*j)]
				}
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
// MaxPool2D.
func MaxPool2DGrad[T Float](dst, x, g []T, planes int, p Pool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	clear(dst[:planes*hw])
	for pl := 0; pl < planes; pl++ {
		xs, gs, out := x[pl*hw:][:hw], g[pl*ohw:][:ohw], dst[pl*hw:][:hw]
		for i := 0; i < p.OH; i++ {
			if p.is2x2() {
				for j := 0; j < p.OW; j++ {
					out[argmax2x2(xs, p.W, 2*i, 2*j)] += gs[i*p.OW+j]
				}
				continue
			}
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
