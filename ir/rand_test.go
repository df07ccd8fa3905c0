package ir_test

import (
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// Statistical checks draw tens of thousands of samples; an estimate may
// miss its expected value by this many standard errors before the test
// fails. Five makes a false failure rarer than one run in a million, and
// the streams are deterministic, so a pass is reproducible anyway.
const statSigmas = 5

func initGraph(t *testing.T, shape []int, attrs map[string]ir.Attrs) *ir.Graph {
	t.Helper()
	b := ir.NewBuilder("test.init")
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		dims := make([]any, len(shape))
		for i, d := range shape {
			dims[i] = d
		}
		b.Param(name, ir.T(ir.F64, ir.S(dims...)), attrs[name])
	}
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	return b.Graph()
}

func moments(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

func TestInitParamsDeterministic(t *testing.T) {
	attrs := map[string]ir.Attrs{
		"W1": {"init": "he_normal"},
		"W2": {"init": "he_normal"},
		"U":  {"init": "xavier_uniform"},
	}
	g := initGraph(t, []int{30, 20}, attrs)
	a, err := ir.InitParams(g, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ir.InitParams(g, 7)
	c, _ := ir.InitParams(g, 8)
	for name := range attrs {
		if !slices.Equal(a[name].F, b[name].F) {
			t.Errorf("%s: two runs with seed 7 differ", name)
		}
		if slices.Equal(a[name].F, c[name].F) {
			t.Errorf("%s: seeds 7 and 8 give the same values", name)
		}
	}
	if slices.Equal(a["W1"].F, a["W2"].F) {
		t.Error("W1 and W2 have the same values: each param needs its own stream")
	}
	// A param's values depend on its name and the seed, not on the other
	// params of the graph.
	alone, _ := ir.InitParams(initGraph(t, []int{30, 20}, map[string]ir.Attrs{"W2": {"init": "he_normal"}}), 7)
	if !slices.Equal(alone["W2"].F, a["W2"].F) {
		t.Error("W2's values depend on the other params")
	}
}

func TestInitParamsStatistics(t *testing.T) {
	const fanIn, fanOut = 300, 200
	n := float64(fanIn * fanOut)
	type want struct {
		mean, std float64
		lo, hi    float64 // bounds of a uniform initializer; lo == hi: unbounded (normal) or constant
		normal    bool
	}
	xu := math.Sqrt(6.0 / (fanIn + fanOut))
	hu := math.Sqrt(6.0 / fanIn)
	cases := map[string]struct {
		attrs ir.Attrs
		want  want
	}{
		"zeros":           {ir.Attrs{"init": "zeros"}, want{}},
		"constant":        {ir.Attrs{"init": "constant", "value": -0.75}, want{mean: -0.75}},
		"normal":          {ir.Attrs{"init": "normal", "mean": 0.5, "std": 2.0}, want{mean: 0.5, std: 2, normal: true}},
		"normal_default":  {ir.Attrs{"init": "normal"}, want{std: 1, normal: true}},
		"uniform":         {ir.Attrs{"init": "uniform", "low": -1.0, "high": 3.0}, want{mean: 1, std: 4 / math.Sqrt(12), lo: -1, hi: 3}},
		"uniform_default": {ir.Attrs{"init": "uniform"}, want{mean: 0.5, std: 1 / math.Sqrt(12), lo: 0, hi: 1}},
		"xavier_uniform":  {ir.Attrs{"init": "xavier_uniform"}, want{std: xu / math.Sqrt(3), lo: -xu, hi: xu}},
		"xavier_normal":   {ir.Attrs{"init": "xavier_normal"}, want{std: math.Sqrt(2.0 / (fanIn + fanOut)), normal: true}},
		"he_normal":       {ir.Attrs{"init": "he_normal"}, want{std: math.Sqrt(2.0 / fanIn), normal: true}},
		"he_normal_gain":  {ir.Attrs{"init": "he_normal", "gain": 1.0}, want{std: math.Sqrt(1.0 / fanIn), normal: true}},
		"he_uniform":      {ir.Attrs{"init": "he_uniform"}, want{std: hu / math.Sqrt(3), lo: -hu, hi: hu}},
	}
	attrs := map[string]ir.Attrs{}
	for name, c := range cases {
		attrs[name] = c.attrs
	}
	params, err := ir.InitParams(initGraph(t, []int{fanIn, fanOut}, attrs), 2024)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range cases {
		x, w := params[name].F, c.want
		mean, std := moments(x)
		if w.std == 0 {
			for i, v := range x {
				if v != w.mean {
					t.Errorf("%s: element %d = %v, want %v", name, i, v, w.mean)
					break
				}
			}
			continue
		}
		// The standard error of the mean is σ/√n; of the standard deviation
		// about σ/√(2n) (exact for a normal, close for a uniform).
		if se := w.std / math.Sqrt(n); math.Abs(mean-w.mean) > statSigmas*se {
			t.Errorf("%s: mean %.5f, want %.5f ± %.5f", name, mean, w.mean, statSigmas*se)
		}
		if se := w.std / math.Sqrt(2*n); math.Abs(std-w.std) > statSigmas*se {
			t.Errorf("%s: std %.5f, want %.5f ± %.5f", name, std, w.std, statSigmas*se)
		}
		if w.lo != w.hi {
			lo, hi := slices.Min(x), slices.Max(x)
			if lo < w.lo || hi >= w.hi {
				t.Errorf("%s: values in [%v, %v], want within [%v, %v)", name, lo, hi, w.lo, w.hi)
			}
			// and they fill the interval: the extremes are near the bounds.
			if span := w.hi - w.lo; lo > w.lo+span*1e-3 || hi < w.hi-span*1e-3 {
				t.Errorf("%s: values in [%v, %v] do not fill [%v, %v)", name, lo, hi, w.lo, w.hi)
			}
		}
		if w.normal {
			// A normal puts 68.27% of its mass within one σ of the mean.
			const p = 0.6826894921370859
			in := 0
			for _, v := range x {
				if math.Abs(v-w.mean) < w.std {
					in++
				}
			}
			if f, se := float64(in)/n, math.Sqrt(p*(1-p)/n); math.Abs(f-p) > statSigmas*se {
				t.Errorf("%s: %.4f of the values within one σ, want %.4f ± %.4f", name, f, p, statSigmas*se)
			}
		}
	}
}

func TestInitParamsErrors(t *testing.T) {
	if _, err := ir.InitValues("W", []int{2}, ir.Attrs{"init": "glorot"}, 1); err == nil || !strings.Contains(err.Error(), `unknown initializer "glorot"`) {
		t.Errorf("InitValues with an unknown initializer: err = %v", err)
	}
}

// dropoutMask evaluates a dropout mask of shape [rows, cols] with drop
// probability p.
func dropoutMask(t *testing.T, p float64, seedAttr int, env ir.Env) []float64 {
	t.Helper()
	b := ir.NewBuilder("test.dropout")
	m := b.Declared("dropout_mask", tt(ir.F32, 200, 150), ir.Attrs{"p": p, "seed": seedAttr})
	b.Graph().AddOutput("m", m)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	res, err := ir.Interp(b.Graph(), env)
	if err != nil {
		t.Fatal(err)
	}
	return res.Outputs["m"].F
}

func TestDropoutMask(t *testing.T) {
	for _, p := range []float64{0, 0.1, 0.5, 0.9} {
		train := ir.Env{Training: true, Step: 5, Seed: 99}
		m := dropoutMask(t, p, 1, train)
		scale := float64(float32(1 / (1 - p)))
		kept := 0
		for i, v := range m {
			switch v {
			case scale:
				kept++
			case 0:
			default:
				t.Fatalf("p=%v: element %d = %v, want 0 or %v", p, i, v, scale)
			}
		}
		n := float64(len(m))
		if f, se := float64(kept)/n, math.Sqrt(p*(1-p)/n); math.Abs(f-(1-p)) > statSigmas*se {
			t.Errorf("p=%v: kept %.4f of the elements, want %.4f ± %.4f", p, f, 1-p, statSigmas*se)
		}
		if !slices.Equal(m, dropoutMask(t, p, 1, train)) {
			t.Errorf("p=%v: the same step gives a different mask", p)
		}
		if p > 0 {
			next := train
			next.Step++
			if slices.Equal(m, dropoutMask(t, p, 1, next)) {
				t.Errorf("p=%v: the next step gives the same mask", p)
			}
			if slices.Equal(m, dropoutMask(t, p, 2, train)) {
				t.Errorf("p=%v: two dropout layers (seed attributes 1 and 2) give the same mask", p)
			}
		}
		for i, v := range dropoutMask(t, p, 1, ir.Env{Training: false, Step: 5, Seed: 99}) {
			if v != 1 {
				t.Fatalf("p=%v: inference mask element %d = %v, want 1", p, i, v)
			}
		}
	}
}

// TestRandPinned pins the random streams to checked-in hashes. The
// generator uses only integer and correctly rounded float64 operations, so
// these hashes must hold on every architecture and GOAMD64 level (.ci/run
// runs this test with GOAMD64=v3 and, under qemu, on arm64); a change here
// changes every model's initial parameters.
func TestRandPinned(t *testing.T) {
	h := fnv.New64a()
	put := func(x float64) {
		b := math.Float64bits(x)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(b >> 32), byte(b >> 40), byte(b >> 48), byte(b >> 56)})
	}
	key := ir.StreamKey(42, "W1")
	for i := range uint64(100000) {
		put(ir.Uniform01(key, i))
		put(ir.Normal01(key, i))
	}
	for _, a := range []ir.Attrs{{"init": "normal", "mean": 1.5, "std": 0.2}, {"init": "uniform", "low": -2.0, "high": 3.0}, {"init": "he_normal"}, {"init": "xavier_uniform"}} {
		v, err := ir.InitValues("p", []int{100, 30}, a, 99)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			put(x)
		}
	}
	const want = 0x8c92737eee41161a
	if got := h.Sum64(); got != want {
		t.Errorf("random streams hash to %#x, want %#x", got, uint64(want))
	}
}
