package codegen

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/tensorio"
)

// bnStateModel normalizes its input with batch norm (params bn1.weight,
// bn1.bias; state bn1.running_mean, bn1.running_var), so the running
// statistics depend on the inputs alone and the test can compute them.
func bnStateModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	y := g.Target("y", dsl.Float32, n, 2)
	W := g.Param("W", 3, 2, dsl.Normal(0, 0.5))
	out := g.BatchNorm("bn1", x).MatMul(W).Named("out")
	g.Output("out", out)
	g.Minimize(dsl.SquaredError(out, y).Mean())
}

// bnStateTol bounds the relative error of the float64 model against the
// test's formulas: the same float64 arithmetic in another order (the
// generated batch statistics are single-sweep shifted sums, the test's are
// two-pass), a few ulps per step over three steps.
const bnStateTol = 1e-13

// bnDriver runs the generated package bnstate: three TrainSteps on the
// batches xs, Predict on xp, Save, and Load into a model of another seed.
const bnDriver = `package main

import (
	"encoding/json"
	"os"

	"IMPORT"
)

func main() {
	xs, ys, xp := XS, YS, XP
	path := os.Args[1]
	m, err := bnstate.New(bnstate.Config{MaxN: 8, Seed: 1})
	check(err)
	r := map[string]any{}
	var means, vars [][]float64
	for k := range xs {
		_, err := m.TrainStep(bnstate.Inputs{X: xs[k], Y: ys[k], N: len(xs[k]) / 3})
		check(err)
		means = append(means, append([]float64(nil), m.State.Bn1_running_mean...))
		vars = append(vars, append([]float64(nil), m.State.Bn1_running_var...))
	}
	r["means"], r["vars"] = means, vars
	r["weight"], r["bias"], r["W"] = m.Params.Bn1_weight, m.Params.Bn1_bias, m.Params.W
	out, err := m.Predict(bnstate.Inputs{X: xp, N: len(xp) / 3})
	check(err)
	r["pred"] = append([]float64(nil), out.Out...)
	check(m.Save(path))
	m2, err := bnstate.New(bnstate.Config{MaxN: 8, Seed: 2})
	check(err)
	r["freshMean"], r["freshVar"] = append([]float64(nil), m2.State.Bn1_running_mean...), append([]float64(nil), m2.State.Bn1_running_var...)
	check(m2.Load(path))
	r["loadedMean"], r["loadedVar"] = m2.State.Bn1_running_mean, m2.State.Bn1_running_var
	out2, err := m2.Predict(bnstate.Inputs{X: xp, N: len(xp) / 3})
	check(err)
	r["loadedPred"] = out2.Out
	m2.State.Bn1_running_var = make([]float64, 3)
	if _, err := m2.Predict(bnstate.Inputs{X: xp, N: len(xp) / 3}); err != nil {
		r["replaced"] = err.Error()
	}
	check(json.NewEncoder(os.Stdout).Encode(r))
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
`

// runStateDriver writes the generated package files (named pkg) and the
// driver (a main package importing it as IMPORT) under codegen/testdata,
// runs the driver with the argument arg and returns its output.
func runStateDriver(t *testing.T, pkg string, files map[string][]byte, driver, arg string) []byte {
	t.Helper()
	root := moduleRoot(t)
	dir, err := os.MkdirTemp(filepath.Join(root, "codegen", "testdata"), "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rel, _ := filepath.Rel(root, dir)
	os.MkdirAll(filepath.Join(dir, pkg), 0o755)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, pkg, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	driver = strings.ReplaceAll(driver, "IMPORT", "github.com/bpgen/bpgen/"+filepath.ToSlash(rel)+"/"+pkg)
	os.MkdirAll(filepath.Join(dir, "driver"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "driver", "main.go"), []byte(driver), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./"+filepath.ToSlash(rel)+"/driver", arg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	return out
}

// TestBatchNormState is the acceptance test of batch norm's state: the
// training step updates the running statistics by PyTorch's formulas
// (momentum 0.1, the unbiased batch variance), Predict normalizes with
// them, Save and Load carry them under PyTorch's names, and the generated
// API shows them next to Params.
func TestBatchNormState(t *testing.T) {
	m := &testModel{name: "bnstate", fn: bnStateModel, dtype: ir.F64}
	files, err := m.emit(harnessMode{name: "passes=on", passes: true})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["model.go"])
	for _, re := range []string{
		`(?m)^type State struct \{$`,
		`(?m)^\tBn1_running_mean \[\]float64$`,
		`(?m)^\tBn1_running_var \[\]float64$`,
		`(?m)^\tState State$`,
		`// bn1.running_var: f64\[3\], state at norm_state_test.go:\d+ \(initially 1; updated by every training step\)`,
	} {
		if !regexp.MustCompile(re).MatchString(src) {
			t.Errorf("generated model.go lacks %s", re)
		}
	}
	if i := strings.Index(src, "type Outputs struct"); i < 0 || strings.Contains(src[i:i+strings.Index(src[i:], "}")], "Running") {
		t.Errorf("the state updates must not be Outputs fields")
	}

	// Three batches of 4 with different statistics, and a batch to predict.
	var xs, ys [][]float64
	for k := range 3 {
		var x, y []float64
		for i := range 4 * 3 {
			x = append(x, float64(k+1)*math.Sin(float64(7*i+k))+0.5*float64(i%3)+float64(k))
		}
		for i := range 4 * 2 {
			y = append(y, math.Cos(float64(i+k)))
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	xp := []float64{0.3, -1.2, 2.5, 1.1, 0.4, -0.7}

	file := filepath.Join(t.TempDir(), "bn.safetensors")
	out := runStateDriver(t, "bnstate", files, strings.NewReplacer("XS", fmt.Sprintf("%#v", xs), "YS", fmt.Sprintf("%#v", ys), "XP", fmt.Sprintf("%#v", xp)).Replace(bnDriver), file)
	var r struct {
		Means, Vars                                [][]float64
		Weight, Bias, W, Pred                      []float64
		FreshMean, FreshVar, LoadedMean, LoadedVar []float64
		LoadedPred                                 []float64
		Replaced                                   string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	close := func(what string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > bnStateTol*max(1, math.Abs(want[i])) {
				t.Errorf("%s[%d] = %.17g, want %.17g", what, i, got[i], want[i])
			}
		}
	}
	// PyTorch: running = (1 − momentum)·running + momentum·batch statistic,
	// the mean and the unbiased variance of each channel, from 0 and 1.
	const momentum, eps = 0.1, 1e-5
	mean, variance := []float64{0, 0, 0}, []float64{1, 1, 1}
	close("a new model's running_mean", r.FreshMean, mean)
	close("a new model's running_var", r.FreshVar, variance)
	for k, x := range xs {
		for c := range 3 {
			var col []float64
			for i := range 4 {
				col = append(col, x[i*3+c])
			}
			mu := 0.0
			for _, v := range col {
				mu += v / 4
			}
			ss := 0.0
			for _, v := range col {
				ss += (v - mu) * (v - mu)
			}
			mean[c] = (1-momentum)*mean[c] + momentum*mu
			variance[c] = (1-momentum)*variance[c] + momentum*ss/3
		}
		close(fmt.Sprintf("running_mean after step %d", k+1), r.Means[k], mean)
		close(fmt.Sprintf("running_var after step %d", k+1), r.Vars[k], variance)
	}

	// Predict: normalized by the running statistics, then the matmul.
	var pred []float64
	for i := range 2 {
		for j := range 2 {
			s := 0.0
			for c := range 3 {
				h := (xp[i*3+c]-mean[c])/math.Sqrt(variance[c]+eps)*r.Weight[c] + r.Bias[c]
				s += h * r.W[c*2+j]
			}
			pred = append(pred, s)
		}
	}
	close("Predict", r.Pred, pred)
	if slices.Equal(r.Weight, []float64{1, 1, 1}) {
		t.Errorf("bn1.weight %v was not trained", r.Weight)
	}

	// Save and Load: the state round-trips under PyTorch's names.
	close("loaded running_mean", r.LoadedMean, mean)
	close("loaded running_var", r.LoadedVar, variance)
	if !slices.Equal(r.LoadedPred, r.Pred) {
		t.Errorf("Predict after Load = %v, want %v", r.LoadedPred, r.Pred)
	}
	if want := "bnstate: State.Bn1_running_var was replaced"; !strings.HasPrefix(r.Replaced, want) {
		t.Errorf("Predict with a replaced State field: error %q, want one starting %q", r.Replaced, want)
	}
	ts, _, err := tensorio.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range ts {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"W", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.weight"}; !slices.Equal(names, want) {
		t.Errorf("saved tensors %v, want %v", names, want)
	}
	if got := ts["bn1.running_var"]; !slices.Equal(got.Shape, []int{3}) || got.DType != "F64" || !slices.Equal(got.Data.([]float64), r.Vars[2]) {
		t.Errorf("saved bn1.running_var = %+v, want F64 [3] %v", got, r.Vars[2])
	}
}

// mixedStateModel is a float32 model with state of two dtypes: a float64
// step counter (its own rt.Views) next to a float32 scale.
func mixedStateModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	y := g.Target("y", dsl.Float32, n, 2)
	W := g.Param("W", 3, 2, dsl.Normal(0, 0.5))
	steps := g.State("steps", 0, 1, dsl.Float64)
	scale := g.State("scale", 2, 2)
	out := x.MatMul(W).Mul(scale).Named("out")
	g.UpdateState(steps, steps.Add(1))
	g.Output("out", out)
	g.Minimize(dsl.SquaredError(out, y).Mean())
}

// mixedDriver trains the generated package mixed for two steps, saves it,
// loads it into a model of another seed, and replaces a State field.
const mixedDriver = `package main

import (
	"encoding/json"
	"os"

	"IMPORT"
)

func main() {
	path := os.Args[1]
	m, err := mixed.New(mixed.Config{MaxN: 2, Seed: 1})
	check(err)
	r := map[string]any{"steps0": append([]float64(nil), m.State.Steps...), "scale0": m.State.Scale}
	in := mixed.Inputs{X: []float32{1, 2, 3, 4, 5, 6}, Y: []float32{1, 0, 0, 1}, N: 2}
	for range 2 {
		_, err := m.TrainStep(in)
		check(err)
	}
	r["steps"] = m.State.Steps
	check(m.Save(path))
	m2, err := mixed.New(mixed.Config{MaxN: 2, Seed: 2})
	check(err)
	check(m2.Load(path))
	r["loadedSteps"], r["loadedW"], r["W"] = m2.State.Steps, m2.Params.W, m.Params.W
	m2.State.Steps = []float64{5}
	if _, err := m2.Predict(in); err != nil {
		r["replaced"] = err.Error()
	}
	check(json.NewEncoder(os.Stdout).Encode(r))
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
`

// TestMixedDTypeState checks a model whose state has a dtype of its own
// (float64 in a float32 model): it has an rt.Views of its own, starts at
// its value, is updated, saved, loaded and checked like the rest.
func TestMixedDTypeState(t *testing.T) {
	m := &testModel{name: "mixed", fn: mixedStateModel}
	files, err := m.emit(harnessMode{name: "passes=on", passes: true})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["model.go"])
	for _, want := range []string{
		"stateVec      rt.Views[float32]", "stateVecF64   rt.Views[float64]",
		"func (s *State) fieldsF64() []*[]float64 {",
		"m.stateVecF64.Bind(&mem, info, rt.State, cfg.Seed, m.State.fieldsF64())",
		"rt.Save(path, info, m.params.Tensors(), m.stateVec.Tensors(), m.stateVecF64.Tensors())",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated model.go lacks %q", want)
		}
	}
	file := filepath.Join(t.TempDir(), "mixed.safetensors")
	var r struct {
		Steps0, Steps, LoadedSteps []float64
		Scale0, W, LoadedW         []float32
		Replaced                   string
	}
	if err := json.Unmarshal(runStateDriver(t, "mixed", files, mixedDriver, file), &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Steps0, []float64{0}) || !slices.Equal(r.Scale0, []float32{2, 2}) || !slices.Equal(r.Steps, []float64{2}) {
		t.Errorf("steps %v after New, %v after two steps (want 0 and 2); scale %v (want 2s)", r.Steps0, r.Steps, r.Scale0)
	}
	if !slices.Equal(r.LoadedSteps, r.Steps) || !slices.Equal(r.LoadedW, r.W) {
		t.Errorf("loaded steps %v and W %v, want %v and %v", r.LoadedSteps, r.LoadedW, r.Steps, r.W)
	}
	if want := "mixed: State.Steps was replaced"; !strings.HasPrefix(r.Replaced, want) {
		t.Errorf("Predict with a replaced State field: error %q, want one starting %q", r.Replaced, want)
	}
	ts, _, err := tensorio.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := ts["steps"]; got.DType != "F64" || !slices.Equal(got.Shape, []int{1}) {
		t.Errorf("saved steps = %+v, want F64 [1]", got)
	}
}
