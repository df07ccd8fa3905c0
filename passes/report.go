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
	// ArenaFormula is the training arena's bytes as a function of the
	// model's symbolic dim, a·n + b, when the model has exactly one and
	// planning at 1, 2 and 3 times its capacity fits that line exactly
	// (it does unless the packing changes shape with the size); "" otherwise.
	ArenaFormula string
	// ArenaBySize is the training arena's bytes planned at a quarter, half
	// and all of the capacity of the model's one symbolic dim (shown when
	// the arena is not one line: best fit packs differently as sizes grow).
	ArenaBySize [][2]int64
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
	st.ArenaFormula, st.ArenaBySize = arenaFormula(p, st.Capacity)
	return st
}

// arenaFormula fits the training arena's bytes to a·n + b by planning at
// 1, 2 and 3 times the capacity of the model's one symbolic dim.
func arenaFormula(p *Program, capacity map[string]int) (string, [][2]int64) {
	g := p.Graph
	if p.Plan == nil || len(g.Dims) != 1 {
		return "", nil
	}
	dim := g.Dims[0]
	c := int64(capacity[dim])
	timeline := append(slices.Clone(p.Forward), p.Backward...)
	at := func(n int64) int64 {
		return planBuffers(g, timeline, map[string]int{dim: int(n)}, p.Plan.Packed).ArenaBytes
	}
	var bytes [3]int64
	for k := range bytes {
		bytes[k] = at(c * int64(k+1))
	}
	a := (bytes[1] - bytes[0]) / c
	b := bytes[0] - a*c
	if a*c == bytes[1]-bytes[0] && bytes[2] == a*3*c+b {
		return fmt.Sprintf("%d·%s + %d", a, dim, b), nil
	}
	var table [][2]int64
	for _, n := range []int64{c / 4, c / 2, c} {
		if n > 0 {
			table = append(table, [2]int64{n, at(n)})
		}
	}
	return "", table
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
		if s.ArenaFormula != "" {
			fmt.Fprintf(&b, "training arena as a function of the batch: %s bytes\n", s.ArenaFormula)
		} else if len(s.ArenaBySize) > 0 {
			var parts []string
			for _, e := range s.ArenaBySize {
				parts = append(parts, fmt.Sprintf("%d B at %d", e[1], e[0]))
			}
			fmt.Fprintf(&b, "training arena by batch (piecewise linear: best fit packs differently as sizes grow): %s\n", strings.Join(parts, ", "))
		}
	}
	return b.String()
}
