package dsl_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
)

// Each case is a model with deliberate mistakes. A model calls mark() on
// the line before each mistake; the test expects one error per mark, in
// order, each starting with "errors_test.go:LINE: " where LINE is the
// mistake's line.
// In a message, @k stands for the position of mark k (for messages that
// point back at an earlier line).
type errCase struct {
	name  string
	model func(g *dsl.Graph, mark func())
	want  []string
}

var errCases = []errCase{
	{"matmul inner dims", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 784)
		W := g.Param("W", 256, 10)
		mark()
		g.Minimize(x.MatMul(W).Sum())
	}, []string{"matmul(f32[n,784], f32[256,10]): inner dimensions differ: [n,784]·[256,10] needs 784 == 256"}},

	{"matmul ranks", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 3, 4)
		v := g.Param("v", 4)
		mark()
		g.Minimize(x.MatMul(v).Sum())
	}, []string{"matmul(f32[3,4], f32[4]): operands must have rank 2 or more (leading dims are batch dims); got [3,4]·[4]"}},

	{"broadcast", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		b := g.Param("b", 4)
		mark()
		g.Minimize(x.Add(b).Sum())
	}, []string{"add(f32[n,3], f32[4]): shapes [n,3] and [4] do not broadcast: dim -1 is 3 vs 4"}},

	{"float labels", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		o := g.Input("o", dsl.Float32, n, 10)
		y := g.Target("y", dsl.Float32, n)
		mark()
		g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean())
	}, []string{"softmax_xent(f32[n,10], f32[n]): labels are f32[n], want int32 class indices"}},

	{"labels shape", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		o := g.Input("o", dsl.Float32, n, 10)
		y := g.Labels("y", n, 10)
		mark()
		g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean())
	}, []string{"softmax_xent(f32[n,10], i32[n,10]): labels shape [n,10] must be the logits shape [n,10] without its last (class) dim"}},

	{"undeclared dim", func(g *dsl.Graph, mark func()) {
		mark()
		x := g.Input("x", dsl.Float32, "n", 3)
		mark()
		y := g.Input("y", dsl.Float32, ir.Sym("m"), 3)
		g.Minimize(x.Add(y).Sum())
	}, []string{
		`Input x: dim "n" is not declared (declare it with g.Dim("n"))`,
		`Input y: dim "m" is not declared (declare it with g.Dim("m"))`,
	}},

	{"axis out of range", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		mark()
		g.Output("s", x.Sum(2))
		mark()
		g.Output("m", x.Mean(-3))
		mark()
		g.Output("p", dsl.Softmax(x, 5))
		g.Minimize(x.Sum())
	}, []string{
		"sum(f32[n,3]): axis 2 is out of range for rank 2",
		"mean(f32[n,3]): axis -3 is out of range for rank 2",
		"softmax(f32[n,3]): axis 5 is out of range for rank 2",
	}},

	{"non-scalar objective", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		mark()
		g.Minimize(x.Square())
	}, []string{"Minimize: the objective must be a scalar, got f32[n,3] (reduce it with .Mean() or .Sum())"}},

	{"int objective", func(g *dsl.Graph, mark func()) {
		y := g.Labels("y", 3)
		mark()
		g.Minimize(y.Reshape())
	}, []string{"reshape(i32[3]): cannot reshape [3] to []: element counts differ"}},

	{"duplicate names", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		mark()
		x := g.Input("x", dsl.Float32, n, 3)
		mark()
		W := g.Param("W", 3, 3)
		mark()
		W2 := g.Param("W", 3, 3)
		mark()
		x2 := g.Input("x", dsl.Float32, n, 3)
		g.Output("y", x.MatMul(W))
		mark()
		g.Output("y", x.MatMul(W2))
		g.Minimize(x2.Sum())
	}, []string{
		"", "",
		`param name "W" is already used by the param at @1`,
		`input name "x" is already used by the input at @0`,
		`output name "y" is used twice`,
	}},

	{"bad reshape", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 784)
		mark()
		g.Minimize(x.Reshape(n, 28, 27).Sum())
	}, []string{"reshape(f32[n,784]): cannot reshape [n,784] to [n,28,27]: element counts differ"}},

	{"negative dim", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		mark()
		x := g.Input("x", dsl.Float32, n, -3)
		mark()
		W := g.Param("W", -1, 3)
		g.Minimize(x.MatMul(W).Sum())
	}, []string{"Input x: dim 1 is negative (-3)", "Param W: dim 0 is negative (-1)"}},

	{"concat", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		a := g.Input("a", dsl.Float32, n, 2)
		b := g.Input("b", dsl.Float32, 3, 2)
		mark()
		g.Minimize(dsl.Concat(1, a, b).Sum())
	}, []string{"concat(f32[n,2], f32[3,2]): argument 2 has shape [3,2], which differs from [n,2] outside axis 1"}},

	{"transpose perm", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 2, 3, 4)
		mark()
		g.Output("a", x.Transpose(0, 0, 1))
		mark()
		g.Output("b", x.Transpose(1, 0))
		g.Minimize(x.Sum())
	}, []string{
		"transpose(f32[2,3,4]): perm [0 0 1] is not a permutation of 0..2",
		"transpose(f32[2,3,4]): perm [1 0] has 2 entries for rank 3 shape [2,3,4]",
	}},

	{"unknown initializer", func(g *dsl.Graph, mark func()) {
		mark()
		W := g.Param("W", 3, 3, dsl.Init{})
		g.Minimize(W.SumSquares())
	}, []string{"Param W: unknown initializer (the zero Init); use one of dsl.Zeros, Constant, Normal, Uniform, XavierUniform, XavierNormal, HeNormal, HeUniform"}},

	{"symbolic param", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		mark()
		W := g.Param("W", n, 3)
		g.Minimize(W.SumSquares())
	}, []string{"Param W: shape [n,3] has a symbolic dim; params must have static shapes (a parameter cannot change size with the batch)"}},

	{"slice and dropout", func(g *dsl.Graph, mark func()) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 784)
		mark()
		h := x.Slice(1, 700, 800)
		mark()
		h2 := dsl.Dropout(x, 1)
		g.Minimize(h.Add(h2).Sum())
	}, []string{
		"slice(f32[n,784]): slice [700:800] is out of range for dim 1 of size 784",
		"dropout_mask(): dropout probability 1 is outside [0, 1)",
	}},

	{"bad names and operands", func(g *dsl.Graph, mark func()) {
		mark()
		g.Dim("batch size")
		x := g.Input("x", dsl.Float32, 3)
		mark()
		x.Add("one")
		mark()
		x.Named("h 1")
		mark()
		g.Output("y z", x)
		g.Minimize(x.Sum())
	}, []string{
		`Dim("batch size"): a dim name must be an identifier`,
		"add: operand \"one\" has type string; want a *Tensor or a number",
		`Named("h 1"): not an identifier`,
		`output name "y z" is not an identifier`,
	}},

	{"nil tensors", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 3, 3)
		var W *dsl.Tensor // forgotten
		mark()
		h := x.MatMul(W)
		mark()
		g.Output("h", nil)
		mark()
		g.Minimize(nil)
		g.Minimize(h.Sum())
	}, []string{
		"matmul: argument 2 is a nil *Tensor",
		"Output h: the value is a nil *Tensor",
		"Minimize: the objective is a nil *Tensor",
	}},

	{"minimize twice", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 3)
		mark()
		g.Minimize(x.Sum())
		mark()
		g.Minimize(x.Mean())
	}, []string{"", "Minimize called twice (the first objective was made at @0)"}},

	{"minimize twice after a mistake", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 3)
		mark()
		g.Minimize(x.Reshape(2).Sum())
		mark()
		g.Minimize(x.Sum())
	}, []string{"reshape(f32[3]): cannot reshape [3] to [2]: element counts differ", "Minimize called twice"}},

	{"nothing to compute", func(g *dsl.Graph, mark func()) {
		g.Dim("n")
	}, []string{"model test.nothing to compute has no objective and no outputs: call g.Minimize(loss) or g.Output(name, value)"}},

	{"custom vjp forward returns nil", func(g *dsl.Graph, mark func()) {
		x := g.Input("x", dsl.Float32, 3)
		f := dsl.CustomVJP("f", func(xs ...*dsl.Tensor) *dsl.Tensor { return nil },
			func(xs []*dsl.Tensor, y, gy *dsl.Tensor) []*dsl.Tensor { return []*dsl.Tensor{gy} })
		mark()
		g.Minimize(f(x).Sum())
	}, []string{"CustomVJP f: the forward returned nil; it must return the result tensor, built from its arguments"}},
	// Products of symbolic dims.
	{"dim products", func(g *dsl.Graph, mark func()) {
		n, s := g.Dim("n"), g.Dim("s")
		x := g.Input("x", dsl.Float32, n, s, 4)
		mark()
		a := x.Reshape(dsl.Prod(n, n), 4)
		mark()
		b := x.Reshape(dsl.Prod(n, ir.Sym("m")), 4)
		mark()
		c := x.Flatten(2, 1)
		mark()
		d := x.Flatten(0, 3)
		g.Output("a", a)
		g.Output("b", b)
		g.Output("c", c)
		g.Output("d", d)
	}, []string{"reshape(f32[n,s,4]): cannot reshape [n,s,4] to [n*n,4]: element counts differ",
		`Reshape: dim "m" is not declared (declare it with g.Dim("m"))`,
		"Flatten(f32[n,s,4]): start dim 2 is after end dim 1",
		"Flatten(f32[n,s,4]): axis 3 is out of range for rank 3"}},
}

func TestBuildErrors(t *testing.T) {
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			var lines []int
			mark := func() {
				_, _, line, _ := runtime.Caller(1)
				lines = append(lines, line+1)
			}
			g, err := dsl.Build("test."+c.name, func(g *dsl.Graph) { c.model(g, mark) })
			if err == nil {
				t.Fatalf("Build succeeded, want errors:\n%s", g)
			}
			var want []string
			for i, w := range c.want {
				if w == "" {
					continue // a mark for @i only
				}
				for k, l := range lines {
					w = strings.ReplaceAll(w, fmt.Sprintf("@%d", k), fmt.Sprintf("errors_test.go:%d", l))
				}
				if i < len(lines) {
					w = fmt.Sprintf("errors_test.go:%d: %s", lines[i], w)
				}
				want = append(want, w)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

// TestBuildErrorsAllReported builds one model with several independent
// mistakes: each is reported once, at its line, and values computed from
// a bad value add no further errors.
func TestBuildErrorsAllReported(t *testing.T) {
	var lines []int
	mark := func() {
		_, _, line, _ := runtime.Caller(1)
		lines = append(lines, line+1)
	}
	_, err := dsl.Build("test.many", func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 784)
		y := g.Labels("y", n)
		W1 := g.Param("W1", 784, 256)
		b1 := g.Param("b1", 265)
		W2 := g.Param("W2", 265, 10)
		mark()
		z := x.MatMul(W1).Add(b1)
		h := dsl.ReLU(z) // invalid: no second error
		o := h.MatMul(W2).Named("o")
		L := dsl.SoftmaxCrossEntropy(o, y.Convert(dsl.Float32)).Mean()
		mark()
		s := x.MatMul(W2).Sum()
		g.Output("s", s)
		mark()
		g.Output("wrong", x.Sum(3))
		mark()
		g.Minimize(L.Add(W1.Sum(0)))
	})
	if err == nil {
		t.Fatal("Build succeeded")
	}
	want := []string{
		fmt.Sprintf("errors_test.go:%d: add(f32[n,256], f32[265]): shapes [n,256] and [265] do not broadcast: dim -1 is 256 vs 265", lines[0]),
		fmt.Sprintf("errors_test.go:%d: matmul(f32[n,784], f32[265,10]): inner dimensions differ: [n,784]·[265,10] needs 784 == 265", lines[1]),
		fmt.Sprintf("errors_test.go:%d: sum(f32[n,784]): axis 3 is out of range for rank 2", lines[2]),
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	_ = lines[3] // the objective is invalid (from L): no error of its own
}

func TestBuildPanic(t *testing.T) {
	var line int
	g, err := dsl.Build("test.panic", func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float32, 3)
		g.Minimize(x.Sum())
		var m map[string]int
		_, _, line, _ = runtime.Caller(0) // the next line panics
		m["boom"]++
	})
	want := fmt.Sprintf("errors_test.go:%d: model test.panic panicked: assignment to entry in nil map", line+1)
	if g != nil || err == nil || err.Error() != want {
		t.Errorf("Build = %v, %v; want nil, %q", g, err, want)
	}

	_, err = dsl.Build("test.panic2", func(g *dsl.Graph) {
		_, _, line, _ = runtime.Caller(0) // the next line panics
		panic(fmt.Sprintf("user bug %d", 42))
	})
	want = fmt.Sprintf("errors_test.go:%d: model test.panic2 panicked: user bug 42", line+1)
	if err == nil || err.Error() != want {
		t.Errorf("Build error %v, want %q", err, want)
	}

	// A programming error inside the DSL (Concat of nothing) is reported
	// at the user's call.
	_, err = dsl.Build("test.panic3", func(g *dsl.Graph) {
		_, _, line, _ = runtime.Caller(0) // the next line panics
		dsl.Concat(0)
	})
	want = fmt.Sprintf("errors_test.go:%d: model test.panic3 panicked: dsl.Concat: no tensors", line+1)
	if err == nil || err.Error() != want {
		t.Errorf("Build error %v, want %q", err, want)
	}
}

// TestErrorPositionsRelativeToCwd checks that a mistake names its file as
// the Go compiler does, relative to the current directory, while the built
// IR keeps base names (printed IR and generated code must not depend on
// where the model was built from).
func TestErrorPositionsRelativeToCwd(t *testing.T) {
	t.Chdir("..")
	var line int
	model := func(g *dsl.Graph, broken bool) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		W := g.Param("W", 3, 2)
		if broken {
			W = g.Param("W2", 4, 2)
		}
		_, _, line, _ = runtime.Caller(0)
		g.Minimize(x.MatMul(W).Sum()) // line+1
	}
	_, err := dsl.Build("test.cwd", func(g *dsl.Graph) { model(g, true) })
	want := fmt.Sprintf("dsl/errors_test.go:%d: matmul(f32[n,3], f32[4,2]): inner dimensions differ", line+1)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want it to start with %q", err, want)
	}
	g, err := dsl.Build("test.cwd", func(g *dsl.Graph) { model(g, false) })
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Values {
		if v.Pos.File != "errors_test.go" {
			t.Errorf("%v: position file %q, want the base name errors_test.go", v, v.Pos.File)
		}
	}
}
