package bench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lenetBaseline is the hand-written training step of the LeNet-5 of the
// benchmarks (D2L §7.6 with ReLU and max-pooling: conv 1→6 5×5 pad 2, relu,
// maxpool 2; conv 6→16 5×5, relu, maxpool 2; dense 400→120→84→10; softmax
// cross-entropy; plain SGD): convolutions and pooling as plain loops, the
// dense layers over gemm. It is the plain-loop baseline of
// BenchmarkTrainStepLeNet.
type lenetBaseline[T float32 | float64] struct {
	n    int
	gemm gemmFunc[T]
	// Params and their gradients: conv weights OIHW, dense weights in × out.
	W1, B1, W2, B2, W3, B3, W4, B4, W5, B5           []T
	dW1, dB1, dW2, dB2, dW3, dB3, dW4, dB4, dW5, dB5 []T
	// Activations: c = conv + bias after ReLU, p = pooled (and its argmax).
	c1, p1, c2, p2, h3, h4, o []T
	a1, a2                    []int32
	// Cotangents.
	dc1, dp1, dc2, dp2, dh3, dh4, do []T
}

const (
	lnC1, lnH1, lnK = 6, 28, 5 // conv1: 6 channels of 28×28, 5×5 kernels
	lnP1            = 14       // after pooling
	lnC2, lnH2      = 16, 10   // conv2: 16 channels of 10×10
	lnP2            = 5
	lnFlat          = lnC2 * lnP2 * lnP2 // 400
)

func newLeNetBaseline[T float32 | float64](n int, gemm gemmFunc[T], seed uint64) *lenetBaseline[T] {
	rng := rand.New(rand.NewPCG(seed, 5))
	he := func(size, fanIn int) []T {
		w := make([]T, size)
		std := math.Sqrt(2 / float64(fanIn))
		for i := range w {
			w[i] = T(rng.NormFloat64() * std)
		}
		return w
	}
	z := func(k int) []T { return make([]T, k) }
	bl := &lenetBaseline[T]{n: n, gemm: gemm,
		W1: he(lnC1*lnK*lnK, lnK*lnK), B1: z(lnC1), W2: he(lnC2*lnC1*lnK*lnK, lnC1*lnK*lnK), B2: z(lnC2),
		W3: he(lnFlat*120, lnFlat), B3: z(120), W4: he(120*84, 120), B4: z(84), W5: he(84*10, 84), B5: z(10),
		c1: z(n * lnC1 * lnH1 * lnH1), p1: z(n * lnC1 * lnP1 * lnP1), c2: z(n * lnC2 * lnH2 * lnH2), p2: z(n * lnFlat),
		h3: z(n * 120), h4: z(n * 84), o: z(n * 10),
		a1: make([]int32, n*lnC1*lnP1*lnP1), a2: make([]int32, n*lnFlat),
		dc1: z(n * lnC1 * lnH1 * lnH1), dp1: z(n * lnC1 * lnP1 * lnP1), dc2: z(n * lnC2 * lnH2 * lnH2), dp2: z(n * lnFlat),
		dh3: z(n * 120), dh4: z(n * 84), do: z(n * 10),
	}
	bl.dW1, bl.dB1, bl.dW2, bl.dB2 = z(len(bl.W1)), z(lnC1), z(len(bl.W2)), z(lnC2)
	bl.dW3, bl.dB3, bl.dW4, bl.dB4, bl.dW5, bl.dB5 = z(len(bl.W3)), z(120), z(len(bl.W4)), z(84), z(len(bl.W5)), z(10)
	return bl
}

// convReLU: out[b,o,i,j] = relu(bias[o] + Σ x[b,c,i−pad+p,j−pad+q]·w[o,c,p,q]).
func convReLU[T float32 | float64](out, x, w, bias []T, n, cin, h, cout, ho, pad int) {
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < ho; j++ {
					s := bias[o]
					for c := 0; c < cin; c++ {
						for p := 0; p < lnK; p++ {
							r := i - pad + p
							if r < 0 || r >= h {
								continue
							}
							for q := 0; q < lnK; q++ {
								cc := j - pad + q
								if cc < 0 || cc >= h {
									continue
								}
								s += x[((b*cin+c)*h+r)*h+cc] * w[((o*cin+c)*lnK+p)*lnK+q]
							}
						}
					}
					out[((b*cout+o)*ho+i)*ho+j] = max(s, 0)
				}
			}
		}
	}
}

// convBack adds, from the cotangent dc of the conv's (pre-ReLU) output,
// the weight and bias gradients, and writes the input's cotangent dx if
// it is not nil.
func convBack[T float32 | float64](dx, dw, db, dc, x, w []T, n, cin, h, cout, ho, pad int) {
	clear(dw)
	clear(db)
	if dx != nil {
		clear(dx)
	}
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < ho; j++ {
					g := dc[((b*cout+o)*ho+i)*ho+j]
					if g == 0 {
						continue
					}
					db[o] += g
					for c := 0; c < cin; c++ {
						for p := 0; p < lnK; p++ {
							r := i - pad + p
							if r < 0 || r >= h {
								continue
							}
							for q := 0; q < lnK; q++ {
								cc := j - pad + q
								if cc < 0 || cc >= h {
									continue
								}
								xi, wi := ((b*cin+c)*h+r)*h+cc, ((o*cin+c)*lnK+p)*lnK+q
								dw[wi] += g * x[xi]
								if dx != nil {
									dx[xi] += g * w[wi]
								}
							}
						}
					}
				}
			}
		}
	}
}

// pool2 is 2×2 max-pooling (stride 2) of planes of h×h, keeping the argmax.
func pool2[T float32 | float64](out []T, arg []int32, x []T, planes, h int) {
	ho := h / 2
	for pl := 0; pl < planes; pl++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < ho; j++ {
				best := pl*h*h + 2*i*h + 2*j
				for _, d := range [3]int{1, h, h + 1} {
					if x[pl*h*h+2*i*h+2*j+d] > x[best] {
						best = pl*h*h + 2*i*h + 2*j + d
					}
				}
				o := (pl*ho+i)*ho + j
				out[o], arg[o] = x[best], int32(best)
			}
		}
	}
}

// dense: out = act(x·W + b), x [n,in], W [in,out].
func (bl *lenetBaseline[T]) dense(out, x, w, b []T, in, k int, relu bool) {
	bl.gemm(false, false, bl.n, k, in, 1, x, in, w, k, 0, out, k)
	for r := 0; r < bl.n; r++ {
		row := out[r*k : (r+1)*k]
		for j := range row {
			row[j] += b[j]
			if relu {
				row[j] = max(row[j], 0)
			}
		}
	}
}

// denseBack: from dz (the cotangent of the pre-activation), dW, db and,
// if dx is not nil, dx = dz·Wᵀ masked by x > 0 (x is a ReLU output).
func (bl *lenetBaseline[T]) denseBack(dx, dw, db, dz, x, w []T, in, k int) {
	n := bl.n
	bl.gemm(true, false, in, k, n, 1, x, in, dz, k, 0, dw, k)
	clear(db)
	for r := 0; r < n; r++ {
		for j, v := range dz[r*k : (r+1)*k] {
			db[j] += v
		}
	}
	if dx != nil {
		bl.gemm(false, true, n, in, k, 1, dz, k, w, k, 0, dx, in)
		for i, v := range x[:n*in] {
			if v <= 0 {
				dx[i] = 0
			}
		}
	}
}

// grads computes the mean loss of the batch and every gradient.
func (bl *lenetBaseline[T]) grads(x []T, y []int32) float64 {
	n := bl.n
	convReLU(bl.c1, x, bl.W1, bl.B1, n, 1, lnH1, lnC1, lnH1, 2)
	pool2(bl.p1, bl.a1, bl.c1, n*lnC1, lnH1)
	convReLU(bl.c2, bl.p1, bl.W2, bl.B2, n, lnC1, lnP1, lnC2, lnH2, 0)
	pool2(bl.p2, bl.a2, bl.c2, n*lnC2, lnH2)
	bl.dense(bl.h3, bl.p2, bl.W3, bl.B3, lnFlat, 120, true)
	bl.dense(bl.h4, bl.h3, bl.W4, bl.B4, 120, 84, true)
	bl.dense(bl.o, bl.h4, bl.W5, bl.B5, 84, 10, false)
	loss := 0.0
	for r := 0; r < n; r++ {
		row := bl.o[r*10 : (r+1)*10]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		loss += lse - float64(row[y[r]])
		for j, v := range row {
			p := math.Exp(float64(v) - lse)
			if j == int(y[r]) {
				p--
			}
			bl.do[r*10+j] = T(p / float64(n))
		}
	}
	bl.denseBack(bl.dh4, bl.dW5, bl.dB5, bl.do, bl.h4, bl.W5, 84, 10)
	bl.denseBack(bl.dh3, bl.dW4, bl.dB4, bl.dh4, bl.h3, bl.W4, 120, 84)
	// dh3 is now the pre-activation cotangent of layer 3; its input p2 is
	// pooled, so its cotangent is masked after unpooling, not here.
	bl.gemm(true, false, lnFlat, 120, n, 1, bl.p2, lnFlat, bl.dh3, 120, 0, bl.dW3, 120)
	clear(bl.dB3)
	for r := 0; r < n; r++ {
		for j, v := range bl.dh3[r*120 : (r+1)*120] {
			bl.dB3[j] += v
		}
	}
	bl.gemm(false, true, n, lnFlat, 120, 1, bl.dh3, 120, bl.W3, 120, 0, bl.dp2, lnFlat)
	unpool(bl.dc2, bl.dp2, bl.a2, bl.c2)
	convBack(bl.dp1, bl.dW2, bl.dB2, bl.dc2, bl.p1, bl.W2, n, lnC1, lnP1, lnC2, lnH2, 0)
	unpool(bl.dc1, bl.dp1, bl.a1, bl.c1)
	convBack(nil, bl.dW1, bl.dB1, bl.dc1, x, bl.W1, n, 1, lnH1, lnC1, lnH1, 2)
	return loss / float64(n)
}

// unpool scatters the pooled cotangent dp to the argmax positions and
// masks it by the ReLU output c > 0: the cotangent of the pre-ReLU conv.
func unpool[T float32 | float64](dc, dp []T, arg []int32, c []T) {
	clear(dc)
	for o, at := range arg {
		if c[at] > 0 {
			dc[at] += dp[o]
		}
	}
}

// step is one SGD step; it returns the loss before the update.
func (bl *lenetBaseline[T]) step(x []T, y []int32, lr T) float64 {
	loss := bl.grads(x, y)
	for _, p := range [][2][]T{{bl.W1, bl.dW1}, {bl.B1, bl.dB1}, {bl.W2, bl.dW2}, {bl.B2, bl.dB2}, {bl.W3, bl.dW3},
		{bl.B3, bl.dB3}, {bl.W4, bl.dW4}, {bl.B4, bl.dB4}, {bl.W5, bl.dW5}, {bl.B5, bl.dB5}} {
		for i, g := range p[1] {
			p[0][i] -= lr * g
		}
	}
	return loss
}

// TestLeNetBaselineGradients checks the baseline's hand-written gradients
// against central differences in float64 at a few coordinates of every
// param, so that the benchmark compares against a correct step.
func TestLeNetBaselineGradients(t *testing.T) {
	const n = 2
	// tol: central differences with h = 1e-7 on a loss of about 2.3 have a
	// round-off error of about ε·2.3/h ≈ 5e-9 and a negligible truncation
	// error; a wrong rule is off by O(the gradient), 1e-3 to 1e-1 here. A
	// step that crosses a ReLU or max-pooling kink would be off too: h is
	// small enough that at the coordinates drawn (in a fixed order, from a
	// fixed seed) none does.
	const h, tol = 1e-7, 1e-6
	bl := newLeNetBaseline[float64](n, func(tA, tB bool, m, nn, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				s := 0.0
				for l := 0; l < k; l++ {
					ai, bi := i*lda+l, l*ldb+j
					if tA {
						ai = l*lda + i
					}
					if tB {
						bi = j*ldb + l
					}
					av, bv := a[ai], b[bi]
					s += av * bv
				}
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}, 1)
	rng := rand.New(rand.NewPCG(4, 4))
	x := make([]float64, n*28*28)
	for i := range x {
		x[i] = rng.Float64()
	}
	for i := range bl.B1 {
		bl.B1[i] = 0.1 // most units active
	}
	y := []int32{3, 7}
	bl.grads(x, y)
	params := []struct {
		name string
		p    [2][]float64
	}{{"W1", [2][]float64{bl.W1, bl.dW1}}, {"B1", [2][]float64{bl.B1, bl.dB1}}, {"W2", [2][]float64{bl.W2, bl.dW2}},
		{"B2", [2][]float64{bl.B2, bl.dB2}}, {"W3", [2][]float64{bl.W3, bl.dW3}}, {"B3", [2][]float64{bl.B3, bl.dB3}},
		{"W4", [2][]float64{bl.W4, bl.dW4}}, {"B4", [2][]float64{bl.B4, bl.dB4}}, {"W5", [2][]float64{bl.W5, bl.dW5}},
		{"B5", [2][]float64{bl.B5, bl.dB5}}}
	for _, pp := range params {
		name, p := pp.name, pp.p
		grad := append([]float64(nil), p[1]...)
		for range 4 {
			i := rng.IntN(len(p[0]))
			old := p[0][i]
			p[0][i] = old + h
			up := bl.grads(x, y)
			p[0][i] = old - h
			down := bl.grads(x, y)
			p[0][i] = old
			if fd := (up - down) / (2 * h); math.Abs(fd-grad[i]) > tol {
				t.Errorf("%s[%d]: gradient %.9g, finite differences %.9g", name, i, grad[i], fd)
			}
		}
	}
}
