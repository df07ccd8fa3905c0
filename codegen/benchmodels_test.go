package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
)

// TestBenchModelsFresh regenerates the benchmark models' packages in
// memory and fails on any byte of difference from the checked-in ones
// (-update rewrites them).
func TestBenchModelsFresh(t *testing.T) {
	for _, s := range benchmodels.Specs {
		files := emitModel(t, s.Name, "benchmodels."+s.Name, s.Model(), Options{})
		dir := filepath.Join("internal", "benchmodels", s.Name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, b := range files {
			path := filepath.Join(dir, name)
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
