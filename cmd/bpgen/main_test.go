package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// repoRoot is the module root (two levels up from this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// runCLI runs bpgen in-process in dir.
func runCLI(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if dir != "" {
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// hashDir fingerprints every file under dir (names and contents).
func hashDir(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "err %v\n", err)
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s %v\n", rel, d.IsDir())
		if !d.IsDir() {
			b, _ := os.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// writeModelPackage makes a package dir inside this module (so it can import
// bpgen) holding src as model.go; it is removed when the test ends.
func writeModelPackage(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Join(repoRoot(t), "cmd", "bpgen", "testdata"), "model-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "model.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const goodModel = `package model

import "github.com/bpgen/bpgen/dsl"

func Tiny(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	y := g.Labels("y", n)
	W := g.Param("W", 3, 2)
	g.Minimize(dsl.SoftmaxCrossEntropy(x.MatMul(W), y).Mean())
}
`

func TestBadInput(t *testing.T) {
	root := repoRoot(t)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "keep.txt"), []byte("user file"), 0o644); err != nil {
		t.Fatal(err)
	}
	badIR := filepath.Join(t.TempDir(), "bad.bpir")
	os.WriteFile(badIR, []byte("func m.M(n) {\n  v0:f32[n] = frobnicate\n}\n"), 0o644)
	noModels := writeModelPackage(t, "package model\n\nfunc Helper() {}\n")
	failing := writeModelPackage(t, strings.Replace(goodModel, "x.MatMul(W)", "x.MatMul(W.T())", 1))
	good := writeModelPackage(t, goodModel)
	readOnly := filepath.Join(t.TempDir(), "ro")
	os.MkdirAll(readOnly, 0o555)

	cases := []struct {
		name, dir string
		args      []string
		want      string // in the one-line error
		outDir    string
	}{
		{"no such package", root, []string{"-pkg", "out", "-out", out, "./no/such/package"}, "no/such/package", out},
		{"no model function", noModels, []string{"-pkg", "out", "-out", out, "."}, "no model functions", out},
		{"model error", failing, []string{"-pkg", "out", "-out", out, "."}, "matmul(f32[n,3], f32[2,3]): inner dimensions differ", out},
		{"IR syntax error", root, []string{"-pkg", "out", "-out", out, badIR}, "unknown op \"frobnicate\"", out},
		{"unknown flag", root, []string{"-frobnicate", "-out", out}, "flag provided but not defined: -frobnicate", out},
		{"bad dtype", good, []string{"-dtype", "f16", "-pkg", "out", "-out", out, "."}, `invalid value "f16" for flag -dtype: want f32 or f64`, out},
		{"bad accumulate", good, []string{"-accumulate", "f16", "-pkg", "out", "-out", out, "."}, `invalid value "f16" for flag -accumulate: want f32 or f64`, out},
		{"accumulate f64 with gonum", good, []string{"-accumulate", "f64", "-gemm", "gonum", "-pkg", "out", "-out", out, "."}, "Options.Accumulate f64 needs Options.Gemm bpgen", out},
		{"unwritable output dir", good, []string{"-pkg", "out", "-out", readOnly, "."}, "not writable", readOnly},
	}
	if os.Geteuid() == 0 {
		// root ignores permission bits; make the output path a file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, []byte("x"), 0o644)
		cases[len(cases)-1].args = []string{"-pkg", "out", "-out", filepath.Join(f, "sub"), "."}
		cases[len(cases)-1].want = "cannot create output directory"
		cases[len(cases)-1].outDir = f
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := hashDir(t, c.outDir)
			code, _, stderr := runCLI(t, c.dir, c.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.HasPrefix(stderr, "bpgen: ") || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr = %q, want a bpgen: error containing %q", stderr, c.want)
			}
			if c.name != "model error" && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("error is not one line:\n%s", stderr)
			}
			if after := hashDir(t, c.outDir); after != before {
				t.Errorf("output dir changed")
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, _, stderr := runCLI(t, "", "-h")
	if code != 0 || !strings.Contains(stderr, "-func") || !strings.Contains(stderr, "go:generate") {
		t.Errorf("-h: code %d, output:\n%s", code, stderr)
	}
	code, stdout, _ := runCLI(t, "", "-version")
	if code != 0 || !strings.HasPrefix(stdout, "bpgen ") {
		t.Errorf("-version: code %d, output %q", code, stdout)
	}
}

// TestGenerateCheckStale generates a model's package, shows -check passes,
// then edits the model without regenerating and shows -check fails.
func TestGenerateCheckStale(t *testing.T) {
	dir := writeModelPackage(t, goodModel)
	out := filepath.Join(dir, "tinygen")
	if code, _, stderr := runCLI(t, dir, "-func", "Tiny", "-out", out, "."); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	first := hashDir(t, out)
	if code, _, stderr := runCLI(t, dir, "-check", "-func", "Tiny", "-out", out, "."); code != 0 {
		t.Fatalf("-check on fresh output failed: %s", stderr)
	}
	// Generating again writes the same bytes.
	if code, _, stderr := runCLI(t, dir, "-func", "Tiny", "-out", out, "."); code != 0 || hashDir(t, out) != first {
		t.Fatalf("regeneration changed the output (%s)", stderr)
	}
	edited := strings.Replace(goodModel, `g.Param("W", 3, 2)`, `g.Param("W", 3, 2, dsl.HeNormal())`, 1)
	os.WriteFile(filepath.Join(dir, "model.go"), []byte(edited), 0o644)
	code, _, stderr := runCLI(t, dir, "-check", "-func", "Tiny", "-out", out, ".")
	if code != 1 || !strings.Contains(stderr, "stale") || !strings.Contains(stderr, "differs") {
		t.Fatalf("-check after editing the model: code %d, stderr %q", code, stderr)
	}
	if hashDir(t, out) != first {
		t.Fatal("-check wrote files")
	}
}

// TestGeneratedFresh regenerates every bundled package in memory (the
// go:generate lines of examples/models) and fails on any byte of
// difference with generated/.
func TestGeneratedFresh(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "examples", "models")
	files, err := filepath.Glob(filepath.Join(dir, "*.go")) // models.go, lenet.go, ...
	if err != nil || len(files) == 0 {
		t.Fatalf("no model files in %s: %v", dir, err)
	}
	var lines [][]string
	for _, f := range files {
		lines = append(lines, generateLines(t, f)...)
	}
	if len(lines) == 0 {
		t.Fatalf("no go:generate lines for bpgen in %s", dir)
	}
	for _, args := range lines {
		code, _, stderr := runCLI(t, dir, append([]string{"-check"}, args...)...)
		if code != 0 {
			t.Errorf("bpgen -check %s: %s(run go generate ./... to refresh generated/)", strings.Join(args, " "), stderr)
		}
	}
}

// generateLines returns the bpgen arguments of each go:generate line.
func generateLines(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "//go:generate go run ../../cmd/bpgen ")
		if ok {
			r = append(r, strings.Fields(rest))
		}
	}
	return r
}

func TestDumpDotExplainAndIRInput(t *testing.T) {
	g, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	irFile := filepath.Join(t.TempDir(), "mlp.bpir")
	os.WriteFile(irFile, []byte(ir.Print(g)), 0o644)
	dot := filepath.Join(t.TempDir(), "mlp.dot")
	code, stdout, stderr := runCLI(t, "", "-dump", "grad", "-explain", "-dot", dot, irFile)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{"# after pass grad", "grad W1\n", "pass grad", "adjoint values"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(dot)
	if err != nil || !bytes.Contains(b, []byte("cluster_backward")) || !bytes.Contains(b, []byte("digraph")) {
		t.Errorf("dot file: %v\n%s", err, b)
	}
	if code, _, stderr := runCLI(t, "", "-dump", "nosuchpass", irFile); code != 1 || !strings.Contains(stderr, "nosuchpass") {
		t.Errorf("-dump nosuchpass: %d %s", code, stderr)
	}
}

// TestOpReference checks the README's op reference is the one bpgen -ops prints.
func TestOpReference(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- ops:begin (generated by bpgen -ops; do not edit) -->\n", "<!-- ops:end -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the op reference markers %q … %q", begin, end)
	}
	if got, want := s[i+len(begin):j], OpReference(); got != want {
		t.Errorf("README.md's op reference is stale: regenerate it with go run ./cmd/bpgen -ops")
	}
}

// TestGofmt checks every Go file of the repository is gofmt'd, the
// modules nested under a testdata directory (codegen/testdata/bench: the
// benchmarks and their generated models) included.
func TestGofmt(t *testing.T) {
	root := repoRoot(t)
	nested, err := filepath.Glob(filepath.Join(root, "*", "testdata", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{root}
	for _, m := range nested {
		roots = append(roots, filepath.Dir(m))
	}
	for _, top := range roots {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != top {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
				t.Errorf("%s is not gofmt'd (run gofmt -w)", strings.TrimPrefix(path, root+"/"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(roots) == 1 {
		t.Errorf("no module under */testdata/*/go.mod: codegen/testdata/bench has moved; update TestGofmt")
	}
}

const customModel = `package model

import "github.com/bpgen/bpgen/dsl"

func Clip(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 4)
	y := g.Labels("y", n)
	W := g.Param("W", 4, 3)
	clip := dsl.CustomVJP("clip",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0].MatMul(xs[1]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			c := dsl.Minimum(dsl.Maximum(g, -1), 1)
			return []*dsl.Tensor{nil, dsl.MatMul(xs[0], c, true, false)}
		})
	o := clip(x, W).Named("o")
	g.Output("logits", o)
	g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean())
}
`

// TestDumpRoundTrip compiles what every -dump prints (the model as built,
// after each pass, and -dump all) with bpgen file.bpir and expects the
// package generated from the model directly, byte for byte.
func TestDumpRoundTrip(t *testing.T) {
	models := filepath.Join(repoRoot(t), "examples", "models")
	for _, m := range []struct{ dir, fn string }{
		{models, "MLP"},
		{models, "GELUNet"}, // an extern op
		{writeModelPackage(t, customModel), "Clip"}, // a custom VJP: a func of its own
	} {
		direct := filepath.Join(t.TempDir(), "direct")
		if code, _, stderr := runCLI(t, m.dir, "-func", m.fn, "-pkg", "out", "-out", direct, "."); code != 0 {
			t.Fatalf("%s: %s", m.fn, stderr)
		}
		want := hashDir(t, direct)
		for _, stage := range append([]string{"build", "all"}, passes.PassNames()...) {
			code, dump, stderr := runCLI(t, m.dir, "-func", m.fn, "-dump", stage, ".")
			if code != 0 {
				t.Fatalf("%s -dump %s: %s", m.fn, stage, stderr)
			}
			file := filepath.Join(t.TempDir(), "m.bpir")
			os.WriteFile(file, []byte(dump), 0o644)
			out := filepath.Join(t.TempDir(), "out")
			if code, _, stderr := runCLI(t, "", "-out", out, file); code != 0 {
				t.Errorf("%s: bpgen on the output of -dump %s: %s", m.fn, stage, stderr)
				continue
			}
			if hashDir(t, out) != want {
				t.Errorf("%s: compiling the output of -dump %s generates other code than compiling the model", m.fn, stage)
			}
			// -dump build of a dump prints it again, with its header (after a
			// lowering pass, without the program's comment lines), so that
			// it resumes at the same pass.
			if code, again, stderr := runCLI(t, "", "-dump", "build", file); code != 0 || stage != "all" && !strings.HasPrefix(dump, again) {
				t.Errorf("%s: -dump build of the output of -dump %s: code %d %s\n%s\n---\n%s", m.fn, stage, code, stderr, again, dump)
			}
		}
	}
}

func TestBadDumpInput(t *testing.T) {
	g, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	_, joint, _ := runCLI(t, "", "-dump", "simplify", write("mlp.bpir", ir.Print(g)))
	_, rematted, _ := runCLI(t, "", "-dump", "remat", filepath.Join(dir, "mlp.bpir"))
	headless := write("headless.bpir", strings.SplitN(joint, "\n", 2)[1])
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-pkg", "out", "-out", dir, headless}, "the graph has gradient outputs"},
		{[]string{"-pkg", "out", "-out", dir, write("nopass.bpir", "# after pass frobnicate\n"+ir.Print(g))}, `nopass.bpir:1: "frobnicate" is not a pass`},
		{[]string{"-dump", "grad", write("simplified.bpir", joint)}, "pass grad does not run"},
		{[]string{"-checkpoint", "h", "-pkg", "out", "-out", dir, write("rematted.bpir", rematted)}, "-checkpoint and -budget act in pass remat"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		checkFailure(t, code, stderr, c.want)
	}
}

const forwardOnlyModel = `package model

import "github.com/bpgen/bpgen/dsl"

// Physics is a function with no objective: only outputs.
func Physics(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	g.Output("energy", x.Square().Sum(1))
}
`

const sensitivityModel = `package model

import "github.com/bpgen/bpgen/dsl"

// Fit has an objective; -wrt x asks for its gradient with respect to x too.
func Fit(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	W := g.Param("W", 3, 1)
	g.Minimize(x.MatMul(W).Square().Mean())
}
`

// TestForwardOnlyAndWrt: a model without Minimize generates Forward and
// Predict only; -wrt generates the gradient with respect to an input; both
// packages build and vet. Misuse of -wrt is an error naming the problem.
func TestForwardOnlyAndWrt(t *testing.T) {
	root := repoRoot(t)
	fwd := writeModelPackage(t, forwardOnlyModel)
	sens := writeModelPackage(t, sensitivityModel)
	for _, c := range []struct {
		name, dir  string
		args       []string
		has, lacks []string // in the generated model.go
	}{
		{"forward only", fwd, nil, []string{"func (m *Model) Forward(in Inputs) (Outputs, error)", "func (m *Model) Predict(", "api.Function"},
			[]string{"Backward", "TrainStep", "Optimizer", "Grads", "GradVector", "training step runs"}},
		{"forward only, -dtype f64", fwd, []string{"-dtype", "f64"}, []string{"Energy []float64"}, []string{"float32"}},
		{"wrt input", sens, []string{"-wrt", "x"}, []string{"func (m *Model) InputGrads()", "func (m *Model) Backward("}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(c.dir, "gen")
			if code, _, stderr := runCLI(t, c.dir, append(c.args, "-out", out, ".")...); code != 0 {
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
			for _, s := range c.lacks {
				if strings.Contains(string(src), s) {
					t.Errorf("generated model.go has %q", s)
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
		{"wrt without objective", fwd, []string{"-wrt", "x"}, "-wrt x: model model.Physics has no objective to differentiate"},
		{"wrt unknown input", sens, []string{"-wrt", "z"}, `Wrt names "z", which is not an input of the model`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gen")
			code, _, stderr := runCLI(t, c.dir, append(c.args, "-out", out, ".")...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}

const scanModel = `package model

import "github.com/bpgen/bpgen/dsl"

// Cell is an RNN over a symbolic length T as a scan.
func Cell(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	T, n := g.Dim("T"), g.Dim("n")
	xs := g.Input("xs", dsl.Float64, T, n, 2)
	h0 := g.Input("h0", dsl.Float64, n, 4)
	W, U := g.Param("W", 4, 4), g.Param("U", 2, 4)
	_, hs := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
		h = dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)))
		return h, h
	})
	g.Minimize(hs.Square().Mean())
}
`

// TestScanCheckpointFlag: -explain prints a scan's saved-carry memory as a
// formula in T, -scan-checkpoint k changes it to ⌈T/k⌉ + min(k, T)
// carries, and the checkpointed package vets; a negative k or one given
// after pass grad is an error.
func TestScanCheckpointFlag(t *testing.T) {
	root := repoRoot(t)
	dir := writeModelPackage(t, scanModel)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "saves carries of T × 32·n bytes (2097152 B at capacity)"},
		{[]string{"-scan-checkpoint", "16"}, "checkpointed every 16 steps, keeps carries of (⌈T/16⌉ + min(16, T)) × 32·n bytes (262144 B at capacity); every carry would be T × 32·n bytes (2097152 B)"},
	} {
		out := filepath.Join(dir, "gen")
		code, stdout, stderr := runCLI(t, dir, append(c.args, "-explain", "-out", out, ".")...)
		if code != 0 {
			t.Fatalf("%v: exit %d:\n%s", c.args, code, stderr)
		}
		if !strings.Contains(stdout, c.want) {
			t.Errorf("%v: -explain lacks %q:\n%s", c.args, c.want, stdout)
		}
		rel, _ := filepath.Rel(root, out)
		cmd := exec.Command("go", "vet", "./"+filepath.ToSlash(rel))
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%v: go vet of the generated package: %v\n%s", c.args, err, b)
		}
	}
	code, _, stderr := runCLI(t, dir, "-scan-checkpoint", "-2", "-explain", ".")
	checkFailure(t, code, stderr, "scan checkpoint -2: want k ≥ 1")
	_, joint, _ := runCLI(t, dir, "-dump", "grad", ".")
	ir := filepath.Join(dir, "joint.bpir")
	os.WriteFile(ir, []byte(joint), 0o644)
	code, _, stderr = runCLI(t, "", "-scan-checkpoint", "4", "-pkg", "out", "-out", filepath.Join(dir, "gen2"), ir)
	checkFailure(t, code, stderr, "-scan-checkpoint acts in pass grad")
}
