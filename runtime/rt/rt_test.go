package rt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveReduce reduces x of shape over the axes marked in red, visiting
// elements in row-major order, in float64.
func naiveReduce(op ReduceOp, x []float64, shape []int, red []bool) []float64 {
	n := len(x)
	strides := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = s
		s *= shape[d]
	}
	out := map[int][]float64{}
	var keys []int
	for k := 0; k < n; k++ {
		o := 0
		for d := range shape {
			if !red[d] {
				o = o*shape[d] + (k/strides[d])%shape[d]
			}
		}
		if _, ok := out[o]; !ok {
			keys = append(keys, o)
		}
		out[o] = append(out[o], x[k])
	}
	slices.Sort(keys)
	r := make([]float64, len(keys))
	for i, k := range keys {
		g := out[k]
		switch op {
		case Sum, Mean:
			for _, v := range g {
				r[i] += v
			}
			if op == Mean {
				r[i] /= float64(len(g))
			}
		case Max:
			r[i] = math.Inf(-1)
			for _, v := range g {
				r[i] = max(r[i], v)
			}
		case Min:
			r[i] = math.Inf(1)
			for _, v := range g {
				r[i] = min(r[i], v)
			}
		case LogSumExp:
			m := math.Inf(-1)
			for _, v := range g {
				m = max(m, v)
			}
			for _, v := range g {
				r[i] += math.Exp(v - m)
			}
			r[i] = m + math.Log(r[i])
		}
	}
	return r
}

func TestReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := []int{3, 4, 5, 2}
	x := make([]float64, 3*4*5*2)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for _, op := range []ReduceOp{Sum, Mean, Max, Min, LogSumExp} {
		for mask := 0; mask < 16; mask++ {
			red := make([]bool, 4)
			for d := range red {
				red[d] = mask&(1<<d) != 0
			}
			want := naiveReduce(op, x, shape, red)
			got := make([]float64, len(want))
			ReduceAxes(op, got, x, shape, red)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*max(1, math.Abs(want[i])) {
					t.Fatalf("ReduceAxes op %d mask %b: element %d = %v, want %v", op, mask, i, got[i], want[i])
				}
			}
			// Adjacent reduced axes: Reduce over (outer, n, inner).
			first, last := -1, -1
			for d := range red {
				if red[d] {
					if first < 0 {
						first = d
					}
					last = d
				}
			}
			contiguous := first >= 0
			for d := first; contiguous && d <= last; d++ {
				contiguous = red[d]
			}
			if !contiguous {
				continue
			}
			outer, n, inner := 1, 1, 1
			for d, s := range shape {
				switch {
				case d < first:
					outer *= s
				case d > last:
					inner *= s
				default:
					n *= s
				}
			}
			got = make([]float64, len(want))
			Reduce(op, got, x, outer, n, inner)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*max(1, math.Abs(want[i])) {
					t.Fatalf("Reduce op %d mask %b: element %d = %v, want %v", op, mask, i, got[i], want[i])
				}
			}
		}
	}
}

func TestSoftmaxFamily(t *testing.T) {
	x := []float32{1, 2, 3, 1000, 1000, 1000} // the second row would overflow without the max shift
	p := make([]float32, 6)
	Softmax(p, x, 2, 3, 1)
	for r := 0; r < 2; r++ {
		s := float32(0)
		for _, v := range p[r*3 : r*3+3] {
			s += v
		}
		if math.Abs(float64(s)-1) > 1e-6 {
			t.Errorf("row %d sums to %v", r, s)
		}
	}
	if p[3] != p[4] || math.Abs(float64(p[3])-1.0/3) > 1e-6 {
		t.Errorf("softmax of equal logits: %v", p[3:])
	}
	ls := make([]float32, 6)
	LogSoftmax(ls, x, 2, 3, 1)
	for i := range ls {
		if math.Abs(math.Exp(float64(ls[i]))-float64(p[i])) > 1e-6 {
			t.Errorf("exp(log_softmax) %v != softmax %v", math.Exp(float64(ls[i])), p[i])
		}
	}
	xent := make([]float32, 2)
	if bad := SoftmaxXent(xent, x, []int32{2, 0}, 2, 3); bad != -1 {
		t.Fatalf("valid labels rejected at %d", bad)
	}
	if math.Abs(float64(xent[0]+ls[2])) > 1e-6 || math.Abs(float64(xent[1]+ls[3])) > 1e-4 {
		t.Errorf("xent %v, want %v", xent, []float32{-ls[2], -ls[3]})
	}
	if bad := SoftmaxXent(xent, x, []int32{0, 3}, 2, 3); bad != 1 {
		t.Errorf("label 3 of 3 classes: bad = %d, want 1", bad)
	}
	am := make([]int32, 2)
	ArgMax(am, x, 2, 3, 1)
	if am[0] != 2 || am[1] != 0 {
		t.Errorf("argmax %v, want [2 0] (first on ties)", am)
	}
}

func TestTranspose(t *testing.T) {
	shape := []int{2, 3, 4}
	x := make([]int32, 24)
	for i := range x {
		x[i] = int32(i)
	}
	perm := []int{2, 0, 1}
	got := make([]int32, 24)
	Transpose(got, x, shape, perm)
	for a := 0; a < 2; a++ {
		for b := 0; b < 3; b++ {
			for c := 0; c < 4; c++ {
				// out[c, a, b] = x[a, b, c]
				if got[c*6+a*3+b] != x[a*12+b*4+c] {
					t.Fatalf("out[%d,%d,%d] = %d, want %d", c, a, b, got[c*6+a*3+b], x[a*12+b*4+c])
				}
			}
		}
	}
	m := make([]float64, 70*45)
	for i := range m {
		m[i] = float64(i)
	}
	mt := make([]float64, len(m))
	Transpose(mt, m, []int{70, 45}, []int{1, 0})
	for i := 0; i < 70; i++ {
		for j := 0; j < 45; j++ {
			if mt[j*70+i] != m[i*45+j] {
				t.Fatalf("2-D transpose wrong at %d,%d", i, j)
			}
		}
	}
}

// TestTransposeRuns: permutations that keep the last dim last (copied in
// runs) against an index-by-index loop, the head split and merge among
// them.
func TestTransposeRuns(t *testing.T) {
	shape := []int{2, 3, 4, 5}
	x := make([]float32, 120)
	for i := range x {
		x[i] = float32(i)
	}
	for _, perm := range [][]int{{0, 2, 1, 3}, {2, 1, 0, 3}, {1, 2, 0, 3}, {0, 1, 2, 3}} {
		got := make([]float32, 120)
		Transpose(got, x, shape, perm)
		var idx [4]int
		for k := range got {
			// idx is the output's index k; src index i has i[perm[d]] = idx[d].
			rem := k
			for d := 3; d >= 0; d-- {
				idx[d] = rem % shape[perm[d]]
				rem /= shape[perm[d]]
			}
			var si [4]int
			for d := range 4 {
				si[perm[d]] = idx[d]
			}
			want := x[((si[0]*3+si[1])*4+si[2])*5+si[3]]
			if got[k] != want {
				t.Fatalf("perm %v: out[%v] = %v, want %v", perm, idx, got[k], want)
			}
		}
	}
}

func TestGatherScatter(t *testing.T) {
	src := []float64{0, 1, 2, 10, 11, 12} // [2,3]: gather rows along axis 0
	dst := make([]float64, 9)
	if bad := Gather(dst, src, []int32{1, 0, 1}, 1, 2, 3); bad != -1 {
		t.Fatal(bad)
	}
	if !slices.Equal(dst, []float64{10, 11, 12, 0, 1, 2, 10, 11, 12}) {
		t.Errorf("gather: %v", dst)
	}
	if bad := Gather(dst, src, []int32{0, 2}, 1, 2, 3); bad != 1 {
		t.Errorf("out-of-range gather index: bad = %d, want 1", bad)
	}
	acc := make([]float64, 6)
	if bad := ScatterAdd(acc, dst, []int32{1, 0, 1}, 1, 2, 3); bad != -1 {
		t.Fatal(bad)
	}
	if !slices.Equal(acc, []float64{0, 1, 2, 20, 22, 24}) {
		t.Errorf("scatter_add: %v", acc)
	}
	oh := make([]float32, 6)
	OneHot(oh, []int32{2, 5}, 3)
	if !slices.Equal(oh, []float32{0, 0, 1, 0, 0, 0}) {
		t.Errorf("onehot: %v", oh)
	}
}

func TestCopyAxis(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6} // [2,3]
	dst := make([]float32, 10)         // [2,5]: pad 1 before, 1 after
	CopyAxis(dst, src, 2, 1, 5, 1, 3, 0, 3)
	if !slices.Equal(dst, []float32{0, 1, 2, 3, 0, 0, 4, 5, 6, 0}) {
		t.Errorf("pad: %v", dst)
	}
	sl := make([]float32, 4) // [2,2] = src[:, 1:3]
	CopyAxis(sl, src, 2, 1, 2, 0, 3, 1, 2)
	if !slices.Equal(sl, []float32{2, 3, 5, 6}) {
		t.Errorf("slice: %v", sl)
	}
}

func TestDropoutMask(t *testing.T) {
	m := make([]float32, 10000)
	DropoutMask(m, 0.25, 7, 3, false)
	for _, v := range m {
		if v != 1 {
			t.Fatal("inference mask is not all ones")
		}
	}
	DropoutMask(m, 0.25, 7, 3, true)
	kept := 0
	for i, v := range m {
		keep := DropoutKeep(7, 3, i, 0.25)
		if keep != (v != 0) || (keep && v != float32(1/0.75)) {
			t.Fatalf("element %d: %v, keep %v", i, v, keep)
		}
		if keep {
			kept++
		}
	}
	if kept < 7300 || kept > 7700 {
		t.Errorf("kept %d of 10000 at p = 0.25", kept)
	}
}

func TestHelpers(t *testing.T) {
	if B2F[float32](true) != 1 || B2F[float64](false) != 0 {
		t.Error("B2F")
	}
	if Where(true, 1.5, 2) != 1.5 || Where(false, float32(1), 2) != 2 {
		t.Error("Where")
	}
	if err := InitParam(make([]float32, 3), "p", []int{2, 2}, Init{Kind: "zeros"}, 0); err == nil {
		t.Error("InitParam accepted a buffer of the wrong length")
	}
	if err := InitParam(make([]float32, 4), "p", []int{2, 2}, Init{Kind: "orthogonal"}, 0); err == nil {
		t.Error("InitParam accepted an unknown initializer")
	}
	c := make([]float32, 4)
	GonumSgemm(false, true, 2, 2, 1, 1, []float32{1, 2}, 1, []float32{3, 4}, 1, 0, c, 2)
	if !slices.Equal(c, []float32{3, 4, 6, 8}) {
		t.Errorf("GonumSgemm: %v", c)
	}
}

func TestNoAllocs(t *testing.T) {
	x := make([]float32, 3*4*5)
	y := make([]float32, 60)
	r := make([]float32, 15)
	if a := testing.AllocsPerRun(10, func() {
		ReduceAxes(Sum, r[:4], x, []int{3, 4, 5}, []bool{true, false, true})
		Transpose(y, x, []int{3, 4, 5}, []int{2, 1, 0})
		Reduce(LogSumExp, r, x, 3, 4, 5)
		Softmax(y, x, 3, 4, 5)
	}); a != 0 {
		t.Errorf("%v allocations", a)
	}
}

func TestCheckView(t *testing.T) {
	flat := make([]float32, 10)
	if err := CheckView("m: Params.W", flat[2:5:5], flat, 2, 3, "ParamVector"); err != nil {
		t.Errorf("a view: %v", err)
	}
	if err := CheckView("m: Params.E", flat[10:10], flat, 10, 0, "ParamVector"); err != nil {
		t.Errorf("an empty view: %v", err)
	}
	for name, s := range map[string][]float32{
		"a copy":        make([]float32, 3),
		"shifted":       flat[3:6],
		"shorter":       flat[2:4],
		"longer":        flat[2:6],
		"another array": append([]float32(nil), flat[2:5]...),
	} {
		err := CheckView("m: Params.W", s, flat, 2, 3, "ParamVector")
		if err == nil || err.Error() != "m: Params.W was replaced: it must stay ParamVector()[2:5], as New made it (copy values into it instead)" {
			t.Errorf("%s: %v", name, err)
		}
	}
}
