package passes

import (
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
)

// The -update flag rewrites the expected sections of the txtar tests in
// testdata/{simplify,remat,fuse,plan} from what the passes produce.
var updateGolden = flag.Bool("update", false, "rewrite the expected output of the txtar pass tests")

// Tolerances of the semantic tests: a graph before and after the passes is
// evaluated by ir.Interp on the same inputs and must agree to within
// tol·max(1, |want|) element by element. The passes change rounding only
// (folded constants, rewritten algebra), a few ulps:
//   - float64: measured at most 1.3e-15 (random graph seed 96, simplify);
//     1e-14 leaves room for a few more rounding steps.
//   - float32: measured 0 on every test model (the rewrites they trigger
//     do not change a float32 result); 1e-6 is about 16 float32 ulps, for
//     a rewrite that reorders a few roundings.
const (
	tolF64 = 1e-14
	tolF32 = 1e-6
)

// optModels are the test models: the bundled ones and some of our own.
var optModels = []struct {
	name string
	fn   func(*dsl.Graph)
}{
	{"MLP", models.MLP},
	{"SoftmaxRegression", models.SoftmaxRegression},
	{"DeepMLP", models.DeepMLP},
	{"Composite", compositeModel},
	{"Dropout", dropoutModel},
	{"Broadcasting", broadcastingModel},
	{"GELUNet", models.GELUNet},
	{"CustomVJP", customVJPModel},
}

// customVJPModel clips a gradient with a user-written backward rule.
func customVJPModel(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	n := g.Dim("n")
	x := g.Input("x", dsl.Float64, n, 4)
	W := g.Param("W", 4, 4, dsl.Normal(0, 1))
	clip := dsl.CustomVJP("clipgrad",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return dsl.Tanh(xs[0]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			return []*dsl.Tensor{dsl.Minimum(dsl.Maximum(g, -0.01), 0.01)}
		})
	h := clip(x.MatMul(W)).Named("h")
	g.Output("h", h)
	g.Minimize(h.Square().Sum().Mul(0.5))
}

// compositeModel uses composites: tanh, sigmoid, softplus, logsumexp,
// log_softmax, a transpose feeding a matmul, a mean over the features.
func compositeModel(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	n := g.Dim("n")
	x := g.Input("x", dsl.Float64, n, 6)
	t := g.Target("t", dsl.Float64, n)
	W := g.Param("W", 6, 5, dsl.Normal(0, 0.5))
	V := g.Param("V", 4, 5, dsl.Normal(0, 0.5))
	b := g.Param("b", 5, dsl.Normal(0, 0.1))
	h := dsl.Tanh(x.MatMul(W).Add(b)).Named("h")
	u := dsl.Sigmoid(h.MatMul(V.T())).Named("u")
	s := dsl.Softplus(u).Add(u.LogSumExp(1).Reshape(n, 1)).Named("s")
	ls := dsl.LogSoftmax(s, 1).Named("ls")
	pred := ls.Mean(1).Named("pred")
	g.Output("pred", pred)
	g.Minimize(dsl.SquaredError(pred, t).Mean().Add(W.SumSquares().Mul(1e-3)))
}

// dropoutModel has two dropouts (whose masks must never be merged).
func dropoutModel(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	n := g.Dim("n")
	x := g.Input("x", dsl.Float64, n, 8)
	y := g.Labels("y", n)
	W1 := g.Param("W1", 8, 8, dsl.HeNormal())
	W2 := g.Param("W2", 8, 3)
	h := dsl.Dropout(dsl.ReLU(x.MatMul(W1)), 0.3).Named("h")
	h2 := dsl.Dropout(h, 0.3).Named("h2")
	o := h2.MatMul(W2).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("L")
	g.Output("logits", o)
	g.Minimize(L)
}

// broadcastingModel broadcasts rows, columns and scalars.
func broadcastingModel(g *dsl.Graph) {
	g.SetFloat(dsl.Float64)
	n := g.Dim("n")
	x := g.Input("x", dsl.Float64, n, 4)
	t := g.Target("t", dsl.Float64, n, 4)
	a := g.Param("a", 4, dsl.Normal(1, 0.2))
	c := g.Param("c", 1, 4, dsl.Normal(0, 0.2))
	s := g.Param("s", dsl.Constant(0.5))
	col := x.Mean(1).Reshape(n, 1).Named("col")
	y := x.Mul(a).Add(c).Sub(col).Mul(s).Named("y")
	z := dsl.LeakyReLU(y, 0.1).Add(y.BroadcastTo(n, 4).Mul(1)).Named("z")
	g.Output("z", z)
	g.Minimize(dsl.SquaredError(z, t).Mean())
}

// randomEnv binds every input and param of g to random values: floats in
// [-1, 1), int32 labels within the range their consumers accept.
func randomEnv(g *ir.Graph, dims map[string]int, rng *rand.Rand) map[string]*ir.Tensor {
	env := map[string]*ir.Tensor{}
	for _, v := range g.Values {
		if v.Op != ir.OpInput && v.Op != ir.OpParam {
			continue
		}
		shape, err := v.Type.Shape.Eval(dims)
		if err != nil {
			panic(err)
		}
		t := ir.NewTensor(v.Type.DType, shape...)
		if v.Type.DType == ir.I32 {
			k := labelRange(g, v)
			for i := range t.I {
				t.I[i] = int32(rng.IntN(k))
			}
		} else {
			for i := range t.F {
				t.F[i] = 2*rng.Float64() - 1
			}
			t = ir.FromFloats(v.Type.DType, t.F, shape...)
		}
		env[v.Name] = t
	}
	return env
}

// labelRange is the number of classes an int32 input indexes.
func labelRange(g *ir.Graph, v *ir.Value) int {
	k := 1 << 20
	for _, u := range g.Values {
		if len(u.Args) == 0 || !slices.Contains(u.Args, v) {
			continue
		}
		switch u.Op {
		case ir.OpSoftmaxXent:
			k = min(k, u.Args[0].Type.Shape[len(u.Args[0].Type.Shape)-1].N)
		case ir.OpOneHot:
			k = min(k, u.Attrs.Int("depth"))
		case ir.OpGather:
			k = min(k, u.Args[0].Type.Shape[u.Attrs.Int("axis")].N)
		}
	}
	if k == 1<<20 {
		k = 10
	}
	return k
}

// compareResults checks got against want: every named output of want (and
// the objective) must be in got and agree.
func compareResults(want, got *ir.Result, tol float64) error {
	for name, w := range want.Outputs {
		gt, ok := got.Outputs[name]
		if !ok {
			return fmt.Errorf("output %s is missing", name)
		}
		if err := compareTensors(w, gt, tol); err != nil {
			return fmt.Errorf("output %s: %v", name, err)
		}
	}
	if want.Objective != nil {
		if got.Objective == nil {
			return fmt.Errorf("the objective is missing")
		}
		if err := compareTensors(want.Objective, got.Objective, tol); err != nil {
			return fmt.Errorf("objective: %v", err)
		}
	}
	return nil
}

// compareTensors checks two tensors agree. Where want is not finite (NaN
// or ±Inf), got may be anything: the simplifier's identities may refine a
// non-finite result (see Simplify).
func compareTensors(want, got *ir.Tensor, tol float64) error {
	if !slices.Equal(want.Shape, got.Shape) || want.DType != got.DType {
		return fmt.Errorf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	for i := range want.Len() {
		w, x := want.At(i), got.At(i)
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		if !(math.Abs(w-x) <= tol*max(1, math.Abs(w))) {
			return fmt.Errorf("element %d: got %v, want %v", i, x, w)
		}
	}
	return nil
}

func tolFor(g *ir.Graph) float64 {
	for _, v := range g.Values {
		if v.Type.DType == ir.F32 {
			return tolF32
		}
	}
	return tolF64
}

// checkSameSemantics evaluates want and got (two joint graphs) on random
// inputs, in training and inference mode, and compares every output.
func checkSameSemantics(t *testing.T, want, got *ir.Graph, dims map[string]int, seed uint64) {
	t.Helper()
	if err := sameSemantics(want, got, dims, seed); err != nil {
		t.Fatalf("%v\nbefore:\n%v\nafter:\n%v", err, want, got)
	}
}

func sameSemantics(want, got *ir.Graph, dims map[string]int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	env := randomEnv(want, dims, rng)
	for _, training := range []bool{true, false} {
		e := ir.Env{Dims: dims, Inputs: env, Training: training, Step: 3, Seed: seed}
		w, err := ir.Interp(want, e)
		if err != nil {
			return fmt.Errorf("interp before: %v", err)
		}
		g, err := ir.Interp(got, e)
		if err != nil {
			return fmt.Errorf("interp after: %v", err)
		}
		if err := compareResults(w, g, tolFor(want)); err != nil {
			return fmt.Errorf("training=%v: %v", training, err)
		}
	}
	return nil
}

// runProgram executes a lowered program as generated code would: kernel
// by kernel in its order, every materialized value stored in its arena at
// its planned offset (so a wrong plan or kernel order corrupts results),
// values inside a kernel passed directly. It returns the outputs of the
// training step (Forward then Backward) or of Predict.
func runProgram(p *Program, env ir.Env, predict bool) (*ir.Result, error) {
	kernels := append(slices.Clone(p.Forward), p.Backward...)
	plan := p.Plan
	if predict {
		kernels, plan = p.Predict, p.PredictPlan
		env.Training = false
	}
	arena := map[ir.DType][]float64{}
	for d, n := range plan.ArenaElems {
		arena[d] = make([]float64, n)
		for i := range arena[d] {
			arena[d][i] = math.NaN() // poison: reading an unwritten element shows
		}
	}
	free := map[*ir.Value]*ir.Tensor{}
	var load func(v *ir.Value) (*ir.Tensor, error)
	load = func(v *ir.Value) (*ir.Tensor, error) {
		if t := free[v]; t != nil {
			return t, nil
		}
		shape, err := v.Type.Shape.Eval(env.Dims)
		if err != nil {
			return nil, err
		}
		if isProvided(v) {
			t, err := evalAlone(v, nil, env)
			free[v] = t
			return t, err
		}
		b := plan.Of[v]
		if b == nil && v.Op == ir.OpReshape {
			// A reshape of a free value is a view of it.
			x, err := load(v.Args[0])
			if err != nil {
				return nil, err
			}
			return evalAlone(v, []*ir.Tensor{x}, env)
		}
		if b == nil {
			return nil, fmt.Errorf("%s has no buffer", v.Ref())
		}
		t := ir.NewTensor(v.Type.DType, shape...)
		for i := range t.Len() {
			x := arena[b.DType][b.Offset+int64(i)]
			if v.Type.DType == ir.I32 {
				t.I[i] = int32(x)
			} else {
				t.F[i] = x
			}
		}
		return t, nil
	}
	store := func(v *ir.Value, t *ir.Tensor) error {
		b := plan.Of[v]
		if b == nil {
			return fmt.Errorf("materialized %s has no buffer", v.Ref())
		}
		if int64(t.Len()) > b.Elems {
			return fmt.Errorf("%s does not fit its buffer", v.Ref())
		}
		for i := range t.Len() {
			arena[b.DType][b.Offset+int64(i)] = t.At(i)
		}
		return nil
	}
	for _, k := range kernels {
		if k.Kind == KernelAlias {
			continue // a view: load reads the argument's buffer
		}
		local := map[*ir.Value]*ir.Tensor{}
		if k.Kind == KernelLoop {
			// A loop computes each materialized value by its composed
			// formula over the kernel's inputs, as generated code does.
			for _, v := range k.Materialized {
				e, in := k.Formula(v)
				args := make([]*ir.Tensor, len(in))
				for i, a := range in {
					t, err := load(a)
					if err != nil {
						return nil, fmt.Errorf("kernel %s: %v", k, err)
					}
					args[i] = t
				}
				shape, err := v.Type.Shape.Eval(env.Dims)
				if err != nil {
					return nil, err
				}
				local[v] = evalFormula(e, args, v.Type.DType, shape)
			}
		}
		for _, v := range k.Values {
			if k.Kind == KernelLoop {
				break
			}
			args := make([]*ir.Tensor, len(v.Args))
			for i, a := range v.Args {
				if t := local[a]; t != nil {
					args[i] = t
					continue
				}
				t, err := load(a)
				if err != nil {
					return nil, fmt.Errorf("kernel %s: %v", k, err)
				}
				args[i] = t
			}
			t, err := evalAlone(v, args, env)
			if err != nil {
				return nil, err
			}
			local[v] = t
		}
		for _, v := range k.Materialized {
			if err := store(v, local[v]); err != nil {
				return nil, err
			}
		}
	}
	res := &ir.Result{Outputs: map[string]*ir.Tensor{}}
	outputs := p.Graph.Outputs
	if predict {
		outputs = predictOutputs(p.Graph, PartitionGraph(p.Graph))
	}
	for _, o := range outputs {
		t, err := load(o.Value)
		if err != nil {
			return nil, fmt.Errorf("output %s: %v", o.Name, err)
		}
		res.Outputs[o.Name] = t
	}
	if p.Graph.Objective != nil && !predict {
		t, err := load(p.Graph.Objective)
		if err != nil {
			return nil, fmt.Errorf("objective: %v", err)
		}
		res.Objective = t
	}
	return res, nil
}

// evalFormula evaluates a composed scalar formula at every index of shape,
// reading args with NumPy broadcasting.
func evalFormula(e *ir.Expr, args []*ir.Tensor, d ir.DType, shape []int) *ir.Tensor {
	out := ir.NewTensor(d, shape...)
	idx := make([]int, len(shape))
	vals := make([]float64, len(args))
	for k := range out.Len() {
		rem := k
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i] = rem % shape[i]
			rem /= shape[i]
		}
		for i, a := range args {
			off, stride := 0, 1
			for j := len(a.Shape) - 1; j >= 0; j-- {
				if a.Shape[j] != 1 {
					off += idx[len(shape)-len(a.Shape)+j] * stride
				}
				stride *= a.Shape[j]
			}
			vals[i] = a.At(off)
		}
		r := e.Eval(vals, nil)
		if d == ir.I32 {
			out.I[k] = int32(r)
		} else {
			out.F[k] = r
		}
	}
	if d == ir.I32 {
		return out
	}
	return ir.FromFloats(d, out.F, shape...)
}

// evalAlone evaluates one value on argument tensors with ir.Interp, as a
// graph of its own whose inputs are the arguments.
func evalAlone(v *ir.Value, args []*ir.Tensor, env ir.Env) (*ir.Tensor, error) {
	g := ir.NewGraph("one")
	for _, d := range slices.Sorted(maps.Keys(env.Dims)) {
		g.AddDim(d)
	}
	e := env
	e.Inputs = map[string]*ir.Tensor{}
	var in []*ir.Value
	for i, a := range v.Args {
		name := fmt.Sprintf("a%d", i)
		in = append(in, g.Append(&ir.Value{Op: ir.MustLookup("input"), Type: a.Type, Name: name}))
		e.Inputs[name] = args[i]
	}
	if v.Op == ir.OpInput || v.Op == ir.OpParam {
		t, ok := env.Inputs[v.Name]
		if !ok {
			return nil, fmt.Errorf("no value for %s", v.Name)
		}
		return t, nil
	}
	w := g.Append(&ir.Value{Op: v.Op, Args: in, Type: v.Type, Attrs: v.Attrs, Name: v.Name})
	res, err := ir.Interp(g, e)
	if err != nil {
		return nil, err
	}
	return res.Values[w.ID], nil
}

// checkProgram runs p's training step and Predict and compares them with
// ir.Interp of the reference graph want.
func checkProgram(t *testing.T, want *ir.Graph, p *Program, dims map[string]int, seed uint64) {
	t.Helper()
	if err := programSemantics(want, p, dims, seed); err != nil {
		t.Fatalf("%v\nprogram:\n%v\ngraph:\n%v", err, p, p.Graph)
	}
}

func programSemantics(want *ir.Graph, p *Program, dims map[string]int, seed uint64) error {
	if err := p.Check(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	env := ir.Env{Dims: dims, Inputs: randomEnv(want, dims, rng), Training: true, Step: 5, Seed: seed}
	w, err := ir.Interp(want, env)
	if err != nil {
		return fmt.Errorf("interp: %v", err)
	}
	got, err := runProgram(p, env, false)
	if err != nil {
		return fmt.Errorf("run training step: %v", err)
	}
	if err := compareResults(w, got, tolFor(want)); err != nil {
		return fmt.Errorf("training step: %v", err)
	}
	env.Training = false
	w, err = ir.Interp(want, env)
	if err != nil {
		return fmt.Errorf("interp: %v", err)
	}
	got, err = runProgram(p, env, true)
	if err != nil {
		return fmt.Errorf("run predict: %v", err)
	}
	for name, gt := range got.Outputs {
		if err := compareTensors(w.Outputs[name], gt, tolFor(want)); err != nil {
			return fmt.Errorf("predict output %s: %v", name, err)
		}
	}
	return nil
}

func buildModel(t testing.TB, name string, fn func(*dsl.Graph)) *ir.Graph {
	t.Helper()
	g, err := dsl.Build("test."+name, fn)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// passCombos are subsets of the optional passes to disable.
var passCombos = [][]string{
	nil,
	{"simplify"},
	{"remat"},
	{"dce"},
	{"fuse"},
	{"plan"},
	{"simplify", "remat"},
	{"fuse", "plan"},
	{"simplify", "remat", "dce", "fuse", "plan"},
	{"simplify", "fuse"},
	{"remat", "plan"},
}

// TestPipelineSemantics compiles every test model with subsets of the
// optional passes disabled and checks the optimized joint graph and the
// lowered program (run buffer by buffer) against the grad pass's output.
func TestPipelineSemantics(t *testing.T) {
	dims := map[string]int{"n": 3}
	for _, m := range optModels {
		g := buildModel(t, m.name, m.fn)
		ref, _, err := Grad(g, GradOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range passCombos {
			t.Run(m.name+"/-"+strings.Join(off, ",-"), func(t *testing.T) {
				p, err := CompileProgram(g, Options{Disable: off, Capacity: map[string]int{"n": 4}})
				if err != nil {
					t.Fatal(err)
				}
				checkSameSemantics(t, ref, p.Graph, dims, 1)
				checkProgram(t, ref, p, dims, 2)
			})
		}
	}
}

func TestPipelineOptions(t *testing.T) {
	g := buildModel(t, "MLP", models.MLP)
	if _, err := CompileProgram(g, Options{Disable: []string{"grad"}}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("disabling grad: got %v, want an error saying it is required", err)
	}
	if _, err := CompileProgram(g, Options{Disable: []string{"nosuch"}}); err == nil {
		t.Errorf("disabling an unknown pass: no error")
	}
	if _, err := CompileProgram(g, Options{Checkpoint: []string{"nosuch"}}); err == nil || !strings.Contains(err.Error(), "pass remat") {
		t.Errorf("unknown checkpoint: got %v, want a remat error", err)
	}
	var dump strings.Builder
	p, err := CompileProgram(g, Options{DumpAfter: "all", Dump: &dump})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range PassNames() {
		if !strings.Contains(dump.String(), "# after pass "+name+"\n") {
			t.Errorf("dump has no section for pass %s", name)
		}
	}
	rep := p.Report.String()
	for _, want := range []string{"pass fuse", "remat:", "residuals:", "arena at capacity n=256"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	// Lower on the optimized graph gives the same kernels.
	q, err := Lower(p.Graph, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q.String() != p.String() {
		t.Errorf("Lower differs from CompileProgram:\n%s\nvs\n%s", q, p)
	}
}

// runTxtar runs the pass tests in testdata/dir: each archive holds an
// "input" IR text and the expected text (named by want) that run makes of
// it. The archive's comment may hold options for run. With -update, the
// expected text is rewritten.
func runTxtar(t *testing.T, dir, want string, run func(t *testing.T, g *ir.Graph, comment string) string) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no tests in testdata/%s", dir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var input string
			wantAt := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "input":
					input = string(f.Data)
				case want:
					wantAt = i
				}
			}
			g, err := ir.Parse(input)
			if err != nil {
				t.Fatalf("input: %v", err)
			}
			got := run(t, g, string(ar.Comment))
			if *updateGolden {
				if wantAt < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: want})
					wantAt = len(ar.Files) - 1
				}
				ar.Files[wantAt].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantAt < 0 {
				t.Fatalf("no %q section (run with -update)", want)
			}
			if exp := string(ar.Files[wantAt].Data); got != exp {
				t.Errorf("got:\n%s\nwant:\n%s", got, exp)
			}
		})
	}
}
