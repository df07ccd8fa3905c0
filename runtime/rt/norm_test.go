package rt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReduceSplit: the per-channel reductions over [outer, n, inner] give
// ReduceAxes' and VarAxes' results bit for bit (the same float64 sums in
// the same order), for channel counts below and above one chunk, and for
// shapes whose channels split over the cores (run with -cpu 1,2).
func TestReduceSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{2, 3, 5}, {4, 40, 3}, {1, 1, 1}, {3, 33, 1}, {64, 6, 784}, {16, 70, 100}} {
		outer, n, inner := s[0], s[1], s[2]
		src := make([]float64, outer*n*inner)
		for i := range src {
			src[i] = 10 + r.NormFloat64()
		}
		shape, reduced := []int{outer, n, inner}, []bool{true, false, true}
		for _, op := range []ReduceOp{Sum, Mean, Max, Min, LogSumExp} {
			got, want := make([]float64, n), make([]float64, n)
			ReduceSplit(op, got, src, outer, n, inner)
			ReduceAxes(op, want, src, shape, reduced)
			if !slices.Equal(got, want) {
				t.Errorf("ReduceSplit(%d) %v = %v, want %v", op, s, got, want)
			}
		}
		if outer*inner < 2 {
			continue
		}
		for _, c := range []int{0, 1} {
			got, want := make([]float64, n), make([]float64, n)
			VarSplit(got, src, outer, n, inner, c)
			VarAxes(want, src, shape, reduced, c)
			if !slices.Equal(got, want) {
				t.Errorf("VarSplit %v correction %d = %v, want %v", s, c, got, want)
			}
		}
	}
}

// TestMomentsOffset: the shifted sums keep the variance of values far from
// zero (where E[x²] − E[x]² cancels) to float64 accuracy.
func TestMomentsOffset(t *testing.T) {
	const tol = 1e-12 // relative: a few float64 ulps of the deviations; E[x²] − E[x]² keeps none of them here
	xs := []float64{1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4}
	got := make([]float64, 1)
	Var(got, xs, 1, 4, 1, 1)
	if want := 5.0 / 3; math.Abs(float64(got[0])-want) > tol*want {
		t.Errorf("Var = %v, want %v", got[0], want)
	}
}

// TestVarRows: the contiguous-row path of Var (inner 1) and the strided
// one agree with VarAxes bit for bit.
func TestVarRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]float64, 5*7)
	for i := range src {
		src[i] = 3 + r.NormFloat64()
	}
	rows, cols := make([]float64, 5), make([]float64, 7)
	Var(rows, src, 5, 7, 1, 1)
	Var(cols, src, 1, 5, 7, 0)
	wantRows, wantCols := make([]float64, 5), make([]float64, 7)
	VarAxes(wantRows, src, []int{5, 7}, []bool{false, true}, 1)
	VarAxes(wantCols, src, []int{5, 7}, []bool{true, false}, 0)
	if !slices.Equal(rows, wantRows) || !slices.Equal(cols, wantCols) {
		t.Errorf("Var rows %v cols %v, want %v %v", rows, cols, wantRows, wantCols)
	}
}

// TestReduceSplitAllocs: a split over the cores allocates nothing.
func TestReduceSplitAllocs(t *testing.T) {
	src, dst := make([]float32, 64*6*784), make([]float32, 6)
	ReduceSplit(Sum, dst, src, 64, 6, 784)
	if a := testing.AllocsPerRun(20, func() {
		ReduceSplit(Sum, dst, src, 64, 6, 784)
		VarSplit(dst, src, 64, 6, 784, 1)
	}); a != 0 {
		t.Errorf("ReduceSplit and VarSplit allocate %v times per call", a)
	}
}

// BenchmarkReduceSplit times LeNet's bias gradients (batch 256) on one
// thread: go test -run='^$' -bench=ReduceSplit -cpu 1 ./runtime/rt/
func BenchmarkReduceSplit(b *testing.B) {
	for _, s := range [][3]int{{256, 6, 784}, {256, 16, 100}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			src, dst := make([]float32, s[0]*s[1]*s[2]), make([]float32, s[1])
			for i := range src {
				src[i] = float32(i%7) - 3
			}
			for b.Loop() {
				ReduceSplit(Sum, dst, src, s[0], s[1], s[2])
			}
		})
	}
}
