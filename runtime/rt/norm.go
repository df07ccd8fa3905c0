package rt

import "math"

// Normalization: variance, layer norm and batch norm as single-sweep
// loops. Each group's statistics are accumulated in float64 in one pass
// as shifted sums (s1 = Σ (x − K), s2 = Σ (x − K)², K the group's first
// element): mean = K + s1/n and Σ (x − mean)² = s2 − s1²/n. Shifting by an
// element of the group keeps the subtraction from cancelling the way the
// raw E[x²] − E[x]² does; the result agrees with the interpreter's two-pass
// form up to float64 rounding.

// moments folds one element into the shifted sums of its group.
type moments struct {
	k, s1, s2 float64
	n         int
}

func (m *moments) add(x float64) {
	if m.n == 0 {
		m.k = x
	}
	d := x - m.k
	m.s1 += d
	m.s2 += d * d
	m.n++
}

// mean and m2 are the group's mean and Σ (x − mean)².
func (m *moments) mean() float64 { return m.k + m.s1/float64(m.n) }
func (m *moments) m2() float64 {
	return max(m.s2-m.s1*m.s1/float64(m.n), 0)
}

// Var writes the variance Σ (x − mean)² / (n − correction) over the middle
// axis of src, seen as [outer, n, inner], into dst, [outer, inner].
func Var[T Float](dst, src []T, outer, n, inner, correction int) {
	_ = src[:outer*n*inner]
	_ = dst[:outer*inner]
	dof := float64(n - correction)
	if inner == 1 { // contiguous rows (the last axis)
		if s32, ok := any(src).([]float32); ok && n > 0 {
			forRows32(rowsVar, any(dst).([]float32), s32, nil, nil, outer, n, 0, dof)
			return
		}
		for o := range dst[:outer] {
			var m moments
			for _, x := range src[o*n : o*n+n] {
				m.add(float64(x))
			}
			dst[o] = T(m.m2() / dof)
		}
		return
	}
	var acc [chunk]moments
	for o := 0; o < outer; o++ {
		base := src[o*n*inner : (o+1)*n*inner]
		for i0 := 0; i0 < inner; i0 += chunk {
			w := min(chunk, inner-i0)
			a := acc[:w]
			clear(a)
			for j := 0; j < n; j++ {
				for t, x := range base[j*inner+i0 : j*inner+i0+w] {
					a[t].add(float64(x))
				}
			}
			out := dst[o*inner+i0 : o*inner+i0+w]
			for t := range out {
				out[t] = T(a[t].m2() / dof)
			}
		}
	}
}

// VarAxes is Var over any pattern of axes: src has the given shape (at
// most 16 dims) and is reduced over the dims where reduced is true into
// dst (the kept dims in order).
func VarAxes[T Float](dst, src []T, shape []int, reduced []bool, correction int) {
	a := splitAxes("VarAxes", shape, reduced)
	kdims, kstr, rdims, rstr, nk, nr, stride, count := a.kdims, a.kstr, a.rdims, a.rstr, a.nk, a.nr, a.size, a.count
	_ = src[:stride]
	dof := float64(count - correction)
	var ki, ri [maxRank]int
	base := 0
	for o := range dst {
		var m moments
		forGroup(base, rdims[:nr], rstr[:nr], &ri, func(off int) { m.add(float64(src[off])) })
		dst[o] = T(m.m2() / dof)
		for d := 0; d < nk; d++ {
			ki[d]++
			base += kstr[d]
			if ki[d] < kdims[d] {
				break
			}
			base -= kstr[d] * kdims[d]
			ki[d] = 0
		}
	}
}

// LayerNorm normalizes each row of x, [rows, cols], by its mean and biased
// variance and applies the affine gamma, beta ([cols]):
// dst = (x − mean)/√(var + eps)·gamma + beta (F.layer_norm). One sweep
// accumulates the row's statistics, a second writes it.
func LayerNorm[T Float](dst, x, gamma, beta []T, rows, cols int, eps float64) {
	_ = x[:rows*cols]
	_ = dst[:rows*cols]
	if d32, ok := any(dst).([]float32); ok && cols > 0 {
		forRows32(rowsLayerNorm, d32, any(x).([]float32), any(gamma).([]float32)[:cols], any(beta).([]float32)[:cols], rows, cols, eps, 0)
		return
	}
	gamma, beta = gamma[:cols], beta[:cols]
	for r := 0; r < rows; r++ {
		row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		var m moments
		for _, v := range row {
			m.add(float64(v))
		}
		mean := m.mean()
		rstd := 1 / math.Sqrt(m.m2()/float64(cols)+eps)
		for j, v := range row {
			out[j] = T((float64(v)-mean)*rstd*float64(gamma[j]) + float64(beta[j]))
		}
	}
}

// BatchNorm normalizes each channel of x, [outer, c, inner] (N, C and the
// spatial dims of NCHW), and applies the affine gamma, beta ([c]):
// dst = (x − mean)/√(var + eps)·gamma + beta (F.batch_norm). In training
// mean and var are the channel's batch statistics over outer and inner
// (biased variance), accumulated in one sweep; at inference they are
// runningMean and runningVar, which training does not read (the training
// step updates them outside this call).
func BatchNorm[T Float](dst, x, gamma, beta, runningMean, runningVar []T, outer, c, inner int, eps float64, training bool) {
	_ = x[:outer*c*inner]
	_ = dst[:outer*c*inner]
	gamma, beta, runningMean, runningVar = gamma[:c], beta[:c], runningMean[:c], runningVar[:c]
	for ch := 0; ch < c; ch++ {
		var mean, variance float64
		if training {
			var m moments
			for o := 0; o < outer; o++ {
				off := (o*c + ch) * inner
				for _, v := range x[off : off+inner] {
					m.add(float64(v))
				}
			}
			mean, variance = m.mean(), m.m2()/float64(m.n)
		} else {
			mean, variance = float64(runningMean[ch]), float64(runningVar[ch])
		}
		scale := float64(gamma[ch]) / math.Sqrt(variance+eps)
		shift := float64(beta[ch])
		for o := 0; o < outer; o++ {
			off := (o*c + ch) * inner
			out := dst[off : off+inner]
			for j, v := range x[off : off+inner] {
				out[j] = T((float64(v)-mean)*scale + shift)
			}
		}
	}
}
