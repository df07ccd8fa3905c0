package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Body is work that For splits into ranges of indices. Run must do the
// work of indices [lo, hi) and may be called concurrently on disjoint
// ranges; it must not depend on which goroutine runs it or on how [0, n)
// is split (for a reduction: write one partial result per fixed chunk and
// combine them in order afterwards, see For).
//
// Pass a pointer that is already on the heap (a field of a long-lived
// struct, a package variable): converting a pointer to an interface does
// not allocate, while a closure or a method value that For keeps would.
type Body interface {
	Run(lo, hi int)
}

// For calls body.Run on disjoint ranges whose union is [0, n), on up to
// Threads() goroutines: the calling one and persistent workers, which spin
// briefly after each task so that the next call finds them awake. Each
// range is a whole number of grain-sized blocks except the last, so grain
// is the smallest piece of work worth handing to another core (a few
// microseconds: e.g. ElemGrain elements of a streaming loop). It runs
// body.Run(0, n) inline, with no synchronization, if n < 2*grain or
// Threads() is 1; and the caller itself runs every range no worker has
// started by the time it is free, so a call on a machine whose other cores
// are busy costs about what the inline call costs. It returns when every
// range has been run. For allocates nothing (after the first calls start
// the workers); it may be called concurrently and from inside a Body.
//
// The split depends on Threads(), so a Body whose result depends on the
// split (a sum over the range) must not reduce across indices. A
// reduction stays bit-identical for any thread count by fixing its chunks
// independently of the split: with chunks of a constant size C,
// For(nChunks, 1, body) where body.Run(lo, hi) computes partial[c] for
// c in [lo, hi) over elements [c*C, (c+1)*C), and the caller then adds
// partial[0], partial[1], … in order.
func For(n, grain int, body Body) {
	if grain < 1 {
		grain = 1
	}
	if n < 2*grain {
		if n > 0 {
			body.Run(0, n)
		}
		return
	}
	t := Threads()
	if t < 2 {
		body.Run(0, n)
		return
	}
	blocks := (n + grain - 1) / grain
	forParallel(n, grain, blocks, min(blocks, t*partsPerThread, maxParts), t, body)
}

// ElemGrain is a grain for For over the elements of a streaming
// elementwise loop (a few loads, arithmetic and a store per element):
// about 5 µs of one core's work, well above the ~1 µs it costs to hand a
// range to a spinning worker.
const ElemGrain = 16 * 1024

// partsPerThread: For splits [0, n) into up to this many ranges per
// thread, claimed one at a time, so a core that is slow (descheduled, or
// busy with another call) holds back at most a small range.
const partsPerThread = 4

// maxParts bounds the ranges of one call (they are counted in 16 bits).
const maxParts = partsPerThread * maxThreads

// A forCall is the state of one parallel call. Its ranges are claimed by
// incrementing the next field of word with a CompareAndSwap, so each range
// is run exactly once, by a worker or by the caller; the caller runs
// every range nobody has claimed and then waits only for those workers
// have claimed (which are running). Records are reused (forCalls): a
// worker holding a stale pointer can claim nothing from a finished call
// (next == parts), and the generation in word makes its CompareAndSwap
// fail once the record has been reused.
type forCall struct {
	// word is gen<<32 | parts<<16 | next.
	word atomic.Uint64
	// state counts finished ranges; the caller sets sleeping in it
	// before blocking on done, and the worker finishing the last range
	// then sends on done.
	state atomic.Uint32
	done  chan struct{}

	body            Body
	n, grain, parts int
	blocks          int
	gen             uint32
}

const sleeping = 1 << 31

var (
	// posted is the latest call with ranges to give away; workers poll it.
	// A call overwritten by a later one before its ranges were claimed
	// still completes: its caller runs them.
	posted atomic.Pointer[forCall]
	// parked counts workers blocked on wake; a caller that posts a call
	// sends on wake once per range it wants help with.
	parked atomic.Int32
	wake   = make(chan struct{}, maxThreads)

	workersMu sync.Mutex
	nWorkers  atomic.Int32

	forCalls freeList[forCall]
)

// waitForWorkers makes the caller run only the first range of a call and
// wait for workers to run the others (the split before issue 13), for
// BenchmarkParallelCrossover's comparison.
var waitForWorkers = false

// spinFor is how long an idle worker polls posted before parking, and how
// long a caller polls for its workers' ranges before blocking. Between two
// parallel calls of a train step there is often serial work (the generated
// elementwise loops) of more than 50 µs; a worker parked there takes tens of
// µs to wake for the next GEMM, and the caller meanwhile runs its ranges
// alone. 1 ms (about what OpenMP runtimes spin by default) keeps the
// workers awake across a step: measured on AMD Zen 4, 2 cores, 2 threads,
// 50 µs → 1 ms took LeNet's step 25.6 → 21.8 ms, the transformer block's
// 31.4 → 25.4 ms, L 10.8 → 9.2 ms, M 1.60 → 1.48 ms (medians of 4–7
// alternating runs). The cost is at most 1 ms of one core's time after the
// last parallel call.
const spinFor = 1000 * time.Microsecond

func forParallel(n, grain, blocks, parts, threads int, body Body) {
	ensureWorkers(min(threads, parts) - 1)
	c := forCalls.get()
	if c.done == nil {
		c.done = make(chan struct{}, 1)
	}
	c.body, c.n, c.grain, c.parts, c.blocks = body, n, grain, parts, blocks
	c.gen++
	c.state.Store(0)
	c.word.Store(uint64(c.gen)<<32 | uint64(parts)<<16) // publishes the call
	posted.Store(c)
	if p := int(parked.Load()); p > 0 {
		for i := min(p, threads-1, parts-1); i > 0; i-- {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
	if waitForWorkers {
		if i, ok := c.claim(c.word.Load()); ok {
			c.run(i)
		}
	} else {
		for {
			i, ok := c.claim(c.word.Load())
			if !ok {
				break
			}
			c.run(i)
		}
	}
	c.wait()
	posted.CompareAndSwap(c, nil)
	c.body = nil // do not keep the caller's data alive
	forCalls.put(c)
}

// claim takes the next range of the call whose word was w, if it has one
// and w is still current.
func (c *forCall) claim(w uint64) (int, bool) {
	for {
		next, parts := w&0xffff, (w>>16)&0xffff
		if next >= parts {
			return 0, false
		}
		if c.word.CompareAndSwap(w, w+1) {
			return int(next), true
		}
		w2 := c.word.Load()
		if w2>>32 != w>>32 {
			return 0, false // the record was reused
		}
		w = w2
	}
}

// run runs range i (claimed) and counts it finished.
func (c *forCall) run(i int) {
	lo := i * c.blocks / c.parts * c.grain
	hi := min((i+1)*c.blocks/c.parts*c.grain, c.n)
	parts := uint32(c.parts)
	c.body.Run(lo, hi)
	// After this Add the caller may return and reuse c: touch only done,
	// and only when the caller is blocked on it.
	if c.state.Add(1) == parts|sleeping {
		c.done <- struct{}{}
	}
}

// wait returns when every range of the call has finished, after the
// caller has run every range it could claim.
func (c *forCall) wait() {
	parts := uint32(c.parts)
	if c.state.Load() == parts {
		return
	}
	deadline := time.Now().Add(spinFor)
	for i := 1; ; i++ {
		if c.state.Load() == parts {
			return
		}
		if i%64 == 0 && time.Now().After(deadline) {
			break
		}
	}
	for {
		s := c.state.Load()
		if s == parts {
			return
		}
		if c.state.CompareAndSwap(s, s|sleeping) {
			<-c.done
			return
		}
	}
}

// ensureWorkers starts persistent workers until there are at least n.
func ensureWorkers(n int) {
	if int(nWorkers.Load()) >= n {
		return
	}
	workersMu.Lock()
	for int(nWorkers.Load()) < n {
		nWorkers.Add(1)
		go worker()
	}
	workersMu.Unlock()
}

// worker runs ranges of posted calls: it polls posted for spinFor after
// its last range (yielding its P now and then so that other goroutines
// are not held up), then parks until a caller wakes it.
func worker() {
	for {
		idleSince := time.Now()
		for i := 1; ; i++ {
			if c := posted.Load(); c != nil {
				if j, ok := c.claim(c.word.Load()); ok {
					c.run(j)
					idleSince = time.Now()
					continue
				}
			}
			if i%64 == 0 {
				if time.Since(idleSince) > spinFor {
					break
				}
				if i%1024 == 0 {
					runtime.Gosched()
				}
			}
		}
		parked.Add(1)
		// A call posted before the Add above is seen here; one posted
		// after it sees parked > 0 and sends on wake.
		if c := posted.Load(); c != nil && c.claimable() {
			parked.Add(-1)
			continue
		}
		<-wake
		parked.Add(-1)
	}
}

// claimable reports whether c has a range nobody has claimed.
func (c *forCall) claimable() bool {
	w := c.word.Load()
	return w&0xffff < (w>>16)&0xffff
}

// gemmPart is the Body of gemmParallel: range [lo, hi) of its parts, each
// one rectangle of C.
type gemmPart[T float] struct {
	ks             *kernelSet[T]
	transA, transB bool
	transC         bool // C stored transposed (see gemmBlocked)
	byRows         bool
	tiles, unit    int // micro-tiles along the split dimension, their size
	dim, parts     int
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
}

func (g *gemmPart[T]) Run(lo, hi int) {
	pool := poolFor[T]()
	ws := pool.get()
	for i := lo; i < hi; i++ {
		g.runPart(ws, i)
	}
	pool.put(ws)
}

func (g *gemmPart[T]) runPart(ws *workspace[T], i int) {
	lo := min(i*g.tiles/g.parts*g.unit, g.dim)
	hi := min((i+1)*g.tiles/g.parts*g.unit, g.dim)
	m, n, a, b, c := g.m, g.n, g.a, g.b, g.c
	rowOff, colOff := lo*g.ldc, lo // offsets in c of row lo and column lo
	if g.transC {
		rowOff, colOff = lo, lo*g.ldc
	}
	if g.byRows {
		m = hi - lo
		c = c[rowOff:]
		if g.transA {
			a = a[lo:]
		} else {
			a = a[lo*g.lda:]
		}
	} else {
		n = hi - lo
		c = c[colOff:]
		if g.transB {
			b = b[lo*g.ldb:]
		} else {
			b = b[lo:]
		}
	}
	gemmBlocked(g.ks, ws, g.transA, g.transB, g.transC, m, n, g.k, g.alpha, a, g.lda, b, g.ldb, g.beta, c, g.ldc)
}

var (
	gemmParts32 freeList[gemmPart[float32]]
	gemmParts64 freeList[gemmPart[float64]]
)

func gemmPartsFor[T float]() *freeList[gemmPart[T]] {
	if is32[T]() {
		return any(&gemmParts32).(*freeList[gemmPart[T]])
	}
	return any(&gemmParts64).(*freeList[gemmPart[T]])
}

// gemmParallel splits C into up to threads rectangles along whichever of m, n
// has more micro-tiles, with boundaries on micro-tile multiples, and runs
// them with For. Every part uses the same kernel set and the same k
// blocking, and each C element is computed by the same instruction sequence
// regardless of where tiles fall, so the result is bit-identical to the
// serial one, whoever runs which part. It returns false (doing nothing) if
// the shape has fewer than two tiles to split.
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
	fl := gemmPartsFor[T]()
	g := fl.get()
	*g = gemmPart[T]{ks: ks, transA: transA, transB: transB, transC: transC, byRows: byRows,
		tiles: tiles, unit: unit, dim: dim, parts: parts, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	forParallel(parts, 1, parts, parts, threads, g)
	g.a, g.b, g.c = nil, nil, nil // do not keep the caller's matrices alive
	fl.put(g)
	return true
}
