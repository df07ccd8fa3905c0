package rt

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/runtime/api"
	"github.com/bpgen/bpgen/runtime/optim"
	"github.com/bpgen/bpgen/runtime/tensorio"
)

// testModel is what a generated package holds for the model of
// testInfo: typed Params, Grads and State, and their Views.
type testModel[T float32 | float64] struct {
	Params, Grads        testParams[T]
	State                testState[T]
	params, grads, state Views[T]
}

type testParams[T float32 | float64] struct{ W, B, E []T }

func (p *testParams[T]) fields() []*[]T { return []*[]T{&p.W, &p.B, &p.E} }

type testState[T float32 | float64] struct{ Mean, Var []T }

func (s *testState[T]) fields() []*[]T { return []*[]T{&s.Mean, &s.Var} }

// testInfo is the name table of a model with params W f?[2,3] (normal),
// B f?[3] (zeros, no weight decay) and E f?[0], and state bn.mean and
// bn.var.
func testInfo(d api.DType) *api.Info {
	return &api.Info{Source: "test.Model", Package: "m", Float: d, Optimizer: "sgd",
		Params: []api.Spec{
			{Name: "W", Field: "W", DType: d, Shape: api.Shape{{N: 2}, {N: 3}}, Init: api.Init{Kind: "normal", Mean: 0.5, Std: 2}},
			{Name: "b", Field: "B", DType: d, Shape: api.Shape{{N: 3}}, Init: api.Init{Kind: "zeros"}, NoDecay: true},
			{Name: "e", Field: "E", DType: d, Shape: api.Shape{{N: 0}, {N: 4}}, Init: api.Init{Kind: "zeros"}},
		},
		States: []api.Spec{
			{Name: "bn.mean", Field: "Mean", DType: d, Shape: api.Shape{{N: 3}}, Init: api.Init{Kind: "zeros"}},
			{Name: "bn.var", Field: "Var", DType: d, Shape: api.Shape{{N: 3}}, Init: api.Init{Kind: "constant", Value: 0.1}},
		},
	}
}

// newTestModel binds a testModel as generated New does.
func newTestModel[T float32 | float64](t *testing.T, seed uint64) *testModel[T] {
	t.Helper()
	info := testInfo(dtypeOf[T]())
	m := &testModel[T]{}
	mem := Memory{Where: "m: Config"}
	for _, err := range []error{
		m.params.Bind(&mem, info, Params, seed, m.Params.fields()),
		m.grads.Bind(&mem, info, Grads, seed, m.Grads.fields()),
		m.state.Bind(&mem, info, State, seed, m.State.fields()),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestViewsBind(t *testing.T) {
	t.Run("f32", testViewsBind[float32])
	t.Run("f64", testViewsBind[float64])
}

func testViewsBind[T float32 | float64](t *testing.T) {
	m := newTestModel[T](t, 7)
	if len(m.params.Flat) != 9 || len(m.grads.Flat) != 9 || len(m.state.Flat) != 6 {
		t.Fatalf("flat vectors of %d, %d and %d elements, want 9, 9 and 6", len(m.params.Flat), len(m.grads.Flat), len(m.state.Flat))
	}
	// Each field views its range of the vector, with no room to append into
	// the next one.
	for _, c := range []struct {
		name   string
		field  []T
		flat   []T
		off, n int
	}{
		{"Params.W", m.Params.W, m.params.Flat, 0, 6}, {"Params.B", m.Params.B, m.params.Flat, 6, 3},
		{"Grads.W", m.Grads.W, m.grads.Flat, 0, 6}, {"Grads.B", m.Grads.B, m.grads.Flat, 6, 3},
		{"State.Mean", m.State.Mean, m.state.Flat, 0, 3}, {"State.Var", m.State.Var, m.state.Flat, 3, 3},
	} {
		if len(c.field) != c.n || cap(c.field) != c.n || &c.field[0] != &c.flat[c.off] {
			t.Errorf("%s is not flat[%d:%d:%d]", c.name, c.off, c.off+c.n, c.off+c.n)
		}
	}
	if m.Params.E == nil || len(m.Params.E) != 0 {
		t.Errorf("Params.E = %v, want an empty view", m.Params.E)
	}
	// Params are initialized by their kind from the seed, grads are zero,
	// state is its constant.
	want := make([]T, 6)
	if err := InitParam(want, "W", []int{2, 3}, api.Init{Kind: "normal", Mean: 0.5, Std: 2}, 7); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Params.W, want) || slices.Equal(want, make([]T, 6)) {
		t.Errorf("Params.W = %v, want InitParam's %v", m.Params.W, want)
	}
	if !slices.Equal(m.Params.B, make([]T, 3)) || !slices.Equal(m.grads.Flat, make([]T, 9)) {
		t.Errorf("Params.B = %v, GradVector %v: want zeros", m.Params.B, m.grads.Flat)
	}
	if !slices.Equal(m.State.Mean, []T{0, 0, 0}) || !slices.Equal(m.State.Var, []T{T(0.1), T(0.1), T(0.1)}) {
		t.Errorf("State = %v, %v; want 0s and 0.1s", m.State.Mean, m.State.Var)
	}
	if m2 := newTestModel[T](t, 8); slices.Equal(m2.Params.W, m.Params.W) {
		t.Errorf("seeds 7 and 8 give the same W")
	}
}

// TestViewsBindInit checks that Bind fills a param with InitParam's values
// for every initializer kind.
func TestViewsBindInit(t *testing.T) {
	for _, in := range []api.Init{
		{Kind: "zeros"}, {Kind: "constant", Value: -0.3}, {Kind: "normal", Mean: 1, Std: 0.1},
		{Kind: "uniform", Low: -2, High: 3}, {Kind: "xavier_uniform", Gain: 1}, {Kind: "xavier_normal", Gain: 2},
		{Kind: "he_normal", Gain: math.Sqrt2}, {Kind: "he_uniform", Gain: math.Sqrt2},
	} {
		t.Run(in.Kind, func(t *testing.T) {
			info := &api.Info{Package: "m", Float: api.F32, Params: []api.Spec{{Name: "W", Field: "W", DType: api.F32, Shape: api.Shape{{N: 30}, {N: 20}}, Init: in}}}
			var w []float32
			var v Views[float32]
			if err := v.Bind(&Memory{}, info, Params, 3, []*[]float32{&w}); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 600)
			if err := InitParam(want, "W", []int{30, 20}, in, 3); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w, want) {
				t.Errorf("W = %v…, want %v…", w[:4], want[:4])
			}
			lo, hi := slices.Min(w), slices.Max(w)
			switch in.Kind {
			case "zeros", "constant":
				if lo != float32(in.Value) || hi != lo {
					t.Errorf("W in [%v, %v], want every element %v", lo, hi, in.Value)
				}
			case "uniform":
				if lo < -2 || hi >= 3 || hi-lo < 4 {
					t.Errorf("W in [%v, %v], want about [-2, 3)", lo, hi)
				}
			default: // around the mean (0 but for normal)
				if mean := float32(in.Mean); lo >= mean || hi <= mean {
					t.Errorf("W in [%v, %v]: not spread around %v", lo, hi, mean)
				}
			}
		})
	}
	var w []float32
	var v Views[float32]
	info := &api.Info{Package: "m", Params: []api.Spec{{Name: "W", Field: "W", Shape: api.Shape{{N: 2}}, Init: api.Init{Kind: "glorot"}}}}
	if err := v.Bind(&Memory{}, info, Params, 3, []*[]float32{&w}); err == nil || !strings.Contains(err.Error(), `param W: unknown initializer "glorot"`) {
		t.Errorf("an unknown initializer: %v", err)
	}
}

func TestViewsBindErrors(t *testing.T) {
	info := testInfo(api.F32)
	var p testParams[float32]
	var v Views[float32]
	mem := Memory{Where: "m: Config", Limit: 20}
	if err := v.Bind(&mem, info, Params, 1, p.fields()); err == nil || !strings.HasPrefix(err.Error(), "m: Config: the capacities need more memory than this machine has (the parameters: 9 elements") {
		t.Errorf("out of memory: %v", err)
	}
	mem = Memory{Where: "m: Config"}
	if err := v.Bind(&mem, info, Params, 1, p.fields()[:2]); err == nil || err.Error() != "m: Params has 2 fields and the name table 3 values of dtype f32: regenerate the package with this version of bpgen" {
		t.Errorf("too few fields: %v", err)
	}
	info.Params[0].Shape = api.Shape{{Dim: "n"}, {N: 3}}
	if err := v.Bind(&mem, info, Params, 1, p.fields()); err == nil || err.Error() != "m: Params.W: shape [n,3] is not static" {
		t.Errorf("a symbolic shape: %v", err)
	}
	if v.Flat != nil || mem.Used != 0 {
		t.Errorf("a failed Bind left Flat %v, %d bytes used", v.Flat, mem.Used)
	}
	// The state of a Views of T is the state of dtype T.
	info = testInfo(api.F32)
	info.States[1].DType = api.F64
	var s testState[float32]
	var sv Views[float32]
	if err := sv.Bind(&mem, info, State, 1, []*[]float32{&s.Mean}); err != nil || len(sv.Flat) != 3 || &s.Mean[0] != &sv.Flat[0] {
		t.Errorf("f32 state: %v, Flat %v", err, sv.Flat)
	}
	var s64 []float64
	var sv64 Views[float64]
	if err := sv64.Bind(&mem, info, State, 1, []*[]float64{&s64}); err != nil || !slices.Equal(s64, []float64{0.1, 0.1, 0.1}) {
		t.Errorf("f64 state: %v, %v", err, s64)
	}
}

func TestViewsCheck(t *testing.T) {
	m := newTestModel[float32](t, 1)
	if a := testing.AllocsPerRun(10, func() {
		if m.params.Check() != nil || m.grads.Check() != nil || m.state.Check() != nil {
			t.Fatal("the views New made fail Check")
		}
	}); a != 0 {
		t.Errorf("Check: %v allocations", a)
	}
	for _, c := range []struct {
		name    string
		replace func(m *testModel[float32])
		views   func(m *testModel[float32]) *Views[float32]
		want    string
	}{
		{"a copy", func(m *testModel[float32]) { m.Params.B = slices.Clone(m.Params.B) }, func(m *testModel[float32]) *Views[float32] { return &m.params },
			"m: Params.B was replaced: it must stay ParamVector()[6:9], as New made it (copy values into it instead)"},
		{"shorter", func(m *testModel[float32]) { m.Params.W = m.Params.W[:5] }, func(m *testModel[float32]) *Views[float32] { return &m.params },
			"m: Params.W was replaced: it must stay ParamVector()[0:6], as New made it (copy values into it instead)"},
		{"another param's", func(m *testModel[float32]) { m.Grads.W = m.grads.Flat[3:9] }, func(m *testModel[float32]) *Views[float32] { return &m.grads },
			"m: Grads.W was replaced: it must stay GradVector()[0:6], as New made it (copy values into it instead)"},
		{"nil", func(m *testModel[float32]) { m.Grads.B = nil }, func(m *testModel[float32]) *Views[float32] { return &m.grads },
			"m: Grads.B was replaced: it must stay GradVector()[6:9], as New made it (copy values into it instead)"},
		{"state", func(m *testModel[float32]) { m.State.Var = make([]float32, 3) }, func(m *testModel[float32]) *Views[float32] { return &m.state },
			"m: State.Var was replaced: it must stay the slice New made (copy values into it instead)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newTestModel[float32](t, 1)
			c.replace(m)
			if err := c.views(m).Check(); err == nil || err.Error() != c.want {
				t.Errorf("Check() = %v, want %q", err, c.want)
			}
		})
	}
	// An empty param is any empty slice.
	m.Params.E = nil
	if err := m.params.Check(); err != nil {
		t.Errorf("an empty param replaced by nil: %v", err)
	}
}

func TestViewsTensors(t *testing.T) {
	m := newTestModel[float64](t, 1)
	ts := m.params.Tensors()
	if len(ts) != 3 {
		t.Fatalf("%d tensors, want 3", len(ts))
	}
	for i, want := range []struct {
		name  string
		shape []int
		data  []float64
	}{{"W", []int{2, 3}, m.Params.W}, {"b", []int{3}, m.Params.B}, {"e", []int{0, 4}, m.Params.E}} {
		x := ts[i]
		if x.Name != want.name || x.DType != api.F64 || !slices.Equal(x.Shape, want.shape) || x.F32 != nil || len(x.F64) != len(want.data) || len(x.F64) > 0 && &x.F64[0] != &want.data[0] {
			t.Errorf("tensor %d = %+v, want %s f64%v aliasing the field", i, x, want.name, want.shape)
		}
	}
	ts[0].Shape[0] = 99 // the shapes are the caller's
	if s := m.params.Tensors()[0].Shape; !slices.Equal(s, []int{2, 3}) {
		t.Errorf("a caller's write to a Shape changed the next call's: %v", s)
	}
	if ts := newTestModel[float32](t, 1).state.Tensors(); len(ts) != 2 || ts[1].Name != "bn.var" || ts[1].DType != api.F32 || len(ts[1].F32) != 3 {
		t.Errorf("state tensors %+v", ts)
	}
}

func TestSaveLoad(t *testing.T) {
	t.Run("f32", testSaveLoad[float32])
	t.Run("f64", testSaveLoad[float64])
}

func testSaveLoad[T float32 | float64](t *testing.T) {
	info := testInfo(dtypeOf[T]())
	src := newTestModel[T](t, 1)
	copy(src.State.Var, []T{1, 2, 3})
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, info, src.params.Tensors(), src.state.Tensors()); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := tensorio.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["bpgen.model"] != "test.Model" || len(ts) != 5 || ts["bn.var"].DType != strings.ToUpper(string(info.Float)) || !slices.Equal(ts["W"].Shape, []int{2, 3}) {
		t.Errorf("the file has metadata %v and tensors %v", meta, ts)
	}
	dst := newTestModel[T](t, 2)
	if slices.Equal(dst.params.Flat, src.params.Flat) {
		t.Fatal("seeds 1 and 2 give the same params: the test cannot fail")
	}
	if err := Load(path, dst.params.Tensors(), dst.state.Tensors()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dst.params.Flat, src.params.Flat) || !slices.Equal(dst.state.Flat, src.state.Flat) {
		t.Errorf("loaded params %v, state %v; want %v, %v", dst.params.Flat, dst.state.Flat, src.params.Flat, src.state.Flat)
	}
}

// TestLoadAllOrNothing checks that a Load that fails changes nothing:
// no param or state is half loaded, whichever tensor is wrong.
func TestLoadAllOrNothing(t *testing.T) {
	src := newTestModel[float32](t, 1)
	copy(src.State.Mean, []float32{4, 5, 6})
	valid := func() []tensorio.Tensor {
		var ts []tensorio.Tensor
		for _, x := range append(src.params.Tensors(), src.state.Tensors()...) {
			ts = append(ts, tensorio.Tensor{Name: x.Name, DType: "F32", Shape: x.Shape, Data: x.F32})
		}
		return ts
	}
	edit := func(name string, f func(ts []tensorio.Tensor, i int) []tensorio.Tensor) []tensorio.Tensor {
		ts := valid()
		return f(ts, slices.IndexFunc(ts, func(x tensorio.Tensor) bool { return x.Name == name }))
	}
	for _, c := range []struct {
		name string
		file []tensorio.Tensor
		want string
	}{
		{"a wrong shape", edit("b", func(ts []tensorio.Tensor, i int) []tensorio.Tensor {
			ts[i].Shape = []int{1, 3}
			return ts
		}), "b: file has F32[1 3], model expects F32[3]"},
		{"a missing tensor", edit("bn.var", func(ts []tensorio.Tensor, i int) []tensorio.Tensor { return slices.Delete(ts, i, i+1) }), "bn.var: not in file"},
		{"a wrong dtype", edit("W", func(ts []tensorio.Tensor, i int) []tensorio.Tensor {
			ts[i] = tensorio.Tensor{Name: "W", DType: "F64", Shape: []int{2, 3}, Data: make([]float64, 6)}
			return ts
		}), "W: file has F64[2 3], model expects F32[2 3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := tensorio.SaveFile(path, c.file, nil); err != nil {
				t.Fatal(err)
			}
			m := newTestModel[float32](t, 2)
			params, state := slices.Clone(m.params.Flat), slices.Clone(m.state.Flat)
			err := Load(path, m.params.Tensors(), m.state.Tensors())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load() = %v, want an error containing %q", err, c.want)
			}
			if !slices.Equal(m.params.Flat, params) || !slices.Equal(m.state.Flat, state) {
				t.Errorf("a failed Load changed the model: params %v → %v, state %v → %v", params, m.params.Flat, state, m.state.Flat)
			}
		})
	}
	m := newTestModel[float32](t, 2)
	if err := Load(filepath.Join(t.TempDir(), "none"), m.params.Tensors()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want an os.ErrNotExist", err)
	}
}

func TestNewOptimizer(t *testing.T) {
	info := testInfo(api.F32)
	o, err := NewOptimizer[float32](info, optim.Config{WeightDecay: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Config(); c.Kind != "sgd" || c.LR != 0.1 {
		t.Errorf("an empty Kind selects %q with LR %v, want info.Optimizer sgd with its default 0.1", c.Kind, c.LR)
	}
	// One step of SGD with weight decay: W decays, b (NoDecay) does not.
	params, grads := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}, make([]float32, 9)
	o.Step(params, grads)
	if want := []float32{0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 1, 1, 1}; !slices.Equal(params, want) {
		t.Errorf("after a step of weight decay 0.5: %v, want %v", params, want)
	}
	info.Optimizer = "adam"
	if o, err := NewOptimizer[float32](info, optim.Config{}); err != nil || o.Config().Kind != "adam" || o.Config().LR != 1e-3 {
		t.Errorf("default adam: %+v, %v", o, err)
	}
	if _, err := NewOptimizer[float64](info, optim.Config{Kind: "rmsprop"}); err == nil || err.Error() != `m: Config.Optimizer.Kind is "rmsprop", want "sgd" or "adam"` {
		t.Errorf("an unknown kind: %v", err)
	}
	if _, err := NewOptimizer[float32](info, optim.Config{NoDecay: []string{"B"}}); err == nil || !strings.HasPrefix(err.Error(), `m: Config.Optimizer.NoDecay names "B", which is not a param`) {
		t.Errorf("NoDecay of a field name: %v", err)
	}
}
