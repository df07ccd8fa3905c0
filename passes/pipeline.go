package passes

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bpgen/bpgen/ir"
)

// Context is what a pass works on: the graph (a pass may replace it) and
// the report it adds to.
type Context struct {
	Graph   *ir.Graph
	Report  *Report
	Options Options
	// Program is set by the lowering passes (partition, fuse, plan), which
	// analyse Graph without changing it.
	Program *Program
}

// A Pass is one named step of the pipeline.
type Pass struct {
	Name     string
	Doc      string
	Required bool // cannot be disabled
	Run      func(*Context) error

	lowering bool           // builds Context.Program rather than rewriting Context.Graph
	skip     func(*Context) // if set, runs instead of Run when the pass is disabled
}

// Options configures CompileProgram.
type Options struct {
	Wrt       []string  // inputs to differentiate besides the params
	Disable   []string  // optional passes to skip
	DumpAfter string    // a pass name, or "all": print the IR after it
	Dump      io.Writer // where dumps go
	// Resume names the pass whose output the graph given to
	// CompileProgram is (a dump's "# after pass NAME" line): only the
	// passes after it run. The lowering passes always run, since they
	// analyse the graph into a Program, which a dump only describes.
	Resume string

	// Checkpoint names values the forward pass saves for the backward
	// pass; every other residual is recomputed (see RematOptions).
	Checkpoint []string
	// MemoryBudget, if positive, bounds the residuals' bytes at the
	// capacity (see RematOptions).
	MemoryBudget int64
	// Capacity gives each symbolic dim's largest value, for sizing buffers
	// and counting bytes; a dim not given has DefaultCapacity.
	Capacity map[string]int
	// ScanCheckpoint, if positive, makes every scan without a checkpoint
	// of its own (dsl.Checkpoint) save only every k-th carry for its
	// backward and recompute the rest segment by segment: saved-carry
	// memory ⌈T/k⌉ + k carries instead of T (k ≈ √T is the minimum).
	ScanCheckpoint int
	// DType, if set (ir.F32 or ir.F64), retargets every float value of
	// the model to it before anything else (the retarget pass).
	DType ir.DType
}

// PassStat records the graph's size after a pass and the pass's time.
type PassStat struct {
	Name     string
	Values   int
	Kernels  int // after a lowering pass: kernels of all entry points
	Disabled bool
	Time     time.Duration // running the pass, without the checks after it
}

// Report says what the pipeline did.
type Report struct {
	Grad     *GradReport
	Simplify *SimplifyReport
	Remat    *RematReport
	Passes   []PassStat
	Program  *ProgramStats // set by the lowering passes
}

// Pipeline is the ordered list of passes CompileProgram runs:
//
//	retarget → grad → simplify → remat → dce → partition → fuse → plan
//
// The first five rewrite the graph (retarget only when Options.DType is
// set); retarget, grad and partition are required; the last three (the lowering passes)
// analyse the final graph into a Program: partition splits it into the
// forward, backward and predict programs with one kernel per value, fuse
// regroups the values into fused kernels, plan schedules them and packs
// their buffers. Every pass is followed by ir.Verify (and, after a
// lowering pass, Program.Check). grad and partition are required; with
// any subset of the others disabled the program still computes the same
// values: without fuse each value is its own kernel, without plan each
// buffer has its own region of the arena.
var Pipeline = []Pass{
	{Name: "retarget", Required: true, Doc: "with Options.DType: every float value of the model in that dtype", Run: retargetPass},
	{Name: "grad", Required: true, Doc: "reverse-mode autodiff: appends the adjoint graph and a gradient output per parameter",
		Run: func(c *Context) error {
			if k := c.Options.ScanCheckpoint; k > 0 {
				for _, v := range c.Graph.Values { // c.Graph is the pipeline's own copy
					if v.Op == ir.OpScan && v.Attrs["checkpoint"] == nil && v.Attrs.Str("remat") == "" {
						v.Attrs["checkpoint"] = k
					}
				}
			}
			g, r, err := Grad(c.Graph, GradOptions{Wrt: c.Options.Wrt})
			if err != nil {
				return err
			}
			c.Graph, c.Report.Grad = g, r
			return nil
		}},
	{Name: "simplify", Doc: "constant folding, CSE, algebraic identities, transposes into matmul flags, broadcasts into elementwise ops, DCE",
		Run: func(c *Context) error {
			r, err := Simplify(c.Graph)
			c.Report.Simplify = r
			return err
		}},
	{Name: "remat", Doc: "recomputes cheap forward values in the backward pass instead of saving them (and honours checkpoints and the memory budget)",
		Run: func(c *Context) error {
			r, err := Remat(c.Graph, RematOptions{Checkpoint: c.Options.Checkpoint, MemoryBudget: c.Options.MemoryBudget, Capacity: c.Options.Capacity})
			c.Report.Remat = r
			return err
		}},
	{Name: "dce", Doc: "dead-code elimination: drops values nothing uses",
		Run: func(c *Context) error { return DCE(c.Graph) }},
	{Name: "partition", Required: true, lowering: true, Doc: "splits the joint graph into forward, backward and predict programs; one kernel per value",
		Run: func(c *Context) error {
			c.Program = newProgram(c.Graph)
			lowerKernels(c.Program)
			return nil
		}},
	{Name: "fuse", lowering: true, Doc: "groups values into kernels: elementwise loops, reductions with their producers, matmul epilogues",
		Run: func(c *Context) error {
			fuseProgram(c.Program)
			return nil
		}},
	{Name: "plan", lowering: true, Doc: "schedules the kernels and packs buffers into one arena per dtype by liveness, in place where possible",
		Run: func(c *Context) error {
			planProgram(c.Program, c.Options.Capacity, true)
			c.Report.Program = programStats(c.Program)
			return nil
		},
		skip: func(c *Context) { // every buffer in a region of its own
			planProgram(c.Program, c.Options.Capacity, false)
			c.Report.Program = programStats(c.Program)
		}},
}

// Lowering reports whether p is a lowering pass: it analyses the graph into
// the Program instead of rewriting the graph, and runs again when the
// pipeline resumes after it (Options.Resume).
func (p Pass) Lowering() bool { return p.lowering }

// passOrder lists ordering constraints of the pipeline, checked at init
// (as Go's SSA backend checks its passOrder): each pass a must run before
// pass b, because b relies on what a does or a would undo b's work.
var passOrder = [...]struct{ a, b, why string }{
	{"retarget", "grad", "the adjoint graph is built in the target dtype"},
	{"grad", "simplify", "simplify cleans up the adjoint graph"},
	{"simplify", "remat", "simplify's CSE would merge remat's recomputed copies back into the forward values"},
	{"remat", "dce", "remat leaves the originals of recomputed values without users"},
	{"dce", "partition", "the partition's programs hold only live values"},
	{"partition", "fuse", "fuse merges partition's kernels"},
	{"fuse", "plan", "the buffer plan places fused kernels' materialized values"},
}

func init() {
	index := map[string]int{}
	for i, p := range Pipeline {
		index[p.Name] = i
	}
	for _, c := range passOrder {
		i, ok1 := index[c.a]
		j, ok2 := index[c.b]
		if !ok1 || !ok2 || i >= j {
			panic(fmt.Sprintf("passes: pass %s must run before %s (%s)", c.a, c.b, c.why))
		}
	}
}

// PassNames lists the pipeline's pass names in order.
func PassNames() []string {
	var r []string
	for _, p := range Pipeline {
		r = append(r, p.Name)
	}
	return r
}

// CompileProgram runs the whole pipeline on a forward graph (not
// modified) and returns the lowered program, whose Graph is the optimized
// joint graph and whose Report says what every pass did.
func CompileProgram(g *ir.Graph, opts Options) (*Program, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	// Checkpoints marked in the model (dsl's Tensor.Checkpoint) join those
	// given as options.
	for _, name := range g.Checkpoints {
		if !slices.Contains(opts.Checkpoint, name) {
			opts.Checkpoint = append(slices.Clip(opts.Checkpoint), name)
		}
	}
	return runPipeline(&Context{Graph: g.Clone(), Report: &Report{}, Options: opts}, false)
}

// runPipeline runs the passes of the pipeline (only the lowering ones if
// loweringOnly, only those after c.Options.Resume if set) on c and returns
// the program, with the report.
func runPipeline(c *Context, loweringOnly bool) (*Program, error) {
	resumed := c.Options.Resume == ""
	for _, p := range Pipeline {
		skip := loweringOnly || !resumed
		resumed = resumed || p.Name == c.Options.Resume
		if skip && !p.lowering {
			continue
		}
		if err := runPass(c, p); err != nil {
			return nil, err
		}
	}
	c.Program.Report = c.Report
	return c.Program, nil
}

// checkOptions rejects unknown or required passes in Disable and an
// unknown DumpAfter.
func checkOptions(opts Options) error {
	for _, d := range opts.Disable {
		i := slices.IndexFunc(Pipeline, func(p Pass) bool { return p.Name == d })
		if i < 0 {
			return fmt.Errorf("cannot disable pass %q: the passes are %s", d, strings.Join(PassNames(), ", "))
		}
		if Pipeline[i].Required {
			return fmt.Errorf("pass %q is required and cannot be disabled", d)
		}
	}
	if opts.DumpAfter != "" && opts.DumpAfter != "all" && !slices.Contains(PassNames(), opts.DumpAfter) {
		return fmt.Errorf("cannot dump after pass %q: the passes are %s (or all)", opts.DumpAfter, strings.Join(PassNames(), ", "))
	}
	if opts.ScanCheckpoint < 0 {
		return fmt.Errorf("scan checkpoint %d: want k ≥ 1 (save every k-th carry), or 0 for every carry", opts.ScanCheckpoint)
	}
	if opts.Resume != "" && !slices.Contains(PassNames(), opts.Resume) {
		return fmt.Errorf("cannot resume after pass %q: the passes are %s", opts.Resume, strings.Join(PassNames(), ", "))
	}
	return nil
}

// runPass runs one pass (or records it as disabled), verifies the graph,
// records its stats and dumps it if asked.
func runPass(c *Context, p Pass) error {
	if slices.Contains(c.Options.Disable, p.Name) {
		c.Report.Passes = append(c.Report.Passes, PassStat{Name: p.Name, Disabled: true})
		if p.skip != nil {
			p.skip(c)
		}
		return nil
	}
	start := time.Now()
	if err := p.Run(c); err != nil {
		return fmt.Errorf("pass %s: %w", p.Name, err)
	}
	st := PassStat{Name: p.Name, Values: len(c.Graph.Values), Time: time.Since(start)}
	if err := ir.Verify(c.Graph); err != nil {
		return fmt.Errorf("pass %s: %w", p.Name, err)
	}
	if c.Program != nil {
		if err := c.Program.Check(); err != nil {
			return fmt.Errorf("pass %s: internal error: %w", p.Name, err)
		}
		st.Kernels = c.Program.Kernels()
	}
	c.Report.Passes = append(c.Report.Passes, st)
	if c.Options.Dump != nil && (c.Options.DumpAfter == "all" || c.Options.DumpAfter == p.Name) {
		if p.lowering {
			// The graph, so that the dump can be compiled again (Resume),
			// then the program as comments.
			fmt.Fprintf(c.Options.Dump, "# after pass %s\n%s", p.Name, ir.Print(c.Graph))
			for _, l := range strings.SplitAfter(strings.TrimSuffix(c.Program.String(), "\n"), "\n") {
				fmt.Fprintf(c.Options.Dump, "# %s", l)
			}
			fmt.Fprintln(c.Options.Dump)
		} else {
			fmt.Fprintf(c.Options.Dump, "# after pass %s\n%s", p.Name, ir.Print(c.Graph))
		}
	}
	return nil
}
