package ir_test

import (
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// TestDimProducts: products of symbolic dims are canonical (so == compares
// them), print and parse back, evaluate, and count elements.
func TestDimProducts(t *testing.T) {
	n, s, S := ir.Sym("n"), ir.Sym("s"), ir.Static
	for _, c := range []struct {
		got  ir.Dim
		want string
	}{
		{ir.Prod(n, s), "n*s"},
		{ir.Prod(s, n), "n*s"},
		{n.Mul(s).Mul(S(4)), "4*n*s"},
		{ir.Prod(S(2), s, S(3), n), "6*n*s"},
		{ir.Prod(n, S(1)), "n"},
		{ir.Prod(n, n), "n*n"},
		{ir.Prod(S(3), S(4)), "12"},
		{ir.Prod(n, S(0)), "0"},
		{ir.Prod(), "1"},
		{ir.Prod(ir.Prod(s, S(2)), ir.Prod(n, S(3))), "6*n*s"},
	} {
		if got := c.got.String(); got != c.want {
			t.Errorf("%#v prints %q, want %q", c.got, got, c.want)
		}
		back, err := ir.ParseDim(c.want)
		if err != nil || back != c.got {
			t.Errorf("ParseDim(%q) = %#v, %v; want %#v", c.want, back, err, c.got)
		}
	}
	if ir.Prod(n, S(1)) != n || ir.Prod(S(3), S(4)) != S(12) || ir.Prod(s, n) != n.Mul(s) {
		t.Errorf("products are not canonical")
	}
	// Non-canonical text is read canonically.
	for text, want := range map[string]ir.Dim{"s*n*2": ir.Prod(n, s, S(2)), "1*n": n, "3*4": S(12)} {
		if d, err := ir.ParseDim(text); err != nil || d != want {
			t.Errorf("ParseDim(%q) = %v, %v; want %v", text, d, err, want)
		}
	}
	for _, bad := range []string{"n*", "*n", "n*-2", "n+s", "n**s"} {
		if _, err := ir.ParseDim(bad); err == nil {
			t.Errorf("ParseDim(%q) is not an error", bad)
		}
	}

	sh := ir.S(ir.Prod(n, s, S(4)), "s", 3)
	if got, err := sh.Eval(map[string]int{"n": 2, "s": 5}); err != nil || !equalInts(got, []int{40, 5, 3}) {
		t.Errorf("Eval = %v, %v; want [40 5 3]", got, err)
	}
	if _, err := sh.Eval(map[string]int{"s": 5}); err == nil || !strings.Contains(err.Error(), `"n" has no value`) {
		t.Errorf("Eval without n: %v", err)
	}
	if st, syms := sh.NumElements(); st != 12 || strings.Join(syms, ",") != "n,s,s" {
		t.Errorf("NumElements = %d, %v; want 12, [n s s]", st, syms)
	}
	if got := strings.Join(sh.Syms(), ","); got != "n,s,s" {
		t.Errorf("Syms = %s", got)
	}
	if !ir.SameSize(ir.S("n", "s", 4), ir.S(ir.Prod(n, s), 4)) || !ir.SameSize(ir.S("n", 2, "s", 2), ir.S(ir.Prod(n, s, S(4)))) ||
		ir.SameSize(ir.S("n", "s"), ir.S(ir.Prod(n, n))) {
		t.Errorf("SameSize does not see products")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDimProductsRoundTrip: a graph reshaping [n,s,d] → [n·s,d] → back
// prints product dims, parses back to the same graph, and verifies; an
// undeclared factor is an error.
func TestDimProductsRoundTrip(t *testing.T) {
	b := ir.NewBuilder("f")
	b.Graph().AddDim("n")
	b.Graph().AddDim("s")
	ns := ir.Prod(ir.Sym("n"), ir.Sym("s"))
	x := b.Input("x", tt(ir.F64, "n", "s", 4))
	w := b.Param("W", tt(ir.F64, 4, 3), ir.Attrs{"init": "zeros"})
	h := b.MatMul(b.Reshape(x, ir.S(ns, 4)), w, false, false)
	y := b.Reshape(h, ir.S("n", "s", 3))
	b.Graph().AddOutput("y", y)
	b.Graph().AddOutput("flat", b.Reshape(y, ir.S(ir.Prod(ns, ir.Static(3)))))
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(b.Graph()); err != nil {
		t.Fatal(err)
	}
	text := ir.Print(b.Graph())
	for _, want := range []string{"f64[n*s,4] = reshape v0 [shape=[n*s,4]]", "f64[n*s,3] = matmul", "f64[3*n*s] = reshape"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed graph lacks %q:\n%s", want, text)
		}
	}
	checkRoundTrip(t, b.Graph())

	xt, wt := ir.NewTensor(ir.F64, 2, 3, 4), ir.NewTensor(ir.F64, 4, 3)
	for i := range xt.F {
		xt.F[i] = float64(i%7) - 3
	}
	for i := range wt.F {
		wt.F[i] = float64(i%5) - 2
	}
	res, err := ir.Interp(b.Graph(), ir.Env{Dims: map[string]int{"n": 2, "s": 3}, Inputs: map[string]*ir.Tensor{"x": xt, "W": wt}})
	if err != nil {
		t.Fatal(err)
	}
	got, flat := res.Outputs["y"], res.Outputs["flat"]
	if !equalInts(got.Shape, []int{2, 3, 3}) || !equalInts(flat.Shape, []int{18}) {
		t.Fatalf("y has shape %v, flat %v; want [2 3 3] and [18]", got.Shape, flat.Shape)
	}
	for r := range 6 { // the rows (i, j) of [n,s] in order
		for c := range 3 {
			want := 0.0
			for l := range 4 {
				want += xt.F[r*4+l] * wt.F[l*3+c]
			}
			if got.F[r*3+c] != want || flat.F[r*3+c] != want {
				t.Errorf("y[%d,%d] = %v (flat %v), want %v", r, c, got.F[r*3+c], flat.F[r*3+c], want)
			}
		}
	}

	bad := strings.Replace(text, "func f(n, s)", "func f(n)", 1)
	if _, err := ir.Parse(bad); err == nil || !strings.Contains(err.Error(), `dim "s" is not declared`) {
		t.Errorf("undeclared factor: %v", err)
	}
}
