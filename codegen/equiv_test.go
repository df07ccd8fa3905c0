package codegen

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Optimizer settings of the harness's train-step checks.
const (
	sgdLR, sgdMomentum, sgdWeightDecay = 0.1, 0.9, 0.01
	adamLR, adamWeightDecay            = 0.01, 0.01
	adamBeta1, adamBeta2               = 0.9, 0.999
	// adamEps is larger than the default 1e-8 so that it matters: one Adam
	// step moves a parameter by LR·d/(|d| + Eps) with d = grad +
	// WeightDecay·param, and with Eps = 1e-8 nearly every element moves by
	// ±LR whatever Eps is, so a misplaced Eps would go unnoticed.
	adamEps = 1e-3
)

// TestGenerated is the equivalence harness: every harness model, generated,
// vetted, built once and run at several batch sizes below capacity,
// against ir.Interp: initial parameters (bit for bit), objective, outputs,
// gradients, inference outputs, one SGD or Adam step, and zero allocations.
func TestGenerated(t *testing.T) {
	for _, mode := range harnessModes {
		t.Run(mode.name, func(t *testing.T) { testGenerated(t, mode, harnessModels()) })
	}
}

func testGenerated(t *testing.T, mode harnessMode, models []*testModel) {
	suite := generate(t, models, mode)

	t.Run("vet", func(t *testing.T) {
		cmd := exec.Command("go", "vet", "./"+suite.rel+"/...")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go vet on generated code: %v\n%s", err, out)
		}
	})

	type ref struct {
		m      *testModel
		g      *ir.Graph
		n      int
		dims   map[string]int
		seed   uint64
		inputs map[string]*ir.Tensor
		opt    string
	}
	var cases []driverCase
	var refs []ref
	for mi, m := range models {
		g, err := m.build()
		if err != nil {
			t.Fatal(err)
		}
		ns := m.ns
		if ns == nil {
			ns = []int{1, 3, 7}
		}
		for ci, n := range ns {
			seed := uint64(1000*mi + ci + 1)
			dims := map[string]int{}
			for i, d := range g.Dims {
				dims[d] = min(n+i, capacity) // distinct sizes for distinct dims
			}
			in, err := randomInputs(g, m, dims, seed)
			if err != nil {
				t.Fatal(err)
			}
			p, err := namesOf(g, Options{Package: m.name})
			if err != nil {
				t.Fatal(err)
			}
			c := driverCase{Model: m.name, Seed: seed, Cap: capacity, Dims: map[string]int{}, Inputs: map[string][]float64{},
				// gonum's Gemm starts goroutines (and allocates) for
				// large products: only bpgen's kernels promise no allocation.
				Allocs: ci == len(ns)-1 && m.gemm != GemmGonum}
			for _, d := range p.dims {
				c.Dims[d.in] = dims[d.name]
			}
			for _, v := range p.inputs {
				tt := in[v.Name]
				xs := tt.F
				if tt.DType == ir.I32 {
					xs = make([]float64, len(tt.I))
					for i, x := range tt.I {
						xs[i] = float64(x)
					}
				}
				c.Inputs[p.vals[v.ID].input] = xs
			}
			opt := "sgd"
			if m.adam && ci == 1 {
				opt = "adam"
			}
			if opt == "adam" {
				c.Opt = map[string]any{"Kind": "adam", "LR": adamLR, "WeightDecay": adamWeightDecay, "Eps": adamEps}
				if m.optimizer == OptimizerAdam {
					delete(c.Opt, "Kind") // Options.Optimizer makes Adam the default
				}
			} else {
				c.Opt = map[string]any{"Kind": "sgd", "LR": sgdLR, "Momentum": sgdMomentum, "WeightDecay": sgdWeightDecay}
			}
			cases = append(cases, c)
			refs = append(refs, ref{m, g, n, dims, seed, in, opt})
		}
	}
	// Probes of input validation and of Save/Load.
	type probe struct {
		name string
		want []string // substrings of the errors of Backward, Forward, Predict, TrainStep ("" none)
	}
	var probes []probe
	mlpInputs := func(n, nx int, labels []float64) driverCase {
		c := driverCase{Model: "mlp32", Seed: 5, Cap: capacity, Dims: map[string]int{"N": n}, Probe: true,
			Inputs: map[string][]float64{"X": make([]float64, nx)}}
		if labels != nil {
			c.Inputs["Y"] = labels
		}
		return c
	}
	noFwd := "mlp32: Backward called without a successful Forward"
	addProbe := func(name string, c driverCase, want ...string) {
		cases = append(cases, c)
		probes = append(probes, probe{name, want})
	}
	addProbe("short X", mlpInputs(3, 2350, []float64{0, 1, 2}), noFwd,
		"mlp32: Inputs.X has 2350 elements, want N·784 = 3·784 = 2352", "Inputs.X has 2350", "Inputs.X has 2350")
	addProbe("bad label", mlpInputs(3, 3*784, []float64{0, 10, 2}), noFwd,
		"mlp32: Inputs.Y[1] = 10 is outside [0, 10) (class labels of softmax_xent at models.go:", "", "Inputs.Y[1] = 10")
	addProbe("negative label", mlpInputs(2, 2*784, []float64{-1, 0}), noFwd, "Inputs.Y[0] = -1 is outside [0, 10)", "", "Inputs.Y[0] = -1")
	addProbe("no labels", mlpInputs(2, 2*784, nil), noFwd, "mlp32: Inputs.Y has 0 elements, want N = 2", "", "Inputs.Y has 0 elements")
	addProbe("N=0", mlpInputs(0, 0, []float64{}), noFwd, "mlp32: Inputs.N is 0, want 1 ≤ N ≤ 8 (Config.MaxN)", "Inputs.N is 0", "Inputs.N is 0")
	addProbe("N>cap", mlpInputs(9, 9*784, make([]float64, 9)), noFwd, "mlp32: Inputs.N is 9, want 1 ≤ N ≤ 8", "Inputs.N is 9", "Inputs.N is 9")
	addProbe("bad index", driverCase{Model: "op_gather", Seed: 5, Cap: capacity, Dims: map[string]int{"N": 2}, Probe: true,
		Inputs: map[string][]float64{"Idx": {1, 5}}}, "op_gather: Backward called without", "op_gather: Inputs.Idx[1] = 5 is outside [0, 5) (indices of gather at models_test.go:", "Inputs.Idx[1] = 5", "Inputs.Idx[1] = 5")
	c := mlpInputs(2, 2*784, []float64{0, 1})
	c.Replace = "W2"
	replaced := "mlp32: Params.W2 was replaced: it must stay ParamVector()[200960:203520], as New made it (copy values into it instead)"
	addProbe("replaced param", c, noFwd, replaced, replaced, replaced)
	c = mlpInputs(2, 2*784, []float64{0, 1})
	c.Replace = "Grads.B1"
	replaced = "mlp32: Grads.B1 was replaced: it must stay GradVector()[200704:200960]"
	addProbe("replaced gradient", c, noFwd, replaced, "", replaced)
	c = mlpInputs(1, 784, []float64{0})
	c.Probe, c.Save = false, filepath.Join(suite.dir, "mlp32.safetensors")
	addProbe("save/load", c)
	addProbe("forward-only save/load", driverCase{Model: "fwdparams", Seed: 5, Cap: capacity, Dims: map[string]int{"N": 1},
		Inputs: map[string][]float64{"X": {0.5, -1, 2}}, Save: filepath.Join(suite.dir, "fwdparams.safetensors")})
	c = mlpInputs(1, 784, []float64{0})
	c.Cap = 0
	addProbe("capacity 0", c, "New: mlp32: Config.MaxN is 0; it must be positive")
	c = mlpInputs(1, 784, []float64{0})
	c.Opt = map[string]any{"Kind": "rmsprop"}
	addProbe("unknown optimizer", c, `New: mlp32: Config.Optimizer.Kind is "rmsprop", want "sgd" or "adam"`)
	c = mlpInputs(1, 784, []float64{0})
	c.Opt = map[string]any{"Nesterov": true}
	addProbe("nesterov without momentum", c, "New: mlp32: Config.Optimizer.Nesterov needs a nonzero Momentum")

	results := suite.run(t, cases)
	for i, pr := range probes {
		res := results[len(results)-len(probes)+i]
		t.Run("probe/"+pr.name, func(t *testing.T) {
			if strings.HasPrefix(res.Err, "New: ") {
				if len(pr.want) != 1 || !strings.Contains(res.Err, pr.want[0]) {
					t.Fatalf("error %q, want %q", res.Err, pr.want)
				}
				return
			}
			if res.Err != "" {
				t.Fatal(res.Err)
			}
			for j, w := range pr.want {
				got := res.Errors[j]
				if (w == "") != (got == "") || !strings.Contains(got, w) {
					t.Errorf("call %d: error %q, want one containing %q", j, got, w)
				}
			}
		})
	}
	results = results[:len(results)-len(probes)]

	var worst worst32
	defer worst.log(t)

	for i, res := range results {
		r := refs[i]
		t.Run(fmt.Sprintf("%s/n=%d/%s", r.m.name, r.n, r.opt), func(t *testing.T) {
			if res.Err != "" {
				t.Fatal(res.Err)
			}
			checkCase(t, &worst, r.m, r.g, r.dims, r.seed, r.inputs, r.opt, res)
		})
	}
}

// worst32 collects the largest errors of a harness run, logged with -v so
// that the measured numbers quoted next to tol64, tol32, atol32/rtol32 and
// tol32Elem can be reproduced.
type worst32 struct {
	norm, close, elem worstErr
	elem64            worstErr // float64 models, element-wise
	elemAcc64         worstErr // float32 models with float64 accumulation, element-wise
	elemOps32         worstErr // float32 op models (registry walk), element-wise
}

type worstErr struct {
	e    float64
	what string
	n    int // comparisons
	over int // comparisons with e > 1e-5 (for elem)
}

func (w *worst32) note(x *worstErr, e float64, what string) {
	x.n++
	if e > 1e-5 {
		x.over++
	}
	if e > x.e {
		x.e, x.what = e, what
	}
}

func (w *worst32) log(t *testing.T) {
	if w.elem64.n > 0 {
		t.Logf("float64, %d comparisons: worst element-wise relative error %.3g (%s)", w.elem64.n, w.elem64.e, w.elem64.what)
	}
	if w.norm.n == 0 {
		return
	}
	t.Logf("float32, %d comparisons: worst norm-wise relative error %.3g (%s)", w.norm.n, w.norm.e, w.norm.what)
	t.Logf("float32: worst |got − want| / (%g + %g·|want|) = %.3g (%s)", atol32, rtol32, w.close.e, w.close.what)
	t.Logf("float32: worst element-wise relative error %.3g (%s); %d of %d comparisons over 1e-5", w.elem.e, w.elem.what, w.elem.over, w.elem.n)
	if w.elemOps32.n > 0 {
		t.Logf("float32 op models, %d comparisons: worst element-wise relative error %.3g (%s)", w.elemOps32.n, w.elemOps32.e, w.elemOps32.what)
	}
	if w.elemAcc64.n > 0 {
		t.Logf("float32 accumulating in float64, %d comparisons: worst element-wise relative error %.3g (%s)", w.elemAcc64.n, w.elemAcc64.e, w.elemAcc64.what)
	}
}

func checkCase(t *testing.T, worst *worst32, m *testModel, g *ir.Graph, dims map[string]int, seed uint64, inputs map[string]*ir.Tensor, opt string, res driverResult) {
	p, err := namesOf(g, Options{Package: m.name})
	if err != nil {
		t.Fatal(err)
	}
	f32 := m.dtype == ir.F32
	tol := tol64
	acc64 := f32 && m.accumulate == ir.F64
	switch {
	case acc64:
		tol = tol32Acc64
	case f32:
		tol = tol32Elem
	}
	// checkWith compares got with want under the rules of the dtype; elem
	// is the element-wise rule (compare, or for optimizer steps compareStep).
	checkWith := func(what string, got, want []float64, elem func(got, want []float64) (float64, int)) {
		t.Helper()
		if f32 {
			e := compareNorm(got, want)
			if e > tol32 {
				t.Errorf("%s: norm-wise relative error %.3g > %g", what, e, tol32)
			}
			worst.note(&worst.norm, e, t.Name()+" "+what)
			e, at := compareClose(got, want, atol32, rtol32)
			if e > 1 {
				t.Errorf("%s: |got − want| = %.3g > %g + %g·|want| at %d: got %v, want %v", what, math.Abs(got[at]-want[at]), atol32, rtol32, at, got[at], want[at])
			}
			worst.note(&worst.close, e, t.Name()+" "+what)
		}
		e, at := elem(got, want)
		if acc64 {
			worst.note(&worst.elemAcc64, e, t.Name()+" "+what)
		} else if f32 && strings.HasPrefix(m.name, "op_") {
			worst.note(&worst.elemOps32, e, t.Name()+" "+what)
		} else if f32 {
			worst.note(&worst.elem, e, t.Name()+" "+what)
		} else {
			worst.note(&worst.elem64, e, t.Name()+" "+what)
		}
		if e > tol {
			if at >= 0 && at < len(got) && at < len(want) {
				t.Errorf("%s: relative error %.3g > %g at %d: got %v, want %v (len %d)", what, e, tol, at, got[at], want[at], len(want))
			} else {
				t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
			}
		}
	}
	check := func(what string, got, want []float64) {
		t.Helper()
		checkWith(what, got, want, compare)
	}

	// Initial parameters: bit for bit.
	init, err := ir.InitParams(g, seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range p.params {
		got, want := res.Init[p.vals[v.ID].param], init[v.Name].F
		if !slices.Equal(got, want) {
			t.Errorf("initial %s differs from ir.InitParams", v.Name)
		}
	}

	env := ir.Env{Dims: dims, Inputs: map[string]*ir.Tensor{}, Training: true, Seed: seed}
	for k, v := range inputs {
		env.Inputs[k] = v
	}
	for k, v := range init {
		env.Inputs[k] = v
	}
	state0, err := ir.InitState(g)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range state0 {
		env.Inputs[k] = v
	}
	want, err := ir.Interp(g, env)
	if err != nil {
		t.Fatal(err)
	}
	// State: the first Forward wrote its updates; Predict reads them.
	for _, si := range p.states {
		next := env.Inputs[si.v.Name]
		if si.next != nil {
			next = want.State[si.v.Name]
		}
		check("state "+si.v.Name+" after Forward", res.State[si.field], next.F)
	}
	if g.Objective != nil {
		check("objective", []float64{res.Loss}, want.Objective.F)
		check("TrainStep objective", []float64{res.StepLoss}, want.Objective.F)
	}
	for _, o := range p.outputs {
		check("output "+o.name, res.Outputs[o.field], tensorFloats(want.Outputs[o.name]))
	}
	grads := map[string][]float64{}
	if g.Objective == nil {
		// Forward-only: no gradients, no optimizer step; Forward, Evaluate
		// and Predict left the params as New made them.
		for _, v := range p.params {
			check("param "+v.Name+" after the forward-only calls", res.Stepped[p.vals[v.ID].param], init[v.Name].F)
		}
		checkAllocs(t, res)
		return
	}
	for _, gi := range p.grads {
		w := make([]float64, len(init[gi.param.Name].F))
		if gi.v != nil {
			w = want.Values[gi.v.ID].F
		}
		grads[gi.param.Name] = w
		check("gradient of "+gi.param.Name, res.Grads[gi.field], w)
	}

	if len(p.inputGrads) != len(m.wrt) {
		t.Errorf("%d input gradients, want %d", len(p.inputGrads), len(m.wrt))
	}
	for _, o := range p.inputGrads {
		check("gradient of input "+o.name, res.InGrads[o.field], want.Values[o.v.ID].F)
	}

	// Inference.
	for name, next := range want.State {
		env.Inputs[name] = next
	}
	env.Training = false
	wantPred, err := ir.Interp(g, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range p.outputs {
		if p.dependsOnTarget[o.v.ID] {
			continue
		}
		check("Predict output "+o.name, res.Predict[o.field], tensorFloats(wantPred.Outputs[o.name]))
	}
	for _, o := range p.outputs {
		check("Evaluate output "+o.name, res.Evaluate[o.field], tensorFloats(wantPred.Outputs[o.name]))
	}

	// One optimizer step from the initial parameters, with PyTorch's
	// formulas written out, applied to the interpreter's gradient. The
	// generated step starts from the generated gradient, which the checks
	// above allow to differ by the tolerance; slope is ∂step/∂gradient, so
	// compareStep can carry that allowance through the update (Adam's
	// divides by |d| + Eps: a d much smaller than Eps is amplified by up to
	// LR/Eps).
	for _, v := range p.params {
		p0, gr := init[v.Name].F, grads[v.Name]
		w := make([]float64, len(p0))
		slope := make([]float64, len(p0))
		for i := range p0 {
			switch opt {
			case "sgd":
				d := gr[i] + decay(v, sgdWeightDecay)*p0[i]
				buf := d // the momentum buffer starts at the first gradient
				w[i] = p0[i] - sgdLR*buf
				slope[i] = sgdLR
			case "adam":
				d := gr[i] + decay(v, adamWeightDecay)*p0[i]
				mm := (1 - adamBeta1) * d
				vv := (1 - adamBeta2) * d * d
				mhat, vhat := mm/(1-adamBeta1), vv/(1-adamBeta2)
				w[i] = p0[i] - adamLR*mhat/(math.Sqrt(vhat)+adamEps)
				// w = p0 − LR·d/(|d| + Eps) at the first step.
				slope[i] = adamLR * adamEps / ((math.Abs(d) + adamEps) * (math.Abs(d) + adamEps))
			}
		}
		checkWith(opt+" step of "+v.Name, res.Stepped[p.vals[v.ID].param], w, func(got, want []float64) (float64, int) {
			return compareStep(got, want, gr, slope)
		})
	}

	// The second TrainStep starts from the parameters the first one left
	// (taken as they are: checked above) and draws dropout for step 1.
	if g.Objective != nil {
		// The first TrainStep (initial params, the state of the first
		// Forward) updated the state once more.
		env.Training = true
		if len(want.State) > 0 {
			mid, err := ir.Interp(g, env)
			if err != nil {
				t.Fatal(err)
			}
			for name, next := range mid.State {
				env.Inputs[name] = next
			}
		}
		for _, v := range p.params {
			env.Inputs[v.Name] = ir.FromFloats(v.Type.DType, res.Stepped[p.vals[v.ID].param], init[v.Name].Shape...)
		}
		env.Training, env.Step = true, 1
		want2, err := ir.Interp(g, env)
		if err != nil {
			t.Fatal(err)
		}
		check("second TrainStep objective", []float64{res.Step2}, want2.Objective.F)
	}

	checkAllocs(t, res)
}

// checkAllocs checks that every entry point the driver measured allocates
// nothing.
func checkAllocs(t *testing.T, res driverResult) {
	t.Helper()
	for k, a := range res.Allocs {
		if a != 0 {
			t.Errorf("%s allocates %v times per call, want 0", k, a)
		}
	}
}

func tensorFloats(t *ir.Tensor) []float64 {
	if t == nil {
		return nil
	}
	if t.DType == ir.I32 {
		r := make([]float64, len(t.I))
		for i, x := range t.I {
			r[i] = float64(x)
		}
		return r
	}
	return t.F
}

// TestEveryOpCovered checks that the harness models exercise every op of
// the op table (forward or backward) that codegen supports.
func TestEveryOpCovered(t *testing.T) {
	seen := map[*ir.OpDef]bool{}
	for _, m := range harnessModels() {
		g, err := m.build()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range g.Values {
			seen[v.Op] = true
		}
	}
	for _, op := range ir.Ops() {
		if !seen[op] {
			t.Errorf("no harness model uses op %s", op.Name)
		}
	}
}

// TestCompareRules pins down the three error measures of the harness on
// hand-made vectors, so that each can fail.
func TestCompareRules(t *testing.T) {
	for _, c := range []struct {
		got, want      []float64
		norm, close, e float64 // expected measures (approximately)
	}{
		{[]float64{1, 2}, []float64{1, 2}, 0, 0, 0},
		// One element off by 2e-5 relative: norm-wise it averages out,
		// assert_close's rtol (1.3e-6) at |want| = 100 does not.
		{[]float64{100.002, 0, 0, 0}, []float64{100, 0, 0, 0}, 2e-5, 0.002 / (1e-5 + 1.3e-6*100), 2e-5},
		// Tiny values: within atol, but wrong by 50% element-wise (caught
		// norm-wise and by the scale-free rule).
		{[]float64{1.5e-7, 1e-7}, []float64{1e-7, 1e-7}, 0.5 / math.Sqrt2, 5e-8 / (1e-5 + 1.3e-6*1e-7), 0.5},
		// An element below relFloor of the largest is compared absolutely.
		{[]float64{1, 1e-4 + 1e-7}, []float64{1, 1e-4}, 1e-7, 1e-7 / (1e-5 + 1.3e-6*1e-4), 1e-5},
	} {
		norm := compareNorm(c.got, c.want)
		cl, _ := compareClose(c.got, c.want, atol32, rtol32)
		e, _ := compare(c.got, c.want)
		near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*max(math.Abs(b), 1e-12) }
		if !near(norm, c.norm) || !near(cl, c.close) || !near(e, c.e) {
			t.Errorf("got %v want %v: norm %.6g close %.6g elem %.6g, want %.6g %.6g %.6g", c.got, c.want, norm, cl, e, c.norm, c.close, c.e)
		}
	}
	// A step: element 0 may carry its gradient's allowance times the slope
	// (0.1 / (1 + 2·0.5)); element 1 has slope 0, so its own error counts.
	if e, at := compareStep([]float64{1.1, 2}, []float64{1, 2}, []float64{0.5, 1}, []float64{2, 0}); math.Abs(e-0.05) > 1e-12 || at != 0 {
		t.Errorf("compareStep = %v at %d, want 0.05 at 0", e, at)
	}
	if e, at := compareStep([]float64{1, 2.1}, []float64{1, 2}, []float64{0.5, 1}, []float64{2, 0}); math.Abs(e-0.05) > 1e-12 || at != 1 {
		t.Errorf("compareStep = %v at %d, want 0.05 at 1", e, at)
	}
	if e, _ := compareClose([]float64{1}, []float64{1, 2}, atol32, rtol32); !math.IsInf(e, 1) {
		t.Errorf("length mismatch: %v, want +Inf", e)
	}
	if e, _ := compareClose([]float64{math.NaN()}, []float64{1}, atol32, rtol32); !math.IsInf(e, 1) {
		t.Errorf("NaN against a number: %v, want +Inf", e)
	}
}

// namesOf plans a joint graph for its generated names (dims, inputs,
// params, outputs), as EmitProgram would name them.
func namesOf(g *ir.Graph, opt Options) (*plan, error) {
	prog, err := passes.Lower(g, passes.Options{Disable: []string{"fuse", "plan"}})
	if err != nil {
		return nil, err
	}
	return newPlan(prog, opt)
}

// decay is the weight decay wd of the optimizer applied to param v: none
// for a param declared with dsl.NoDecay.
func decay(v *ir.Value, wd float64) float64 {
	if v.Attrs.Bool("no_decay") {
		return 0
	}
	return wd
}
