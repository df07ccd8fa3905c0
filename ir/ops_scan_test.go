package ir_test

import (
	"math"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

func init() { opCases["scan"] = scanCase }

// rnnBody is the scan body h' = tanh(h·w + x), y = 2h' over carry h [3],
// step x [3] and captured w [3].
func rnnBody(name string, d ir.DType) func(g *ir.Graph) {
	return func(main *ir.Graph) {
		b := ir.NewBuilder(name)
		T := ir.T(d, ir.S(3))
		h := b.Input("c0", T)
		x := b.Input("x0", T)
		w := b.Input("p0", T)
		h2 := b.Apply(ir.OpTanh, nil, b.Add(b.Mul(h, w), x))
		b.Graph().AddOutput("c0", h2)
		b.Graph().AddOutput("y0", b.Scale(h2, 2))
		main.Funcs = append(main.Funcs, b.Graph())
	}
}

// refRNN runs rnnBody with plain loops over in = (h0, xs [T,3], w) and
// returns the final carry and the stacked ys.
func refRNN(in []*ir.Tensor, reverse bool) (h []float64, ys []float64) {
	h = append([]float64(nil), in[0].F...)
	T := in[1].Shape[0]
	ys = make([]float64, T*3)
	for s := range T {
		t := s
		if reverse {
			t = T - 1 - s
		}
		for i := range 3 {
			h[i] = math.Tanh(h[i]*in[2].F[i] + in[1].F[t*3+i])
			ys[t*3+i] = 2 * h[i]
		}
	}
	return h, ys
}

func scanCase(d ir.DType) opTest {
	H, X := tt(d, 3), tt(d, "n", 3)
	a := func(out int, rev bool) ir.Attrs {
		at := ir.Attrs{"fn": "test.scan.body", "carries": 1, "xs": 1, "out": out}
		if rev {
			at["reverse"] = true
		}
		return at
	}
	ref := func(out int, rev bool) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			h, ys := refRNN(in, rev)
			if out == 0 {
				return &ir.Tensor{DType: d, Shape: []int{3}, F: h}
			}
			return &ir.Tensor{DType: d, Shape: []int{in[1].Shape[0], 3}, F: ys}
		}
	}
	setup := rnnBody("test.scan.body", d)
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{H, X, H}, attrs: a(0, false), declared: H, want: H},
			{args: []ir.Type{H, X, H}, attrs: a(1, false), declared: X, want: X},
			{args: []ir.Type{H, X, tt(d, "n", 2), H}, attrs: ir.Attrs{"fn": "f", "carries": 1, "xs": 2, "out": 2}, declared: tt(d, "n", 7), want: tt(d, "n", 7)},
			{args: []ir.Type{H, X, H}, attrs: a(0, false), declared: X, err: "result f" + d.String()[1:] + "[n,3] is the final carry c0, which is"},
			{args: []ir.Type{H, X, H}, attrs: a(1, false), declared: tt(d, 4, 3), err: "its leading dim must be the length n"},
			{args: []ir.Type{H, X, tt(d, 4, 2)}, attrs: ir.Attrs{"fn": "f", "carries": 1, "xs": 2, "out": 0}, declared: H, err: "sequence x1 " + d.String() + "[4,2] has length 4, but x0 " + d.String() + "[n,3] has length n"},
			{args: []ir.Type{H, H}, attrs: ir.Attrs{"fn": "f", "carries": 2, "xs": 1, "out": 0}, declared: H, err: "do not fit 2 arguments"},
			{args: []ir.Type{H, tt(d)}, attrs: ir.Attrs{"fn": "f", "carries": 1, "xs": 1, "out": 0}, declared: H, err: "sequence x0 is a scalar"},
		},
		evals: []evalCase{
			{name: "final-carry", args: []ir.Type{H, X, H}, attrs: a(0, false), declared: H, setup: setup, ref: ref(0, false)},
			{name: "stacked-ys", args: []ir.Type{H, X, H}, attrs: a(1, false), declared: X, setup: setup, ref: ref(1, false)},
			{name: "reverse", args: []ir.Type{H, X, H}, attrs: a(1, true), declared: X, setup: setup, ref: ref(1, true)},
			{name: "static-length", args: []ir.Type{H, tt(d, 4, 3), H}, attrs: a(1, false), declared: tt(d, 4, 3), setup: setup, ref: ref(1, false)},
		},
	}
}

// TestScanCheckGraph: Verify compares the body func with the scan value.
func TestScanCheckGraph(t *testing.T) {
	build := func(body func(*ir.Graph), out int, res ir.Type) error {
		b := ir.NewBuilder("test.scancheck")
		b.Graph().AddDim("n")
		if body != nil {
			body(b.Graph())
		}
		h := b.Input("h", tt(ir.F64, 3))
		x := b.Input("x", tt(ir.F64, "n", 3))
		w := b.Input("w", tt(ir.F64, 3))
		v := b.Declared("scan", res, ir.Attrs{"fn": "body", "carries": 1, "xs": 1, "out": out}, h, x, w)
		b.Graph().AddOutput("out", v)
		if err := b.Err(); err != nil {
			return err
		}
		return ir.Verify(b.Graph())
	}
	H, X := tt(ir.F64, 3), tt(ir.F64, "n", 3)
	if err := build(rnnBody("body", ir.F64), 1, X); err != nil {
		t.Fatalf("a correct scan: %v", err)
	}
	for _, c := range []struct {
		body func(*ir.Graph)
		out  int
		res  ir.Type
		err  string
	}{
		{nil, 0, H, `scan: no func "body" in the graph`},
		{rnnBody("body", ir.F32), 0, H, "scan body body: input c0 is f32[3], but the scan passes f64[3]"},
		{rnnBody("body", ir.F64), 2, X, "scan: out = 2, but body body has 1 carries and 1 per-step outputs"},
		{rnnBody("body", ir.F64), 1, tt(ir.F64, "n", 4), "scan: result is f64[n,4], but body body's y0 stacked over n steps is f64[n,3]"},
	} {
		err := build(c.body, c.out, c.res)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("got error %v, want it to contain %q", err, c.err)
		}
	}
}
