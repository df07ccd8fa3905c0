package dsl_test

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// TestReductionForms checks the one form of every reduction: R(axes...)
// drops the reduced axes, RKeep(axes...) keeps them as size 1, no axes
// means all, negative axes count from the end.
func TestReductionForms(t *testing.T) {
	forms := []struct {
		op           string
		reduce, keep func(*dsl.Tensor, ...int) *dsl.Tensor
	}{
		{"sum", (*dsl.Tensor).Sum, (*dsl.Tensor).SumKeep},
		{"mean", (*dsl.Tensor).Mean, (*dsl.Tensor).MeanKeep},
		{"max", (*dsl.Tensor).Max, (*dsl.Tensor).MaxKeep},
		{"min", (*dsl.Tensor).Min, (*dsl.Tensor).MinKeep},
		{"logsumexp", (*dsl.Tensor).LogSumExp, (*dsl.Tensor).LogSumExpKeep},
	}
	for _, f := range forms {
		var got []*dsl.Tensor
		g := build(t, "test."+f.op, func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3, 4)
			got = []*dsl.Tensor{f.reduce(x, 1), f.keep(x, 1), f.reduce(x), f.keep(x), f.reduce(x, -1, 0), f.keep(x, -1)}
			for i, r := range got {
				g.Output(string(rune('a'+i)), r)
			}
		})
		want := []string{"f32[n,4]", "f32[n,1,4]", "f32[]", "f32[1,1,1]", "f32[3]", "f32[n,3,1]"}
		for i, r := range got {
			if s := r.Shape(); ir.T(ir.F32, s).String() != want[i] {
				t.Errorf("%s form %d: %v, want %s", f.op, i, r.Shape(), want[i])
			}
		}
		for _, o := range g.Outputs {
			if o.Value.Op.Name != f.op {
				t.Errorf("%s: output %s is %s", f.op, o.Name, o.Value.Op.Name)
			}
		}
	}
}

// TestLossesDoNotReduce checks the loss rule: per example
// (SoftmaxCrossEntropy) or per element (BCEWithLogits, SquaredError).
func TestLossesDoNotReduce(t *testing.T) {
	var xent, bce, se *dsl.Tensor
	build(t, "test.losses", func(g *dsl.Graph) {
		n := g.Dim("n")
		z := g.Input("z", dsl.Float32, n, 5)
		y := g.Labels("y", n)
		tg := g.Target("t", dsl.Float32, n, 5)
		xent = dsl.SoftmaxCrossEntropy(z, y)
		bce = dsl.BCEWithLogits(z, tg)
		se = dsl.SquaredError(z, tg)
		g.Minimize(xent.Mean().Add(bce.Mean()).Add(se.Mean()))
	})
	for name, c := range map[string]struct {
		got  *dsl.Tensor
		want string
	}{"SoftmaxCrossEntropy": {xent, "f32[n]"}, "BCEWithLogits": {bce, "f32[n,5]"}, "SquaredError": {se, "f32[n,5]"}} {
		if s := ir.T(ir.F32, c.got.Shape()).String(); s != c.want {
			t.Errorf("%s is %s, want %s", name, s, c.want)
		}
	}
}

// TestIndicesIsNotATarget checks that Indices are an inference input (Predict
// takes them) and Labels a training target.
func TestIndicesIsNotATarget(t *testing.T) {
	g := build(t, "test.indices", func(g *dsl.Graph) {
		n := g.Dim("n")
		idx := g.Indices("tok", n)
		y := g.Labels("y", n)
		E := g.Param("E", 7, 5)
		o := E.Gather(0, idx)
		g.Output("logits", o)
		g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean())
	})
	for _, v := range g.Inputs() {
		target := v.Attrs.Bool("target")
		if v.Type.DType != ir.I32 || target != (v.Name == "y") {
			t.Errorf("input %s: %v, target %v", v.Name, v.Type, target)
		}
	}
}
