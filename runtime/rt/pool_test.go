package rt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// TestMaxPool2x2 checks the 2×2 fast paths of MaxPool2D and MaxPool2DGrad
// (the Go loops, and on amd64 the float32 kernels of pool_amd64.s) against
// the general window scan, on planes with ties, ±0, NaNs, an odd height
// (the last row is not pooled) and odd widths (nor is the last column),
// with rows of 3 windows (Go loops only), 4, 5, 7 and 14 (a kernel's
// blocks of four, the last overlapping), on every available backend.
func TestMaxPool2x2(t *testing.T) {
	shapes := []Pool{
		{H: 7, W: 6, OH: 3, OW: 3},
		{H: 6, W: 7, OH: 3, OW: 3},
		{H: 4, W: 8, OH: 2, OW: 4},
		{H: 5, W: 11, OH: 2, OW: 5},
		{H: 6, W: 14, OH: 3, OW: 7},
		{H: 28, W: 28, OH: 14, OW: 14},
		{H: 10, W: 10, OH: 5, OW: 5},
	}
	for _, be := range []kernels.Backend{kernels.BackendPortable, kernels.BackendAVX2, kernels.BackendAVX512} {
		if !be.Available() {
			continue
		}
		t.Run(be.String(), func(t *testing.T) {
			defer kernels.SetBackend(kernels.SetBackend(be))
			for _, p := range shapes {
				p.KH, p.KW, p.SH, p.SW = 2, 2, 2, 2
				testMaxPool2x2[float64](t, p)
				testMaxPool2x2[float32](t, p)
			}
		})
	}
}

func testMaxPool2x2[T Float](t *testing.T, p Pool) {
	rng := rand.New(rand.NewPCG(1, 2))
	const planes = 3
	x := make([]T, planes*p.H*p.W)
	for i := range x {
		x[i] = T(rng.IntN(3)) // many ties
		if x[i] == 0 && rng.IntN(2) == 0 {
			x[i] = T(math.Copysign(0, -1)) // ±0 ties
		}
	}
	// NaNs at every window position, and two in one window (the last wins).
	for _, i := range []int{8, 20, 11, 12, 19, 43} {
		x[i%len(x)] = T(math.NaN())
	}
	for range len(x) / 20 {
		x[rng.IntN(len(x))] = T(math.NaN())
	}
	g := make([]T, planes*p.OH*p.OW)
	for i := range g {
		g[i] = T(rng.Float64())
		if rng.IntN(10) == 0 {
			g[i] = T(math.Copysign(0, -1)) // added to zeros: +0
		}
	}
	got, gotD := make([]T, len(g)), make([]T, len(x))
	for i := range gotD {
		gotD[i] = T(math.NaN()) // MaxPool2DGrad sets every element
	}
	MaxPool2D(got, x, planes, p)
	MaxPool2DGrad(gotD, x, g, planes, p)
	want, wantD := make([]T, len(g)), make([]T, len(x))
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
	same := func(a, b T) bool { return a == b || (a != a && b != b) }
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("%T %+v: MaxPool2D[%d] = %v, want %v", got[i], p, i, got[i], want[i])
		}
	}
	for i := range wantD {
		if math.Float64bits(float64(gotD[i])) != math.Float64bits(float64(wantD[i])) {
			t.Errorf("%T %+v: MaxPool2DGrad[%d] = %v, want %v", got[i], p, i, gotD[i], wantD[i])
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

// BenchmarkMaxPool2x2 times LeNet's two 2×2 max-poolings (batch 256) and
// their gradients on the current backend and on the portable Go loops
// (impl=go), in one run:
//
//	go test -run '^$' -bench MaxPool2x2 -count 6 ./runtime/rt | tee pool.txt
//	benchstat -col /impl pool.txt
func BenchmarkMaxPool2x2(b *testing.B) {
	for _, p := range []Pool{
		{H: 28, W: 28, OH: 14, OW: 14, KH: 2, KW: 2, SH: 2, SW: 2},
		{H: 10, W: 10, OH: 5, OW: 5, KH: 2, KW: 2, SH: 2, SW: 2},
	} {
		planes := 256 * 6
		if p.H == 10 {
			planes = 256 * 16
		}
		rng := rand.New(rand.NewPCG(5, 6))
		x, g := make([]float32, planes*p.H*p.W), make([]float32, planes*p.OH*p.OW)
		for i := range x {
			x[i] = rng.Float32()
		}
		out, dx := make([]float32, len(g)), make([]float32, len(x))
		for _, impl := range []string{"kernel", "go"} {
			be := kernels.CurrentBackend()
			if impl == "go" {
				be = kernels.BackendPortable
			}
			for _, op := range []string{"fwd", "grad"} {
				b.Run(fmt.Sprintf("%dx%d/op=%s/impl=%s", p.H, p.W, op, impl), func(b *testing.B) {
					defer kernels.SetBackend(kernels.SetBackend(be))
					b.SetBytes(int64(4 * (len(x) + len(g))))
					for b.Loop() {
						if op == "fwd" {
							MaxPool2D(out, x, planes, p)
						} else {
							MaxPool2DGrad(dx, x, g, planes, p)
						}
					}
				})
			}
		}
	}
}
