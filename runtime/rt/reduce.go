package rt

import "math"

// Elem is the set of element types that movement routines (copies,
// transposes, gathers) handle: the float types and int32 labels.
type Elem interface{ ~float32 | ~float64 | ~int32 }

// ReduceOp names a reduction.
type ReduceOp uint8

// Reductions. Each is accumulated in float64 and rounded to the element
// type once, as the interpreter does.
const (
	Sum       ReduceOp = iota + 1 // Σ x
	Mean                          // Σ x / count
	Max                           // max x (−Inf for an empty group); NaN propagates
	Min                           // min x (+Inf for an empty group)
	LogSumExp                     // m + log Σ exp(x − m), m = max x (0 if −Inf)
)

// maxRank bounds the rank of shapes given to ReduceAxes and Transpose.
const maxRank = 16

// chunk is how many inner positions Reduce accumulates at once when it
// reduces a middle axis, so that the rows of src are read contiguously.
const chunk = 32

// Reduce reduces src, seen as [outer, n, inner], over its middle axis into
// dst, [outer, inner].
func Reduce[T Float](op ReduceOp, dst, src []T, outer, n, inner int) {
	_ = src[:outer*n*inner]
	_ = dst[:outer*inner]
	if inner == 1 {
		if s32, ok := any(src).([]float32); ok && (op == Sum || op == Mean) {
			kind := rowsSum
			if op == Mean {
				kind = rowsMean
			}
			forRows32(kind, any(dst).([]float32), s32, nil, nil, outer, n, 0, 0)
			return
		}
		for o := 0; o < outer; o++ {
			dst[o] = T(reduceRow(op, src[o*n:o*n+n]))
		}
		return
	}
	if s32, ok := any(src).([]float32); ok && (op == Sum || op == Mean) && inner <= maxColsSum32 {
		forCols32(any(dst).([]float32), s32, outer, n, inner, op == Mean)
		return
	}
	var acc, m [chunk]float64
	for o := 0; o < outer; o++ {
		base := src[o*n*inner : (o+1)*n*inner]
		for i0 := 0; i0 < inner; i0 += chunk {
			w := min(chunk, inner-i0)
			a := acc[:w]
			switch op {
			case Sum, Mean:
				clear(a)
				for j := 0; j < n; j++ {
					row := base[j*inner+i0 : j*inner+i0+w]
					for t, x := range row {
						a[t] += float64(x)
					}
				}
				if op == Mean {
					for t := range a {
						a[t] /= float64(n)
					}
				}
			case Max, Min:
				inf := math.Inf(-1)
				if op == Min {
					inf = math.Inf(1)
				}
				for t := range a {
					a[t] = inf
				}
				for j := 0; j < n; j++ {
					row := base[j*inner+i0 : j*inner+i0+w]
					if op == Max {
						for t, x := range row {
							a[t] = max(a[t], float64(x))
						}
					} else {
						for t, x := range row {
							a[t] = min(a[t], float64(x))
						}
					}
				}
			case LogSumExp:
				mm := m[:w]
				for t := range mm {
					mm[t] = math.Inf(-1)
				}
				for j := 0; j < n; j++ {
					for t, x := range base[j*inner+i0 : j*inner+i0+w] {
						mm[t] = max(mm[t], float64(x))
					}
				}
				for t := range mm {
					if math.IsInf(mm[t], -1) {
						mm[t] = 0
					}
				}
				clear(a)
				for j := 0; j < n; j++ {
					for t, x := range base[j*inner+i0 : j*inner+i0+w] {
						a[t] += math.Exp(float64(x) - mm[t])
					}
				}
				for t := range a {
					a[t] = mm[t] + math.Log(a[t])
				}
			default:
				panic("rt.Reduce: bad op")
			}
			out := dst[o*inner+i0 : o*inner+i0+w]
			for t := range out {
				out[t] = T(a[t])
			}
		}
	}
}

// reduceRow reduces a contiguous group.
func reduceRow[T Float](op ReduceOp, row []T) float64 {
	switch op {
	case Sum, Mean:
		s := 0.0
		for _, x := range row {
			s += float64(x)
		}
		if op == Mean {
			s /= float64(len(row))
		}
		return s
	case Max:
		s := math.Inf(-1)
		for _, x := range row {
			s = max(s, float64(x))
		}
		return s
	case Min:
		s := math.Inf(1)
		for _, x := range row {
			s = min(s, float64(x))
		}
		return s
	case LogSumExp:
		return logSumExp(row, 1)
	}
	panic("rt.Reduce: bad op")
}

// logSumExp is m + log Σ exp(x − m) over row[0], row[stride], ...
func logSumExp[T Float](row []T, stride int) float64 {
	m := math.Inf(-1)
	for j := 0; j < len(row); j += stride {
		m = max(m, float64(row[j]))
	}
	if math.IsInf(m, -1) {
		m = 0 // empty or all −Inf: avoid −Inf − −Inf
	}
	s := 0.0
	for j := 0; j < len(row); j += stride {
		s += math.Exp(float64(row[j]) - m)
	}
	return m + math.Log(s)
}

// ReduceAxes reduces src of the given shape over the dims where reduced is
// true into dst (the kept dims in order). It handles any pattern of axes;
// generated code calls Reduce when the reduced axes are adjacent. shape
// has at most 16 dims. Groups are accumulated in float64 in row-major
// order of the reduced dims.
func ReduceAxes[T Float](op ReduceOp, dst, src []T, shape []int, reduced []bool) {
	a := splitAxes("ReduceAxes", shape, reduced)
	kdims, kstr, rdims, rstr, nk, nr, stride, count := a.kdims, a.kstr, a.rdims, a.rstr, a.nk, a.nr, a.size, a.count
	_ = src[:stride]
	// kdims/rdims are innermost first.
	var ki, ri [maxRank]int
	base := 0
	for o := range dst {
		var acc float64
		switch op {
		case Sum, Mean, LogSumExp:
			acc = 0
		case Max:
			acc = math.Inf(-1)
		case Min:
			acc = math.Inf(1)
		default:
			panic("rt.ReduceAxes: bad op")
		}
		m := 0.0
		if op == LogSumExp {
			m = math.Inf(-1)
			forGroup(base, rdims[:nr], rstr[:nr], &ri, func(off int) { m = max(m, float64(src[off])) })
			if math.IsInf(m, -1) {
				m = 0
			}
		}
		forGroup(base, rdims[:nr], rstr[:nr], &ri, func(off int) {
			x := float64(src[off])
			switch op {
			case Sum, Mean:
				acc += x
			case Max:
				acc = max(acc, x)
			case Min:
				acc = min(acc, x)
			case LogSumExp:
				acc += math.Exp(x - m)
			}
		})
		switch op {
		case Mean:
			acc /= float64(count)
		case LogSumExp:
			acc = m + math.Log(acc)
		}
		dst[o] = T(acc)
		// advance the kept multi-index (innermost first)
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

// forGroup calls f with the offset of every element of one group, in
// row-major order (dims are given innermost first).
func forGroup(base int, dims, strides []int, idx *[maxRank]int, f func(off int)) {
	total := 1
	for _, d := range dims {
		total *= d
	}
	for d := range dims {
		idx[d] = 0
	}
	off := base
	for k := 0; k < total; k++ {
		f(off)
		for d := range dims {
			idx[d]++
			off += strides[d]
			if idx[d] < dims[d] {
				break
			}
			off -= strides[d] * dims[d]
			idx[d] = 0
		}
	}
}

// Softmax computes exp(x − logsumexp(x)) along the middle axis of src,
// seen as [outer, n, inner].
func Softmax[T Float](dst, src []T, outer, n, inner int) {
	softmax(dst, src, outer, n, inner, false)
}

// LogSoftmax computes x − logsumexp(x) along the middle axis of src, seen
// as [outer, n, inner].
func LogSoftmax[T Float](dst, src []T, outer, n, inner int) {
	softmax(dst, src, outer, n, inner, true)
}

func softmax[T Float](dst, src []T, outer, n, inner int, log bool) {
	_ = src[:outer*n*inner]
	_ = dst[:outer*n*inner]
	if d32, ok := any(dst).([]float32); ok && inner == 1 && !log {
		forRows32(rowsSoftmax, d32, any(src).([]float32), nil, nil, outer, n, 0, 0)
		return
	}
	if inner == 1 && !log {
		// Contiguous rows: one exp per element, exp(x − m) / Σ exp(x − m)
		// (the value of exp(x − logsumexp(x)) up to rounding; for float32
		// the numerator is rounded to float32 once more).
		for o := 0; o < outer; o++ {
			row, out := src[o*n:o*n+n], dst[o*n:o*n+n]
			m := math.Inf(-1)
			for _, x := range row {
				m = max(m, float64(x))
			}
			if math.IsInf(m, -1) {
				m = 0
			}
			var sum float64
			for j, x := range row {
				e := math.Exp(float64(x) - m)
				sum += e
				out[j] = T(e)
			}
			for j, e := range out {
				out[j] = T(float64(e) / sum)
			}
		}
		return
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			off := o*n*inner + i
			var lse float64
			if n > 0 {
				lse = logSumExp(src[off:off+(n-1)*inner+1], inner)
			}
			for j := 0; j < n; j++ {
				k := off + j*inner
				if log {
					dst[k] = T(float64(src[k]) - lse)
				} else {
					dst[k] = T(math.Exp(float64(src[k]) - lse))
				}
			}
		}
	}
}

// SoftmaxXent computes the softmax cross-entropy logsumexp(z) − z[label]
// of each row of logits z, [rows, k], against labels, [rows]. It returns
// the index of the first label outside [0, k), or −1 if all are valid.
func SoftmaxXent[T Float](dst, z []T, labels []int32, rows, k int) int {
	_ = z[:rows*k]
	_ = dst[:rows]
	_ = labels[:rows]
	for r := 0; r < rows; r++ {
		l := int(labels[r])
		if l < 0 || l >= k {
			return r
		}
		row := z[r*k : r*k+k]
		dst[r] = T(logSumExp(row, 1) - float64(row[l]))
	}
	return -1
}

// ArgMax writes the index along the middle axis of the largest element of
// src, [outer, n, inner], into dst, [outer, inner]; the first wins on ties
// and the index is 0 if no element exceeds −Inf (e.g. all NaN).
func ArgMax[T Float](dst []int32, src []T, outer, n, inner int) {
	_ = src[:outer*n*inner]
	_ = dst[:outer*inner]
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			best, arg := math.Inf(-1), 0
			for j := 0; j < n; j++ {
				if x := float64(src[(o*n+j)*inner+i]); x > best {
					best, arg = x, j
				}
			}
			dst[o*inner+i] = int32(arg)
		}
	}
}

// axisSplit is a shape split into its kept and its reduced dims, each
// list innermost first with its row-major strides in the whole shape.
type axisSplit struct {
	kdims, kstr, rdims, rstr [maxRank]int
	nk, nr                   int // kept and reduced dims
	size, count              int // elements of the shape, and of each group
}

// splitAxes splits shape (at most maxRank dims) by reduced, for fn's
// panic message.
func splitAxes(fn string, shape []int, reduced []bool) axisSplit {
	r := len(shape)
	if r > maxRank || len(reduced) != r {
		panic("rt." + fn + ": bad shape")
	}
	a := axisSplit{size: 1, count: 1}
	for d := r - 1; d >= 0; d-- {
		if reduced[d] {
			a.rdims[a.nr], a.rstr[a.nr] = shape[d], a.size
			a.nr++
			a.count *= shape[d]
		} else {
			a.kdims[a.nk], a.kstr[a.nk] = shape[d], a.size
			a.nk++
		}
		a.size *= shape[d]
	}
	return a
}
