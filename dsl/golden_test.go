package dsl_test

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
)

var update = flag.Bool("update", false, "rewrite golden files")

var bundled = []struct {
	name string
	fn   func(*dsl.Graph)
}{
	{"models.MLP", models.MLP},
	{"models.SoftmaxRegression", models.SoftmaxRegression},
	{"models.DeepMLP", models.DeepMLP},
	{"models.GELUNet", models.GELUNet},
	{"test.ClipGrad", clipGrad},
}

// clipGrad uses a custom VJP, whose backward func prints after the main graph.
func clipGrad(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 4)
	W := g.Param("W", 4, 3)
	clip := dsl.CustomVJP("clip",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0].MatMul(xs[1]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			c := dsl.Minimum(dsl.Maximum(g, -1), 1)
			return []*dsl.Tensor{nil, dsl.MatMul(xs[0], c, true, false)}
		})
	g.Minimize(dsl.Tanh(clip(x, W)).Mean())
}

func build(t *testing.T, name string, fn func(*dsl.Graph)) *ir.Graph {
	t.Helper()
	g, err := dsl.Build(name, fn)
	if err != nil {
		t.Fatalf("Build %s: %v", name, err)
	}
	return g
}

// checkRoundTrip asserts Print(Parse(Print(g))) == Print(g).
func checkRoundTrip(t *testing.T, g *ir.Graph) {
	t.Helper()
	text := ir.Print(g)
	g2, err := ir.Parse(text)
	if err != nil {
		t.Fatalf("Parse(Print(%s)): %v\n%s", g.Name, err, text)
	}
	if text2 := ir.Print(g2); text2 != text {
		t.Fatalf("Print(Parse(Print(%s))) differs:\n%s\n---\n%s", g.Name, text, text2)
	}
}

func TestBundledModelsRoundTrip(t *testing.T) {
	for _, m := range bundled {
		t.Run(m.name, func(t *testing.T) {
			g := build(t, m.name, m.fn)
			checkRoundTrip(t, g)
			if m.name == "test.ClipGrad" && len(g.Funcs) != 1 {
				t.Errorf("%s has %d funcs, want the custom VJP's backward", m.name, len(g.Funcs))
			}
			// Building is deterministic.
			if a, b := ir.Print(g), ir.Print(build(t, m.name, m.fn)); a != b {
				t.Errorf("two builds print differently:\n%s\n---\n%s", a, b)
			}
		})
	}
}

// TestMLPGolden pins the IR text of the D2L MLP. After an intended change
// to the DSL, the IR or the model, rerun with -update and review the diff.
func TestMLPGolden(t *testing.T) {
	got := ir.Print(build(t, "models.MLP", models.MLP))
	path := filepath.Join("testdata", "mlp.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dsl -run TestMLPGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("IR of models.MLP differs from %s (rerun with -update if intended):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestMLPInterp runs the MLP through the interpreter: the loss of zero
// weights is log 10, and the objective adds the L2 penalty.
func TestMLPInterp(t *testing.T) {
	g := build(t, "models.MLP", models.MLP)
	params, err := ir.InitParams(g, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	x := make([]float64, n*784)
	for i := range x {
		x[i] = float64(i%7) / 7
	}
	inputs := map[string]*ir.Tensor{"x": ir.FromFloats(ir.F32, x, n, 784), "y": ir.FromInts([]int32{0, 3, 9, 1}, n)}
	for k, v := range params {
		inputs[k] = v
	}
	// Zero the output layer: the logits are all 0, so the loss is log 10.
	inputs["W2"] = ir.NewTensor(ir.F32, 256, 10)
	res, err := ir.Interp(g, ir.Env{Dims: map[string]int{"n": n}, Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	loss := res.Outputs["loss"].Scalar()
	if math.Abs(loss-math.Log(10)) > 1e-6 {
		t.Errorf("loss = %v, want log 10 = %v", loss, math.Log(10))
	}
	ss := 0.0
	for _, w := range params["W1"].F {
		ss += w * w
	}
	want := math.Log(10) + models.Lambda/2*ss
	if j := res.Objective.Scalar(); math.Abs(j-want) > 1e-5*want {
		t.Errorf("objective = %v, want %v", j, want)
	}
}

// TestDropout checks dsl.Dropout: the identity at inference, a random
// mask of kept ≈ 1−p scaled by 1/(1−p) in training.
func TestDropout(t *testing.T) {
	const p = 0.4
	g := build(t, "test.dropout", func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float64, 100, 50)
		g.Output("y", dsl.Dropout(x, p))
	})
	checkRoundTrip(t, g)
	x := make([]float64, 100*50)
	for i := range x {
		x[i] = 1 + float64(i%13)
	}
	in := map[string]*ir.Tensor{"x": ir.FromFloats(ir.F64, x, 100, 50)}
	res, err := ir.Interp(g, ir.Env{Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range res.Outputs["y"].F {
		if y != x[i] {
			t.Fatalf("inference: y[%d] = %v, want x = %v", i, y, x[i])
		}
	}
	res, err = ir.Interp(g, ir.Env{Inputs: in, Training: true, Step: 1})
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i, y := range res.Outputs["y"].F {
		switch {
		case y == 0:
		case math.Abs(y-x[i]/(1-p)) < 1e-12*y:
			kept++
		default:
			t.Fatalf("training: y[%d] = %v, want 0 or %v", i, y, x[i]/(1-p))
		}
	}
	// 5 standard errors of a binomial proportion: see ir's statSigmas.
	const sigmas = 5
	if f, se := float64(kept)/float64(len(x)), math.Sqrt(p*(1-p)/float64(len(x))); math.Abs(f-(1-p)) > sigmas*se {
		t.Errorf("training kept %.4f, want %.4f ± %.4f", f, 1-p, sigmas*se)
	}
}
