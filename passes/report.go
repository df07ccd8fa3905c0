package passes

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ProgramStats measures a lowered program, for the report.
type ProgramStats struct {
	Forward, Backward, Predict int // kernels
	// Unfused is the number of kernels with one value per kernel (what the
	// program has with the fuse pass disabled).
	Unfused   int
	Residuals ResidualStats
	// ArenaBytes is the training step's arenas (Plan); NaiveBytes one
	// buffer per computed value of it. PredictArenaBytes is Predict's.
	ArenaBytes, NaiveBytes, PredictArenaBytes int64
	InPlace                                   int
	Capacity                                  map[string]int
}

func programStats(p *Program) *ProgramStats {
	st := &ProgramStats{Forward: len(p.Forward), Backward: len(p.Backward), Predict: len(p.Predict),
		Residuals: residualStats(p.Graph, PartitionGraph(p.Graph))}
	u := lowerKernels(p.Graph, false)
	st.Unfused = u.Kernels()
	st.Capacity = map[string]int{}
	for _, d := range p.Graph.Dims {
		st.Capacity[d] = DefaultCapacity
		if p.Plan != nil {
			if n, ok := p.Plan.Capacity[d]; ok {
				st.Capacity[d] = n
			}
		}
	}
	if p.Plan != nil {
		st.ArenaBytes, st.NaiveBytes, st.InPlace = p.Plan.ArenaBytes, p.Plan.NaiveBytes, p.Plan.InPlace
	}
	if p.PredictPlan != nil {
		st.PredictArenaBytes = p.PredictPlan.ArenaBytes
	}
	return st
}

// String prints the report for people (bpgen -explain): values (and
// kernels) after each pass, what grad, simplify and remat did, the
// residuals with and without remat, and the arena against one buffer per
// value.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Passes {
		switch {
		case p.Disabled:
			fmt.Fprintf(&b, "pass %-10s disabled\n", p.Name)
		case p.Kernels > 0:
			fmt.Fprintf(&b, "pass %-10s %5d values %5d kernels\n", p.Name, p.Values, p.Kernels)
		default:
			fmt.Fprintf(&b, "pass %-10s %5d values\n", p.Name, p.Values)
		}
	}
	if r.Grad != nil {
		b.WriteString(r.Grad.String() + "\n")
	}
	if r.Simplify != nil {
		b.WriteString(r.Simplify.String() + "\n")
	}
	if r.Remat != nil {
		b.WriteString(r.Remat.String())
	}
	if s := r.Program; s != nil {
		fmt.Fprintf(&b, "kernels: forward %d, backward %d, predict %d (%d without fusion)\n", s.Forward, s.Backward, s.Predict, s.Unfused)
		fmt.Fprintf(&b, "residuals: %d values, %s bytes (%s kept for the backward pass alone): %s\n",
			s.Residuals.Count, s.Residuals.Bytes, s.Residuals.Saved, strings.Join(s.Residuals.Names, " "))
		var caps []string
		for _, d := range slices.Sorted(maps.Keys(s.Capacity)) {
			caps = append(caps, fmt.Sprintf("%s=%d", d, s.Capacity[d]))
		}
		fmt.Fprintf(&b, "arena at capacity %s: %d B for training (one buffer per value: %d B, %d in place), %d B for predict\n",
			strings.Join(caps, " "), s.ArenaBytes, s.NaiveBytes, s.InPlace, s.PredictArenaBytes)
	}
	return b.String()
}
