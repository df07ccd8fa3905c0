package rt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// TestMaxPool2x2 checks the 2×2 fast path of MaxPool2D and MaxPool2DGrad
// against the general window scan, on planes with ties, NaNs and an odd
// height (the last row is not pooled).
func TestMaxPool2x2(t *testing.T) {
	for _, p := range []Pool{
		{H: 7, W: 6, OH: 3, OW: 3, KH: 2, KW: 2, SH: 2, SW: 2},
		{H: 6, W: 7, OH: 3, OW: 3, KH: 2, KW: 2, SH: 2, SW: 2}, // an odd width: the last column is not pooled
	} {
		testMaxPool2x2(t, p)
	}
}

func testMaxPool2x2(t *testing.T, p Pool) {
	rng := rand.New(rand.NewPCG(1, 2))
	const planes = 3
	x := make([]float64, planes*p.H*p.W)
	for i := range x {
		x[i] = float64(rng.IntN(3)) // many ties
	}
	// NaNs at every window position, and two in one window (the last wins).
	for _, i := range []int{8, 20, 11, 12, 19, 43} {
		x[i] = math.NaN()
	}
	g := make([]float64, planes*p.OH*p.OW)
	for i := range g {
		g[i] = rng.Float64()
	}
	got, gotD := make([]float64, len(g)), make([]float64, len(x))
	for i := range gotD {
		gotD[i] = math.NaN() // MaxPool2DGrad sets every element
	}
	MaxPool2D(got, x, planes, p)
	MaxPool2DGrad(gotD, x, g, planes, p)
	want, wantD := make([]float64, len(g)), make([]float64, len(x))
	for pl := 0; pl < planes; pl++ {
		xs := x[pl*p.H*p.W:][:p.H*p.W]
		for i := 0; i < p.OH; i++ {
			for j := 0; j < p.OW; j++ {
				at := argmax(&p, xs, i, j)
				o := (pl*p.OH+i)*p.OW + j
				want[o] = xs[at]
				wantD[pl*p.H*p.W+at] += g[o]
			}
		}
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("%+v: MaxPool2D[%d] = %v, want %v", p, i, got[i], want[i])
		}
	}
	for i := range wantD {
		if math.Float64bits(gotD[i]) != math.Float64bits(wantD[i]) {
			t.Errorf("%+v: MaxPool2DGrad[%d] = %v, want %v", p, i, gotD[i], wantD[i])
		}
	}
}

// TestMaxPoolThreads checks that MaxPool2D and MaxPool2DGrad split over
// two threads (enough planes for kernels.For to split them) give what one
// thread gives, for the 2×2 path and a general window.
func TestMaxPoolThreads(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(1))
	for _, p := range []Pool{
		{H: 28, W: 28, OH: 14, OW: 14, KH: 2, KW: 2, SH: 2, SW: 2},
		{H: 9, W: 8, OH: 5, OW: 4, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
	} {
		const planes = 1000
		rng := rand.New(rand.NewPCG(3, 4))
		x, g := make([]float32, planes*p.H*p.W), make([]float32, planes*p.OH*p.OW)
		for i := range x {
			x[i] = float32(rng.IntN(5))
		}
		for i := range g {
			g[i] = rng.Float32()
		}
		var out, dx [2][]float32
		for th := range 2 {
			kernels.SetThreads(th + 1)
			out[th], dx[th] = make([]float32, len(g)), make([]float32, len(x))
			MaxPool2D(out[th], x, planes, p)
			MaxPool2DGrad(dx[th], x, g, planes, p)
		}
		for i := range out[0] {
			if out[0][i] != out[1][i] {
				t.Fatalf("%+v: MaxPool2D[%d] = %v on 1 thread, %v on 2", p, i, out[0][i], out[1][i])
			}
		}
		for i := range dx[0] {
			if dx[0][i] != dx[1][i] {
				t.Fatalf("%+v: MaxPool2DGrad[%d] = %v on 1 thread, %v on 2", p, i, dx[0][i], dx[1][i])
			}
		}
	}
}
