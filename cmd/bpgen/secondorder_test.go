package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJVPAndHVPFlags: -jvp and -hvp generate forward-only packages with
// the tangent inputs and the tangent or HVP outputs; they build and vet.
// Misuse is an error naming the problem.
func TestJVPAndHVPFlags(t *testing.T) {
	root := repoRoot(t)
	sens := writeModelPackage(t, sensitivityModel)
	fwd := writeModelPackage(t, forwardOnlyModel)
	for _, c := range []struct {
		name string
		args []string
		has  []string
	}{
		{"jvp", []string{"-jvp"}, []string{"Tangent_W []float32", "Tangent_objective float32", "Objective float32"}},
		{"jvp wrt input", []string{"-jvp", "-wrt", "x"}, []string{"Tangent_W []float32", "Tangent_x []float32"}},
		{"hvp", []string{"-hvp", "-dtype", "f64"}, []string{"Tangent_W []float64", "Hvp_W []float64", "Grad_W []float64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(sens, "gen_"+strings.ReplaceAll(c.name, " ", "_"))
			if code, _, stderr := runCLI(t, sens, append(c.args, "-out", out, ".")...); code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			src, err := os.ReadFile(filepath.Join(out, "model.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.has {
				if !strings.Contains(string(src), s) {
					t.Errorf("generated model.go lacks %q", s)
				}
			}
			rel, _ := filepath.Rel(root, out)
			cmd := exec.Command("go", "vet", "./"+filepath.ToSlash(rel))
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("go vet of the generated package: %v\n%s", err, b)
			}
		})
	}
	for _, c := range []struct {
		name, dir string
		args      []string
		want      string
	}{
		{"both", sens, []string{"-jvp", "-hvp"}, "-jvp needs a model (not the graph after a pass), and not -hvp"},
		{"hvp without objective", fwd, []string{"-hvp"}, "has no objective"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gen")
			code, _, stderr := runCLI(t, c.dir, append(c.args, "-out", out, ".")...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
		})
	}
}
