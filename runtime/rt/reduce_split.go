package rt

import "math"

// ReduceSplit reduces src, seen as [outer, n, inner], over its outer and
// inner axes into dst, [n]: the per-channel reduction of an NCHW tensor
// (outer N, n C, inner H·W). Each group is accumulated in float64 in
// row-major order of the reduced dims, as ReduceAxes does (so the result
// is the same bit for bit), reading contiguous rows of src; channels are
// taken chunk at a time so the accumulators stay on the stack.
func ReduceSplit[T Float](op ReduceOp, dst, src []T, outer, n, inner int) {
	_ = src[:outer*n*inner]
	_ = dst[:n]
	var acc, m [chunk]float64
	for j0 := 0; j0 < n; j0 += chunk {
		w := min(chunk, n-j0)
		a := acc[:w]
		rows := func(f func(t int, row []T)) {
			for o := 0; o < outer; o++ {
				for t := range a {
					off := (o*n + j0 + t) * inner
					f(t, src[off:off+inner])
				}
			}
		}
		switch op {
		case Sum, Mean:
			clear(a)
			rows(func(t int, row []T) {
				s := a[t]
				for _, x := range row {
					s += float64(x)
				}
				a[t] = s
			})
			if op == Mean {
				for t := range a {
					a[t] /= float64(outer * inner)
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
			rows(func(t int, row []T) {
				s := a[t]
				for _, x := range row {
					if op == Max {
						s = max(s, float64(x))
					} else {
						s = min(s, float64(x))
					}
				}
				a[t] = s
			})
		case LogSumExp:
			mm := m[:w]
			for t := range mm {
				mm[t] = math.Inf(-1)
			}
			rows(func(t int, row []T) {
				for _, x := range row {
					mm[t] = max(mm[t], float64(x))
				}
			})
			for t := range mm {
				if math.IsInf(mm[t], -1) {
					mm[t] = 0
				}
			}
			clear(a)
			rows(func(t int, row []T) {
				for _, x := range row {
					a[t] += math.Exp(float64(x) - mm[t])
				}
			})
			for t := range a {
				a[t] = mm[t] + math.Log(a[t])
			}
		default:
			panic("rt.ReduceSplit: bad op")
		}
		for t, x := range a {
			dst[j0+t] = T(x)
		}
	}
}

// VarSplit is Var over the outer and inner axes of src, [outer, n, inner],
// into dst, [n] (the per-channel variance of an NCHW tensor).
func VarSplit[T Float](dst, src []T, outer, n, inner, correction int) {
	_ = src[:outer*n*inner]
	_ = dst[:n]
	dof := float64(outer*inner - correction)
	var acc [chunk]moments
	for j0 := 0; j0 < n; j0 += chunk {
		a := acc[:min(chunk, n-j0)]
		clear(a)
		for o := 0; o < outer; o++ {
			for t := range a {
				off := (o*n + j0 + t) * inner
				for _, x := range src[off : off+inner] {
					a[t].add(float64(x))
				}
			}
		}
		for t := range a {
			dst[j0+t] = T(a[t].m2() / dof)
		}
	}
}
