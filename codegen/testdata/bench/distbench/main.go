// Command distbench measures data-parallel training of the M and L
// benchmark models (codegen/testdata/bench/{m,l}) on runtime/dist, and
// prints the scaling model of README's "Data-parallel training" section.
//
// Under mpirun (built with -tags mpi) it times, on every rank at once, the
// all-reduce of the whole gradient vector (AllReduceGrads: MPI_Allreduce
// and the 1/p scaling), the train step without it (Forward, Backward,
// Apply: what one process does) and with it, and checks that the
// distributed step allocates nothing:
//
//	go build -C codegen/testdata/bench -tags mpi -o /tmp/distbench ./distbench
//	mpirun -np 2 --oversubscribe /tmp/distbench -threads 1
//
// In one process (no mpirun) the all-reduce is Local's (it does nothing);
// -scaling prints the scaling model alone, computed from the step times
// of README's Performance table (ScalingTable):
//
//	go run -C codegen/testdata/bench ./distbench -scaling
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/testdata/bench/l"
	"github.com/bpgen/bpgen/codegen/testdata/bench/m"
	"github.com/bpgen/bpgen/runtime/dist"
	"github.com/bpgen/bpgen/runtime/kernels"
)

// model is what distbench needs of a generated float32 model.
type model interface {
	ParamVector() []float32
	GradVector() []float32
	Apply() error
}

// bench is one benchmark model with its forward and backward on a fixed
// batch.
type bench struct {
	spec     benchmodels.Spec
	m        model
	specs    []dist.ParamSpec
	fwdBwd   func() error
	source   string
	itersFor int // iterations of each timed loop
}

func newBench(spec benchmodels.Spec) (*bench, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, spec.Batch*spec.Layers[0])
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, spec.Batch)
	for i := range y {
		y[i] = int32(rng.IntN(spec.Layers[len(spec.Layers)-1]))
	}
	b := &bench{spec: spec}
	opt := benchOptimizer
	switch spec.Name {
	case "m":
		mm, err := m.New(m.Config{MaxN: spec.Batch, Seed: 1, Optimizer: opt})
		if err != nil {
			return nil, err
		}
		in := m.Inputs{X: x, Y: y, N: spec.Batch}
		b.m, b.source, b.itersFor = mm, m.Source, 200
		for _, t := range mm.Tensors() {
			b.specs = append(b.specs, dist.ParamSpec{Name: t.Name, Shape: t.Shape})
		}
		b.fwdBwd = func() error {
			if _, err := mm.Forward(in); err != nil {
				return err
			}
			return mm.Backward()
		}
	case "l":
		lm, err := l.New(l.Config{MaxN: spec.Batch, Seed: 1, Optimizer: opt})
		if err != nil {
			return nil, err
		}
		in := l.Inputs{X: x, Y: y, N: spec.Batch}
		b.m, b.source, b.itersFor = lm, l.Source, 40
		for _, t := range lm.Tensors() {
			b.specs = append(b.specs, dist.ParamSpec{Name: t.Name, Shape: t.Shape})
		}
		b.fwdBwd = func() error {
			if _, err := lm.Forward(in); err != nil {
				return err
			}
			return lm.Backward()
		}
	default:
		return nil, fmt.Errorf("no benchmark for model %q", spec.Name)
	}
	return b, nil
}

// benchOptimizer is the update of the timed steps.
var benchOptimizer = m.Optimizer{Kind: "sgd", LR: 0.01, Momentum: 0.9}

func main() {
	scaling := flag.Bool("scaling", false, "print the scaling model (from README's step times) and exit")
	threads := flag.Int("threads", 0, "GEMM threads per rank (kernels.SetThreads; 0: GOMAXPROCS)")
	repeats := flag.Int("count", 3, "repetitions of each timed loop")
	memprofile := flag.String("memprofile", "", "write rank 0's allocation profile (every allocation) to this file")
	flag.Parse()
	if *memprofile != "" {
		runtime.MemProfileRate = 1
	}
	log.SetFlags(0)
	if *scaling {
		fmt.Print(ScalingTable(ReadmeStepTimes))
		return
	}
	kernels.SetThreads(*threads)
	c, err := dist.Open()
	if err != nil {
		log.Fatalf("distbench: %v", err)
	}
	err = run(c, *repeats)
	if *memprofile != "" && c.Rank() == 0 {
		if f, perr := os.Create(*memprofile); perr == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if err != nil {
		log.Fatalf("distbench: rank %d: %v", c.Rank(), err)
	}
	if err := c.Close(); err != nil {
		log.Fatalf("distbench: %v", err)
	}
}

// barrier is an all-reduce of one element: every rank leaves it after
// every rank has entered it.
func barrier(c dist.Comm, buf []float32) error { return c.AllReduceSum32(buf[:1]) }

func run(c dist.Comm, repeats int) error {
	out := os.Stdout
	if c.Rank() != 0 {
		out = nil
	}
	printf := func(format string, args ...any) {
		if out != nil {
			fmt.Fprintf(out, format, args...)
		}
	}
	printf("%d rank(s), %d GEMM thread(s) per rank, GOMAXPROCS %d, %s\n", c.Size(), kernels.Threads(), runtime.GOMAXPROCS(0), runtime.Version())
	printf("%-4s %9s %10s  %-22s %10s %8s\n", "", "grad", "elements", "timed", "per op", "allocs")
	one := make([]float32, 1)
	for _, spec := range benchmodels.Specs {
		if spec.Name == "s" {
			continue
		}
		b, err := newBench(spec)
		if err != nil {
			return err
		}
		dp, err := dist.NewDataParallel(c, b.m.ParamVector(), b.m.GradVector(), b.specs, b.source)
		if err != nil {
			return err
		}
		loops := []struct {
			name string
			f    func() error
		}{
			{"all-reduce", dp.AllReduceGrads},
			{"step", func() error {
				if err := b.fwdBwd(); err != nil {
					return err
				}
				return b.m.Apply()
			}},
			{"step + all-reduce", func() error {
				if err := b.fwdBwd(); err != nil {
					return err
				}
				if err := dp.AllReduceGrads(); err != nil {
					return err
				}
				return b.m.Apply()
			}},
		}
		for _, lp := range loops {
			// Warm up until a loop allocates nothing on any rank (the
			// GEMM's workspaces grow to the largest product they see and
			// stop; the ranks agree by an all-reduce, and so run the same
			// number of collectives).
			for try := 0; ; try++ {
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				for range 20 {
					if err := lp.f(); err != nil {
						return err
					}
				}
				runtime.ReadMemStats(&ms1)
				one[0] = float32(ms1.Mallocs - ms0.Mallocs)
				if err := c.AllReduceSum32(one); err != nil {
					return err
				}
				if one[0] == 0 || try == 10 {
					break
				}
			}
			times := make([]time.Duration, 0, repeats)
			var allocs uint64
			for range repeats {
				var ms0, ms1 runtime.MemStats
				if err := barrier(c, one); err != nil {
					return err
				}
				runtime.ReadMemStats(&ms0)
				start := time.Now()
				for range b.itersFor {
					if err := lp.f(); err != nil {
						return err
					}
				}
				// Every rank's loop is done: the slowest sets the time.
				if err := barrier(c, one); err != nil {
					return err
				}
				took := time.Since(start)
				runtime.ReadMemStats(&ms1)
				times = append(times, took/time.Duration(b.itersFor))
				allocs = max(allocs, ms1.Mallocs-ms0.Mallocs)
			}
			if lp.name != "all-reduce" && allocs != 0 {
				return fmt.Errorf("%s: %s allocates %d times in %d iterations", spec.Name, lp.name, allocs, b.itersFor)
			}
			slices.Sort(times)
			printf("%-4s %7.2fMB %10d  %-22s %10v %8.2f   (of %d×%d: %v)\n", spec.Name, float64(4*len(b.m.GradVector()))/1e6, len(b.m.GradVector()),
				lp.name, times[0].Round(time.Microsecond), float64(allocs)/float64(b.itersFor), repeats, b.itersFor, roundAll(times))
		}
	}
	return nil
}

func roundAll(ts []time.Duration) []time.Duration {
	r := make([]time.Duration, len(ts))
	for i, t := range ts {
		r[i] = t.Round(time.Microsecond)
	}
	return r
}
