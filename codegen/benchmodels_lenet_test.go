package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/passes"
)

// TestBenchLeNetFresh regenerates the LeNet benchmark packages (lenet:
// every pass on; lenet0: every optional pass off) in memory and fails on
// any byte of difference from the checked-in ones (-update rewrites them).
func TestBenchLeNetFresh(t *testing.T) {
	for _, name := range []string{"lenet", "lenet0"} {
		g, err := dsl.Build("benchmodels.lenet", models.LeNet)
		if err != nil {
			t.Fatal(err)
		}
		var opts passes.Options
		if name == "lenet0" {
			opts.Disable = optionalPasses()
		}
		prog, err := passes.CompileProgram(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		files, err := EmitProgram(prog, Options{Package: name, Source: "examples/models.LeNet"})
		if err != nil {
			t.Fatal(err)
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
