package kernels

import (
	"sync"
	"sync/atomic"
)

// part is one rectangle of C computed by one goroutine.
type part[T float] struct {
	ks             *kernelSet[T]
	transA, transB bool
	transC         bool // C stored transposed (see gemmBlocked)
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
}

func (p *part[T]) run(ws *workspace[T]) {
	gemmBlocked(p.ks, ws, p.transA, p.transB, p.transC, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)
	p.a, p.b, p.c = nil, nil, nil // do not keep the caller's matrices alive
}

// Task states: a part is run by whoever moves it out of taskFree first —
// a worker (taskWorker) or the calling goroutine (taskCaller), which takes
// every part no worker has started by the time it has finished its own. So
// a call never waits for a worker that has not been given a core (a loaded
// machine): it then runs serially at the cost of sending the tasks.
//
// A task pointer may still sit in workCh after its call has returned and
// its parCall has been reused. That is harmless: a worker touches a task
// only after claiming it with a CompareAndSwap from taskFree, and a task is
// in taskFree only while a live call has fully written it and will either
// claim it back or wait for the worker's signal on its call's done.
const (
	taskFree int32 = iota
	taskWorker
	taskCaller
)

// waitForWorkers makes the caller wait for every part it sent instead of
// running those no worker has started (the split before issue 13), for
// BenchmarkParallelCrossover's comparison.
var waitForWorkers = false

// task is what persistent workers receive over workCh.
type task struct {
	is64  bool
	p32   part[float32]
	p64   part[float64]
	state atomic.Int32
	call  *parCall
}

// parCall is the preallocated state of one parallel call.
type parCall struct {
	done  chan struct{} // a worker that ran one of the parts signals here
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
		if !t.state.CompareAndSwap(taskFree, taskWorker) {
			continue // already run by its caller (or a stale pointer)
		}
		if t.is64 {
			t.p64.run(&ws64)
		} else {
			t.p32.run(&ws32)
		}
		t.call.done <- struct{}{}
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
// result is bit-identical to the serial one, whoever runs which part. The
// caller runs, after its own, every part no worker has started yet (see
// taskFree). It returns false (doing nothing) if the shape has fewer than
// two tiles to split.
func gemmParallel[T float](ks *kernelSet[T], threads int, transA, transB, transC bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
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
	if pc.done == nil {
		pc.done = make(chan struct{}, maxThreads)
	}
	var first *part[T]
	for i := 0; i < parts; i++ {
		lo := min(i*tiles/parts*unit, dim)
		hi := min((i+1)*tiles/parts*unit, dim)
		t := &pc.tasks[i]
		p := partOf[T](t)
		*p = part[T]{ks: ks, transA: transA, transB: transB, transC: transC, m: m, n: n, k: k, alpha: alpha, beta: beta,
			a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
		rowOff, colOff := lo*ldc, lo // offsets in c of row lo and column lo
		if transC {
			rowOff, colOff = lo, lo*ldc
		}
		if byRows {
			p.m = hi - lo
			p.c = c[rowOff:]
			if transA {
				p.a = a[lo:]
			} else {
				p.a = a[lo*lda:]
			}
		} else {
			p.n = hi - lo
			p.c = c[colOff:]
			if transB {
				p.b = b[lo*ldb:]
			} else {
				p.b = b[lo:]
			}
		}
		t.call = pc
		if i == 0 {
			first = p // tasks[0] is never sent
			t.state.Store(taskCaller)
		} else {
			t.state.Store(taskFree) // publishes the part to workers
		}
	}
	for i := 1; i < parts; i++ {
		select {
		case workCh <- &pc.tasks[i]:
		default: // workers are behind: the caller will run it
		}
	}
	pool := poolFor[T]()
	ws := pool.get()
	first.run(ws)
	waits := 0
	for i := 1; i < parts; i++ {
		t := &pc.tasks[i]
		if !waitForWorkers && t.state.CompareAndSwap(taskFree, taskCaller) {
			partOf[T](t).run(ws)
		} else {
			waits++
		}
	}
	pool.put(ws)
	for ; waits > 0; waits-- {
		<-pc.done
	}
	freeCalls.put(pc)
	return true
}
