package dist

import (
	"fmt"
	"sync"
)

// NewGroup returns the communicators of size ranks that are goroutines of
// this process: comms[r] is rank r's, to be used by one goroutine each.
// Sums add the ranks' buffers in rank order, so every rank gets the same
// bits. It is for tests of a trainer without MPI; a rank that stops
// calling makes the others wait for ever.
func NewGroup(size int) []Comm {
	if size < 1 {
		panic(fmt.Sprintf("dist: NewGroup(%d): the size must be positive", size))
	}
	g := &group{size: size, bufs: make([]any, size)}
	g.cond = sync.NewCond(&g.mu)
	comms := make([]Comm, size)
	for r := range comms {
		comms[r] = &groupComm{g: g, rank: r}
	}
	return comms
}

type group struct {
	size    int
	mu      sync.Mutex
	cond    *sync.Cond
	arrived int
	gen     uint64
	bufs    []any // each rank's buffer in the current collective
}

// barrier waits until every rank has reached it.
func (g *group) barrier() {
	g.mu.Lock()
	gen := g.gen
	g.arrived++
	if g.arrived == g.size {
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
	} else {
		for gen == g.gen {
			g.cond.Wait()
		}
	}
	g.mu.Unlock()
}

type groupComm struct {
	g       *group
	rank    int
	tmp32   []float32
	tmp64   []float64
	stopped bool
}

func (c *groupComm) Rank() int { return c.rank }
func (c *groupComm) Size() int { return c.g.size }

// collective runs one collective: every rank posts buf, then compute reads
// every rank's buffer (into this rank's scratch), then, once no rank reads
// any more, finish writes this rank's buf.
func collective[T Float](c *groupComm, name string, buf []T, compute func(bufs []any) error, finish func()) error {
	if c.stopped {
		return fmt.Errorf("dist: %s after Close", name)
	}
	g := c.g
	g.mu.Lock()
	g.bufs[c.rank] = buf
	g.mu.Unlock()
	g.barrier()
	err := compute(g.bufs)
	g.barrier()
	if err == nil {
		finish()
	}
	g.barrier()
	return err
}

func groupSum[T Float](c *groupComm, buf []T, tmp *[]T) error {
	if len(*tmp) < len(buf) {
		*tmp = make([]T, len(buf))
	}
	t := (*tmp)[:len(buf)]
	return collective(c, "AllReduceSum", buf, func(bufs []any) error {
		clear(t)
		for r, b := range bufs {
			o, ok := b.([]T)
			if !ok || len(o) != len(buf) {
				return fmt.Errorf("dist: AllReduceSum: rank %d has %d elements but rank %d has a %T of %d", c.rank, len(buf), r, b, len(o))
			}
			for i, v := range o {
				t[i] += v
			}
		}
		return nil
	}, func() { copy(buf, t) })
}

func groupBcast[T Float](c *groupComm, buf []T, tmp *[]T) error {
	if len(*tmp) < len(buf) {
		*tmp = make([]T, len(buf))
	}
	t := (*tmp)[:len(buf)]
	return collective(c, "Broadcast", buf, func(bufs []any) error {
		o, ok := bufs[0].([]T)
		if !ok || len(o) != len(buf) {
			return fmt.Errorf("dist: Broadcast: rank %d has %d elements but rank 0 has a %T of %d", c.rank, len(buf), bufs[0], len(o))
		}
		copy(t, o)
		return nil
	}, func() { copy(buf, t) })
}

func (c *groupComm) AllReduceSum32(buf []float32) error { return groupSum(c, buf, &c.tmp32) }
func (c *groupComm) AllReduceSum64(buf []float64) error { return groupSum(c, buf, &c.tmp64) }
func (c *groupComm) Broadcast32(buf []float32) error    { return groupBcast(c, buf, &c.tmp32) }
func (c *groupComm) Broadcast64(buf []float64) error    { return groupBcast(c, buf, &c.tmp64) }

// Close marks this rank's communicator unusable; the other ranks are not
// told (a collective they start without this rank waits for ever).
func (c *groupComm) Close() error {
	c.stopped = true
	return nil
}
