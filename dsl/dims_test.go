package dsl_test

import (
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// TestDimProducts: [n,s,d] reshaped to [n·s,d] (by Prod, Mul or Flatten),
// multiplied by a [d,e] weight, and reshaped back; the printed IR names
// the product and parses back.
func TestDimProducts(t *testing.T) {
	var flat, flat2, flat3, back, all *dsl.Tensor
	g := build(t, "test.products", func(g *dsl.Graph) {
		n, s := g.Dim("n"), g.Dim("s")
		x := g.Input("x", dsl.Float32, n, s, 4)
		W := g.Param("W", 4, 3)
		flat = x.Reshape(dsl.Prod(n, s), 4)
		flat2 = x.Reshape(s.Mul(n), 4)
		flat3 = x.Flatten(0, -2)
		back = flat.MatMul(W).Reshape(n, s, 3)
		all = back.Reshape(dsl.Prod(3, s, n))
		g.Output("back", back)
		g.Output("all", all)
		g.Minimize(back.Square().Sum().Add(flat2.Mean()).Add(flat3.Mean()))
	})
	for _, c := range []struct {
		t    *dsl.Tensor
		want string
	}{{flat, "[n*s,4]"}, {flat2, "[n*s,4]"}, {flat3, "[n*s,4]"}, {back, "[n,s,3]"}, {all, "[3*n*s]"}} {
		if got := c.t.Shape().String(); got != c.want {
			t.Errorf("shape %s, want %s", got, c.want)
		}
	}
	if d := dsl.Prod(2, dsl.Prod(ir.Sym("n"), 3)); d != ir.Prod(ir.Static(6), ir.Sym("n")) {
		t.Errorf("Prod(2, Prod(n, 3)) = %v", d)
	}
	if !strings.Contains(ir.Print(g), "f32[n*s,4] = reshape v0 [shape=[n*s,4]]") {
		t.Errorf("printed IR lacks the product reshape:\n%s", ir.Print(g))
	}
	checkRoundTrip(t, g)
}

// TestProdPanics: a wrong argument type or a negative size is a
// programming error.
func TestProdPanics(t *testing.T) {
	for _, c := range []struct {
		args []any
		want string
	}{{[]any{"n"}, "dim 0 has type string, want int or Dim"}, {[]any{2, -1}, "dim 1 is negative (-1)"}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("Prod(%v) panics with %v, want %q", c.args, r, c.want)
				}
			}()
			dsl.Prod(c.args...)
		}()
	}
}
