package rt

import (
	"math"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// Float32 paths of the row kernels of attention and layer normalization
// (softmax over the scores' rows, the statistics of layer norm and its
// backward pass). They keep the float64 paths' arithmetic where it
// matters for accuracy — sums in float64, differences from the mean taken
// in float64 — and differ only in rounding far below float32's: sums are
// split into four interleaved partial sums (so that the additions do not
// wait for each other), and exp is exp32Of's polynomial instead of
// math.Exp. The float64 paths are unchanged.

// exp32Of's constants: d = (32k + j)·ln2/32 + r, with ln2/32 split in two
// (kf·ln2By32Hi is exact for |kf| < 2¹¹) and exp(r), |r| ≤ ln2/64, by
// its Taylor polynomial of degree 3 (remainder ≤ 0.011⁴/4! < 6e−10
// relative, a two-hundredth of a float32 ulp).
const (
	ln2By32Hi = 6.93147180369123816490e-01 / 32
	ln2By32Lo = 1.90821492927058770002e-10 / 32
	log2eBy32 = 32 * 1.44269504088896338700e+00
	roundUp   = 6755399441055744.0 // 1.5·2⁵²: adding and subtracting it rounds to an integer
	// expUnder is where exp underflows float32 entirely: exp(−104) <
	// 2⁻¹⁵⁰, below half the smallest subnormal.
	expUnder = -104
)

// exp2By32 holds 2^(j/32), j < 32, to float64 accuracy.
var exp2By32 = func() (t [32]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 32)
	}
	return t
}()

// exp32Of is exp(d) rounded to float32, for d ≤ 0 (a softmax's shifted
// logits): 2^k · 2^(j/32) · exp(r) in float64, scaled by 2^k through the
// exponent bits and rounded to float32 once (subnormals included). NaN
// gives NaN. softmaxRows32 has a copy of its body.
func exp32Of(d float64) float32 {
	if d < expUnder {
		return 0
	}
	kf := (d*log2eBy32 + roundUp) - roundUp
	r := (d - kf*ln2By32Hi) - kf*ln2By32Lo
	ki := int64(kf)
	p := exp2By32[ki&31] * (1 + r*(1+r*(1.0/2+r*(1.0/6))))
	return float32(p * math.Float64frombits(uint64(ki>>5+1023)<<52))
}

// softmaxRows32 is softmax over contiguous rows of n: exp(x − m)/Σ exp(x − m)
// with m the row's max (0 if it is −Inf), the sum in float64 and one
// reciprocal per row.
func softmaxRows32(dst, src []float32, outer, n int) {
	for o := 0; o < outer; o++ {
		row, out := src[o*n:o*n+n], dst[o*n:o*n+n]
		out = out[:len(row)]
		// The max by comparisons (not max, whose NaN and ±0 handling
		// costs branches): a NaN in the row makes its exps and sum NaN
		// either way.
		m := float32(math.Inf(-1))
		for _, x := range row {
			if x > m {
				m = x
			}
		}
		if math.IsInf(float64(m), -1) {
			m = 0
		}
		mf := float64(m)
		var sum float64
		for j, x := range row {
			// exp32Of(x − m), inlined.
			d := float64(x) - mf
			if d < expUnder {
				out[j] = 0
				continue
			}
			kf := (d*log2eBy32 + roundUp) - roundUp
			r := (d - kf*ln2By32Hi) - kf*ln2By32Lo
			ki := int64(kf)
			p := exp2By32[ki&31] * (1 + r*(1+r*(1.0/2+r*(1.0/6))))
			e := float32(p * math.Float64frombits(uint64(ki>>5+1023)<<52))
			out[j] = e
			sum += float64(e)
		}
		inv := 1 / sum
		for j, e := range out {
			out[j] = float32(float64(e) * inv)
		}
	}
}

// moments32 is the mean and Σ (x − mean)² of row (at least one element)
// from shifted sums as moments' (K = row[0]), in four interleaved pairs.
func moments32(row []float32) (mean, m2 float64) {
	k := float64(row[0])
	var a0, a1, a2, a3, q0, q1, q2, q3 float64
	j := 0
	for ; j+3 < len(row); j += 4 {
		d0, d1, d2, d3 := float64(row[j])-k, float64(row[j+1])-k, float64(row[j+2])-k, float64(row[j+3])-k
		a0, a1, a2, a3 = a0+d0, a1+d1, a2+d2, a3+d3
		q0, q1, q2, q3 = q0+d0*d0, q1+d1*d1, q2+d2*d2, q3+d3*d3
	}
	for ; j < len(row); j++ {
		d := float64(row[j]) - k
		a0 += d
		q0 += d * d
	}
	s1, s2 := (a0+a1)+(a2+a3), (q0+q1)+(q2+q3)
	n := float64(len(row))
	return k + s1/n, max(s2-s1*s1/n, 0)
}

// sumRow32 is Σ row in float64, in four interleaved partial sums.
func sumRow32(row []float32) float64 {
	var a0, a1, a2, a3 float64
	j := 0
	for ; j+3 < len(row); j += 4 {
		a0, a1, a2, a3 = a0+float64(row[j]), a1+float64(row[j+1]), a2+float64(row[j+2]), a3+float64(row[j+3])
	}
	for ; j < len(row); j++ {
		a0 += float64(row[j])
	}
	return (a0 + a1) + (a2 + a3)
}

// maxColsSum32 bounds the inner size of sumCols32 (its float64
// accumulators live on the stack: 8 KiB).
const maxColsSum32 = 1024

// sumCols32 is Reduce(Sum or Mean) over the middle axis of src, [outer,
// n, inner], for float32 with inner ≤ maxColsSum32, for the inner
// positions (columns) [lo, hi): each group's column sums in float64
// accumulated over whole rows (a bias's gradient, the sum over the
// batch), two rows per sweep.
func sumCols32(dst, src []float32, outer, n, inner int, mean bool, lo, hi int) {
	var accBuf [maxColsSum32]float64
	acc := accBuf[:hi-lo]
	for o := 0; o < outer; o++ {
		base := src[o*n*inner : (o+1)*n*inner]
		clear(acc)
		j := 0
		for ; j+1 < n; j += 2 {
			r0, r1 := base[j*inner+lo:j*inner+hi], base[(j+1)*inner+lo:(j+1)*inner+hi]
			r0, r1 = r0[:len(acc)], r1[:len(acc)]
			for t := range acc {
				acc[t] += float64(r0[t]) + float64(r1[t])
			}
		}
		if j < n {
			r0 := base[j*inner+lo : j*inner+hi]
			r0 = r0[:len(acc)]
			for t := range acc {
				acc[t] += float64(r0[t])
			}
		}
		out := dst[o*inner+lo : o*inner+hi]
		out = out[:len(acc)]
		for t, a := range acc {
			if mean {
				a /= float64(n)
			}
			out[t] = float32(a)
		}
	}
}

// layerNormRows32 is LayerNorm for float32: the statistics by moments32,
// (x − mean)·rstd in float64 and the affine part in float32.
func layerNormRows32(dst, x, gamma, beta []float32, rows, cols int, eps float64) {
	gamma, beta = gamma[:cols], beta[:cols]
	for r := 0; r < rows; r++ {
		row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		mean, m2 := moments32(row)
		rstd := 1 / math.Sqrt(m2/float64(cols)+eps)
		out = out[:len(row)]
		for j, v := range row {
			out[j] = float32((float64(v)-mean)*rstd)*gamma[j] + beta[j]
		}
	}
}

// varRows32 is Var over contiguous rows of n (n ≥ 1) for float32.
func varRows32(dst, src []float32, rows, n int, dof float64) {
	for o := range dst[:rows] {
		_, m2 := moments32(src[o*n : o*n+n])
		dst[o] = float32(m2 / dof)
	}
}

// sumRows32 is Reduce(Sum or Mean) over contiguous rows of n for float32.
func sumRows32(dst, src []float32, rows, n int, mean bool) {
	for o := range dst[:rows] {
		s := sumRow32(src[o*n : o*n+n])
		if mean {
			s /= float64(n)
		}
		dst[o] = float32(s)
	}
}

// The row kernels above, split across cores by rows with kernels.For:
// each row is written by one call of its kernel, so the result does not
// depend on the split.
const (
	rowsSoftmax = iota
	rowsLayerNorm
	rowsVar
	rowsSum
	rowsMean
	colsSum // sumCols32 over the columns [lo, hi)
	colsMean
)

// rowsGrain is the elements of a range worth handing to another core
// (softmax's rows take about 2 ns an element, the others less: a few µs).
const rowsGrain = 4096

// rows32Body is the kernels.Body of forRows32: rows [lo, hi) of x (cols
// each) into dst (cols or one per row).
type rows32Body struct {
	kind        int
	dst, x      []float32
	gamma, beta []float32
	cols        int
	outer, n    int // colsSum, colsMean: x is [outer, n, cols]
	eps, dof    float64
}

func (w *rows32Body) Run(lo, hi int) {
	if w.kind == colsSum || w.kind == colsMean {
		w.runCols(lo, hi)
		return
	}
	c := w.cols
	x := w.x[lo*c : hi*c]
	switch w.kind {
	case rowsSoftmax:
		softmaxRows32(w.dst[lo*c:hi*c], x, hi-lo, c)
	case rowsLayerNorm:
		layerNormRows32(w.dst[lo*c:hi*c], x, w.gamma, w.beta, hi-lo, c, w.eps)
	case rowsVar:
		varRows32(w.dst[lo:hi], x, hi-lo, c, w.dof)
	case rowsSum, rowsMean:
		sumRows32(w.dst[lo:hi], x, hi-lo, c, w.kind == rowsMean)
	}
}

// runCols is Run for colsSum and colsMean: x is [outer, n, cols].
func (w *rows32Body) runCols(lo, hi int) {
	sumCols32(w.dst, w.x, w.outer, w.n, w.cols, w.kind == colsMean, lo, hi)
}

var rows32Bodies freeList[rows32Body]

// forRows32 runs a row kernel over rows rows of x with kernels.For.
func forRows32(kind int, dst, x, gamma, beta []float32, rows, cols int, eps, dof float64) {
	w := rows32Bodies.get()
	*w = rows32Body{kind: kind, dst: dst, x: x, gamma: gamma, beta: beta, cols: cols, eps: eps, dof: dof}
	kernels.For(rows, max(1, rowsGrain/max(1, cols)), w)
	*w = rows32Body{}
	rows32Bodies.put(w)
}

// forCols32 runs sumCols32 over src, [outer, n, inner], with kernels.For
// splitting the columns.
func forCols32(dst, src []float32, outer, n, inner int, mean bool) {
	kind := colsSum
	if mean {
		kind = colsMean
	}
	w := rows32Bodies.get()
	*w = rows32Body{kind: kind, dst: dst, x: src, cols: inner, outer: outer, n: n}
	kernels.For(inner, max(1, rowsGrain/max(1, outer*n)), w)
	*w = rows32Body{}
	rows32Bodies.put(w)
}
