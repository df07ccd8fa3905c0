package passes

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// flatMatMul reshapes [n,s,4] to [n·s,4], multiplies it by a weight and
// reshapes the [n·s,3] product back to [n,s,3].
func flatMatMul(g *dsl.Graph) {
	n, s := g.Dim("n"), g.Dim("s")
	x := g.Input("x", dsl.Float32, n, s, 4)
	W := g.Param("W", 4, 3, dsl.Normal(0, 0.5))
	h := dsl.Tanh(x.Reshape(dsl.Prod(n, s), 4).MatMul(W)).Named("h")
	y := h.Reshape(n, s, 3)
	g.Output("y", y)
	g.Minimize(y.Square().Mean())
}

// TestPlanDimProducts: the buffer of a value with a product dim is sized
// by the product (a monomial of the plan's polynomial sizes), placed at
// the capacity of both dims, and the program computes what the graph does.
func TestPlanDimProducts(t *testing.T) {
	g := buildModel(t, "flat", flatMatMul)
	p, err := CompileProgram(g, Options{Capacity: map[string]int{"n": 4, "s": 5}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, b := range p.Plan.Buffers {
		for _, v := range b.Values {
			if v.Name != "h" {
				continue
			}
			found = true
			if v.Type.Shape.String() != "[n*s,3]" || b.Size.String() != "3·n·s" || b.Elems != 3*4*5 {
				t.Errorf("h: %v in a buffer of %s elements (%d at capacity), want [n*s,3], 3·n·s, 60", v.Type, b.Size, b.Elems)
			}
		}
	}
	if !found {
		t.Fatalf("no buffer holds h:\n%s", p.Plan)
	}
	for _, dims := range []map[string]int{{"n": 1, "s": 1}, {"n": 3, "s": 2}, {"n": 4, "s": 5}} {
		checkProgram(t, g, p, dims, 1)
	}
	if got, want := ShapeSize(ir.S(ir.Prod(ir.Sym("s"), ir.Sym("n")), 3)), ShapeSize(ir.S("n", 3, "s")); got.String() != want.String() {
		t.Errorf("ShapeSize([n*s,3]) = %s, want %s", got, want)
	}
}
