package codegen

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bpgen/bpgen/internal/randgraph"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Random graphs through the generated code (issue 14, acceptance 5): the
// graphs of passes' pipeline fuzzer (internal/randgraph: elementwise ops,
// reductions, matmuls and movement ops from the registry, broadcasting,
// fan-out) are differentiated, compiled with every pass on and with every
// optional pass off, generated (EmitProgram), built and run; the objective
// and every gradient must agree, at tol64 element by element (compareFloor
// with randomAbsFloor), with the unoptimized joint graph of the grad pass
// under ir.Interp and with the optimized one. FuzzPipeline (passes) checks
// the optimized graphs and programs of every input under the interpreter;
// building Go code takes seconds, so this runs a sample.

// randomAbsFloor is the magnitude below which compareFloor compares the
// random graphs' results absolutely (at tol64·randomAbsFloor): their
// params and inputs are O(1) (uniform in [-1.5, 1.5), weights of
// magnitude 0.5 to 1.5), so every value and gradient is a sum of O(1)
// terms, and a gradient that is mathematically zero comes out as the
// round-off of those terms, ~1e-16 (the first finding, seed 1000/34: the
// softmax of a row of equal entries, whose gradient is 0 in the
// interpreter's summation order and -1.1e-16 in the generated code's).
// FuzzPipeline's rule (|got − want| ≤ tol·max(1, |want|)) has the same
// floor. A wrong gradient is off by about its own size, far above 1e-12.
const randomAbsFloor = 1

// randomSample is how many random graphs (seeds 0, 1, …)
// TestGeneratedRandomGraphs generates, builds and runs by default;
// randomSampleShort under -short. randomBatch graphs (in both modes) share
// one driver build.
const (
	randomSample      = 16
	randomSampleShort = 4
	randomBatch       = 32
)

// randomRegressions are inputs (seed, attempt) that failed once, run by
// every TestGeneratedRandomGraphs, as are those FuzzPipeline failed on
// (passes/testdata/fuzz/FuzzPipeline).
var randomRegressions = [][2]uint64{
	{1000, 34}, // a gradient that is 0 up to round-off (see randomAbsFloor)
}

var (
	randomGraphs = flag.Int("randomgraphs", 0, "TestGeneratedRandomGraphs: run this many random graphs (seeds -randomgraphs.from, …; default 16, 4 with -short), or this many of -randomgraphs.corpus")
	randomFrom   = flag.Uint64("randomgraphs.from", 0, "TestGeneratedRandomGraphs: the first seed")
	randomCorpus = flag.String("randomgraphs.corpus", "", "TestGeneratedRandomGraphs: run the inputs of this fuzz corpus directory (FuzzPipeline's: passes/testdata/fuzz/FuzzPipeline, or $(go env GOCACHE)/fuzz/github.com/bpgen/bpgen/passes/FuzzPipeline)")
)

// TestGeneratedRandomGraphs runs the generated code of a sample of random
// graphs against the interpreter: seeds 0, 1, … (or, with flags, a larger
// sample, or the inputs FuzzPipeline found interesting), and the
// regressions. FuzzPipeline's inputs are (seed, attempt) pairs of the same
// generator, so
//
//	go test -run '^$' -fuzz FuzzPipeline -fuzztime 10m -parallel 1 ./passes/
//	go test -run TestGeneratedRandomGraphs ./codegen/ -args -randomgraphs.corpus "$(go env GOCACHE)/fuzz/github.com/bpgen/bpgen/passes/FuzzPipeline" -randomgraphs 256
//
// runs the generated code of (256 of) the graphs the fuzzer kept. This is
// not itself a fuzz target: Go's fuzzing engine kills an input that takes
// over 10 s (golang/go#56238), and one `go build` of generated code takes
// 5 to 50 s on a shared 2-core machine.
func TestGeneratedRandomGraphs(t *testing.T) {
	n := randomSample
	if testing.Short() {
		n = randomSampleShort
	}
	if *randomGraphs > 0 {
		n = *randomGraphs
	}
	inputs := slices.Clone(randomRegressions)
	found, err := readFuzzCorpus(filepath.Join("..", "passes", "testdata", "fuzz", "FuzzPipeline"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	inputs = append(inputs, found...)
	if *randomCorpus != "" {
		corpus, err := readFuzzCorpus(*randomCorpus)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, corpus[:min(n, len(corpus))]...)
	} else {
		for i := range uint64(n) {
			inputs = append(inputs, [2]uint64{*randomFrom + i, 0})
		}
	}
	for len(inputs) > 0 {
		batch := inputs[:min(randomBatch, len(inputs))]
		inputs = inputs[len(batch):]
		var cases []*randomCase
		for _, in := range batch {
			cases = append(cases, drawRandom(t, in[0], int(in[1])))
		}
		checkRandomGenerated(t, cases)
		t.Logf("%d random graphs run (from seed %s); %d left", len(batch), cases[0].name, len(inputs))
	}
}

// readFuzzCorpus reads the (seed, attempt) inputs of FuzzPipeline's corpus
// files in dir ("go test fuzz v1", then uint64(seed) and byte or uint8 of
// the attempt), in the order of their names.
func readFuzzCorpus(dir string) ([][2]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var r [][2]uint64
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" {
			return nil, fmt.Errorf("%s: not a corpus file of (uint64, uint8)", e.Name())
		}
		seed, err1 := corpusValue(lines[1], "uint64")
		attempt, err2 := corpusValue(lines[2], "byte", "uint8")
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s: %v", e.Name(), err)
		}
		r = append(r, [2]uint64{seed, attempt})
	}
	return r, nil
}

// corpusValue parses a corpus line T(v) for one of the types: a number or,
// for a byte, a character literal.
func corpusValue(line string, types ...string) (uint64, error) {
	for _, typ := range types {
		v, ok := strings.CutPrefix(line, typ+"(")
		if !ok || !strings.HasSuffix(v, ")") {
			continue
		}
		v = strings.TrimSuffix(v, ")")
		if strings.HasPrefix(v, "'") {
			s, err := strconv.Unquote(v)
			if err != nil {
				return 0, err
			}
			r, _ := utf8.DecodeRuneInString(s)
			return uint64(r), nil
		}
		return strconv.ParseUint(v, 0, 64)
	}
	return 0, fmt.Errorf("%q is not one of %v", line, types)
}

// randomCase is one random graph: its forward graph, the values of its
// params and inputs, and the unoptimized joint graph of the grad pass.
type randomCase struct {
	name string // "seed/attempt", for messages
	g    *ir.Graph
	env  map[string]*ir.Tensor
	ref  *ir.Graph
}

func drawRandom(t *testing.T, seed uint64, attempt int) *randomCase {
	t.Helper()
	g, env, err := randgraph.Graph(seed, attempt)
	if err != nil {
		t.Fatalf("seed %d/%d: the generator built an invalid graph: %v", seed, attempt, err) // a generator bug
	}
	ref, _, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		t.Fatalf("seed %d/%d: passes.Grad: %v\ngraph:\n%s", seed, attempt, err, ir.Print(g))
	}
	return &randomCase{name: fmt.Sprintf("%d/%d", seed, attempt), g: g, env: env, ref: ref}
}

// randomModes are the pass settings the random graphs are generated with.
var randomModes = []struct {
	name    string
	disable func() []string
}{
	{"on", func() []string { return nil }},
	{"off", optionalPasses},
}

// randomDriverCase is one run of the random graphs' driver: the model
// (generated package) and the values of its params and inputs by DSL name.
type randomDriverCase struct {
	Model  string
	Floats map[string][]float64
	Ints   map[string][]int32
}

// randomDriverResult is what the driver prints for a case: the objective
// of ForwardFeed and, after Backward, every param's gradient by DSL name.
type randomDriverResult struct {
	Objective float64
	Grads     map[string][]float64
	Err       string
}

// checkRandomGenerated generates every case in every mode into one
// temporary package tree inside the module, builds one driver, runs it and
// compares.
func checkRandomGenerated(t *testing.T, cases []*randomCase) {
	t.Helper()
	root := moduleRoot(t)
	dir, err := os.MkdirTemp(filepath.Join(root, "codegen", "testdata"), "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rel, _ := filepath.Rel(root, dir)
	importBase := "github.com/bpgen/bpgen/" + filepath.ToSlash(rel)
	var imports, entries strings.Builder
	var runs []randomDriverCase
	type want struct {
		c         *randomCase
		mode      string
		optimized *ir.Graph
	}
	var wants []want
	for i, c := range cases {
		floats, ints := map[string][]float64{}, map[string][]int32{}
		for name, x := range c.env {
			if x.DType == ir.I32 {
				ints[name] = x.I
			} else {
				floats[name] = x.F
			}
		}
		for _, mode := range randomModes {
			pkg := fmt.Sprintf("r%d%s", i, mode.name)
			prog, err := passes.CompileProgram(c.g, passes.Options{Disable: mode.disable()})
			if err != nil {
				t.Fatalf("seed %s, passes %s: CompileProgram: %v\ngraph:\n%s", c.name, mode.name, err, ir.Print(c.g))
			}
			files, err := EmitProgram(prog, Options{Package: pkg, Source: "randgraph." + c.name})
			if err != nil {
				t.Fatalf("seed %s, passes %s: EmitProgram: %v\ngraph:\n%s", c.name, mode.name, err, ir.Print(c.g))
			}
			pdir := filepath.Join(dir, pkg)
			if err := os.MkdirAll(pdir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, b := range files {
				if err := os.WriteFile(filepath.Join(pdir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fmt.Fprintf(&imports, "\t%q\n", importBase+"/"+pkg)
			fmt.Fprintf(&entries, "\t%q: func() (api.Model, error) {\n\t\tm, err := %s.New(%s.Config{})\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn m, nil\n\t},\n", pkg, pkg, pkg)
			runs = append(runs, randomDriverCase{Model: pkg, Floats: floats, Ints: ints})
			wants = append(wants, want{c, mode.name, prog.Graph})
		}
	}
	src := strings.Replace(randomDriver, "//IMPORTS\n", imports.String(), 1)
	src = strings.Replace(src, "//ENTRIES\n", entries.String(), 1)
	ddir := filepath.Join(dir, "driver")
	if err := os.MkdirAll(ddir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ddir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "driver.bin")
	cmd := exec.Command("go", "build", "-o", bin, "./"+filepath.ToSlash(rel)+"/driver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the generated packages: %v\n%s", err, out)
	}
	in, err := json.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	run := exec.Command(bin, path)
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, stderr.Bytes())
	}
	var res []randomDriverResult
	if err := gob.NewDecoder(bytes.NewReader(out)).Decode(&res); err != nil {
		t.Fatalf("driver output: %v", err)
	}
	if len(res) != len(runs) {
		t.Fatalf("driver printed %d results for %d cases", len(res), len(runs))
	}
	for i, w := range wants {
		if err := w.c.check(w.optimized, res[i]); err != nil {
			t.Errorf("seed %s, passes %s: %v\ngraph:\n%s", w.c.name, w.mode, err, ir.Print(w.c.g))
		}
	}
}

// check compares a driver result with the interpreter's results for the
// unoptimized joint graph c.ref and for the optimized one.
func (c *randomCase) check(optimized *ir.Graph, r randomDriverResult) error {
	if r.Err != "" {
		return fmt.Errorf("generated code: %s", r.Err)
	}
	for _, ref := range []struct {
		what string
		g    *ir.Graph
	}{{"the unoptimized joint graph", c.ref}, {"the optimized graph", optimized}} {
		want, err := ir.Interp(ref.g, ir.Env{Inputs: c.env, Training: true})
		if err != nil {
			return fmt.Errorf("interpreting %s: %v", ref.what, err)
		}
		if e, _ := compareFloor([]float64{r.Objective}, want.Objective.F, randomAbsFloor); !(e <= tol64) {
			return fmt.Errorf("objective %v, %s's %v (relative error %.3g > %g)", r.Objective, ref.what, want.Objective.F[0], e, tol64)
		}
		grads := 0
		for _, o := range ref.g.Outputs {
			if o.Grad == "" {
				continue
			}
			grads++
			w := want.Outputs[o.Name].F
			got, ok := r.Grads[o.Grad]
			if !ok {
				return fmt.Errorf("the generated code has no gradient of %s", o.Grad)
			}
			if e, at := compareFloor(got, w, randomAbsFloor); !(e <= tol64) {
				if at >= 0 && at < len(got) && at < len(w) {
					return fmt.Errorf("gradient of %s: relative error %.3g > %g at %d: got %v, %s's %v", o.Grad, e, tol64, at, got[at], ref.what, w[at])
				}
				return fmt.Errorf("gradient of %s: %d values, %s has %d", o.Grad, len(got), ref.what, len(w))
			}
		}
		if grads != len(r.Grads) {
			return fmt.Errorf("the generated code has %d gradients, %s %d", len(r.Grads), ref.what, grads)
		}
	}
	return nil
}

// randomDriver is the driver of the random graphs: for each case, New,
// the params and inputs set by DSL name through runtime/api, ForwardFeed,
// Backward, and the objective and gradients printed as gob.
const randomDriver = `// The test driver of codegen's random graphs (random_test.go).
package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"

	"github.com/bpgen/bpgen/runtime/api"
//IMPORTS
)

var models = map[string]func() (api.Model, error){
//ENTRIES
}

type randomDriverCase struct {
	Model  string
	Floats map[string][]float64
	Ints   map[string][]int32
}

type randomDriverResult struct {
	Objective float64
	Grads     map[string][]float64
	Err       string
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []randomDriverCase
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	res := make([]randomDriverResult, len(cases))
	for i, c := range cases {
		res[i] = run(c)
	}
	// gob, unlike JSON, carries NaN and ±Inf.
	if err := gob.NewEncoder(os.Stdout).Encode(res); err != nil {
		panic(err)
	}
}

func run(c randomDriverCase) (r randomDriverResult) {
	defer func() {
		if e := recover(); e != nil {
			r.Err = fmt.Sprint("panic: ", e)
		}
	}()
	newModel, ok := models[c.Model]
	if !ok {
		r.Err = "no model " + c.Model
		return r
	}
	m, err := newModel()
	if err != nil {
		r.Err = "New: " + err.Error()
		return r
	}
	params := m.ParamTensors()
	for _, p := range params {
		x, ok := c.Floats[p.Name]
		if !ok || p.DType != api.F64 || len(x) != len(p.F64) {
			r.Err = fmt.Sprintf("param %s (%s, %d elements): %d values given", p.Name, p.DType, p.Len(), len(x))
			return r
		}
		copy(p.F64, x)
	}
	feed := &api.Feed{Inputs: map[string]api.Tensor{}}
	for _, s := range m.Info().Inputs {
		t := api.Tensor{Name: s.Name, DType: s.DType}
		switch s.DType {
		case api.F64:
			t.F64 = c.Floats[s.Name]
		case api.I32:
			t.I32 = c.Ints[s.Name]
		default:
			r.Err = fmt.Sprintf("input %s is %s", s.Name, s.DType)
			return r
		}
		feed.Inputs[s.Name] = t
	}
	if r.Objective, err = m.ForwardFeed(feed); err != nil {
		r.Err = "ForwardFeed: " + err.Error()
		return r
	}
	if err := m.Backward(); err != nil {
		r.Err = "Backward: " + err.Error()
		return r
	}
	r.Grads = map[string][]float64{}
	for i, g := range m.GradTensors() {
		r.Grads[params[i].Name] = g.Floats()
	}
	return r
}
`
