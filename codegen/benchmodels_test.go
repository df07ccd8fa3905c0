package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// TestBenchModelsFresh regenerates the benchmark models' packages in
// memory and fails on any byte of difference from the checked-in ones
// (-update rewrites them): s, m and l compiled with every pass on, s0, m0
// and l0 with every optional pass off, sg, mg and lg with every pass on but
// gonum's GEMM (the path runtime/kernels replaces), and ma and la (the
// float32 models) with every pass on and float64 accumulation.
func TestBenchModelsFresh(t *testing.T) {
	for _, s := range benchmodels.Specs {
		variants := []string{"", "0", "g"}
		if s.DType == dsl.Float32 {
			variants = append(variants, "a")
		}
		for _, variant := range variants {
			name := s.Name + variant
			opt := Options{Package: name, Source: "benchmodels." + s.Name}
			switch variant {
			case "g":
				opt.Gemm = GemmGonum
			case "a":
				opt.Accumulate = ir.F64
			}
			on := variant != "0"
			files := emitBenchModel(t, s, on, opt)
			again := emitBenchModel(t, s, on, opt)
			if !bytes.Equal(bundle(files), bundle(again)) {
				t.Errorf("%s: generating twice gives different bytes", name)
			}
			dir := filepath.Join("testdata", "bench", name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for fname, b := range files {
				path := filepath.Join(dir, fname)
				if *update {
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				old, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go generate ./codegen/internal/benchmodels)", err)
				}
				if !bytes.Equal(old, b) {
					t.Errorf("%s is stale: run go generate ./codegen/internal/benchmodels", path)
				}
			}
		}
	}
}

// emitBenchModel compiles a benchmark model with every pass on, or every
// optional pass off, and generates its package with opt.
func emitBenchModel(t testing.TB, s benchmodels.Spec, on bool, opt Options) map[string][]byte {
	t.Helper()
	g, err := dsl.Build("benchmodels."+s.Name, s.Model())
	if err != nil {
		t.Fatal(err)
	}
	var opts passes.Options
	if !on {
		opts.Disable = optionalPasses()
	}
	prog, err := passes.CompileProgram(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	files, err := EmitProgram(prog, opt)
	if err != nil {
		t.Fatal(err)
	}
	return files
}
