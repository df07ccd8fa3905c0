// Command bpgen compiles a model written with bpgen's DSL into a Go package
// with its forward pass, its backward pass (derived by reverse-mode
// autodiff), a training step and an inference function.
//
// Usage:
//
//	bpgen [flags] [package | file.bpir]
//
// In a model's package, a go:generate line runs it:
//
//	//go:generate go tool bpgen -func MLP -out ../mlpgen
//
// bpgen finds the model functions (func(*dsl.Graph)) of the package with
// golang.org/x/tools/go/packages, runs the chosen one in a temporary
// program (through a build overlay: nothing is written to the user's
// tree), compiles the IR it builds and writes the generated package.
// Failures exit with status 1: every mistake of the model on a line of its
// own, positions relative to the current directory as the Go compiler
// prints them. Run bpgen -h for the flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/bpgen/bpgen/codegen"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `bpgen compiles a model written with bpgen's DSL into a Go package: forward
and backward kernels (reverse-mode autodiff), a training step and predict.

Usage:
  bpgen [flags] [package]       compile a model function of a Go package (default ".")
  bpgen [flags] file.bpir       compile IR text: as ir.Print writes it, or any -dump
                                output (its last section, resuming after its pass)

A model function has the signature func(g *dsl.Graph). In go:generate:
  //go:generate go tool bpgen -func MLP -out ../mlpgen

Flags:
`

type config struct {
	fn, out, pkg                 string
	dtype, accumulate            floatType
	optimizer                    codegen.Optimizer
	gemm                         codegen.Gemm
	dump, dot, disable           string
	capacity, checkpoint, wrt    string
	budget                       int64
	scanCheckpoint               int
	explain, check, version, ops bool
	hvp, jvp                     bool // issue 16: generate a Hessian-vector product or JVP package
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("bpgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.fn, "func", "", "the model function to compile (needed if the package has several)")
	fs.StringVar(&c.out, "out", "", "output directory of the generated package (required unless -dump, -dot or -explain only)")
	fs.StringVar(&c.pkg, "pkg", "", "package name of the generated code (default: the base name of -out)")
	fs.TextVar(&c.dtype, "dtype", floatType(ir.InvalidDType), "retarget every float value to f32 or f64 (default: as the model declares)")
	fs.TextVar(&c.optimizer, "optimizer", codegen.OptimizerSGD, "default optimizer of the generated Config: sgd or adam")
	fs.TextVar(&c.gemm, "gemm", codegen.GemmBpgen, "matrix-multiply backend of the generated code: bpgen (runtime/kernels) or gonum")
	fs.TextVar(&c.accumulate, "accumulate", floatType(ir.F32), "precision float32 matrix products accumulate in: f32, or f64 (each element rounded once, as ir.Interp does; a train step about 2× slower)")
	fs.StringVar(&c.dump, "dump", "", "print the IR after a pass (\"build\", a pass name, or \"all\") to standard output; passes: "+strings.Join(passes.PassNames(), ", "))
	fs.StringVar(&c.disable, "disable", "", "comma-separated optional passes to skip")
	fs.StringVar(&c.capacity, "capacity", "", "comma-separated dim=size: the capacity the buffer plan and -explain assume (default 256 per dim; generated code re-plans for the capacity given to New)")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "comma-separated value names to save for the backward pass; the rest is recomputed (as Tensor.Checkpoint in the model)")
	fs.IntVar(&c.scanCheckpoint, "scan-checkpoint", 0, "k: the gradient of every scan without a dsl.Checkpoint of its own saves only every k-th carry and recomputes the rest (memory ⌈T/k⌉ + k carries instead of T; k ≈ √T is the least)")
	fs.StringVar(&c.wrt, "wrt", "", "comma-separated inputs to differentiate with respect to, besides the params: the generated InputGrads")
	fs.Int64Var(&c.budget, "budget", 0, "bytes the forward pass may save for the backward pass at the capacity; remat recomputes to fit")
	fs.StringVar(&c.dot, "dot", "", "write a Graphviz drawing of the forward and adjoint graph to this file")
	fs.BoolVar(&c.explain, "explain", false, "print what the compiler did: passes, gradient report")
	fs.BoolVar(&c.check, "check", false, "do not write: exit 1 and list the files that differ if -out is stale (for CI)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.BoolVar(&c.jvp, "jvp", false, "generate forward mode instead (passes.JVPModel): a forward-only package with inputs Tangent_<param> (and Tangent_<input> for the -wrt inputs) whose Forward computes every output and its tangent tangent.<output>")
	fs.BoolVar(&c.hvp, "hvp", false, "generate the Hessian-vector product of the objective instead (forward-over-reverse, passes.HVPModel): a forward-only package with inputs Tangent_<param> (v) whose Forward computes the outputs grad/<param> (∇J) and hvp/<param> (∇²J·v)")
	fs.BoolVar(&c.ops, "ops", false, "print the op reference (Markdown) and exit")
	fs.Usage = func() {} // errors are reported in one line below; -h prints the usage
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usageText)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "bpgen: %v (run bpgen -h for usage)\n", err)
		return 1
	}
	if c.version {
		fmt.Fprintln(stdout, "bpgen", version())
		return 0
	}
	if c.ops {
		fmt.Fprint(stdout, OpReference())
		return 0
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "bpgen: want one package or IR file, got %d arguments: %s\n", fs.NArg(), strings.Join(fs.Args(), " "))
		return 1
	}
	target := "."
	if fs.NArg() == 1 {
		target = fs.Arg(0)
	}
	if err := compile(&c, target, stdout, stderr); err != nil {
		// One line says what failed; a model's further mistakes, or the IR
		// around a bad value, follow on their own lines.
		fmt.Fprintf(stderr, "bpgen: %s\n", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

// floatType is a flag naming a float dtype: f32 or f64 (float32, float64).
type floatType ir.DType

func (f floatType) MarshalText() ([]byte, error) { return ir.DType(f).MarshalText() }

func (f *floatType) UnmarshalText(b []byte) error {
	var d ir.DType
	if err := d.UnmarshalText(b); err != nil || !d.IsFloat() {
		return errors.New("want f32 or f64")
	}
	*f = floatType(d)
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		if bi.Main.Path != "github.com/bpgen/bpgen" {
			for _, d := range bi.Deps {
				if d.Path == "github.com/bpgen/bpgen" {
					v = d.Version
				}
			}
		}
		if v == "" {
			v = "(devel)"
		}
		return v + " " + bi.GoVersion
	}
	return "(unknown)"
}

func compile(c *config, target string, stdout, stderr io.Writer) error {
	if c.out == "" && c.dump == "" && c.dot == "" && !c.explain {
		return errors.New("-out is required: the directory to write the generated package to")
	}
	pkgName := c.pkg
	if pkgName == "" && c.out != "" {
		pkgName = strings.ReplaceAll(filepath.Base(filepath.Clean(c.out)), "-", "_")
	}
	if c.out != "" && !token.IsIdentifier(pkgName) {
		return fmt.Errorf("package name %q is not a Go identifier; set one with -pkg", pkgName)
	}
	if c.dump != "" && c.dump != "all" && c.dump != "build" && !slices.Contains(passes.PassNames(), c.dump) {
		return fmt.Errorf("-dump %q: want build, all, or a pass: %s", c.dump, strings.Join(passes.PassNames(), ", "))
	}

	popts := passes.Options{Disable: splitList(c.disable), Checkpoint: splitList(c.checkpoint), MemoryBudget: c.budget, DType: ir.DType(c.dtype), Wrt: splitList(c.wrt), ScanCheckpoint: c.scanCheckpoint}
	if c.capacity != "" {
		popts.Capacity = map[string]int{}
		for _, kv := range strings.Split(c.capacity, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
			n, err := strconv.Atoi(val)
			if !ok || err != nil || n <= 0 {
				return fmt.Errorf("-capacity %q: want dim=size with a positive size, e.g. n=256", kv)
			}
			popts.Capacity[name] = n
		}
	}

	g, resume, err := loadModel(target, c.fn, stderr)
	if err != nil {
		return err
	}
	if c.jvp {
		if resume != "" || c.hvp {
			return fmt.Errorf("-jvp needs a model (not the graph after a pass), and not -hvp")
		}
		if popts.DType != ir.InvalidDType {
			g = passes.Retarget(g, popts.DType)
		}
		wrt := popts.Wrt
		if len(wrt) > 0 {
			for _, p := range g.Params() {
				wrt = append(wrt, p.Name)
			}
		}
		if g, err = passes.JVPModel(g, passes.JVPOptions{Wrt: wrt}); err != nil {
			return err
		}
		if _, err := passes.Simplify(g); err != nil {
			return err
		}
		popts.Wrt = nil
	}
	if c.hvp {
		if resume != "" {
			return fmt.Errorf("-hvp needs a model, not the graph after pass %s", resume)
		}
		if popts.DType != ir.InvalidDType { // the HVP graph is built in the target dtype
			g = passes.Retarget(g, popts.DType)
		}
		if g, err = passes.HVPModel(g); err != nil {
			return err
		}
		if _, err := passes.Simplify(g); err != nil {
			return err
		}
	}
	if resume != "" {
		popts.Resume = resume
		names := passes.PassNames()
		if i := slices.Index(names, c.dump); i >= 0 && i <= slices.Index(names, resume) && !passes.Pipeline[i].Lowering() {
			return fmt.Errorf("-dump %s: %s is the graph after pass %s, so pass %s does not run", c.dump, target, resume, c.dump)
		}
		if popts.DType != ir.InvalidDType { // retarget is the first pass
			return fmt.Errorf("-dtype acts in pass retarget, but %s is the graph after pass %s", target, resume)
		}
		if (len(popts.Checkpoint) > 0 || popts.MemoryBudget > 0) && slices.Index(names, resume) >= slices.Index(names, "remat") {
			return fmt.Errorf("-checkpoint and -budget act in pass remat, but %s is the graph after pass %s", target, resume)
		}
		if popts.ScanCheckpoint != 0 && slices.Index(names, resume) >= slices.Index(names, "grad") {
			return fmt.Errorf("-scan-checkpoint acts in pass grad, but %s is the graph after pass %s", target, resume)
		}
	}
	for name := range popts.Capacity {
		if !g.HasDim(name) {
			return fmt.Errorf("-capacity: model %s has no dim %q (its dims: %s)", g.Name, name, strings.Join(g.Dims, ", "))
		}
	}
	if c.dump == "build" || c.dump == "all" {
		fmt.Fprintf(stdout, "%s\n%s", dumpHeader(resume), ir.Print(g))
	}
	if c.dump != "" && c.dump != "build" {
		popts.DumpAfter, popts.Dump = c.dump, stdout
	}
	// A model without an objective is forward-only: no grad pass, and a
	// package with Forward and Predict but no Backward or training step.
	compileFn := passes.CompileProgram
	if g.Objective == nil {
		if len(popts.Wrt) > 0 {
			return fmt.Errorf("-wrt %s: model %s has no objective to differentiate (call g.Minimize in the model)", c.wrt, g.Name)
		}
		// Lower runs the lowering passes only: retarget (-dtype) here.
		if popts.DType != ir.InvalidDType {
			g = passes.Retarget(g, popts.DType)
		}
		compileFn = passes.Lower
	}
	prog, err := compileFn(g, popts)
	if err != nil {
		return err
	}
	if c.explain {
		fmt.Fprintf(stdout, "model %s: %d inputs, %d params, %d forward values\n", g.Name, len(g.Inputs()), len(g.Params()), len(g.Values))
		fmt.Fprint(stdout, prog.Report)
	}
	if c.dot != "" {
		if err := writeFileAtomic(c.dot, []byte(Dot(prog.Graph))); err != nil {
			return fmt.Errorf("-dot: %w", err)
		}
	}
	if c.out == "" {
		return nil
	}
	files, err := codegen.EmitProgram(prog, codegen.Options{Package: pkgName, Source: g.Name, Gemm: c.gemm, Accumulate: ir.DType(c.accumulate), Optimizer: c.optimizer})
	if err != nil {
		return err
	}
	if c.check {
		diffs, err := checkDir(c.out, files)
		if err != nil {
			return err
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%s is stale (regenerate with go generate): %s", c.out, strings.Join(diffs, "; "))
		}
		return nil
	}
	return writeDir(c.out, files)
}

// splitList splits a comma-separated flag value into trimmed items; "" gives none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	items := strings.Split(s, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items
}
