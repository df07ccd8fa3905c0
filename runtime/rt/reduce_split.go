package rt

import (
	"math"

	"github.com/bpgen/bpgen/runtime/kernels"
)

// ReduceSplit reduces src, seen as [outer, n, inner], over its outer and
// inner axes into dst, [n]: the per-channel reduction of an NCHW tensor
// (outer N, n C, inner H·W). Each group is accumulated in float64 in
// row-major order of the reduced dims, as ReduceAxes does (so the result
// is the same bit for bit), reading contiguous rows of src; channels are
// taken chunk at a time so the accumulators stay on the stack. The
// channels are split over the cores (kernels.For): each is summed whole
// by one of them, so the result is the same on any number of threads.
func ReduceSplit[T Float](op ReduceOp, dst, src []T, outer, n, inner int) {
	_ = src[:outer*n*inner]
	_ = dst[:n]
	splitChannels(splitReduce, op, 0, dst, src, outer, n, inner)
}

// The reductions of a splitBody.
const (
	splitReduce = iota
	splitVar
)

// splitBody is ReduceSplit's or VarSplit's work on a range of channels,
// for kernels.For; it comes from a free list, so a call allocates nothing.
type splitBody[T Float] struct {
	kind, correction int
	op               ReduceOp
	dst, src         []T
	outer, n, inner  int
}

func (b *splitBody[T]) Run(lo, hi int) {
	if b.kind == splitVar {
		varSplit(b.dst, b.src, b.outer, b.n, b.inner, b.correction, lo, hi)
		return
	}
	reduceSplit(b.op, b.dst, b.src, b.outer, b.n, b.inner, lo, hi)
}

var (
	splitBodies32 freeList[splitBody[float32]]
	splitBodies64 freeList[splitBody[float64]]
)

// splitChannels runs a splitBody over channels [0, n) with kernels.For, in
// grains of about kernels.ElemGrain elements (whole channels).
func splitChannels[T Float](kind int, op ReduceOp, correction int, dst, src []T, outer, n, inner int) {
	l := freeListOf[splitBody[T]](&splitBodies32, &splitBodies64)
	var b *splitBody[T]
	if l != nil {
		b = l.get()
	} else {
		b = new(splitBody[T])
	}
	*b = splitBody[T]{kind: kind, correction: correction, op: op, dst: dst, src: src, outer: outer, n: n, inner: inner}
	kernels.For(n, max(1, kernels.ElemGrain/max(1, outer*inner)), b)
	*b = splitBody[T]{}
	if l != nil {
		l.put(b)
	}
}

// reduceSplit is ReduceSplit of channels [lo, hi).
func reduceSplit[T Float](op ReduceOp, dst, src []T, outer, n, inner, lo, hi int) {
	var acc, m [chunk]float64
	for j0 := lo; j0 < hi; j0 += chunk {
		w := min(chunk, hi-j0)
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
			sumChannels(a, src, outer, n, inner, j0)
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
// into dst, [n] (the per-channel variance of an NCHW tensor), its channels
// split over the cores as ReduceSplit's.
func VarSplit[T Float](dst, src []T, outer, n, inner, correction int) {
	_ = src[:outer*n*inner]
	_ = dst[:n]
	splitChannels(splitVar, Sum, correction, dst, src, outer, n, inner)
}

// varSplit is VarSplit of channels [lo, hi).
func varSplit[T Float](dst, src []T, outer, n, inner, correction, lo, hi int) {
	dof := float64(outer*inner - correction)
	var acc [chunk]moments
	for j0 := lo; j0 < hi; j0 += chunk {
		a := acc[:min(chunk, hi-j0)]
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

// sumChannels adds, for each o in [0, outer) in order, row (o, j0+t) of
// src into a[t], element by element in order: each channel's sum is the
// same float64 sequence as one row after another, but the channels' sums
// advance together (up to 4 chains at a time), so the adds of different
// channels overlap instead of each waiting for the last.
func sumChannels[T Float](a []float64, src []T, outer, n, inner, j0 int) {
	for t0 := 0; t0 < len(a); t0 += 4 {
		w := min(4, len(a)-t0)
		for o := range outer {
			off := (o*n + j0 + t0) * inner
			switch w {
			case 4:
				r0, r1, r2, r3 := src[off:][:inner], src[off+inner:][:inner], src[off+2*inner:][:inner], src[off+3*inner:][:inner]
				s0, s1, s2, s3 := a[t0], a[t0+1], a[t0+2], a[t0+3]
				for x := range r0 {
					s0 += float64(r0[x])
					s1 += float64(r1[x])
					s2 += float64(r2[x])
					s3 += float64(r3[x])
				}
				a[t0], a[t0+1], a[t0+2], a[t0+3] = s0, s1, s2, s3
			case 2, 3:
				r0, r1 := src[off:][:inner], src[off+inner:][:inner]
				s0, s1 := a[t0], a[t0+1]
				for x := range r0 {
					s0 += float64(r0[x])
					s1 += float64(r1[x])
				}
				a[t0], a[t0+1] = s0, s1
				if w == 3 {
					s := a[t0+2]
					for _, x := range src[off+2*inner:][:inner] {
						s += float64(x)
					}
					a[t0+2] = s
				}
			default:
				s := a[t0]
				for _, x := range src[off:][:inner] {
					s += float64(x)
				}
				a[t0] = s
			}
		}
	}
}
