package kernels

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countBody counts how often each index is run and records whether every
// range is a whole number of grains (but the last).
type countBody struct {
	hits  []atomic.Int32
	grain int
	bad   atomic.Int32 // a range that does not start on a grain boundary
}

func (b *countBody) Run(lo, hi int) {
	if lo%b.grain != 0 || (hi%b.grain != 0 && hi != len(b.hits)) || lo >= hi {
		b.bad.Add(1)
	}
	for i := lo; i < hi; i++ {
		b.hits[i].Add(1)
	}
}

// TestForCoversOnce checks that For runs every index exactly once, on
// ranges aligned to the grain, for sizes around the inline threshold and
// thread counts from 1 to more than the cores.
func TestForCoversOnce(t *testing.T) {
	defer SetThreads(SetThreads(0))
	for _, th := range []int{1, 2, 3, 8} {
		SetThreads(th)
		for _, tc := range []struct{ n, grain int }{
			{0, 1}, {1, 1}, {2, 1}, {7, 3}, {100, 1}, {100, 7}, {1000, 0}, {1 << 16, 1000}, {5, 10},
		} {
			b := &countBody{hits: make([]atomic.Int32, tc.n), grain: max(tc.grain, 1)}
			For(tc.n, tc.grain, b)
			if b.bad.Load() != 0 {
				t.Errorf("threads=%d n=%d grain=%d: a range not on grain boundaries", th, tc.n, tc.grain)
			}
			for i := range b.hits {
				if h := b.hits[i].Load(); h != 1 {
					t.Fatalf("threads=%d n=%d grain=%d: index %d run %d times", th, tc.n, tc.grain, i, h)
				}
			}
		}
	}
}

// nestBody calls For from inside a range (as a generated kernel calling
// Sgemm from a For body would).
type nestBody struct {
	inner []*countBody
}

func (b *nestBody) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		For(len(b.inner[i].hits), 4, b.inner[i])
	}
}

// TestForConcurrentNested runs For from several goroutines at once, each
// nesting For calls inside its ranges, with more threads than cores.
func TestForConcurrentNested(t *testing.T) {
	defer SetThreads(SetThreads(4))
	errs := make(chan string, 6)
	for g := 0; g < 6; g++ {
		go func() {
			for it := 0; it < 50; it++ {
				nb := &nestBody{}
				for j := 0; j < 9; j++ {
					nb.inner = append(nb.inner, &countBody{hits: make([]atomic.Int32, 37+j*11), grain: 4})
				}
				For(len(nb.inner), 1, nb)
				for j, cb := range nb.inner {
					for i := range cb.hits {
						if h := cb.hits[i].Load(); h != 1 {
							errs <- fmt.Sprintf("goroutine %d iteration %d: inner %d index %d run %d times", g, it, j, i, h)
							return
						}
					}
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 6; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// sumBody is the reduction pattern of For's doc comment: a partial sum
// per fixed chunk.
type sumBody struct {
	x, partial []float32
}

const sumChunk = 1000

func (b *sumBody) Run(lo, hi int) {
	for c := lo; c < hi; c++ {
		var s float32
		for _, v := range b.x[c*sumChunk : min((c+1)*sumChunk, len(b.x))] {
			s += v
		}
		b.partial[c] = s
	}
}

func (b *sumBody) sum() float32 {
	For(len(b.partial), 1, b)
	var s float32
	for _, p := range b.partial {
		s += p
	}
	return s
}

// TestForReductionDeterministic checks the documented reduction pattern
// gives the same bits at every thread count.
func TestForReductionDeterministic(t *testing.T) {
	defer SetThreads(SetThreads(0))
	x := make([]float32, 123457)
	for i := range x {
		x[i] = 1 / float32(i%97+1)
	}
	b := &sumBody{x: x, partial: make([]float32, (len(x)+sumChunk-1)/sumChunk)}
	SetThreads(1)
	want := b.sum()
	for _, th := range []int{2, 3, 8} {
		SetThreads(th)
		for it := 0; it < 20; it++ {
			if got := b.sum(); got != want {
				t.Fatalf("threads=%d: sum %v, want %v (threads=1)", th, got, want)
			}
		}
	}
}

// TestForZeroAllocs checks that For with a heap-held Body allocates
// nothing, inline and split.
func TestForZeroAllocs(t *testing.T) {
	defer SetThreads(SetThreads(0))
	b := &countBody{hits: make([]atomic.Int32, 1<<12), grain: 64}
	for _, th := range []int{1, 2} {
		SetThreads(th)
		For(len(b.hits), b.grain, b) // starts the workers
		if a := testing.AllocsPerRun(100, func() { For(len(b.hits), b.grain, b) }); a != 0 {
			t.Errorf("threads=%d: For allocates %v times per call", th, a)
		}
	}
}

// TestThreadsFollowsGOMAXPROCS checks the default thread count.
func TestThreadsFollowsGOMAXPROCS(t *testing.T) {
	defer SetThreads(SetThreads(0))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	if got := Threads(); got != 3 {
		t.Errorf("default Threads() with GOMAXPROCS 3 = %d", got)
	}
	SetThreads(5)
	if got := Threads(); got != 5 {
		t.Errorf("Threads() after SetThreads(5) = %d", got)
	}
}

// spinBody does about n ns of arithmetic per index, for BenchmarkFor.
type spinBody struct {
	out []float64
}

func (b *spinBody) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		x := float64(i)
		for j := 0; j < 100; j++ {
			x = x*0.999 + 1
		}
		b.out[i] = x
	}
}

// BenchmarkFor times For over loops of about 8 µs to 4 ms of work (a chain
// of 100 multiply-adds per index) at 1 and 2 threads, and reports the
// fastest call (min-ns/op: the time when nothing else held the cores):
//
//	go test -run='^$' -bench='^BenchmarkFor$' -count=6 ./runtime/kernels/ | benchstat -col /threads -
func BenchmarkFor(b *testing.B) {
	for _, n := range []int{64, 256, 1024, 4096, 32768} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("n=%d/threads=%d", n, th), func(b *testing.B) {
				defer SetThreads(SetThreads(th))
				body := &spinBody{out: make([]float64, n)}
				For(n, 16, body)
				b.ReportAllocs()
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					For(n, 16, body)
					best = min(best, time.Since(t0))
				}
				b.ReportMetric(float64(best.Nanoseconds()), "min-ns/op")
			})
		}
	}
}
