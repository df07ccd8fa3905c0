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
}

// Lower partitions, fuses, schedules and plans a joint graph (the result
// of the graph passes of Compile). The graph is not modified. Passes named
// in opts.Disable are skipped: without "fuse" every value is its own
// kernel; without "plan" every buffer gets its own region.
func Lower(g *ir.Graph, opts Options) (*Program, error) {
	c := &Context{Graph: g, Report: &Report{}, Options: opts}
	for _, p := range Pipeline {
		if !p.lowering {
			continue
		}
		if err := runPass(c, p); err != nil {
			return nil, err
		}
	}
	c.Program.Report = c.Report
	return c.Program, nil
}

// lower builds the program's kernels (fused or not).
func lowerKernels(g *ir.Graph, fuse bool) *Program {
	part := PartitionGraph(g)
	prog := &Program{Graph: g, Residuals: part.Residuals}
	prog.Forward = buildKernels(g, part.Forward, part.Kept, fuse)
	prog.Backward = buildKernels(g, part.Backward, part.Kept, fuse)
	predKept := make([]bool, len(g.Values))
	for _, o := range g.Outputs {
		if o.Grad == "" {
			predKept[o.Value.ID] = true
		}
	}
	prog.Predict = buildKernels(g, part.Predict, predKept, fuse)
	return prog
}

// planProgram makes the buffer plans of prog.
func planProgram(prog *Program, capacity map[string]int, pack bool) {
	g := prog.Graph
	part := PartitionGraph(g)
	timeline := append(slices.Clone(prog.Forward), prog.Backward...)
	prog.Plan = planBuffers(g, timeline, capacity, pack)
	pg := *g // Predict's results are its non-gradient outputs only
	pg.Outputs = nil
	pg.Objective = nil
	for _, o := range g.Outputs {
		if o.Grad == "" && part.Predict[o.Value.ID] {
			pg.Outputs = append(pg.Outputs, o)
		}
	}
	prog.PredictPlan = planBuffers(&pg, prog.Predict, capacity, pack)
}

// Kernels counts the kernels of all three entry points.
func (p *Program) Kernels() int { return len(p.Forward) + len(p.Backward) + len(p.Predict) }

// Check verifies the invariants documented on Program and Kernel.
func (p *Program) Check() error {
	part := PartitionGraph(p.Graph)
	resid := map[*ir.Value]bool{}
	for _, r := range p.Residuals {
		resid[r] = true
	}
	for _, list := range []struct {
		name string
		ks   []*Kernel
		in   []bool
	}{{"forward", p.Forward, part.Forward}, {"backward", p.Backward, part.Backward}, {"predict", p.Predict, part.Predict}} {
		have := map[*ir.Value]bool{}
		done := map[*ir.Value]bool{}
		for ki, k := range list.ks {
			where := fmt.Sprintf("%s kernel %d (%s)", list.name, ki, k)
			if len(k.Values) == 0 || k.Root == nil || !slices.Contains(k.Values, k.Root) {
				return fmt.Errorf("program: %s: no values or root outside them", where)
			}
			for i, v := range k.Values {
				if hasNoKernel(v) {
					return fmt.Errorf("program: %s: computes %s", where, v)
				}
				if i > 0 && k.Values[i-1].ID >= v.ID {
					return fmt.Errorf("program: %s: values out of order", where)
				}
				if done[v] {
					return fmt.Errorf("program: %s: %s is in two kernels", where, v.Ref())
				}
				if !list.in[v.ID] {
					return fmt.Errorf("program: %s: %s is not in the %s program", where, v.Ref(), list.name)
				}
				done[v] = true
				for _, a := range v.Args {
					inK := slices.Contains(k.Values, a)
					if !inK && !have[a] && !hasNoKernel(a) && !(list.name == "backward" && resid[a]) {
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
		for i, in := range list.in {
			if in && !hasNoKernel(p.Graph.Values[i]) && !done[p.Graph.Values[i]] {
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
	for _, list := range []struct {
		name string
		ks   []*Kernel
	}{{"forward", p.Forward}, {"backward", p.Backward}, {"predict", p.Predict}} {
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
