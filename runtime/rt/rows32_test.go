package rt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rows32Tol is how far the float32 row kernels may be from the float64
// ones on the same inputs, relative to the row's scale: each result is
// rounded to float32 once or twice (≤ 1.2e−7 each), after float64
// arithmetic whose own error is far smaller; 4e−7 is about three float32
// ulps, while a wrong term (a dropped shift, an off-by-one row) is off by
// 1e−2 or more.
const rows32Tol = 4e-7

// TestExp32Of: exp32Of is exp rounded to float32 (within one ulp of
// math.Exp's value rounded) over the whole range a softmax gives it,
// including subnormal results, underflow to 0 and −Inf.
func TestExp32Of(t *testing.T) {
	for d := 0.0; d > -110; d -= 0.0137 {
		got, want := float64(exp32Of(d)), float64(float32(math.Exp(d)))
		ulp := float64(math.Nextafter32(float32(want), 1)) - want
		if math.Abs(got-want) > ulp {
			t.Fatalf("exp32Of(%v) = %v, want %v", d, got, want)
		}
	}
	if exp32Of(math.Inf(-1)) != 0 || exp32Of(-1e9) != 0 || exp32Of(0) != 1 {
		t.Errorf("exp32Of(−Inf, −1e9, 0) = %v, %v, %v", exp32Of(math.Inf(-1)), exp32Of(-1e9), exp32Of(0))
	}
	if !math.IsNaN(float64(exp32Of(math.NaN()))) {
		t.Errorf("exp32Of(NaN) is not NaN")
	}
}

// TestRows32: Softmax, LayerNorm, Var and Reduce(Sum, Mean) over float32
// rows agree with their float64 paths on the same values, for rows of
// odd and even lengths, offset data (where a raw E[x²] − E[x]² cancels)
// and masked softmax rows.
func TestRows32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2]int{{3, 1}, {5, 7}, {4, 64}, {2, 129}} {
		rows, cols := s[0], s[1]
		for _, offset := range []float64{0, 1000} {
			x32, x64 := make([]float32, rows*cols), make([]float64, rows*cols)
			for i := range x32 {
				x32[i] = float32(offset + 3*r.NormFloat64())
				if offset == 0 && i%cols > (i/cols)%cols {
					x32[i] = -1e9 // a causal mask's blocked keys
				}
				x64[i] = float64(x32[i])
			}
			g32, b32, g64, b64 := make([]float32, cols), make([]float32, cols), make([]float64, cols), make([]float64, cols)
			for i := range g32 {
				g32[i], b32[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
				g64[i], b64[i] = float64(g32[i]), float64(b32[i])
			}
			check := func(name string, got []float32, want []float64, scale float64) {
				t.Helper()
				for i := range want {
					if d := math.Abs(float64(got[i]) - want[i]); !(d <= rows32Tol*scale) {
						t.Errorf("%s %v offset %v [%d] = %v, want %v", name, s, offset, i, got[i], want[i])
						return
					}
				}
			}
			if offset == 0 {
				p32, p64 := make([]float32, rows*cols), make([]float64, rows*cols)
				Softmax(p32, x32, rows, cols, 1)
				Softmax(p64, x64, rows, cols, 1)
				check("Softmax", p32, p64, 1)
			}
			y32, y64 := make([]float32, rows*cols), make([]float64, rows*cols)
			if offset != 0 {
				LayerNorm(y32, x32, g32, b32, rows, cols, 1e-5)
				LayerNorm(y64, x64, g64, b64, rows, cols, 1e-5)
				check("LayerNorm", y32, y64, 10) // |x̂·γ + β| ≲ 10
			}
			v32, v64 := make([]float32, rows), make([]float64, rows)
			for _, c := range []int{0, 1} {
				if cols <= c {
					continue
				}
				Var(v32, x32, rows, cols, 1, c)
				Var(v64, x64, rows, cols, 1, c)
				for i := range v64 {
					check("Var", v32[i:i+1], v64[i:i+1], v64[i])
				}
			}
			for _, op := range []ReduceOp{Sum, Mean} {
				Reduce(op, v32, x32, rows, cols, 1)
				Reduce(op, v64, x64, rows, cols, 1)
				for i := range v64 {
					check("Reduce rows", v32[i:i+1], v64[i:i+1], math.Abs(v64[i])+float64(cols)*offset)
				}
				// Over the rows (columns' sums), as one group and as
				// groups of one row (outer rows, n 1).
				c32, c64 := make([]float32, rows*cols), make([]float64, rows*cols)
				for _, g := range [][3]int{{1, rows, cols}, {rows, 1, cols}} {
					Reduce(op, c32, x32, g[0], g[1], g[2])
					Reduce(op, c64, x64, g[0], g[1], g[2])
					for i := range c64[:g[0]*g[2]] {
						check("Reduce cols", c32[i:i+1], c64[i:i+1], math.Abs(c64[i])+float64(rows)*offset)
					}
				}
			}
		}
	}
}
