package rt

import "github.com/bpgen/bpgen/runtime/kernels"

// CopyAxis copies count slabs along the middle axis: for each o < outer,
// src[o, srcOff:srcOff+count, :] to dst[o, dstOff:dstOff+count, :], where
// src is [outer, srcN, inner] and dst is [outer, dstN, inner]. Slices,
// pads and concatenations are made of it.
func CopyAxis[T Elem](dst, src []T, outer, inner, dstN, dstOff, srcN, srcOff, count int) {
	w := count * inner
	for o := 0; o < outer; o++ {
		d := (o*dstN + dstOff) * inner
		s := (o*srcN + srcOff) * inner
		copy(dst[d:d+w], src[s:s+w])
	}
}

// Transpose writes src, of the given shape, with its dims permuted into
// dst: dst dim i is src dim perm[i]. shape has at most 16 dims.
func Transpose[T Elem](dst, src []T, shape, perm []int) {
	r := len(shape)
	if r > maxRank || len(perm) != r {
		panic("rt.Transpose: bad shape")
	}
	if r == 2 && perm[0] == 1 {
		rows, cols := shape[0], shape[1]
		_ = src[:rows*cols]
		_ = dst[:rows*cols]
		const b = 32 // square tiles keep both sides in cache
		for i0 := 0; i0 < rows; i0 += b {
			for j0 := 0; j0 < cols; j0 += b {
				for i := i0; i < min(i0+b, rows); i++ {
					for j := j0; j < min(j0+b, cols); j++ {
						dst[j*rows+i] = src[i*cols+j]
					}
				}
			}
		}
		return
	}
	var sstr, odims, ostr, idx [maxRank]int
	s := 1
	for d := r - 1; d >= 0; d-- {
		sstr[d] = s
		s *= shape[d]
	}
	for i, p := range perm {
		odims[i], ostr[i] = shape[p], sstr[p]
	}
	_ = src[:s]
	if r > 1 && perm[r-1] == r-1 && shape[r-1] > 1 {
		// The last dim stays last (a head split or merge, [n,s,h,dk] ↔
		// [n,h,s,dk]): copy its runs, walking the other dims, split
		// across cores when T is float32 or float64.
		w := runs{r: r - 1, w: shape[r-1], odims: odims, ostr: ostr}
		if l := freeListOf[runsBody[T]](&runsBodies32, &runsBodies64); l != nil {
			b := l.get()
			*b = runsBody[T]{runs: w, dst: dst[:s], src: src[:s]}
			kernels.For(s/w.w, max(1, kernels.ElemGrain/w.w), b)
			*b = runsBody[T]{}
			l.put(b)
			return
		}
		copyRuns(&w, dst[:s], src[:s], 0, s/w.w)
		return
	}
	off := 0
	for k := range dst[:s] {
		dst[k] = src[off]
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			off += ostr[d]
			if idx[d] < odims[d] {
				break
			}
			off -= ostr[d] * odims[d]
			idx[d] = 0
		}
	}
}

// runs is a transpose that keeps the last dim last, as runs of w elements:
// the output's other dims (r of them) and their strides in the source.
type runs struct {
	r, w        int
	odims, ostr [maxRank]int
}

// copyRuns copies runs [lo, hi) of the output from src into dst.
func copyRuns[T Elem](u *runs, dst, src []T, lo, hi int) {
	var idx [maxRank]int
	off, rem := 0, lo
	for d := u.r - 1; d >= 0; d-- {
		idx[d] = rem % u.odims[d]
		rem /= u.odims[d]
		off += idx[d] * u.ostr[d]
	}
	w := u.w
	for k := lo * w; k < hi*w; k += w {
		copy(dst[k:k+w], src[off:off+w])
		for d := u.r - 1; d >= 0; d-- {
			idx[d]++
			off += u.ostr[d]
			if idx[d] < u.odims[d] {
				break
			}
			off -= u.ostr[d] * u.odims[d]
			idx[d] = 0
		}
	}
}

// runsBody is Transpose's kernels.Body over runs.
type runsBody[T Elem] struct {
	runs
	dst, src []T
}

func (b *runsBody[T]) Run(lo, hi int) { copyRuns(&b.runs, b.dst, b.src, lo, hi) }

var (
	runsBodies32 freeList[runsBody[float32]]
	runsBodies64 freeList[runsBody[float64]]
)

// Gather writes src, [outer, n, inner], indexed along its middle axis by
// idx into dst, [outer, len(idx), inner]. It returns the position in idx
// of the first index outside [0, n), or −1 if all are valid.
func Gather[T Elem](dst, src []T, idx []int32, outer, n, inner int) int {
	m := len(idx)
	for j, ix := range idx {
		if ix < 0 || int(ix) >= n {
			return j
		}
	}
	for o := 0; o < outer; o++ {
		for j, ix := range idx {
			d := (o*m + j) * inner
			s := (o*n + int(ix)) * inner
			copy(dst[d:d+inner], src[s:s+inner])
		}
	}
	return -1
}

// ScatterAdd sets dst, [outer, n, inner], to zeros with the rows of g,
// [outer, len(idx), inner], added at the indices idx along the middle axis
// (the transpose of Gather). It returns the position in idx of the first
// index outside [0, n), or −1 if all are valid.
func ScatterAdd[T Float](dst, g []T, idx []int32, outer, n, inner int) int {
	m := len(idx)
	for j, ix := range idx {
		if ix < 0 || int(ix) >= n {
			return j
		}
	}
	clear(dst[:outer*n*inner])
	for o := 0; o < outer; o++ {
		for j, ix := range idx {
			d := dst[(o*n+int(ix))*inner:][:inner]
			s := g[(o*m+j)*inner:][:inner]
			for e := range d {
				d[e] += s[e]
			}
		}
	}
	return -1
}

// OneHot writes the rows of depth elements that are 1 at idx[i] and 0
// elsewhere into dst, [len(idx), depth]; an index outside [0, depth) gives
// a row of zeros.
func OneHot[T Float](dst []T, idx []int32, depth int) {
	clear(dst[:len(idx)*depth])
	for i, l := range idx {
		if l >= 0 && int(l) < depth {
			dst[i*depth+int(l)] = 1
		}
	}
}
