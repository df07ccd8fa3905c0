package kernels

import (
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas/gonum"
)

// kernelSet describes one register-blocked micro-kernel and the cache
// blocking used around it.
//
// kern computes the mr×nr tile
//
//	C = alpha*Â·B̂ + beta*C   (accum != 0)
//	C = alpha*Â·B̂            (accum == 0; C is not read)
//
// where Â is a packed kc×mr panel of op(A) (for each p, mr consecutive
// values) and B̂ a packed kc×nr panel of op(B) (for each p, nr consecutive
// values), and C is row-major with row stride ldc. The k loop runs p = 0..kc-1
// in order, so each C element's rounding depends only on (kc, its A row, its B
// column), never on where the tile sits.
type kernelSet[T float] struct {
	mr, nr     int // micro-tile
	mc, kc, nc int // cache blocks; mc % mr == 0, nc % nr == 0
	kern       func(kc int, a, b, c *T, ldc int, alpha, beta T, accum int)

	// edge4 and edge8, if non-nil, compute the first 4 or 8 rows of kern's
	// tile from the same packed panels, each element by the same sequence
	// of operations as kern (so bit for bit alike): the last row panel of a
	// block that holds no more rows runs on them instead of a whole tile.
	edge4, edge8 func(kc int, a, b, c *T, ldc int, alpha, beta T, accum int)

	// small, if non-nil, is an unpacked kernel for small products with
	// op(B) = B: C = alpha*op(A)*B (+ beta*C if accum != 0), where
	// op(A)[i][p] is at a + i*sai + p*sap and all strides are in bytes.
	small func(m, n, k int, a *T, sai, sap int, b *T, ldb int, c *T, ldc int, alpha, beta T, accum int)

	// packA, if non-nil, packs a full mr-row panel of a non-transposed A:
	// d[p*mr+i] = a[i*lda+p] (lda in bytes). packBT likewise packs a full
	// nr-column panel of a transposed B: d[p*nr+j] = b[j*ldb+p].
	packA, packBT func(kc int, x *T, ld int, d *T)

	// copyAT, if non-nil, packs a full mr-row panel of a transposed A, and
	// copyB a full nr-column panel of a non-transposed B: both copy w
	// consecutive elements of kc rows, d[p*w+j] = x[p*ld+j] (ld in bytes),
	// without a memmove call per row.
	copyAT, copyB func(kc int, x *T, ld int, d *T)
}

// smallMNK: products with m*n*k at most this skip packing and run the small
// kernel directly on the operands. Chosen with BenchmarkSmallCrossover
// (AVX-512, float32, one thread, ns/op small vs packed): 32×4×16 92 vs 255,
// 16×16×16 124 vs 377, 32×16×32 463 vs 452, 32×32×32 951 vs 714, 64×16×64
// 1052 vs 954. With op(B) = Bᵀ the small path first transposes B, so it
// only pays up to smallMNK/4: 32×4×16 128 vs 339, 16×16×16 256 vs 537,
// 32×16×32 640 vs 375. A variable so tests and benchmarks can force either
// path.
var smallMNK = 16 * 1024

// parMNK: products with m*n*k below this run serially whatever SetThreads
// says; waking a worker costs a few microseconds.
const parMNK = 1 << 20

// gemm is the common body of Sgemm and Dgemm after argument checking: it
// handles the BLAS special cases and dispatches on the current backend
// (gonumFn is gonum's Sgemm or Dgemm).
func gemm[T float](gonumFn gonumGemm[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	be := CurrentBackend()
	switch {
	case alpha == 0 || k == 0:
		scaleC(m, n, beta, c, ldc)
		return
	case be == BackendGonum:
		gonumFn(gonum.Implementation{}, trans(transA), trans(transB), m, n, k, alpha, a, max(lda, 1), b, max(ldb, 1), beta, c, ldc)
		return
	}
	ks := kernelsFor[T](be)
	if useSmall(m, n, k, transB) {
		if ks.small != nil {
			gemmSmallAsm(ks, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		} else {
			gemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
		return
	}
	transC := false
	if swapPays(ks, m, n) {
		// Compute Cᵀ = op(B)ᵀ·op(A)ᵀ, written into C transposed.
		transA, transB, m, n, a, b, lda, ldb = !transB, !transA, n, m, b, a, ldb, lda
		transC = true
	}
	if t := Threads(); t > 1 && m*n*k >= parMNK {
		if gemmParallel(ks, t, transA, transB, transC, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
			return
		}
	}
	p := poolFor[T]()
	ws := p.get()
	gemmBlocked(ks, ws, transA, transB, transC, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	p.put(ws)
}

// swapPays reports whether an m×n C narrower than one micro-tile (n < nr,
// e.g. the n = 10 logits of a classifier and their dW) is better computed
// as Cᵀ: its n rows then fill mr-row panels with less padding than its n
// columns fill an nr-wide panel (AVX2 6×16: 10 columns use 10/16 of each
// tile, 10 rows 10/12 of two panels). It depends on the shape and kernel
// only, never on the thread count. The swap is disabled with noSwap (for
// the before/after benchmark).
func swapPays[T float](ks *kernelSet[T], m, n int) bool {
	if noSwap || n >= ks.nr || m < 2*ks.nr {
		return false
	}
	orig := roundUp(m, ks.mr) * roundUp(n, ks.nr)
	swapped := roundUp(n, ks.mr) * roundUp(m, ks.nr)
	return 8*swapped < 7*orig
}

var noSwap = false

// gemmSmallAsm runs ks.small directly on the operands (no packing).
func gemmSmallAsm[T float](ks *kernelSet[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if transB {
		// The small kernel wants rows of op(B) contiguous: transpose the
		// (small) k×n op(B) into scratch first.
		pool := poolFor[T]()
		ws := pool.get()
		defer pool.put(ws)
		grow(&ws.bt, k*n)
		bt := ws.bt[:k*n]
		for j := 0; j < n; j++ {
			for p, v := range b[j*ldb : j*ldb+k] {
				bt[p*n+j] = v
			}
		}
		b, ldb = bt, n
	}
	es := elemSize[T]()
	sai, sap := lda, 1
	if transA {
		sai, sap = 1, lda
	}
	accum := 0
	if beta != 0 {
		accum = 1
	}
	ks.small(m, n, k, &a[0], sai*es, sap*es, &b[0], ldb*es, &c[0], ldc*es, alpha, beta, accum)
}

// useSmall reports whether a product skips packing. It depends on the shape
// only (never on the thread count), so results stay thread-independent.
func useSmall(m, n, k int, transB bool) bool {
	if transB {
		return m*n*k <= smallMNK/4
	}
	return m*n*k <= smallMNK
}

// workspace holds the packing buffers of one goroutine. They are grown once
// to the largest size the kernel set can need and then reused.
type workspace[T float] struct {
	ap, bp []T // packed mc×kc block of op(A), kc×nc block of op(B)
	tile   []T // mr×nr scratch tile for edge tiles
	bt     []T // transposed op(B) for the small path
}

// ensure grows the buffers, on first use with a kernel set, to the largest
// blocks ks can need, so later calls of any shape do not allocate.
func (ws *workspace[T]) ensure(ks *kernelSet[T]) {
	grow(&ws.ap, ks.mc*ks.kc)
	grow(&ws.bp, ks.kc*ks.nc)
	grow(&ws.tile, ks.mr*ks.nr)
}

// grow makes *s at least n long (contents are not kept).
func grow[T float](s *[]T, n int) {
	if len(*s) < n {
		*s = make([]T, n)
	}
}

// freeList is a mutex-guarded free list (not a sync.Pool, which may drop
// its items at a GC and allocate again): get allocates only when more
// goroutines than ever before hold an item at once.
type freeList[W any] struct {
	mu   sync.Mutex
	free []*W
}

func (l *freeList[W]) get() *W {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		w := l.free[n-1]
		l.free = l.free[:n-1]
		return w
	}
	return new(W)
}

func (l *freeList[W]) put(w *W) {
	l.mu.Lock()
	l.free = append(l.free, w)
	l.mu.Unlock()
}

// Workspaces of callers' goroutines (workers own theirs).
var (
	pool32 freeList[workspace[float32]]
	pool64 freeList[workspace[float64]]
)

func poolFor[T float]() *freeList[workspace[T]] {
	if is32[T]() {
		return any(&pool32).(*freeList[workspace[T]])
	}
	return any(&pool64).(*freeList[workspace[T]])
}

// elemSize is the size of T in bytes; it is a constant in each
// instantiation.
func elemSize[T float]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// is32 reports whether T is float32-sized.
func is32[T float]() bool { return elemSize[T]() == 4 }

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// balancedBlock returns the block size for splitting x into ceil(x/max)
// nearly equal blocks, rounded up to a multiple of unit (max must be a
// multiple of unit, so the result never exceeds max).
func balancedBlock(x, max, unit int) int {
	nb := (x + max - 1) / max
	return roundUp((x+nb-1)/nb, unit)
}

// gemmBlocked is the packed, cache-blocked GEMM (Goto/BLIS loop order):
//
//	for jc over n by nc:          B block kc×nc lives in L2/L3
//	  for pc over k by kc:        fixed k blocking => deterministic sums
//	    pack op(B)[pc:pc+kc, jc:jc+nc]
//	    for ic over m by mc:      A block mc×kc lives in L2
//	      pack op(A)[ic:ic+mc, pc:pc+kc]
//	      for jr over nc by nr:   B micro-panel stays in L1
//	        for ir over mc by mr: micro-kernel
//
// C is scaled by beta in the first k block only (later blocks accumulate).
// With transC, the m×n result is stored transposed: element (i, j) at
// c[j*ldc+i] (see swapPays).
func gemmBlocked[T float](ks *kernelSet[T], ws *workspace[T], transA, transB, transC bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ws.ensure(ks)
	// Split each dimension into equal blocks no larger than the nominal
	// size (e.g. k=784, KC=256 gives 4 blocks of 196, not 3×256 + 16). The k
	// blocking depends only on k and KC, never on the thread split.
	kcb := balancedBlock(k, ks.kc, 4)
	mcb := balancedBlock(m, ks.mc, ks.mr)
	ncb := balancedBlock(n, ks.nc, ks.nr)
	for jc := 0; jc < n; jc += ncb {
		nc := min(ncb, n-jc)
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			packB(transB, b, ldb, pc, jc, kc, nc, ks.nr, ws.bp, ks.packBT, ks.copyB)
			bt, accum := beta, 0
			if beta != 0 {
				accum = 1
			}
			if pc > 0 {
				bt, accum = 1, 1
			}
			for ic := 0; ic < m; ic += mcb {
				mc := min(mcb, m-ic)
				packA(transA, a, lda, ic, pc, mc, kc, ks.mr, ws.ap, ks.packA, ks.copyAT)
				if transC {
					macroKernelT(ks, ws, mc, nc, kc, alpha, bt, accum, c[jc*ldc+ic:], ldc)
				} else {
					macroKernel(ks, ws, mc, nc, kc, alpha, bt, accum, c[ic*ldc+jc:], ldc)
				}
			}
		}
	}
}

// macroKernel runs the micro-kernel over an mc×nc block of C.
func macroKernel[T float](ks *kernelSet[T], ws *workspace[T], mc, nc, kc int, alpha, beta T, accum int, c []T, ldc int) {
	mr, nr := ks.mr, ks.nr
	kern := ks.kern
	for jr := 0; jr < nc; jr += nr {
		bp := &ws.bp[jr*kc]
		nn := min(nr, nc-jr)
		for ir := 0; ir < mc; ir += mr {
			ap := &ws.ap[ir*kc]
			mm := min(mr, mc-ir)
			if mm == mr && nn == nr {
				kern(kc, ap, bp, &c[ir*ldc+jr], ldc, alpha, beta, accum)
				continue
			}
			// Edge tile: run the same kernel (or an edge kernel of as many
			// rows as it has, or a few more) on a scratch tile so every
			// element is computed exactly as it would be in a full tile.
			k, rows := kern, mr
			switch {
			case mm <= 4 && ks.edge4 != nil:
				k, rows = ks.edge4, 4
			case mm <= 8 && ks.edge8 != nil:
				k, rows = ks.edge8, 8
			}
			if mm == rows && nn == nr {
				k(kc, ap, bp, &c[ir*ldc+jr], ldc, alpha, beta, accum)
				continue
			}
			t := ws.tile[:rows*nr]
			if accum != 0 {
				for i := 0; i < mm; i++ {
					copy(t[i*nr:i*nr+nn], c[(ir+i)*ldc+jr:])
				}
			}
			k(kc, ap, bp, &t[0], nr, alpha, beta, accum)
			for i := 0; i < mm; i++ {
				copy(c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+nn], t[i*nr:i*nr+nn])
			}
		}
	}
}

// macroKernelT is macroKernel for a C stored transposed (element (i, j) of
// the mc×nc block at c[j*ldc+i]): each tile is computed on the scratch
// tile by the same kernel, so every element gets the same operations as
// in a full tile, and copied in and out transposed.
func macroKernelT[T float](ks *kernelSet[T], ws *workspace[T], mc, nc, kc int, alpha, beta T, accum int, c []T, ldc int) {
	mr, nr := ks.mr, ks.nr
	t := ws.tile[:mr*nr]
	for jr := 0; jr < nc; jr += nr {
		bp := &ws.bp[jr*kc]
		nn := min(nr, nc-jr)
		for ir := 0; ir < mc; ir += mr {
			ap := &ws.ap[ir*kc]
			mm := min(mr, mc-ir)
			if accum != 0 {
				for j := 0; j < nn; j++ {
					col := c[(jr+j)*ldc+ir:][:mm]
					for i, v := range col {
						t[i*nr+j] = v
					}
				}
			}
			ks.kern(kc, ap, bp, &t[0], nr, alpha, beta, accum)
			for j := 0; j < nn; j++ {
				col := c[(jr+j)*ldc+ir:][:mm]
				for i := range col {
					col[i] = t[i*nr+j]
				}
			}
		}
	}
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] into ceil(mc/mr) panels of kc×mr
// (panel r at offset r*mr*kc; within a panel, element (i,p) at p*mr+i),
// zero-padding rows past mc.
func packA[T float](transA bool, a []T, lda, ic, pc, mc, kc, mr int, dst []T, fast, fastT func(kc int, a *T, lda int, d *T)) {
	for ir := 0; ir < mc; ir += mr {
		d := dst[ir*kc : ir*kc+mr*kc]
		rows := min(mr, mc-ir)
		if transA && rows == mr && fastT != nil {
			off := pc*lda + ic + ir
			_ = a[off+(kc-1)*lda+mr-1] // all kc rows are in bounds
			fastT(kc, &a[off], lda*elemSize[T](), &d[0])
			continue
		}
		if transA {
			// op(A)[i][p] = a[p*lda+i]: rows of the stored matrix are contiguous in i.
			// A partial panel (the last rows): element copies, not a
			// memmove call per p.
			for p := 0; p < kc; p++ {
				off := (pc+p)*lda + ic + ir
				dp := d[p*mr : p*mr+mr]
				src := a[off : off+rows]
				for i, v := range src {
					dp[i] = v
				}
				for i := rows; i < mr; i++ {
					dp[i] = 0
				}
			}
			continue
		}
		if rows == mr && fast != nil {
			off := (ic+ir)*lda + pc
			_ = a[off+(mr-1)*lda+kc-1] // all mr rows are in bounds
			fast(kc, &a[off], lda*elemSize[T](), &d[0])
			continue
		}
		if rows == mr && mr == 6 {
			packA6(a, lda, (ic+ir)*lda+pc, kc, d)
			continue
		}
		for i := 0; i < rows; i++ {
			off := (ic+ir+i)*lda + pc
			src := a[off : off+kc]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
		for i := rows; i < mr; i++ {
			for p := 0; p < kc; p++ {
				d[p*mr+i] = 0
			}
		}
	}
}

// packA6 interleaves 6 rows of a (row stride lda, starting at off) into d.
func packA6[T float](a []T, lda, off, kc int, d []T) {
	r0 := a[off : off+kc]
	r1 := a[off+lda : off+lda+kc]
	r2 := a[off+2*lda : off+2*lda+kc]
	r3 := a[off+3*lda : off+3*lda+kc]
	r4 := a[off+4*lda : off+4*lda+kc]
	r5 := a[off+5*lda : off+5*lda+kc]
	d = d[:6*kc]
	for p := range r0 {
		q := d[p*6 : p*6+6 : p*6+6]
		q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into ceil(nc/nr) panels of kc×nr
// (panel at offset jr*kc; within a panel, element (p,j) at p*nr+j),
// zero-padding columns past nc.
func packB[T float](transB bool, b []T, ldb, pc, jc, kc, nc, nr int, dst []T, fastT, fast func(kc int, b *T, ldb int, d *T)) {
	for jr := 0; jr < nc; jr += nr {
		d := dst[jr*kc : jr*kc+nr*kc]
		cols := min(nr, nc-jr)
		if !transB && cols == nr && fast != nil {
			off := pc*ldb + jc + jr
			_ = b[off+(kc-1)*ldb+nr-1] // all kc rows are in bounds
			fast(kc, &b[off], ldb*elemSize[T](), &d[0])
			continue
		}
		if !transB {
			// A partial panel (the last columns): element copies.
			for p := 0; p < kc; p++ {
				off := (pc+p)*ldb + jc + jr
				dp := d[p*nr : p*nr+nr]
				src := b[off : off+cols]
				for j, v := range src {
					dp[j] = v
				}
				for j := cols; j < nr; j++ {
					dp[j] = 0
				}
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]
		if cols == nr && fastT != nil {
			off := (jc+jr)*ldb + pc
			_ = b[off+(nr-1)*ldb+kc-1] // all nr rows of b are in bounds
			fastT(kc, &b[off], ldb*elemSize[T](), &d[0])
			continue
		}
		for j := 0; j < cols; j++ {
			off := (jc+jr+j)*ldb + pc
			src := b[off : off+kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// gemmSmall computes the product directly from the unpacked operands; for
// tiny shapes packing costs more than it saves.
func gemmSmall[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	sa, sp := lda, 1 // op(A)[i][p] = a[i*sa+p*sp]
	if transA {
		sa, sp = 1, lda
	}
	if !transB {
		scaleC(m, n, beta, c, ldc)
		for i := 0; i < m; i++ {
			crow := c[i*ldc : i*ldc+n]
			for p := 0; p < k; p++ {
				s := alpha * a[i*sa+p*sp]
				brow := b[p*ldb : p*ldb+n]
				axpy(s, brow, crow)
			}
		}
		return
	}
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for j := range crow {
			brow := b[j*ldb : j*ldb+k]
			var s T
			if sp == 1 {
				arow := a[i*sa : i*sa+k]
				for p, v := range brow {
					s += arow[p] * v
				}
			} else {
				for p, v := range brow {
					s += a[i*sa+p*sp] * v
				}
			}
			if beta == 0 {
				crow[j] = alpha * s
			} else {
				crow[j] = alpha*s + beta*crow[j]
			}
		}
	}
}

// axpy computes y += s*x; len(x) must be >= len(y).
func axpy[T float](s T, x, y []T) {
	x = x[:len(y)]
	for len(y) >= 4 {
		y[0] += s * x[0]
		y[1] += s * x[1]
		y[2] += s * x[2]
		y[3] += s * x[3]
		x, y = x[4:], y[4:]
	}
	for j := range y {
		y[j] += s * x[j]
	}
}
