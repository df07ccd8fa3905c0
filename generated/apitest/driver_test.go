package apitest

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/generated/deepmlp"
	"github.com/bpgen/bpgen/generated/gelunet"
	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/generated/softmaxreg"
	"github.com/bpgen/bpgen/runtime/api"
)

// The driver of README.md ("A driver for every model"), verbatim
// (TestREADMEDriver checks): written once, it trains any generated model,
// feeding inputs and reading params, gradients and outputs by DSL name.

// randomBatch makes a batch of n examples for any model from its name
// table: floats uniform in [0, 1), int32 inputs (labels) in [0, 2).
func randomBatch(info *api.Info, n int, r *rand.Rand) *api.Feed {
	f := &api.Feed{Dims: map[string]int{}, Inputs: map[string]api.Tensor{}}
	for _, d := range info.Dims {
		f.Dims[d.Name] = n
	}
	for _, in := range info.Inputs {
		t := api.Tensor{Name: in.Name, DType: in.DType}
		size := 1
		for _, a := range in.Shape {
			if a.Dim != "" {
				t.Shape = append(t.Shape, f.Dims[a.Dim])
			} else {
				t.Shape = append(t.Shape, a.N)
			}
			size *= t.Shape[len(t.Shape)-1]
		}
		for range size {
			switch in.DType {
			case api.F32:
				t.F32 = append(t.F32, r.Float32())
			case api.F64:
				t.F64 = append(t.F64, r.Float64())
			case api.I32:
				t.I32 = append(t.I32, int32(r.IntN(2)))
			}
		}
		f.Inputs[in.Name] = t
	}
	return f
}

// fit takes steps training steps of m on one batch and prints the
// objective, each gradient's norm and each output's shape.
func fit(w io.Writer, m api.Model, steps int) error {
	feed := randomBatch(m.Info(), 4, rand.New(rand.NewPCG(1, 2)))
	for step := range steps {
		obj, err := m.TrainStepFeed(feed)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s step %d: objective %.4f\n", m.Info().Source, step, obj)
	}
	for _, g := range m.GradTensors() {
		norm := 0.0
		for _, x := range g.Floats() {
			norm += x * x
		}
		fmt.Fprintf(w, "  grad %s %v: norm %.3g\n", g.Name, g.Shape, math.Sqrt(norm))
	}
	outs, err := m.EvaluateFeed(feed)
	if err != nil {
		return err
	}
	for _, o := range outs {
		fmt.Fprintf(w, "  output %s %s%v\n", o.Name, o.DType, o.Shape)
	}
	return nil
}

// End of the README's driver.

// TestDriver runs the README's driver on every generated package, and
// checks what it prints and the name table against the typed API.
func TestDriver(t *testing.T) {
	newers := []func() (api.Model, error){
		func() (api.Model, error) { return mlp.New(mlp.Config{MaxN: 4}) },
		func() (api.Model, error) { return softmaxreg.New(softmaxreg.Config{MaxN: 4}) },
		func() (api.Model, error) { return deepmlp.New(deepmlp.Config{MaxN: 4}) },
		func() (api.Model, error) { return gelunet.New(gelunet.Config{MaxN: 4}) },
	}
	for _, newModel := range newers {
		m, err := newModel()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := fit(&out, m, 3); err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", out.String())
		info := m.Info()
		for _, p := range info.Params {
			if !strings.Contains(out.String(), "grad "+p.Name+" ") {
				t.Errorf("%s: the driver printed no gradient of %s", info.Source, p.Name)
			}
		}
		for _, o := range info.Outputs {
			if !strings.Contains(out.String(), "output "+o.Name+" ") {
				t.Errorf("%s: the driver printed no output %s", info.Source, o.Name)
			}
		}
		if strings.Contains(out.String(), "NaN") {
			t.Errorf("%s: NaN in\n%s", info.Source, out.String())
		}
	}

	// The name table and the Tensors agree with the typed API of mlp.
	m := newMLP(t, 1)
	if got := len(m.Info().Params); got != 4 {
		t.Fatalf("%d params in the name table", got)
	}
	for i, p := range m.ParamTensors() {
		spec := m.Info().Params[i]
		if p.Name != spec.Name || p.DType != api.F32 || len(p.F32) != p.Len() {
			t.Errorf("param %d: tensor %s %s, spec %s", i, p.Name, p.DType, spec.Name)
		}
	}
	if pt := m.ParamTensors()[1]; pt.Name != "b1" || &pt.F32[0] != &m.Params.B1[0] {
		t.Error("ParamTensors()[1] is not a view of Params.B1")
	}
	if gt := m.GradTensors()[2]; gt.Name != "W2" || &gt.F32[0] != &m.Grads.W2[0] {
		t.Error("GradTensors()[2] is not a view of Grads.W2")
	}
	if s, ok := api.Lookup(m.Info().Inputs, "y"); !ok || s.Field != "Y" || !s.Target || s.DType != api.I32 {
		t.Errorf("input y: %+v", s)
	}
	// Feed errors name the input.
	feed := randomBatch(m.Info(), 3, rand.New(rand.NewPCG(3, 4)))
	delete(feed.Inputs, "y")
	if _, err := m.TrainStepFeed(feed); err == nil || !strings.Contains(err.Error(), `mlp: TrainStepFeed: the feed has no input "y"`) {
		t.Errorf("TrainStepFeed without y: %v", err)
	}
	outs, err := m.PredictFeed(feed) // Predict needs no targets
	if err != nil {
		t.Fatal(err)
	}
	if outs[1].Name != "logits" || outs[1].Shape[0] != 3 || outs[1].Shape[1] != 10 || len(outs[1].F32) != 30 {
		t.Errorf("PredictFeed's logits: %s %v, %d elements", outs[1].Name, outs[1].Shape, len(outs[1].F32))
	}
	if _, err := m.TrainStepFeed(nil); err == nil || !strings.Contains(err.Error(), "mlp: TrainStepFeed: the feed is nil") {
		t.Errorf("TrainStepFeed(nil): %v", err)
	}
	feed.Inputs["x"] = api.Tensor{Name: "x", DType: api.F64, F64: make([]float64, 3*784)}
	if _, err := m.PredictFeed(feed); err == nil || !strings.Contains(err.Error(), `input "x" is f64 in the feed; the model takes f32`) {
		t.Errorf("PredictFeed with an f64 x: %v", err)
	}
}

// TestREADMEDriver checks that the README's driver is this file's.
func TestREADMEDriver(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("driver_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- driver: generated/apitest/driver_test.go -->\n```go\n")
	if !ok {
		t.Fatal("README.md has no driver block")
	}
	block, _, ok := strings.Cut(after, "```\n")
	if !ok || len(block) < 200 {
		t.Fatal("README.md's driver block is not closed")
	}
	if !strings.Contains(string(src), block) {
		t.Errorf("README.md's driver is not the one of driver_test.go (copy it from there):\n%s", block)
	}
}
