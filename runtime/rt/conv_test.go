package rt_test

import (
	"fmt"
	"github.com/bpgen/bpgen/internal/cputime"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/runtime/kernels"
	"github.com/bpgen/bpgen/runtime/rt"
)

// The plain-loop convolution: the reference of the tests and the baseline
// of the benchmarks. Each product loops over output elements, input
// channels and the kernel taps inside the input (the ranges worked out
// per output row and column, so the inner loop is a plain multiply-add).
type plainConv[T rt.Float] struct{ s rt.ConvShape }

// taps returns the kernel taps t in [0, k) whose input position
// o·stride − pad + t·dil is inside [0, size).
func taps(o, stride, pad, dil, k, size int) (lo, hi int) {
	base := o*stride - pad
	for lo = 0; lo < k && base+lo*dil < 0; lo++ {
	}
	for hi = k; hi > lo && base+(hi-1)*dil >= size; hi-- {
	}
	return lo, hi
}

// loop calls f(xrow, wrow, yi, jlo, jhi) for every output element yi, input
// channel and in-range kernel row: x[xrow + j·DW] pairs with w[wrow + j]
// for j in [jlo, jhi) (xrow is offset so).
func (c plainConv[T]) loop(f func(xrow, wrow, yi, jlo, jhi int)) {
	s := c.s
	cg, og := s.C/s.Groups, s.O/s.Groups
	for n := range s.N {
		for o := range s.O {
			for y := range s.HO {
				ilo, ihi := taps(y, s.SH, s.PH, s.DH, s.KH, s.H)
				for x := range s.WO {
					jlo, jhi := taps(x, s.SW, s.PW, s.DW, s.KW, s.W)
					yi := ((n*s.O+o)*s.HO+y)*s.WO + x
					for ic := range cg {
						ch := (o/og)*cg + ic
						for i := ilo; i < ihi; i++ {
							ih := y*s.SH - s.PH + i*s.DH
							f(((n*s.C+ch)*s.H+ih)*s.W+x*s.SW-s.PW, ((o*cg+ic)*s.KH+i)*s.KW, yi, jlo, jhi)
						}
					}
				}
			}
		}
	}
}

func (c plainConv[T]) forward(out, x, w []T) {
	clear(out)
	dw := c.s.DW
	c.loop(func(xrow, wrow, yi, jlo, jhi int) {
		sum := out[yi]
		for j := jlo; j < jhi; j++ {
			sum += x[xrow+j*dw] * w[wrow+j]
		}
		out[yi] = sum
	})
}

func (c plainConv[T]) inputGrad(dx, g, w []T) {
	clear(dx)
	dw := c.s.DW
	c.loop(func(xrow, wrow, yi, jlo, jhi int) {
		gy := g[yi]
		for j := jlo; j < jhi; j++ {
			dx[xrow+j*dw] += gy * w[wrow+j]
		}
	})
}

func (c plainConv[T]) weightGrad(dW, x, g []T) {
	clear(dW)
	dw := c.s.DW
	c.loop(func(xrow, wrow, yi, jlo, jhi int) {
		gy := g[yi]
		for j := jlo; j < jhi; j++ {
			dW[wrow+j] += x[xrow+j*dw] * gy
		}
	})
}

func convShape(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups int) rt.ConvShape {
	s := rt.ConvShape{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw, SH: sh, SW: sw, PH: ph, PW: pw, DH: dh, DW: dw, Groups: groups}
	s.HO = (h+2*ph-dh*(kh-1)-1)/sh + 1
	s.WO = (w+2*pw-dw*(kw-1)-1)/sw + 1
	return s
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(2*r.Float64() - 1)
	}
	return x
}

// convTol: the GEMM sums the same products in float32 in another order;
// with at most a few hundred products of magnitude ≤ 1 per element the
// difference stays far below 1e-4 (measured ≤ 1e-5).
const convTol = 1e-4

func checkClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > convTol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

var convShapes = []rt.ConvShape{
	convShape(2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1),
	convShape(2, 2, 7, 6, 4, 3, 2, 2, 1, 1, 2, 1, 1, 1),
	convShape(1, 3, 9, 8, 2, 2, 3, 1, 3, 1, 0, 2, 2, 1),
	convShape(2, 4, 6, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2),
	convShape(2, 3, 6, 5, 3, 2, 2, 1, 2, 0, 1, 2, 1, 3),
	convShape(3, 4, 5, 4, 6, 1, 1, 1, 1, 0, 0, 1, 1, 2), // direct (1×1)
	convShape(2, 4, 5, 4, 2, 1, 1, 2, 1, 1, 0, 1, 1, 1), // 1×1 with stride and padding: unrolled
	convShape(1, 1, 3, 3, 1, 3, 3, 1, 1, 4, 4, 1, 1, 1), // padding wider than the kernel: rows of zeros only
	// Several chunks of samples, the last one short: 2+2+1 and 5+2.
	convShape(5, 4, 40, 25, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1),
	convShape(7, 4, 40, 25, 4, 5, 5, 1, 1, 2, 2, 1, 1, 2),
	// Weight gradients by unpacked pieces (og·k ≤ 256), each copy of
	// im2row's window rows: 5 wide at stride 1 (LeNet's first
	// convolution, small) and 2, 3 wide, other widths, dilated, a kernel
	// wider than the padded input's interior, and groups.
	convShape(3, 1, 12, 11, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),
	convShape(2, 1, 13, 12, 3, 5, 5, 2, 2, 2, 1, 1, 1, 1),
	convShape(2, 2, 9, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),
	convShape(2, 2, 9, 8, 4, 3, 3, 2, 3, 0, 2, 1, 1, 2),
	convShape(2, 2, 6, 9, 3, 2, 4, 1, 2, 1, 3, 1, 1, 1),
	convShape(2, 1, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1),
	convShape(1, 1, 4, 3, 2, 3, 5, 1, 1, 1, 2, 1, 1, 1),
	// Rows of 10 and 28 output columns (im2col's and col2im's fixed-size
	// copies and adds: LeNet's second convolution, a small first one, and
	// with padding shorter rows at the edges).
	convShape(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1),
	convShape(2, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),
	convShape(2, 2, 10, 10, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),
	// Stride 1 and no padding: dilated, grouped, and several chunks of
	// samples, the last one short.
	convShape(2, 2, 9, 9, 3, 3, 3, 1, 1, 0, 0, 2, 2, 1),
	convShape(2, 4, 8, 7, 4, 3, 2, 1, 1, 0, 0, 1, 2, 2),
	convShape(5, 4, 40, 25, 4, 5, 5, 1, 1, 0, 0, 1, 1, 1),
}

// tapShapes take the tap path (float32 on AVX-512, and on AVX2 those with
// at least 16 output columns; rt.TapShape, rt.TapPath): LeNet's first
// convolution (small), output channels past a block of 6, strided rows,
// dilation, groups, more than 32 output columns, fewer than 16, no
// padding. Their output widths, 20, 16, 18, 20, 14, 40 and 15, put the
// last AVX2 block of a row (at WO − 16) over 0, 12 and 14 columns of the
// one before, and over 8 after two whole blocks.
var tapShapes = []rt.ConvShape{
	convShape(3, 1, 20, 20, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),
	convShape(2, 1, 13, 16, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1),
	convShape(2, 2, 15, 18, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1),
	convShape(2, 1, 16, 20, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1),
	convShape(2, 4, 14, 16, 8, 3, 3, 1, 1, 1, 0, 1, 1, 2),
	convShape(2, 1, 10, 40, 6, 3, 5, 1, 1, 0, 2, 1, 1, 1),
	convShape(2, 2, 12, 17, 7, 2, 3, 1, 1, 0, 0, 1, 1, 1),
}

// TestConv2D compares the three products on kernels.Sgemm with the plain
// loops, over strides, padding, dilation, groups and 1×1 kernels, with
// garbage in the working space and the outputs beforehand.
func TestConv2D(t *testing.T) {
	for _, s := range tapShapes {
		if !rt.TapShape(s) {
			t.Errorf("%+v does not suit the tap path", s)
		}
	}
	// The tap shapes on AVX-512's tap kernels, AVX2's and the portable
	// column-matrix path.
	var backends []kernels.Backend
	for _, be := range []kernels.Backend{kernels.BackendAVX512, kernels.BackendAVX2, kernels.BackendPortable} {
		if be.Available() {
			backends = append(backends, be)
		}
	}
	for _, be := range backends {
		t.Run(be.String(), func(t *testing.T) {
			defer kernels.SetBackend(kernels.SetBackend(be))
			for _, s := range tapShapes {
				want := be == kernels.BackendAVX512 || be == kernels.BackendAVX2 && s.WO >= 16
				if got := rt.TapPath(s); got != want {
					t.Errorf("%+v: TapPath = %v on %v, want %v", s, got, be, want)
				}
			}
			testConv2D(t, append(convShapes[:len(convShapes):len(convShapes)], tapShapes...))
		})
	}
}

// TestConv2DThreads checks that the three products give the same bits on
// one thread and on two (the slots' split of the batch and the order of
// the weight gradient's sums do not depend on the thread count).
func TestConv2DThreads(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(1))
	for i, s := range append(convShapes[:len(convShapes):len(convShapes)], append(tapShapes, lenet[0].s, lenet[1].s)...) {
		r := rand.New(rand.NewPCG(uint64(i), 3))
		x := randSlice(r, s.N*s.C*s.H*s.W)
		w := randSlice(r, s.O*s.C/s.Groups*s.KH*s.KW)
		g := randSlice(r, s.N*s.O*s.HO*s.WO)
		col := make([]float32, s.ColLen())
		var res [2][3][]float32
		for th := range 2 {
			kernels.SetThreads(th + 1)
			out, dx, dw := make([]float32, len(g)), make([]float32, len(x)), make([]float32, len(w))
			rt.Conv2D(kernels.Sgemm, s, out, x, w, col)
			rt.Conv2DInputGrad(kernels.Sgemm, s, dx, g, w, col)
			rt.Conv2DWeightGrad(kernels.Sgemm, s, dw, x, g, col)
			res[th] = [3][]float32{out, dx, dw}
		}
		for k, name := range []string{"out", "dx", "dw"} {
			for e := range res[0][k] {
				if math.Float32bits(res[0][k][e]) != math.Float32bits(res[1][k][e]) {
					t.Fatalf("%d/%+v: %s[%d] = %g on 1 thread, %g on 2", i, s, name, e, res[0][k][e], res[1][k][e])
				}
			}
		}
	}
}

func testConv2D(t *testing.T, shapes []rt.ConvShape) {
	for i, s := range shapes {
		t.Run(fmt.Sprintf("%d/%+v", i, s), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			x := randSlice(r, s.N*s.C*s.H*s.W)
			w := randSlice(r, s.O*s.C/s.Groups*s.KH*s.KW)
			g := randSlice(r, s.N*s.O*s.HO*s.WO)
			col := randSlice(r, s.ColLen())
			ref, got := plainConv[float32]{s}, func(n int) []float32 { return randSlice(r, n) }

			want := make([]float32, len(g))
			ref.forward(want, x, w)
			out := got(len(g))
			rt.Conv2D(kernels.Sgemm, s, out, x, w, col)
			checkClose(t, "out", out, want)

			want = make([]float32, len(x))
			ref.inputGrad(want, g, w)
			dx := got(len(x))
			rt.Conv2DInputGrad(kernels.Sgemm, s, dx, g, w, col)
			checkClose(t, "dx", dx, want)

			want = make([]float32, len(w))
			ref.weightGrad(want, x, g)
			dw := got(len(w))
			rt.Conv2DWeightGrad(kernels.Sgemm, s, dw, x, g, col)
			checkClose(t, "dw", dw, want)
		})
	}
}

// lenet are the two convolutions of LeNet-5 (D2L §7.6) at batch 256.
var lenet = []struct {
	name string
	s    rt.ConvShape
}{
	{"conv1-1x28x28-6x5x5-pad2", convShape(256, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1)},
	{"conv2-6x14x14-16x5x5", convShape(256, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)},
}

// BenchmarkConv2DStep is one training step's convolution work (forward,
// input gradient, weight gradient) at LeNet's sizes: on the GEMM (im2col,
// impl=gemm) and, as the baseline in the same run, in plain loops
// (impl=loops). Compare with benchstat -col /impl.
func BenchmarkConv2DStep(b *testing.B) {
	for _, l := range lenet {
		s := l.s
		r := rand.New(rand.NewPCG(1, 2))
		x := randSlice(r, s.N*s.C*s.H*s.W)
		w := randSlice(r, s.O*s.C/s.Groups*s.KH*s.KW)
		g := randSlice(r, s.N*s.O*s.HO*s.WO)
		col := make([]float32, s.ColLen())
		out, dx, dw := make([]float32, len(g)), make([]float32, len(x)), make([]float32, len(w))
		flops := float64(2 * 3 * s.N * s.O * s.HO * s.WO * s.C / s.Groups * s.KH * s.KW)
		b.Run(l.name+"/impl=gemm", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				rt.Conv2D(kernels.Sgemm, s, out, x, w, col)
				rt.Conv2DInputGrad(kernels.Sgemm, s, dx, g, w, col)
				rt.Conv2DWeightGrad(kernels.Sgemm, s, dw, x, g, col)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(l.name+"/impl=loops", func(b *testing.B) {
			b.ReportAllocs()
			ref := plainConv[float32]{s}
			for range b.N {
				ref.forward(out, x, w)
				ref.inputGrad(dx, g, w)
				ref.weightGrad(dw, x, g)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func widen64(x []float32) []float64 {
	r := make([]float64, len(x))
	for i, v := range x {
		r[i] = float64(v)
	}
	return r
}

// TestConv2DAcc64: the float64-accumulating forms equal the float64 plain
// loops rounded to float32 once, or a neighbouring float32 (the reference
// sums in another order, and its float64 result may sit across a rounding
// boundary; the float64 sums' own error is far below a float32 ulp).
func TestConv2DAcc64(t *testing.T) {
	for i, s := range convShapes {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 3))
			x := randSlice(r, s.N*s.C*s.H*s.W)
			w := randSlice(r, s.O*s.C/s.Groups*s.KH*s.KW)
			g := randSlice(r, s.N*s.O*s.HO*s.WO)
			work := make([]float64, s.Acc64Len())
			ref := plainConv[float64]{s}
			check := func(what string, got []float32, want []float64) {
				t.Helper()
				for i := range want {
					w := float32(want[i])
					if got[i] != w && got[i] != math.Nextafter32(w, float32(math.Inf(1))) && got[i] != math.Nextafter32(w, float32(math.Inf(-1))) {
						t.Fatalf("%s[%d] = %g, want %g rounded once (%g) or a neighbour", what, i, got[i], want[i], w)
					}
				}
			}
			want := make([]float64, len(g))
			ref.forward(want, widen64(x), widen64(w))
			out := randSlice(r, len(g))
			rt.Conv2DAcc64(s, out, x, w, work)
			check("out", out, want)

			want = make([]float64, len(x))
			ref.inputGrad(want, widen64(g), widen64(w))
			dx := randSlice(r, len(x))
			rt.Conv2DInputGradAcc64(s, dx, g, w, work)
			check("dx", dx, want)

			want = make([]float64, len(w))
			ref.weightGrad(want, widen64(x), widen64(g))
			dw := randSlice(r, len(w))
			rt.Conv2DWeightGradAcc64(s, dw, x, g, work)
			check("dw", dw, want)
		})
	}
}

// BenchmarkConv2DOps times each of the three products alone at LeNet's
// sizes (op=fwd, dx, dw), to see where a step's convolution time goes.
func BenchmarkConv2DOps(b *testing.B) {
	for _, l := range lenet {
		s := l.s
		r := rand.New(rand.NewPCG(1, 2))
		x := randSlice(r, s.N*s.C*s.H*s.W)
		w := randSlice(r, s.O*s.C/s.Groups*s.KH*s.KW)
		g := randSlice(r, s.N*s.O*s.HO*s.WO)
		col := make([]float32, s.ColLen())
		out, dx, dw := make([]float32, len(g)), make([]float32, len(x)), make([]float32, len(w))
		ops := []struct {
			name string
			f    func()
		}{
			{"fwd", func() { rt.Conv2D(kernels.Sgemm, s, out, x, w, col) }},
			{"dx", func() { rt.Conv2DInputGrad(kernels.Sgemm, s, dx, g, w, col) }},
			{"dw", func() { rt.Conv2DWeightGrad(kernels.Sgemm, s, dw, x, g, col) }},
		}
		for _, op := range ops {
			b.Run(l.name+"/op="+op.name, func(b *testing.B) {
				b.ReportAllocs()
				op.f()
				c0, ok := cputime.Process()
				for b.Loop() {
					op.f()
				}
				if c1, _ := cputime.Process(); ok {
					b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// BenchmarkIm2Col times unrolling and folding back one sample of LeNet's
// second convolution (the column-matrix path's own work, without the
// GEMM), in the chunk layout convChunk uses.
func BenchmarkIm2Col(b *testing.B) {
	s := lenet[1].s
	x := randSlice(rand.New(rand.NewPCG(1, 2)), s.C*s.H*s.W)
	col := make([]float32, s.C*s.KH*s.KW*s.HO*s.WO)
	b.Run("op=im2col", func(b *testing.B) {
		for b.Loop() {
			rt.Im2Col(s, col, x)
		}
	})
	b.Run("op=col2im", func(b *testing.B) {
		for b.Loop() {
			rt.Col2Im(s, x, col)
		}
	})
}
