package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
)

// ReadmeStepTimes are the train-step times of README's Performance table
// (one process on both cores of this project's machines, every pass on):
// the compute per step of the scaling model.
var ReadmeStepTimes = map[string]time.Duration{
	"m": 1010 * time.Microsecond,
	"l": 6100 * time.Microsecond,
}

// Workers and LinksGbit are the cluster sizes and link speeds (Gbit/s) of
// the scaling model.
var (
	Workers   = []int{2, 8, 64}
	LinksGbit = []float64{10, 100}
)

// GradElems is the number of parameters (and of gradient elements) of a
// benchmark model: Σ in·out + out over its layers.
func GradElems(s benchmodels.Spec) int {
	n := 0
	for i := 1; i < len(s.Layers); i++ {
		n += s.Layers[i-1]*s.Layers[i] + s.Layers[i]
	}
	return n
}

// RingBytes is what each worker sends (and receives) in a ring all-reduce
// of a vector of size bytes over p workers: a reduce-scatter and an
// all-gather, each p−1 steps of size/p bytes.
func RingBytes(p int, size float64) float64 { return 2 * float64(p-1) / float64(p) * size }

// Row is the scaling model of one model, worker count and link.
type Row struct {
	Model          string
	Workers        int
	Gbit           float64
	Compute, Comm  time.Duration // per step: the train step on a worker's batch; the ring all-reduce at link speed
	Weak           float64       // speedup over one worker, each worker keeping the benchmark batch (global batch p·B): p·c/(c+a)
	WeakOverlapped float64       // the same with the all-reduce overlapped with the backward pass (⅔ of the step): p·c/(c+max(0, a−⅔c))
	Strong         float64       // speedup with the global batch fixed at B (B/p per worker, compute assumed linear in the batch): c/(c/p+a)
}

// Scaling computes the rows of the scaling model from the compute per step
// of each model (on its benchmark batch): bandwidth only, no latency term
// (a ring all-reduce also costs 2(p−1) message latencies, ~10 µs each over
// TCP, which at p = 64 adds ~1.3 ms: a reason to bucket, not to send one
// tensor at a time).
func Scaling(step map[string]time.Duration) []Row {
	var rows []Row
	for _, s := range benchmodels.Specs {
		c, ok := step[s.Name]
		if !ok {
			continue
		}
		bytes := float64(4 * GradElems(s))
		for _, g := range LinksGbit {
			for _, p := range Workers {
				a := time.Duration(RingBytes(p, bytes) / (g * 1e9 / 8) * 1e9)
				cs, as := c.Seconds(), a.Seconds()
				rows = append(rows, Row{
					Model: strings.ToUpper(s.Name), Workers: p, Gbit: g, Compute: c, Comm: a,
					Weak:           float64(p) * cs / (cs + as),
					WeakOverlapped: float64(p) * cs / (cs + max(0, as-2*cs/3)),
					Strong:         cs / (cs/float64(p) + as),
				})
			}
		}
	}
	return rows
}

// BreakEvenBatch is the per-worker batch at which a step's compute equals
// its ring all-reduce for large p, for a ReLU MLP: the step costs about
// 6·B·P flops (forward 2BP, backward 4BP) at flops/s, the all-reduce
// 2·4P bytes at the link's bytes/s, so B = 8·flops / (6·bytes/s),
// whatever the size P of the model.
func BreakEvenBatch(flops, bytesPerSec float64) float64 { return 8 * flops / (6 * bytesPerSec) }

// ScalingTable is the scaling model as README shows it: a Markdown table
// and the break-even batches.
func ScalingTable(step map[string]time.Duration) string {
	var b strings.Builder
	b.WriteString("| model | gradient | workers | link | compute/step | ring all-reduce | weak scaling (speedup, efficiency) | … overlapped with backward | strong scaling (global batch B) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range Scaling(step) {
		var s benchmodels.Spec
		for _, sp := range benchmodels.Specs {
			if strings.ToUpper(sp.Name) == r.Model {
				s = sp
			}
		}
		fmt.Fprintf(&b, "| %s | %.2f MB | %d | %g Gbit/s | %.2f ms | %.2f ms | %.1f× (%.0f%%) | %.1f× (%.0f%%) | %.2f× |\n",
			r.Model, float64(4*GradElems(s))/1e6, r.Workers, r.Gbit, ms(r.Compute), ms(r.Comm),
			r.Weak, 100*r.Weak/float64(r.Workers), r.WeakOverlapped, 100*r.WeakOverlapped/float64(r.Workers), r.Strong)
	}
	b.WriteString("\n")
	for _, s := range benchmodels.Specs {
		c, ok := step[s.Name]
		if !ok {
			continue
		}
		flops := 6 * float64(s.Batch) * float64(GradElems(s)) / c.Seconds()
		fmt.Fprintf(&b, "%s: %.0f GFLOP/s per worker (6·B·P flops per step, B = %d); compute equals the all-reduce at a per-worker batch of", strings.ToUpper(s.Name), flops/1e9, s.Batch)
		for i, g := range LinksGbit {
			if i > 0 {
				b.WriteString(" and")
			}
			fmt.Fprintf(&b, " %.0f at %g Gbit/s", BreakEvenBatch(flops, g*1e9/8), g)
		}
		b.WriteString(".\n")
	}
	return b.String()
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }
