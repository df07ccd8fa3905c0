package passes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// Program is a joint graph lowered for code generation: its values grouped
// into kernels, in execution order, for each entry point, and the buffers
// they live in.
//
//   - Forward computes the objective, the outputs and the residuals;
//     Backward, run after it, computes the gradients from the residuals,
//     the inputs and the params; Predict computes the outputs that need no
//     target input, with dropout off (its dropout_mask values are ones).
//   - Each list is in a valid execution order: a kernel's Inputs are free
//     values (inputs, params, constants), residuals (for Backward) or
//     Materialized values of earlier kernels of the same list.
//   - Residuals are the Forward values Backward reads (see Partition), in
//     graph order; Forward materializes each of them.
//   - Plan places the values of the training step (Forward then Backward
//     as one timeline, so residuals stay live across the two calls);
//     PredictPlan those of Predict, in an arena of its own (Predict may
//     run between Forward and Backward, so it must not share Plan's).
//     Every materialized value of a timeline has a buffer in its plan
//     (Plan.Of), as does every reshape of one.
//
// See Kernel for the invariants of a kernel.
type Program struct {
	Graph                      *ir.Graph
	Forward, Backward, Predict []*Kernel
	Residuals                  []*ir.Value
	Plan, PredictPlan          *BufferPlan
	Report                     *Report

	// Partition is that of Graph, computed once by the partition pass:
	// which values each entry point needs.
	Partition *Partition
}

// Lower partitions, fuses, schedules and plans a joint graph (the result
// of the graph passes of CompileProgram). The graph is not modified.
// Passes named in opts.Disable are skipped: without "fuse" every value is
// its own kernel; without "plan" every buffer gets its own region.
func Lower(g *ir.Graph, opts Options) (*Program, error) {
	return runPipeline(&Context{Graph: g, Report: &Report{}, Options: opts}, true)
}

// newProgram partitions g into an unlowered program (no kernels yet).
func newProgram(g *ir.Graph) *Program {
	part := PartitionGraph(g)
	return &Program{Graph: g, Residuals: part.Residuals, Partition: part}
}

// lowerKernels builds the kernels of prog's three entry points from its
// partition, one per value (the partition pass).
func lowerKernels(prog *Program) {
	g, part := prog.Graph, prog.Partition
	prog.Forward = buildKernels(g, part.Forward, part.Kept)
	prog.Backward = buildKernels(g, part.Backward, part.Kept)
	prog.Predict = buildKernels(g, part.Predict, prog.predictKept())
}

// fuseProgram fuses the kernels of prog's three entry points (the fuse pass).
func fuseProgram(prog *Program) {
	g, part := prog.Graph, prog.Partition
	prog.Forward = fuseKernels(g, prog.Forward, part.Kept)
	prog.Backward = fuseKernels(g, prog.Backward, part.Kept)
	prog.Predict = fuseKernels(g, prog.Predict, prog.predictKept())
}

// predictKept marks the values Predict returns: they outlive it.
func (prog *Program) predictKept() []bool {
	kept := make([]bool, len(prog.Graph.Values))
	for _, o := range predictOutputs(prog.Graph, prog.Partition) {
		kept[o.Value.ID] = true
	}
	return kept
}

// predictOutputs lists the results of Predict: the non-gradient outputs
// that need no target input, other than state updates.
func predictOutputs(g *ir.Graph, part *Partition) []ir.Output {
	var r []ir.Output
	for _, o := range g.Outputs {
		if o.Grad == "" && o.State == "" && part.Predict[o.Value.ID] {
			r = append(r, o)
		}
	}
	return r
}

// planProgram makes the buffer plans of prog.
func planProgram(prog *Program, capacity map[string]int, pack bool) {
	g := prog.Graph
	timeline := append(slices.Clone(prog.Forward), prog.Backward...)
	prog.Plan = planBuffers(g, timeline, capacity, pack)
	pg := *g // Predict has no objective and returns only its outputs
	pg.Outputs, pg.Objective = predictOutputs(g, prog.Partition), nil
	prog.PredictPlan = planBuffers(&pg, prog.Predict, capacity, pack)
}

type entryPoint struct {
	name string
	ks   []*Kernel
}

// entryPoints lists the kernels of the three entry points, in order.
func (p *Program) entryPoints() []entryPoint {
	return []entryPoint{{"forward", p.Forward}, {"backward", p.Backward}, {"predict", p.Predict}}
}

// Kernels counts the kernels of all three entry points.
func (p *Program) Kernels() int { return len(p.Forward) + len(p.Backward) + len(p.Predict) }

// Check verifies the invariants documented on Program and Kernel.
func (p *Program) Check() error {
	// Partition afresh rather than trust the partition the lowering
	// passes share: a program that does not match its graph shows here.
	part := PartitionGraph(p.Graph)
	if !slices.Equal(p.Residuals, part.Residuals) {
		return fmt.Errorf("program: the residuals are not those of the graph's partition")
	}
	resid := map[*ir.Value]bool{}
	for _, r := range p.Residuals {
		resid[r] = true
	}
	for li, list := range p.entryPoints() {
		inList := [][]bool{part.Forward, part.Backward, part.Predict}[li]
		have := map[*ir.Value]bool{}
		done := map[*ir.Value]bool{}
		for ki, k := range list.ks {
			where := fmt.Sprintf("%s kernel %d (%s)", list.name, ki, k)
			if len(k.Values) == 0 || k.Root == nil || !slices.Contains(k.Values, k.Root) {
				return fmt.Errorf("program: %s: no values or root outside them", where)
			}
			for i, v := range k.Values {
				if isProvided(v) {
					return fmt.Errorf("program: %s: computes %s", where, v)
				}
				if i > 0 && k.Values[i-1].ID >= v.ID {
					return fmt.Errorf("program: %s: values out of order", where)
				}
				if done[v] {
					return fmt.Errorf("program: %s: %s is in two kernels", where, v.Ref())
				}
				if !inList[v.ID] {
					return fmt.Errorf("program: %s: %s is not in the %s program", where, v.Ref(), list.name)
				}
				done[v] = true
				for _, a := range v.Args {
					inK := slices.Contains(k.Values, a)
					if !inK && !have[a] && !isProvided(a) && !(list.name == "backward" && resid[a]) {
						return fmt.Errorf("program: %s: %s reads %s, which is not materialized before", where, v.Ref(), a.Ref())
					}
				}
				switch k.Kind {
				case KernelLoop:
					if v.Op.Class != ir.Elementwise || !v.Type.Shape.Equal(k.Root.Type.Shape) {
						return fmt.Errorf("program: %s: %s does not fit a loop over %v", where, v, k.Root.Type.Shape)
					}
				case KernelReduce:
					if v != k.Root && (v.Op.Class != ir.Elementwise || !v.Type.Shape.Equal(k.Root.Args[0].Type.Shape)) {
						return fmt.Errorf("program: %s: %s does not fit the reduction's loop", where, v)
					}
				case KernelGemm:
					colSum := isColumnSum(v) && slices.Contains(k.Values, v.Args[0]) && slices.Contains(k.Epilogue, v)
					if v != k.Root && !colSum && (v.Op.Class != ir.Elementwise || !v.Type.Equal(k.Root.Type)) {
						return fmt.Errorf("program: %s: %s does not fit the epilogue", where, v)
					}
				case KernelOpaque, KernelAlias:
					if len(k.Values) != 1 {
						return fmt.Errorf("program: %s: more than one value", where)
					}
				}
			}
			for _, v := range k.Materialized {
				have[v] = true
			}
			if k.Kind == KernelAlias {
				have[k.Root] = true
			}
		}
		for i, in := range inList {
			if in && !isProvided(p.Graph.Values[i]) && !done[p.Graph.Values[i]] {
				return fmt.Errorf("program: %s value %s is in no kernel", list.name, p.Graph.Values[i].Ref())
			}
		}
	}
	if p.Plan != nil {
		if err := p.Plan.Check(); err != nil {
			return err
		}
	}
	if p.PredictPlan != nil {
		if err := p.PredictPlan.Check(); err != nil {
			return err
		}
	}
	return nil
}

// String lists the kernels of each entry point, the residuals and the plan.
func (p *Program) String() string {
	var b strings.Builder
	for _, list := range p.entryPoints() {
		fmt.Fprintf(&b, "%s: %d kernels\n", list.name, len(list.ks))
		for _, k := range list.ks {
			b.WriteString("  " + k.String() + "\n")
		}
	}
	var rs []string
	for _, r := range p.Residuals {
		rs = append(rs, r.Ref())
	}
	fmt.Fprintf(&b, "residuals: %s\n", strings.Join(rs, " "))
	if p.Plan != nil {
		b.WriteString("plan (forward+backward):\n")
		b.WriteString(p.Plan.String())
	}
	if p.PredictPlan != nil {
		b.WriteString("plan (predict):\n")
		b.WriteString(p.PredictPlan.String())
	}
	return b.String()
}
