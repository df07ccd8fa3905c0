package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// skipInTree reports whether a path of the repository (slash-separated,
// relative to its root) is not part of the source tree: hidden entries,
// what .gitignore lists, the model packages other tests of this package
// create in testdata while they run, and the generated packages codegen's
// tests build under codegen/testdata/gen-* (go test ./... runs them at the
// same time).
//
// Examples write what they produce to examples/NAME/out (git ignores it).
func skipInTree(rel string, d fs.DirEntry) bool {
	base := filepath.Base(rel)
	return strings.HasPrefix(base, ".") || rel == "bpgen" || isExampleOutput(rel) ||
		strings.HasSuffix(base, ".test") || strings.HasSuffix(base, ".prof") ||
		d.IsDir() && (strings.HasPrefix(rel, "cmd/bpgen/testdata/model-") || strings.HasPrefix(rel, "codegen/testdata/gen-"))
}

// treeFiles maps each source file under root to its SHA-256.
func treeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel != "." && skipInTree(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// copyTree copies the source tree of the repository to a new directory.
func copyTree(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "bpgen")
	for rel := range treeFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// diffTrees lists the files that differ between two trees.
func diffTrees(a, b map[string]string) []string {
	var d []string
	for f, h := range a {
		switch hb, ok := b[f]; {
		case !ok:
			d = append(d, "removed "+f)
		case hb != h:
			d = append(d, "changed "+f)
		}
	}
	for f := range b {
		if _, ok := a[f]; !ok {
			d = append(d, "new "+f)
		}
	}
	slices.Sort(d)
	return d
}

// goCmd runs the go command in dir with the user's environment.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	c := exec.Command("go", args...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: go %s: %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRepoGenerateAndExamples runs, in a copy of the repository, go
// generate ./... at the root, then every example both with go run
// ./examples/NAME from the root and with go run . from its own directory;
// the tree must come out as it went in (an example writes its plot next
// to its source, over the identical checked-in file, or into the ignored
// examples/mnist/out).
func TestRepoGenerateAndExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerates everything and runs every example (about a minute and a half); skipped with -short")
	}
	root := repoRoot(t)
	before := treeFiles(t, root)
	repo := copyTree(t, root)
	t.Logf("go generate ./...:\n%s", goCmd(t, repo, "generate", "./..."))
	if d := diffTrees(before, treeFiles(t, repo)); len(d) > 0 {
		t.Errorf("go generate ./... changed the tree:\n\t%s", strings.Join(d, "\n\t"))
	}

	entries, err := os.ReadDir(filepath.Join(repo, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, e := range entries {
		src, err := os.ReadFile(filepath.Join(repo, "examples", e.Name(), "main.go"))
		if err == nil && bytes.Contains(src, []byte("\npackage main\n")) {
			examples = append(examples, e.Name())
		}
	}
	if len(examples) < 4 {
		t.Fatalf("found only the examples %v", examples)
	}
	for _, name := range examples {
		// mnist trains for one epoch instead of ten: TestMNIST covers the
		// full run; here what matters is that it runs from both places.
		var flags []string
		if name == "mnist" {
			flags = []string{"-epochs=1"}
		}
		if name == "lenet" { // TestLeNet covers the full run
			flags = []string{"-epochs=1", "-images=4096"}
		}
		if name == "transformer" { // TestTransformer covers the full run
			flags = []string{"-steps=100"}
		}
		if name == "mnistdist" { // one process here; TestMNISTDistMPI runs it under mpirun
			flags = []string{"-max-steps=50"}
		}
		goCmd(t, repo, append([]string{"run", "./examples/" + name}, flags...)...)
		goCmd(t, filepath.Join(repo, "examples", name), append([]string{"run", "."}, flags...)...)
	}
	if d := diffTrees(before, treeFiles(t, repo)); len(d) > 0 {
		t.Errorf("running the examples changed the tree:\n\t%s", strings.Join(d, "\n\t"))
	}
	if _, err := os.Stat(filepath.Join(repo, "examples", "mnist", "out", "mlp.safetensors")); err != nil {
		t.Errorf("examples/mnist did not write its weights to examples/mnist/out: %v", err)
	}
}

// isExampleOutput reports whether rel is an example's output directory,
// examples/NAME/out.
func isExampleOutput(rel string) bool {
	dir, base := filepath.Split(filepath.ToSlash(rel))
	return base == "out" && filepath.Dir(filepath.Clean(dir)) == "examples"
}
