package kernels

import (
	"sync"
)

// part is one rectangle of C computed by one goroutine.
type part[T float] struct {
	ks             *kernelSet[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	epi            epilogue[T]
}

func (p *part[T]) run(ws *workspace[T]) {
	gemmBlocked(p.ks, ws, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc, p.epi)
	p.a, p.b, p.c, p.epi.bias = nil, nil, nil, nil // do not keep the caller's matrices alive
}

// task is what persistent workers receive over workCh.
type task struct {
	is64 bool
	p32  part[float32]
	p64  part[float64]
	wg   *sync.WaitGroup
}

// parCall is the preallocated state of one parallel call.
type parCall struct {
	wg    sync.WaitGroup
	tasks [maxThreads]task
}

var (
	workCh = make(chan *task, maxThreads)

	workersMu sync.Mutex
	nWorkers  int

	freeCalls freeList[parCall]
)

// ensureWorkers starts persistent workers until there are at least n. Each
// owns its packing buffers for its lifetime.
func ensureWorkers(n int) {
	workersMu.Lock()
	for nWorkers < n {
		nWorkers++
		go worker()
	}
	workersMu.Unlock()
}

func worker() {
	var ws32 workspace[float32]
	var ws64 workspace[float64]
	for t := range workCh {
		if t.is64 {
			t.p64.run(&ws64)
		} else {
			t.p32.run(&ws32)
		}
		t.wg.Done()
	}
}

// partOf points t's part of the right type at p.
func partOf[T float](t *task) *part[T] {
	if is32[T]() {
		t.is64 = false
		return any(&t.p32).(*part[T])
	}
	t.is64 = true
	return any(&t.p64).(*part[T])
}

// gemmParallel splits C into up to threads rectangles along whichever of m, n
// has more micro-tiles, with boundaries on micro-tile multiples, runs the first
// on the calling goroutine and the rest on persistent workers. Every part uses
// the same kernel set and the same k blocking, and each C element is computed
// by the same instruction sequence regardless of where tiles fall, so the
// result is bit-identical to the serial one. It returns false (doing nothing)
// if the shape has fewer than two tiles to split.
func gemmParallel[T float](ks *kernelSet[T], threads int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, epi epilogue[T]) bool {
	tilesM := (m + ks.mr - 1) / ks.mr
	tilesN := (n + ks.nr - 1) / ks.nr
	byRows := tilesM >= tilesN
	tiles, unit, dim := tilesN, ks.nr, n
	if byRows {
		tiles, unit, dim = tilesM, ks.mr, m
	}
	parts := min(threads, tiles)
	if parts < 2 {
		return false
	}
	ensureWorkers(parts - 1)
	pc := freeCalls.get()
	pc.wg.Add(parts - 1)
	var first *part[T]
	for i := 0; i < parts; i++ {
		lo := min(i*tiles/parts*unit, dim)
		hi := min((i+1)*tiles/parts*unit, dim)
		t := &pc.tasks[i]
		p := partOf[T](t)
		*p = part[T]{ks: ks, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
			a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, epi: epi}
		if byRows {
			p.m = hi - lo
			p.c = c[lo*ldc:]
			if transA {
				p.a = a[lo:]
			} else {
				p.a = a[lo*lda:]
			}
		} else {
			p.n = hi - lo
			p.c = c[lo:]
			p.epi = epi.cols(lo)
			if transB {
				p.b = b[lo*ldb:]
			} else {
				p.b = b[lo:]
			}
		}
		t.wg = &pc.wg
		if i == 0 {
			first = p
		} else {
			workCh <- t
		}
	}
	pool := poolFor[T]()
	ws := pool.get()
	first.run(ws)
	pool.put(ws)
	pc.wg.Wait()
	freeCalls.put(pc)
	return true
}
