package dsl_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// TestNormErrors: mistakes with the normalization calls and state are
// errors at the caller's line (mark() is called on the line before each).
func TestNormErrors(t *testing.T) {
	for _, c := range []errCase{
		{"batch norm rank", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"))
			mark()
			g.Output("y", g.BatchNorm("bn", x))
		}, []string{"BatchNorm bn: x f32[n] needs rank 2 or more and a static channel dim 1 ([N, C] or [N, C, H, W])"}},
		{"batch norm momentum", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 3)
			mark()
			g.Output("y", g.BatchNormWith("bn", x, 1e-5, 1.5))
		}, []string{"BatchNorm bn: momentum 1.5 is outside [0, 1]"}},
		{"layer norm shape", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 4)
			gamma, beta := g.Param("gamma", 3), g.Param("beta", 3)
			mark()
			g.Output("y", dsl.LayerNorm(x, gamma, beta, 1e-5))
		}, []string{"layer_norm(f32[n,4], f32[3], f32[3]): gamma [3] must be the trailing dims of x [n,4] (the normalized shape)"}},
		{"layer norm dims", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 4)
			mark()
			g.Output("y", g.LayerNorm("ln", x, 3))
		}, []string{"LayerNorm ln: 3 normalized dims for x f32[n,4]; want 1 to 2"}},
		{"var of one element", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 1)
			mark()
			g.Output("v", x.Var(1, -1))
		}, []string{"var(f32[n,1]): variance of [n,1] over axes [1] with correction 1: groups of 1 element(s) leave no degree of freedom"}},
		{"state updates", func(g *dsl.Graph, mark func()) {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 3)
			p := g.Param("p", 3)
			s := g.State("s", 0, 3)
			mark()
			g.UpdateState(p, x.Mean(0))
			mark()
			g.UpdateState(s, x)
			g.UpdateState(s, x.Mean(0))
			mark()
			g.UpdateState(s, x.Max(0))
			mark()
			g.State("s2", 0, g.Dim("n"))
			g.Output("y", x)
		}, []string{
			"UpdateState: the param p is not a state value (declare it with g.State)",
			"UpdateState s: the new value is f32[n,3], want the state's type f32[3]",
			"UpdateState s: the state is already updated (or an output has its name)",
			"State s2: shape [n] has a symbolic dim; state must have a static shape",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lines []int
			mark := func() {
				_, _, line, _ := runtime.Caller(1)
				lines = append(lines, line+1)
			}
			g, err := dsl.Build("test.norm", func(g *dsl.Graph) { c.model(g, mark) })
			if err == nil {
				t.Fatalf("Build succeeded, want errors:\n%s", g)
			}
			var want []string
			for i, w := range c.want {
				want = append(want, fmt.Sprintf("norm_test.go:%d: %s", lines[i], w))
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("errors:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

// TestBatchNormLayer: the layer declares PyTorch's params and state and
// updates both statistics.
func TestBatchNormLayer(t *testing.T) {
	g, err := dsl.Build("test.bn", func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float32, g.Dim("n"), 4, 5, 5)
		g.Output("y", g.BatchNorm("bn1", x))
	})
	if err != nil {
		t.Fatal(err)
	}
	var params, states, updates []string
	for _, v := range g.Params() {
		params = append(params, fmt.Sprintf("%s %v %s", v.Name, v.Type, v.Attrs))
	}
	for _, v := range g.States() {
		states = append(states, fmt.Sprintf("%s %v %s", v.Name, v.Type, v.Attrs))
	}
	for _, o := range g.StateUpdates() {
		updates = append(updates, o.State)
	}
	for _, c := range []struct{ got, want []string }{
		{params, []string{`bn1.weight f32[4] [init="constant" value=1]`, `bn1.bias f32[4] [init="zeros"]`}},
		{states, []string{"bn1.running_mean f32[4] [value=0]", "bn1.running_var f32[4] [value=1]"}},
		{updates, []string{"bn1.running_mean", "bn1.running_var"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if v := g.Output("y"); v.Op != ir.OpBatchNorm || v.Attrs.Float("eps") != 1e-5 {
		t.Errorf("y = %v, want batch_norm with eps 1e-5", v)
	}
}
