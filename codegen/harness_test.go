package codegen

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// The equivalence harness generates every test model into one temporary
// directory inside the module (under testdata, which ./... ignores),
// together with a driver program that imports them all, builds it once,
// runs it on JSON cases and compares what it prints with ir.Interp.

// Tolerances of generated code against the interpreter.
const (
	// tol64 bounds, for float64 models, the relative error of every element,
	// |got − want| / max(|want|, relFloor·max|want|) (see relFloor). Results
	// differ from the interpreter's only in the order of summation (GEMM
	// blocking): a few ulps per term. An optimizer step is also allowed
	// the error its gradient is allowed, carried through the update (see
	// compareStep). Measured: at most 1.5e-13 (deep64 logits).
	tol64 = 1e-12
	// tol32 bounds, for float32 models, the norm-wise relative error
	// ‖got − want‖₂ / ‖want‖₂ of each tensor: the "float32 ≤ 1e-5".
	// Float32 code accumulates GEMMs in float32 where the interpreter
	// computes each op in float64 and rounds once; whole tensors agree to
	// the backward error of float32 GEMM (measured: at most 1.6e-6, in the
	// 7-layer MLP deep32).
	tol32 = 1e-5
	// atol32 and rtol32 bound every element of a float32 tensor,
	// |got − want| ≤ atol32 + rtol32·|want|: the defaults with which
	// torch.testing.assert_close calls two float32 tensors equal. Measured:
	// at most 0.33 of the bound (a gradient of op_matmul32).
	atol32, rtol32 = 1e-5, 1.3e-6
	// tol32Elem bounds the element-wise error of float32 models with the
	// scale-free rule of tol64, so that a wrong element of a tensor whose
	// values are all far below atol32 is still caught. It cannot be 1e-5:
	// an element that is a sum of hundreds of terms of both signs loses
	// digits to cancellation, and every float32 summation order loses
	// different ones. Measured worst cases: 2.6e-5 in an output (mlp32
	// logits), 5.8e-5 in a gradient (mlp32 W2), 1.9e-5 in an Adam step;
	// 63 of the 293 comparisons of these models exceed 1e-5. The float32
	// op models of the registry walk (tiny sums) stay within 8.7e-6, but
	// are held to this bound too: their worst case is a matmul gradient
	// whose digits depend on the seed.
	tol32Elem = 1e-4
	// tol32Acc64 bounds, element by element (the rule of tol64), float32
	// models generated with float64 accumulation (Options.Accumulate
	// "f64"): their products round each element once, as the interpreter
	// does, so only the order of float64 sums and fused float32 arithmetic
	// differ. This is the "float32 ≤ 1e-5" read element-wise.
	tol32Acc64 = 1e-5
	// relFloor: elements smaller than this fraction of a tensor's largest
	// magnitude are compared absolutely, since they result from cancellation
	// and carry the absolute error of the larger terms.
	relFloor = 1e-2
)

// testModel is one model of the harness.
type testModel struct {
	name   string // Go package name
	fn     func(g *dsl.Graph)
	dtype  ir.DType
	lo, hi float64 // range of float inputs
	labels int     // int32 inputs are in [0, labels)
	ns     []int   // batch sizes to run (default 1, 3, 7)
	adam   bool    // also check an Adam step
	gemm   Gemm    // Options.Gemm
	// accumulate is Options.Accumulate; ir.F64 holds a float32 model to
	// tol32Acc64 element by element.
	accumulate ir.DType
	noGrad     bool     // a forward-only graph: no grad pass
	wrt        []string // passes.GradOptions.Wrt
	// optimizer is Options.Optimizer; with OptimizerAdam, the harness's
	// Adam case leaves Config.Optimizer.Kind empty to check the default.
	optimizer Optimizer
	// fill gives the values of named inputs (default: uniform in [lo, hi)).
	fill map[string]func(shape []int) []float64
	// transform, for a noGrad model, rewrites the model (retargeted to
	// dtype) before it is generated: passes.JVPModel, passes.HVPModel.
	transform func(*ir.Graph) (*ir.Graph, error)
}

// capacity is Config.Max* of every harness model.
const capacity = 8

func moduleRoot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// build returns the forward+backward graph of m in its dtype.
func (m *testModel) build() (*ir.Graph, error) {
	g, err := dsl.Build("test."+m.name, m.fn)
	if err != nil {
		return nil, err
	}
	g = passes.Retarget(g, m.dtype)
	if m.transform != nil {
		return m.transform(g)
	}
	if m.noGrad {
		return g, nil
	}
	j, _, err := passes.Grad(g, passes.GradOptions{Wrt: m.wrt})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// harnessMode is how the harness compiles its models.
type harnessMode struct {
	name string
	// passes: compile with passes.CompileProgram with every pass on;
	// otherwise with every optional pass disabled (no simplification, no
	// fusion, one buffer per value). Both generate with EmitProgram.
	passes bool
	// planCap, if positive, is the capacity of every dim the buffer plan
	// is made for: below the harness's, so New must lay the arena out again.
	planCap int
}

var harnessModes = []harnessMode{
	{name: "passes=off"},
	{name: "passes=on", passes: true},
	{name: "passes=on,relayout", passes: true, planCap: 2},
}

// options are the codegen options of m.
func (m *testModel) options() Options {
	return Options{Package: m.name, Source: "test." + m.name, Gemm: m.gemm, Accumulate: m.accumulate, Optimizer: m.optimizer}
}

// emit generates the package of m in a mode.
func (m *testModel) emit(mode harnessMode) (map[string][]byte, error) {
	opt := m.options()
	g, err := dsl.Build("test."+m.name, m.fn)
	if err != nil {
		return nil, err
	}
	popts := passes.Options{Wrt: m.wrt, DType: m.dtype}
	if m.transform != nil {
		if g, err = m.transform(passes.Retarget(g, m.dtype)); err != nil {
			return nil, err
		}
		if mode.passes {
			if _, err := passes.Simplify(g); err != nil {
				return nil, err
			}
		}
	}
	if !mode.passes {
		popts.Disable = optionalPasses()
	}
	if mode.planCap > 0 {
		popts.Capacity = map[string]int{}
		for _, d := range g.Dims {
			popts.Capacity[d] = mode.planCap
		}
	}
	var prog *passes.Program
	if m.noGrad {
		// Lower runs the lowering passes only: retarget here.
		prog, err = passes.Lower(passes.Retarget(g, m.dtype), popts)
	} else {
		prog, err = passes.CompileProgram(g, popts)
	}
	if err != nil {
		return nil, err
	}
	return EmitProgram(prog, opt)
}

// optionalPasses lists the passes that can be disabled.
func optionalPasses() []string {
	var r []string
	for _, p := range passes.Pipeline {
		if !p.Required {
			r = append(r, p.Name)
		}
	}
	return r
}

// driverCase is one run of the driver.
type driverCase struct {
	Model  string
	Seed   uint64
	Cap    int
	Dims   map[string]int
	Inputs map[string][]float64
	Opt    map[string]any
	Allocs bool
	Probe  bool   // only report the errors of Backward (first), Forward, Predict and TrainStep
	Save   string // also save, load into a model with another seed, and compare
	// Replace names a field of Params (or "Grads.X" of Grads) that Probe
	// replaces by a copy before its calls.
	Replace string
}

// driverResult is what the driver prints for a case.
type driverResult struct {
	Init     map[string][]float64
	Loss     float64
	Outputs  map[string][]float64
	Grads    map[string][]float64
	InGrads  map[string][]float64
	Predict  map[string][]float64
	Evaluate map[string][]float64 // between Forward and Backward
	Stepped  map[string][]float64
	StepLoss float64
	Stepped2 map[string][]float64 // params after a second TrainStep
	Step2    float64              // its objective (dropout at step 1)
	State    map[string][]float64 // Model.State after the first Forward (models with state)
	Allocs   map[string]float64
	Err      string
	Errors   []string // Probe
}

// genSuite is a generated directory with every model and the driver, built.
type genSuite struct {
	dir    string // absolute
	rel    string // relative to the module root, for go commands
	driver string // the built driver binary
}

// generate writes the packages of models and the driver, and builds it.
func generate(t *testing.T, models []*testModel, mode harnessMode) *genSuite {
	t.Helper()
	root := moduleRoot(t)
	base := filepath.Join(root, "codegen", "testdata")
	dir, err := os.MkdirTemp(base, "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rel, _ := filepath.Rel(root, dir)
	importBase := "github.com/bpgen/bpgen/" + filepath.ToSlash(rel)
	var imports, entries, allocs strings.Builder
	for _, m := range models {
		files, err := m.emit(mode)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		pdir := filepath.Join(dir, m.name)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(pdir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&imports, "\t%q\n", importBase+"/"+m.name)
		fmt.Fprintf(&entries, "\t%q: {reflect.ValueOf(%s.New), allocs_%s},\n", m.name, m.name, m.name)
		tmpl := allocsTmpl
		if m.noGrad {
			tmpl = allocsForwardOnlyTmpl
		}
		fmt.Fprintf(&allocs, tmpl, m.name, m.name, m.name, m.name)
	}
	src := strings.Replace(driverHead, "//IMPORTS\n", imports.String(), 1)
	src = strings.Replace(src, "//ENTRIES\n", entries.String(), 1)
	src += allocs.String()
	ddir := filepath.Join(dir, "driver")
	os.MkdirAll(ddir, 0o755)
	if err := os.WriteFile(filepath.Join(ddir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "driver.bin")
	cmd := exec.Command("go", "build", "-o", bin, "./"+filepath.ToSlash(rel)+"/driver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the generated packages: %v\n%s", err, out)
	}
	return &genSuite{dir: dir, rel: rel, driver: bin}
}

// run runs the driver on cases.
func (s *genSuite) run(t *testing.T, cases []driverCase) []driverResult {
	t.Helper()
	in, _ := json.Marshal(cases)
	path := filepath.Join(s.dir, "cases.json")
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(s.driver, path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, stderr.Bytes())
	}
	var res []driverResult
	if err := gob.NewDecoder(bytes.NewReader(out)).Decode(&res); err != nil {
		t.Fatalf("driver output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("driver printed %d results for %d cases", len(res), len(cases))
	}
	return res
}

const driverHead = `// The test driver of codegen's equivalence harness.
package main

import (
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/runtime/optim"
//IMPORTS
)

type entry struct {
	newFn  reflect.Value
	allocs func(cfg, in any) map[string]float64
}

var models = map[string]entry{
//ENTRIES
}

type driverCase struct {
	Model  string
	Seed   uint64
	Cap    int
	Dims   map[string]int
	Inputs map[string][]float64
	Opt    map[string]any
	Allocs bool
	Probe  bool   // only report the errors of Backward (first), Forward, Predict and TrainStep
	Save   string // also save, load into a model with another seed, and compare
	// Replace names a field of Params (or "Grads.X" of Grads) that Probe
	// replaces by a copy before its calls.
	Replace string
}

type driverResult struct {
	Init     map[string][]float64
	Loss     float64
	Outputs  map[string][]float64
	Grads    map[string][]float64
	InGrads  map[string][]float64
	Predict  map[string][]float64
	Evaluate map[string][]float64 // between Forward and Backward
	Stepped  map[string][]float64
	StepLoss float64
	Stepped2 map[string][]float64 // params after a second TrainStep
	Step2    float64              // its objective (dropout at step 1)
	State    map[string][]float64 // Model.State after the first Forward (models with state)
	Allocs   map[string]float64
	Err      string
	Errors   []string // Probe
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []driverCase
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	var res []driverResult
	for _, c := range cases {
		res = append(res, run(c))
	}
	// gob, unlike JSON, carries NaN and ±Inf.
	if err := gob.NewEncoder(os.Stdout).Encode(res); err != nil {
		panic(err)
	}
}

func fail(r driverResult, format string, args ...any) driverResult {
	r.Err = fmt.Sprintf(format, args...)
	return r
}

func callErr(out []reflect.Value) error {
	e := out[len(out)-1]
	if e.IsNil() {
		return nil
	}
	return e.Interface().(error)
}

// floats converts a slice or scalar field to []float64.
func floats(v reflect.Value) []float64 {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return []float64{v.Float()}
	case reflect.Int32:
		return []float64{float64(v.Int())}
	case reflect.Slice:
		r := make([]float64, v.Len())
		for i := range r {
			e := v.Index(i)
			if e.Kind() == reflect.Int32 {
				r[i] = float64(e.Int())
			} else {
				r[i] = e.Float()
			}
		}
		return r
	}
	panic("floats: " + v.Kind().String())
}

func fields(v reflect.Value) map[string][]float64 {
	m := map[string][]float64{}
	for i := 0; i < v.NumField(); i++ {
		m[v.Type().Field(i).Name] = floats(v.Field(i))
	}
	return m
}

func run(c driverCase) (r driverResult) {
	defer func() {
		if e := recover(); e != nil {
			r.Err = fmt.Sprint("panic: ", e)
		}
	}()
	e, ok := models[c.Model]
	if !ok {
		return fail(r, "no model %s", c.Model)
	}
	cfg := reflect.New(e.newFn.Type().In(0)).Elem()
	for i := 0; i < cfg.NumField(); i++ {
		if strings.HasPrefix(cfg.Type().Field(i).Name, "Max") {
			cfg.Field(i).SetInt(int64(c.Cap))
		}
	}
	cfg.FieldByName("Seed").SetUint(c.Seed)
	opt := cfg.FieldByName("Optimizer")
	for k, v := range c.Opt {
		if !opt.IsValid() {
			break // a forward-only model has no optimizer
		}
		f := opt.FieldByName(k)
		switch v := v.(type) {
		case string:
			f.SetString(v)
		case float64:
			f.SetFloat(v)
		case bool:
			f.SetBool(v)
		}
	}
	out := e.newFn.Call([]reflect.Value{cfg})
	if err := callErr(out); err != nil {
		return fail(r, "New: %v", err)
	}
	m := out[0]
	r.Init = fields(m.Elem().FieldByName("Params"))
	if c.Save != "" {
		if err := callErr(m.MethodByName("Save").Call([]reflect.Value{reflect.ValueOf(c.Save)})); err != nil {
			return fail(r, "Save: %v", err)
		}
		cfg.FieldByName("Seed").SetUint(c.Seed + 1)
		out := e.newFn.Call([]reflect.Value{cfg})
		m2 := out[0]
		if reflect.DeepEqual(fields(m2.Elem().FieldByName("Params")), r.Init) {
			return fail(r, "another seed gives the same params")
		}
		if err := callErr(m2.MethodByName("Load").Call([]reflect.Value{reflect.ValueOf(c.Save)})); err != nil {
			return fail(r, "Load: %v", err)
		}
		if !reflect.DeepEqual(fields(m2.Elem().FieldByName("Params")), r.Init) {
			return fail(r, "Load did not restore the saved params")
		}
		cfg.FieldByName("Seed").SetUint(c.Seed)
	}
	in := reflect.New(m.MethodByName("Forward").Type().In(0)).Elem()
	for k, n := range c.Dims {
		in.FieldByName(k).SetInt(int64(n))
	}
	for k, xs := range c.Inputs {
		f := in.FieldByName(k)
		s := reflect.MakeSlice(f.Type(), len(xs), len(xs))
		for i, x := range xs {
			if s.Index(i).Kind() == reflect.Int32 {
				s.Index(i).SetInt(int64(x))
			} else {
				s.Index(i).SetFloat(x)
			}
		}
		f.Set(s)
	}
	if c.Replace != "" {
		st, name := m.Elem().FieldByName("Params"), c.Replace
		if g, ok := strings.CutPrefix(name, "Grads."); ok {
			st, name = m.Elem().FieldByName("Grads"), g
		}
		f := st.FieldByName(name)
		cp := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
		reflect.Copy(cp, f)
		f.Set(cp)
	}
	if !m.MethodByName("Backward").IsValid() {
		return runForwardOnly(r, c, cfg, m, in)
	}
	if c.Probe {
		errText := func(out []reflect.Value) string {
			if err := callErr(out); err != nil {
				return err.Error()
			}
			return ""
		}
		r.Errors = append(r.Errors,
			errText(m.MethodByName("Backward").Call(nil)),
			errText(m.MethodByName("Forward").Call([]reflect.Value{in})),
			errText(m.MethodByName("Predict").Call([]reflect.Value{in})),
			errText(m.MethodByName("TrainStep").Call([]reflect.Value{in})))
		return r
	}
	out = m.MethodByName("Forward").Call([]reflect.Value{in})
	if err := callErr(out); err != nil {
		return fail(r, "Forward: %v", err)
	}
	r.Loss = out[0].Float()
	// Evaluate between Forward and Backward: it must disturb neither
	// (the outputs and gradients are checked after it).
	ein := reflect.New(in.Type()).Elem()
	ein.Set(in)
	out = m.MethodByName("Evaluate").Call([]reflect.Value{ein})
	if err := callErr(out); err != nil {
		return fail(r, "Evaluate: %v", err)
	}
	r.Evaluate = fields(out[0])
	r.Outputs = fields(m.MethodByName("Outputs").Call(nil)[0])
	if st := m.Elem().FieldByName("State"); st.IsValid() {
		r.State = fields(st)
	}
	if err := callErr(m.MethodByName("Backward").Call(nil)); err != nil {
		return fail(r, "Backward: %v", err)
	}
	r.Grads = fields(m.Elem().FieldByName("Grads"))
	if ig := m.MethodByName("InputGrads"); ig.IsValid() {
		r.InGrads = fields(ig.Call(nil)[0])
	}
	pin := reflect.New(in.Type()).Elem()
	pin.Set(in)
	out = m.MethodByName("Predict").Call([]reflect.Value{pin})
	if err := callErr(out); err != nil {
		return fail(r, "Predict: %v", err)
	}
	r.Predict = fields(out[0])
	// A Predictor gives Predict's outputs bit for bit.
	out = m.MethodByName("NewPredictor").Call(nil)
	if err := callErr(out); err != nil {
		return fail(r, "NewPredictor: %v", err)
	}
	pr := out[0]
	out = pr.MethodByName("Predict").Call([]reflect.Value{pin})
	if err := callErr(out); err != nil {
		return fail(r, "Predictor.Predict: %v", err)
	}
	if got := fields(out[0]); fmt.Sprint(got) != fmt.Sprint(r.Predict) {
		return fail(r, "Predictor.Predict gave other outputs than Predict")
	}
	out = m.MethodByName("TrainStep").Call([]reflect.Value{in})
	if err := callErr(out); err != nil {
		return fail(r, "TrainStep: %v", err)
	}
	r.StepLoss = out[0].Float()
	r.Stepped = fields(m.Elem().FieldByName("Params"))
	if msg := checkFlat(m); msg != "" {
		return fail(r, "%s", msg)
	}
	// TrainStep is Forward, Backward and Apply: the same calls on a fresh
	// model give the same bits.
	out = e.newFn.Call([]reflect.Value{cfg})
	if err := callErr(out); err != nil {
		return fail(r, "New: %v", err)
	}
	m3 := out[0]
	if err := callErr(m3.MethodByName("Forward").Call([]reflect.Value{in})); err != nil {
		return fail(r, "Forward: %v", err)
	}
	if err := callErr(m3.MethodByName("Backward").Call(nil)); err != nil {
		return fail(r, "Backward: %v", err)
	}
	if err := callErr(m3.MethodByName("Apply").Call(nil)); err != nil {
		return fail(r, "Apply: %v", err)
	}
	if got := fields(m3.Elem().FieldByName("Params")); !reflect.DeepEqual(got, r.Stepped) {
		return fail(r, "Forward, Backward, Apply gave other params than TrainStep")
	}
	if err := callErr(m3.MethodByName("Backward").Call(nil)); err == nil {
		return fail(r, "Backward after Apply (new parameters, old residuals) did not fail")
	}
	if err := callErr(m.MethodByName("Backward").Call(nil)); err == nil {
		return fail(r, "Backward after TrainStep (new parameters, old residuals) did not fail")
	}
	out = m.MethodByName("TrainStep").Call([]reflect.Value{in})
	// A model whose first step left the domain of its ops (log, sqrt, pow
	// of a negative) has a NaN objective at the second: TrainStep returns
	// it with an error and applies no update; the objective is compared.
	var nonFinite *optim.NonFiniteError
	if err := callErr(out); err != nil && !(errors.As(err, &nonFinite) && nonFinite.Param == "") {
		return fail(r, "second TrainStep: %v", err)
	}
	r.Step2 = out[0].Float()
	r.Stepped2 = fields(m.Elem().FieldByName("Params"))
	if c.Allocs {
		r.Allocs = e.allocs(cfg.Interface(), in.Interface())
	}
	return r
}

// runForwardOnly runs a forward-only model (no Backward, no TrainStep)
// after New, continuing r: Forward's outputs must be Outputs', Evaluate's
// and Predict's are reported.
func runForwardOnly(r driverResult, c driverCase, cfg, m, in reflect.Value) driverResult {
	for _, name := range []string{"Apply", "TrainStep", "GradVector", "ValueAndGrad", "SetLR"} {
		if m.MethodByName(name).IsValid() {
			return fail(r, "a forward-only model has %s", name)
		}
	}
	if m.Elem().FieldByName("Grads").IsValid() {
		return fail(r, "a forward-only model has Grads")
	}
	out := m.MethodByName("Forward").Call([]reflect.Value{in})
	if err := callErr(out); err != nil {
		return fail(r, "Forward: %v", err)
	}
	fwd := fields(out[0])
	ein := reflect.New(in.Type()).Elem()
	ein.Set(in)
	out = m.MethodByName("Evaluate").Call([]reflect.Value{ein})
	if err := callErr(out); err != nil {
		return fail(r, "Evaluate: %v", err)
	}
	r.Evaluate = fields(out[0])
	r.Outputs = fields(m.MethodByName("Outputs").Call(nil)[0])
	if !reflect.DeepEqual(fwd, r.Outputs) {
		return fail(r, "Forward returned other outputs than Outputs")
	}
	if st := m.Elem().FieldByName("State"); st.IsValid() {
		r.State = fields(st)
	}
	pin := reflect.New(in.Type()).Elem()
	pin.Set(in)
	out = m.MethodByName("Predict").Call([]reflect.Value{pin})
	if err := callErr(out); err != nil {
		return fail(r, "Predict: %v", err)
	}
	r.Predict = fields(out[0])
	r.Stepped = fields(m.Elem().FieldByName("Params"))
	if msg := checkFlat(m); msg != "" {
		return fail(r, "%s", msg)
	}
	// SetParams of ParamVector itself is no change; of a wrong length, an
	// error.
	vec := m.MethodByName("ParamVector").Call(nil)[0]
	if err := callErr(m.MethodByName("SetParams").Call([]reflect.Value{vec})); err != nil {
		return fail(r, "SetParams(ParamVector()): %v", err)
	}
	if err := callErr(m.MethodByName("SetParams").Call([]reflect.Value{vec.Slice(0, vec.Len()/2)})); err == nil && vec.Len() > 0 {
		return fail(r, "SetParams of half the params did not fail")
	}
	if c.Allocs {
		r.Allocs = models[c.Model].allocs(cfg.Interface(), in.Interface())
	}
	return r
}

// checkFlat checks that ParamVector and GradVector are the concatenation
// of the Params and Grads fields in declaration order, and their storage.
func checkFlat(m reflect.Value) string {
	for _, c := range []struct{ field, method string }{{"Params", "ParamVector"}, {"Grads", "GradVector"}} {
		if !m.MethodByName(c.method).IsValid() {
			continue // a forward-only model has no GradVector
		}
		vec := m.MethodByName(c.method).Call(nil)[0]
		st := m.Elem().FieldByName(c.field)
		off := 0
		for i := 0; i < st.NumField(); i++ {
			f := st.Field(i)
			for j := 0; j < f.Len(); j++ {
				if f.Index(j).Float() != vec.Index(off+j).Float() {
					return fmt.Sprintf("%s()[%d] is not %s.%s[%d]", c.method, off+j, c.field, st.Type().Field(i).Name, j)
				}
			}
			if f.Len() > 0 {
				// Aliasing: a write through the vector shows in the field.
				old := vec.Index(off).Float()
				vec.Index(off).SetFloat(old + 1)
				changed := f.Index(0).Float() != old
				vec.Index(off).SetFloat(old)
				if !changed {
					return fmt.Sprintf("%s.%s is not a view of %s()", c.field, st.Type().Field(i).Name, c.method)
				}
			}
			off += f.Len()
		}
		if off != vec.Len() {
			return fmt.Sprintf("%s() has %d elements, the fields of %s %d", c.method, vec.Len(), c.field, off)
		}
	}
	return ""
}
`

const allocsForwardOnlyTmpl = `
func allocs_%s(cfg, in any) map[string]float64 {
	m, err := %s.New(cfg.(%s.Config))
	if err != nil {
		panic(err)
	}
	x := in.(%s.Inputs)
	r := map[string]float64{}
	r["Forward"] = testing.AllocsPerRun(5, func() { m.Forward(x) })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	r["Evaluate"] = testing.AllocsPerRun(5, func() { m.Evaluate(x) }) // after its first call
	return r
}
`

const allocsTmpl = `
func allocs_%s(cfg, in any) map[string]float64 {
	m, err := %s.New(cfg.(%s.Config))
	if err != nil {
		panic(err)
	}
	x := in.(%s.Inputs)
	r := map[string]float64{}
	r["TrainStep"] = testing.AllocsPerRun(5, func() { m.TrainStep(x) })
	r["ForwardBackward"] = testing.AllocsPerRun(5, func() { m.Forward(x); m.Backward() })
	r["Apply"] = testing.AllocsPerRun(5, func() { m.Apply() })
	r["Predict"] = testing.AllocsPerRun(5, func() { m.Predict(x) })
	r["Evaluate"] = testing.AllocsPerRun(5, func() { m.Evaluate(x) }) // after its first call
	pr, err := m.NewPredictor()
	if err != nil {
		panic(err)
	}
	r["Predictor.Predict"] = testing.AllocsPerRun(5, func() { pr.Predict(x) })
	return r
}
`

// randomInputs makes the inputs of a case: floats uniform in [lo, hi),
// int32 labels uniform in [0, labels).
func randomInputs(g *ir.Graph, m *testModel, dims map[string]int, seed uint64) (map[string]*ir.Tensor, error) {
	r := rand.New(rand.NewPCG(seed, 7))
	in := map[string]*ir.Tensor{}
	for _, v := range g.Inputs() {
		shape, err := v.Type.Shape.Eval(dims)
		if err != nil {
			return nil, err
		}
		t := ir.NewTensor(v.Type.DType, shape...)
		for i := range t.F {
			t.F[i] = m.lo + (m.hi-m.lo)*r.Float64()
			if v.Type.DType == ir.F32 {
				t.F[i] = float64(float32(t.F[i]))
			}
		}
		for i := range t.I {
			t.I[i] = int32(r.IntN(max(m.labels, 1)))
		}
		if f := m.fill[v.Name]; f != nil {
			t = ir.FromFloats(v.Type.DType, f(shape), shape...)
		}
		in[v.Name] = t
	}
	return in, nil
}

// compare reports the worst relative error of got against want (see the
// tolerances above) and its index.
func compare(got, want []float64) (worst float64, at int) {
	return compareFloor(got, want, math.SmallestNonzeroFloat64)
}

// compareFloor is compare with elements below floor in magnitude compared
// absolutely, as if they were floor: for results whose terms are known to
// be about that large, where a result near zero is round-off.
func compareFloor(got, want []float64, floor float64) (worst float64, at int) {
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	at = -1
	for i := range want {
		if i >= len(got) {
			return math.Inf(1), i
		}
		d := math.Abs(got[i] - want[i])
		if d == 0 || (math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			continue
		}
		e := d / max(math.Abs(want[i]), relFloor*scale, floor)
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		if e > worst {
			worst, at = e, i
		}
	}
	if len(got) != len(want) {
		return math.Inf(1), len(want)
	}
	return worst, at
}

// compareStep is compare for an optimizer step: want is the step applied to
// the interpreter's gradient grad, slope[i] = |∂want[i]/∂grad[i]|. The
// generated step starts from a gradient that compare allows to differ from
// grad by tol·max(|grad[i]|, relFloor·max|grad|); that difference, times
// the slope, is added to the step's own allowance. The result is on
// compare's scale: the step passes when it is at most the tolerance.
func compareStep(got, want, grad, slope []float64) (worst float64, at int) {
	if len(got) != len(want) || len(grad) != len(want) {
		return math.Inf(1), len(want)
	}
	var ws, gs float64
	for i := range want {
		ws, gs = max(ws, math.Abs(want[i])), max(gs, math.Abs(grad[i]))
	}
	at = -1
	for i := range want {
		d := math.Abs(got[i] - want[i])
		if d == 0 || (math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			continue
		}
		allow := max(math.Abs(want[i]), relFloor*ws) + slope[i]*max(math.Abs(grad[i]), relFloor*gs)
		e := d / allow
		if math.IsNaN(e) || allow == 0 {
			e = math.Inf(1)
		}
		if e > worst {
			worst, at = e, i
		}
	}
	return worst, at
}

// compareClose is the largest |got − want| / (atol + rtol·|want|) over the
// elements (at most 1 when torch.testing.assert_close with these
// tolerances would pass) and where it is.
func compareClose(got, want []float64, atol, rtol float64) (worst float64, at int) {
	if len(got) != len(want) {
		return math.Inf(1), len(want)
	}
	at = -1
	for i := range want {
		e := math.Abs(got[i]-want[i]) / (atol + rtol*math.Abs(want[i]))
		if math.IsNaN(e) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			e = math.Inf(1)
		}
		if e > worst {
			worst, at = e, i
		}
	}
	return worst, at
}

// compareNorm is the norm-wise relative error ‖got − want‖₂ / ‖want‖₂.
func compareNorm(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, w float64
	for i := range want {
		d += (got[i] - want[i]) * (got[i] - want[i])
		w += want[i] * want[i]
	}
	if d == 0 {
		return 0
	}
	return math.Sqrt(d / w)
}
