package dsl_test

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
)

// TestNoDecay checks that dsl.NoDecay marks the param's IR value (the
// attr codegen passes to the optimizer) and only that param.
func TestNoDecay(t *testing.T) {
	g, err := dsl.Build("nodecay", func(g *dsl.Graph) {
		W := g.Param("W", 2, 3)
		b := g.Param("b", 3, dsl.NoDecay, dsl.Constant(1))
		x := g.Input("x", dsl.Float32, 4, 2)
		g.Minimize(x.MatMul(W).Add(b).Square().Sum())
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"W", "b"} {
		v := g.Lookup(name)
		if got, want := v.Attrs.Bool("no_decay"), name == "b"; got != want {
			t.Errorf("%s: no_decay %v, want %v", name, got, want)
		}
	}
	if b := g.Lookup("b"); b.Attrs.Str("init") != "constant" {
		t.Errorf("b's init %q: NoDecay lost the Init", b.Attrs.Str("init"))
	}
}
