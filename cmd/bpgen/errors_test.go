package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineOf is the 1-based line of the first line of src containing marker.
func lineOf(t *testing.T, src, marker string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no %q in the model", marker)
	return 0
}

// checkFailure asserts a failed bpgen run as a user sees it: exit status
// 1, a "bpgen: " first line, every wanted line, and no panic trace.
func checkFailure(t *testing.T, code int, stderr string, want ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.HasPrefix(stderr, "bpgen: ") {
		t.Errorf("stderr does not start with bpgen: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic(") {
		t.Errorf("stderr has a panic trace:\n%s", stderr)
	}
}

const threeMistakes = `package model

import "github.com/bpgen/bpgen/dsl"

func Tiny(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	W := g.Param("W", 4, 2)
	a := x.MatMul(W) // mistake 1
	b := x.Add(g.Param("b", 5)) // mistake 2
	c := W.Sum(7) // mistake 3
	g.Minimize(a.Sum().Add(b.Sum()).Add(c))
}
`

// TestEveryModelMistake checks bpgen prints all of a model's mistakes, one
// per line, with positions relative to the current directory as the Go
// compiler prints them: from the package's directory (go generate) and
// from the module root.
func TestEveryModelMistake(t *testing.T) {
	dir := writeModelPackage(t, threeMistakes)
	root := repoRoot(t)
	rel, _ := filepath.Rel(root, dir)
	msgs := []string{
		"matmul(f32[n,3], f32[4,2]): inner dimensions differ",
		"add(f32[n,3], f32[5]): shapes [n,3] and [5] do not broadcast",
		"sum(f32[4,2]): axis 7 is out of range for rank 2",
	}
	for _, c := range []struct{ cwd, arg, prefix string }{
		{dir, ".", ""},
		{root, "./" + rel, rel + "/"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runCLI(t, c.cwd, "-pkg", "out", "-out", out, c.arg)
		want := []string{"bpgen: model model.Tiny has 3 mistakes:\n"}
		for i, m := range msgs {
			want = append(want, fmt.Sprintf("\n%smodel.go:%d: %s", c.prefix, lineOf(t, threeMistakes, fmt.Sprintf("mistake %d", i+1)), m))
		}
		checkFailure(t, code, stderr, want...)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("a failed run created %s", out)
		}
	}
}

func TestCompileErrorShown(t *testing.T) {
	src := goodModel + "\nfunc Broken() { undefinedThing() }\n"
	dir := writeModelPackage(t, src)
	code, _, stderr := runCLI(t, dir, "-pkg", "out", "-out", t.TempDir(), ".")
	checkFailure(t, code, stderr, "does not compile:\n", fmt.Sprintf("model.go:%d:17: undefined: undefinedThing", lineOf(t, src, "undefinedThing")))
}

func TestWrongSignature(t *testing.T) {
	src := strings.Replace(goodModel, "func Tiny(g *dsl.Graph) {", "func Tiny(g *dsl.Graph) error {", 1)
	src = strings.Replace(src, "Mean())\n}", "Mean())\n\treturn nil\n}", 1)
	dir := writeModelPackage(t, src)
	code, _, stderr := runCLI(t, dir, "-func", "Tiny", "-pkg", "out", "-out", t.TempDir(), ".")
	checkFailure(t, code, stderr, "model.Tiny is not a model function: it is func(g *dsl.Graph) error; a model function is func(g *dsl.Graph)")
	code, _, stderr = runCLI(t, dir, "-pkg", "out", "-out", t.TempDir(), ".")
	checkFailure(t, code, stderr, "has no model functions", "Tiny is func(g *dsl.Graph) error")
}

func TestRunnerCrash(t *testing.T) {
	src := goodModel + "\nvar table []int\n\nfunc init() { table[3] = 1 }\n"
	dir := writeModelPackage(t, src)
	code, _, stderr := runCLI(t, dir, "-pkg", "out", "-out", t.TempDir(), ".")
	checkFailure(t, code, stderr, "model model.Tiny did not finish", "panic: runtime error: index out of range [3] with length 0",
		fmt.Sprintf("at model.go:%d", lineOf(t, src, "table[3]")))
}

// TestModelPrints checks what a model prints reaches stderr, not the IR.
func TestModelPrints(t *testing.T) {
	src := strings.Replace(goodModel, "\tn := g.Dim", "\tprintln(\"building Tiny\")\n\tn := g.Dim", 1)
	dir := writeModelPackage(t, src)
	code, stdout, stderr := runCLI(t, dir, "-dump", "build", ".")
	if code != 0 || !strings.Contains(stderr, "building Tiny") || strings.Contains(stdout, "building") {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
