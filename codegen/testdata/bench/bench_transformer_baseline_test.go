package bench

import (
	"math"
)

// blockBaseline is the hand-written training step of
// benchmodels.TransformerBlock (pre-LN, causal multi-head attention, ReLU
// MLP, residuals, mean squared error, plain SGD), in float32 over a GEMM:
// what a careful user would write without a compiler. The heads are
// strided sub-matrices of q, k, v (no transposes); statistics accumulate
// in float64.
type blockBaseline struct {
	n, s, d, h, f int // batch, sequence, width, heads, MLP width
	gemm          gemmFunc[float32]

	// params and their gradients, as benchmodels.TransformerBlock names them
	g1, be1, g2, be2, bo, b1, b2            []float32
	Wq, Wk, Wv, Wo, W1, W2                  []float32
	dg1, dbe1, dg2, dbe2, dbo, db1, db2     []float32
	dWq, dWk, dWv, dWo, dW1, dW2            []float32
	xhat1, rstd1, a, q, k, v, att, ctx, h1  []float32 // forward, kept for the backward pass
	xhat2, rstd2, c, z, out                 []float32
	dout, dz, dc, dh1, dctx, dA, dq, dk, dv []float32 // backward
	da, tmp                                 []float32
}

func newBlockBaseline(n, s, d, heads, f int, gemm gemmFunc[float32]) *blockBaseline {
	N := n * s
	m := func(k int) []float32 { return make([]float32, k) }
	bl := &blockBaseline{n: n, s: s, d: d, h: heads, f: f, gemm: gemm,
		g1: m(d), be1: m(d), g2: m(d), be2: m(d), bo: m(d), b1: m(f), b2: m(d),
		Wq: m(d * d), Wk: m(d * d), Wv: m(d * d), Wo: m(d * d), W1: m(d * f), W2: m(f * d),
		dg1: m(d), dbe1: m(d), dg2: m(d), dbe2: m(d), dbo: m(d), db1: m(f), db2: m(d),
		dWq: m(d * d), dWk: m(d * d), dWv: m(d * d), dWo: m(d * d), dW1: m(d * f), dW2: m(f * d),
		xhat1: m(N * d), rstd1: m(N), a: m(N * d), q: m(N * d), k: m(N * d), v: m(N * d),
		att: m(n * heads * s * s), ctx: m(N * d), h1: m(N * d),
		xhat2: m(N * d), rstd2: m(N), c: m(N * d), z: m(N * f), out: m(N * d),
		dout: m(N * d), dz: m(N * f), dc: m(N * d), dh1: m(N * d), dctx: m(N * d), dA: m(s * s),
		dq: m(N * d), dk: m(N * d), dv: m(N * d), da: m(N * d), tmp: m(N * d)}
	for i := range bl.g1 {
		bl.g1[i], bl.g2[i] = 1, 1
	}
	return bl
}

// layerNorm normalizes the rows of x (width d) into y with gain g and
// bias b, keeping x̂ and 1/σ for the backward pass (eps 1e-5, biased
// variance, as torch.nn.LayerNorm).
func layerNorm(y, xhat, rstd, x, g, b []float32, d int) {
	for r := range len(x) / d {
		row := x[r*d : (r+1)*d]
		mean, sq := 0.0, 0.0
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(d)
		for _, v := range row {
			sq += (float64(v) - mean) * (float64(v) - mean)
		}
		rs := 1 / math.Sqrt(sq/float64(d)+1e-5)
		rstd[r] = float32(rs)
		for j, v := range row {
			xh := float32((float64(v) - mean) * rs)
			xhat[r*d+j] = xh
			y[r*d+j] = xh*g[j] + b[j]
		}
	}
}

// layerNormBackward adds the gradient of x to dx and sets dg and db from
// the gradient dy of layerNorm's output.
func layerNormBackward(dx, dg, db, dy, xhat, rstd, g []float32, d int) {
	clear(dg)
	clear(db)
	for r := range len(dy) / d {
		m1, m2 := 0.0, 0.0
		for j := range d {
			dyj, xh := dy[r*d+j], xhat[r*d+j]
			dg[j] += dyj * xh
			db[j] += dyj
			t := float64(dyj * g[j])
			m1 += t
			m2 += t * float64(xh)
		}
		m1 /= float64(d)
		m2 /= float64(d)
		for j := range d {
			t := float64(dy[r*d+j] * g[j])
			dx[r*d+j] += float32(float64(rstd[r]) * (t - m1 - float64(xhat[r*d+j])*m2))
		}
	}
}

func addBias(x, b []float32) {
	for r := range len(x) / len(b) {
		row := x[r*len(b):][:len(b)]
		for j := range row {
			row[j] += b[j]
		}
	}
}

func colSum(dst, x []float32) {
	clear(dst)
	for r := range len(x) / len(dst) {
		for j, v := range x[r*len(dst):][:len(dst)] {
			dst[j] += v
		}
	}
}

func (bl *blockBaseline) step(x, y, mask []float32, lr float32) float64 {
	n, s, d, H, f := bl.n, bl.s, bl.d, bl.h, bl.f
	N, dk := n*s, d/bl.h
	scale := float32(1 / math.Sqrt(float64(dk)))
	gm := bl.gemm
	// Forward.
	layerNorm(bl.a, bl.xhat1, bl.rstd1, x, bl.g1, bl.be1, d)
	gm(false, false, N, d, d, 1, bl.a, d, bl.Wq, d, 0, bl.q, d)
	gm(false, false, N, d, d, 1, bl.a, d, bl.Wk, d, 0, bl.k, d)
	gm(false, false, N, d, d, 1, bl.a, d, bl.Wv, d, 0, bl.v, d)
	for b := range n {
		for h := range H {
			off := b*s*d + h*dk
			att := bl.att[(b*H+h)*s*s:][:s*s]
			gm(false, true, s, s, dk, scale, bl.q[off:], d, bl.k[off:], d, 0, att, s)
			for i := range s {
				row := att[i*s : (i+1)*s]
				mx := float32(math.Inf(-1))
				for j := range row {
					row[j] += mask[i*s+j]
					mx = max(mx, row[j])
				}
				sum := 0.0
				for j, v := range row {
					e := math.Exp(float64(v - mx))
					row[j] = float32(e)
					sum += e
				}
				for j := range row {
					row[j] = float32(float64(row[j]) / sum)
				}
			}
			gm(false, false, s, dk, s, 1, att, s, bl.v[off:], d, 0, bl.ctx[off:], d)
		}
	}
	gm(false, false, N, d, d, 1, bl.ctx, d, bl.Wo, d, 0, bl.h1, d)
	for i := range bl.h1 {
		bl.h1[i] += x[i] + bl.bo[i%d]
	}
	layerNorm(bl.c, bl.xhat2, bl.rstd2, bl.h1, bl.g2, bl.be2, d)
	gm(false, false, N, f, d, 1, bl.c, d, bl.W1, f, 0, bl.z, f)
	addBias(bl.z, bl.b1)
	for i, v := range bl.z {
		bl.z[i] = max(v, 0)
	}
	gm(false, false, N, d, f, 1, bl.z, f, bl.W2, d, 0, bl.out, d)
	loss := 0.0
	inv := 2 / float32(N*d)
	for i := range bl.out {
		o := bl.out[i] + bl.b2[i%d] + bl.h1[i]
		e := o - y[i]
		loss += float64(e) * float64(e)
		bl.dout[i] = inv * e
	}
	// Backward: the MLP.
	colSum(bl.db2, bl.dout)
	gm(true, false, f, d, N, 1, bl.z, f, bl.dout, d, 0, bl.dW2, d)
	gm(false, true, N, f, d, 1, bl.dout, d, bl.W2, d, 0, bl.dz, f)
	for i, v := range bl.z {
		if v <= 0 {
			bl.dz[i] = 0
		}
	}
	colSum(bl.db1, bl.dz)
	gm(true, false, d, f, N, 1, bl.c, d, bl.dz, f, 0, bl.dW1, f)
	gm(false, true, N, d, f, 1, bl.dz, f, bl.W1, f, 0, bl.dc, d)
	copy(bl.dh1, bl.dout)
	layerNormBackward(bl.dh1, bl.dg2, bl.dbe2, bl.dc, bl.xhat2, bl.rstd2, bl.g2, d)
	// The attention.
	colSum(bl.dbo, bl.dh1)
	gm(true, false, d, d, N, 1, bl.ctx, d, bl.dh1, d, 0, bl.dWo, d)
	gm(false, true, N, d, d, 1, bl.dh1, d, bl.Wo, d, 0, bl.dctx, d)
	for b := range n {
		for h := range H {
			off := b*s*d + h*dk
			att, dA := bl.att[(b*H+h)*s*s:][:s*s], bl.dA
			gm(false, true, s, s, dk, 1, bl.dctx[off:], d, bl.v[off:], d, 0, dA, s)
			gm(true, false, s, dk, s, 1, att, s, bl.dctx[off:], d, 0, bl.dv[off:], d)
			for i := range s {
				dot := 0.0
				for j := range s {
					dot += float64(dA[i*s+j]) * float64(att[i*s+j])
				}
				for j := range s {
					dA[i*s+j] = att[i*s+j] * (dA[i*s+j] - float32(dot)) * scale
				}
			}
			gm(false, false, s, dk, s, 1, dA, s, bl.k[off:], d, 0, bl.dq[off:], d)
			gm(true, false, s, dk, s, 1, dA, s, bl.q[off:], d, 0, bl.dk[off:], d)
		}
	}
	gm(true, false, d, d, N, 1, bl.a, d, bl.dq, d, 0, bl.dWq, d)
	gm(true, false, d, d, N, 1, bl.a, d, bl.dk, d, 0, bl.dWk, d)
	gm(true, false, d, d, N, 1, bl.a, d, bl.dv, d, 0, bl.dWv, d)
	gm(false, true, N, d, d, 1, bl.dq, d, bl.Wq, d, 0, bl.da, d)
	gm(false, true, N, d, d, 1, bl.dk, d, bl.Wk, d, 1, bl.da, d)
	gm(false, true, N, d, d, 1, bl.dv, d, bl.Wv, d, 1, bl.da, d)
	clear(bl.tmp)
	layerNormBackward(bl.tmp, bl.dg1, bl.dbe1, bl.da, bl.xhat1, bl.rstd1, bl.g1, d)
	// SGD.
	for _, pg := range [][2][]float32{{bl.g1, bl.dg1}, {bl.be1, bl.dbe1}, {bl.g2, bl.dg2}, {bl.be2, bl.dbe2}, {bl.bo, bl.dbo},
		{bl.b1, bl.db1}, {bl.b2, bl.db2}, {bl.Wq, bl.dWq}, {bl.Wk, bl.dWk}, {bl.Wv, bl.dWv}, {bl.Wo, bl.dWo}, {bl.W1, bl.dW1}, {bl.W2, bl.dW2}} {
		for i, g := range pg[1] {
			pg[0][i] -= lr * g
		}
	}
	return loss / float64(N*d)
}
