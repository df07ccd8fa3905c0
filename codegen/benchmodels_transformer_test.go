package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/passes"
)

// TestTransformerBenchModelsFresh regenerates the transformer-block
// benchmark's packages (t: every pass on; t0: every optional pass off) in
// memory and fails on any byte of difference from the checked-in ones
// (-update rewrites them).
func TestTransformerBenchModelsFresh(tt *testing.T) {
	for _, variant := range []string{"t", "t0"} {
		g, err := dsl.Build("benchmodels.TransformerBlock", benchmodels.TransformerBlock)
		if err != nil {
			tt.Fatal(err)
		}
		var opts passes.Options
		if variant == "t0" {
			opts.Disable = optionalPasses()
		}
		prog, err := passes.CompileProgram(g, opts)
		if err != nil {
			tt.Fatal(err)
		}
		files, err := EmitProgram(prog, Options{Package: variant, Source: "benchmodels.TransformerBlock"})
		if err != nil {
			tt.Fatal(err)
		}
		dir := filepath.Join("testdata", "bench", variant)
		for fname, b := range files {
			path := filepath.Join(dir, fname)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					tt.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					tt.Fatal(err)
				}
				continue
			}
			old, err := os.ReadFile(path)
			if err != nil {
				tt.Fatalf("%v (run go test -run TestTransformerBenchModelsFresh -update ./codegen/)", err)
			}
			if !bytes.Equal(old, b) {
				tt.Errorf("%s is stale: run go test -run TestTransformerBenchModelsFresh -update ./codegen/", path)
			}
		}
	}
}
