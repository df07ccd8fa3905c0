package passes_test

import (
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// FuzzPipeline turns its input into a random graph (internal/randgraph,
// the generator of random_test.go's gradient tests: elementwise ops, reductions, matmuls and movement ops
// drawn from the registry's differentiable ops, with broadcasting, values
// used by several ops and several params), differentiates it, compiles it
// with every pass on and with subsets of the optional passes off, and
// checks that the optimized joint graph (under ir.Interp) and the lowered
// program (run kernel by kernel in its planned arena, so a wrong plan or
// order corrupts results) agree with the unoptimized joint graph of the
// grad pass. Run it with
//
//	go test -run '^$' -fuzz FuzzPipeline -fuzztime 10m ./passes/
//
// Inputs it fails on are kept under testdata/fuzz/FuzzPipeline and run by
// every `go test`, as are the seeds added here. codegen's
// TestGeneratedRandomGraphs runs the generated code of the same graphs (a
// sample, or the inputs this fuzzer kept: see its doc).
func FuzzPipeline(f *testing.F) {
	for seed := range uint64(24) {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, seed uint64, attempt uint8) {
		g, _, err := randomGraph(seed, int(attempt))
		if err != nil {
			t.Fatalf("the generator built an invalid graph: %v", err) // a generator bug
		}
		ref, _, err := passes.Grad(g, passes.GradOptions{})
		if err != nil {
			t.Fatalf("passes.Grad: %v\ngraph:\n%s", err, ir.Print(g))
		}
		for _, off := range passes.PassCombos {
			p, err := passes.CompileProgram(g, passes.Options{Disable: off})
			if err != nil {
				t.Fatalf("-%s: CompileProgram: %v\ngraph:\n%s", strings.Join(off, ",-"), err, ir.Print(g))
			}
			if err := passes.SameSemantics(ref, p.Graph, nil, seed); err != nil {
				t.Fatalf("-%s: optimized graph: %v\ngraph:\n%s\noptimized:\n%s", strings.Join(off, ",-"), err, ir.Print(g), ir.Print(p.Graph))
			}
			if err := passes.ProgramSemantics(ref, p, nil, seed); err != nil {
				t.Fatalf("-%s: program: %v\ngraph:\n%s\nprogram:\n%v", strings.Join(off, ",-"), err, ir.Print(g), p)
			}
		}
	})
}
