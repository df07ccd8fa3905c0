package ir_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// checkRoundTrip asserts that Parse(Print(g)) prints identically and that
// g's printed text parses into a graph that verifies.
func checkRoundTrip(t *testing.T, g *ir.Graph) {
	t.Helper()
	text := ir.Print(g)
	g2, err := ir.Parse(text)
	if err != nil {
		t.Fatalf("Parse(Print(g)): %v\n%s", err, text)
	}
	if text2 := ir.Print(g2); text2 != text {
		t.Fatalf("Print(Parse(Print(g))) differs:\n--- printed\n%s--- reprinted\n%s", text, text2)
	}
}

// attrKinds is a test-only op that takes one attribute of every kind, so
// the text form of each kind (strings with spaces, '#', quotes and escapes
// included) can be checked through a verified graph. Registering it in the
// test binary makes it part of ir.Ops(), so it has opCases data too.
var attrKinds = &ir.OpDef{
	Name: "test_attrs", Doc: "identity with one optional attribute of each kind (tests only)", Class: ir.Opaque, Arity: 1, NonDiff: true,
	Attrs: []ir.AttrSpec{
		{Name: "i", Kind: ir.AttrInt, Optional: true},
		{Name: "f", Kind: ir.AttrFloat, Optional: true},
		{Name: "b", Kind: ir.AttrBool},
		{Name: "is", Kind: ir.AttrInts, Optional: true},
		{Name: "s", Kind: ir.AttrString, Optional: true},
		{Name: "sh", Kind: ir.AttrShape, Optional: true},
		{Name: "dt", Kind: ir.AttrDType, Optional: true},
	},
	TypeRule: func(args []ir.Type, _ ir.Attrs, _ ir.Type) (ir.Type, error) {
		if !args[0].DType.IsFloat() {
			return ir.Type{}, fmt.Errorf("argument is %v, want a float type", args[0])
		}
		return args[0], nil
	},
	Eval: func(_ *ir.EvalContext, _ *ir.Value, a []*ir.Tensor) (*ir.Tensor, error) { return a[0].Clone(), nil },
}

func init() {
	ir.Register(attrKinds)
	opCases["test_attrs"] = func(d ir.DType) opTest {
		all := ir.Attrs{"i": -3, "f": -0.25, "b": true, "is": []int{2, -1}, "s": `a "b" #c`, "sh": ir.S("n", 3), "dt": ir.I32}
		return opTest{
			shapes: []shapeCase{
				{args: []ir.Type{tt(d, "n")}, attrs: all, want: tt(d, "n")},
				{args: []ir.Type{tt(ir.I32, "n")}, err: "want a float type"},
				{args: []ir.Type{tt(d, "n")}, attrs: ir.Attrs{"i": 1.5}, err: "attribute i is float64, want int"},
			},
			evals: []evalCase{{args: []ir.Type{tt(d, "n", 2)}, attrs: all, ref: func(in []*ir.Tensor) *ir.Tensor { return in[0] }}},
		}
	}
}

// attrGraph applies test_attrs with each attribute set in turn, and
// constants with special values.
func attrGraph(t testing.TB) *ir.Graph {
	b := ir.NewBuilder("test.attrs")
	b.Graph().AddDim("n")
	b.Graph().AddDim("batch_2")
	x := b.Input("x", tt(ir.F32, "n", "batch_2"))
	sets := []ir.Attrs{
		{"i": 0}, {"i": -7}, {"i": math.MaxInt64}, {"i": math.MinInt64},
		{"f": -0.5}, {"f": 1e-300}, {"f": -1.7976931348623157e308}, {"f": math.Inf(1)}, {"f": math.Inf(-1)}, {"f": math.NaN()},
		{"f": math.Copysign(0, -1)}, {"f": 5e-324}, {"f": 0.1},
		{"b": true}, {"b": false},
		{"is": []int{}}, {"is": []int{0}}, {"is": []int{3, -2, 1}},
		{"s": ""}, {"s": "two words"}, {"s": "hash # inside"}, {"s": `quote " inside`}, {"s": `back\slash`},
		{"s": "tab\tnewline\n"}, {"s": "ünïcödé ∑"}, {"s": "# [x=1] ] ["}, {"s": "\x00\xff"},
		{"sh": ir.S()}, {"sh": ir.S("n", 0, 784)}, {"sh": ir.S("batch_2")},
		{"dt": ir.F32}, {"dt": ir.F64}, {"dt": ir.I32},
		{"i": 1, "f": -2.5, "b": true, "is": []int{1}, "s": "all # \"kinds\"", "sh": ir.S(2, "n"), "dt": ir.F64},
	}
	// File names that do not read back as one field are quoted.
	files := []string{"attrs_test.go", "my model.go", "-", `"quoted".go`, "tab\there.go", "c:\\dir\\m.go", "a:b.go"}
	for i, a := range sets {
		b.Pos = ir.Pos{File: files[i%len(files)], Line: i + 1}
		v := b.Op("test_attrs", a, x)
		if i%3 == 0 {
			ir.Named(v, fmt.Sprintf("set%d", i))
		}
	}
	b.Pos = ir.Pos{}
	for _, c := range []float64{-1.5, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 1e300} {
		b.Const(c, tt(ir.F64))
	}
	b.Const(-3, tt(ir.I32, "n"))
	y := b.Op("test_attrs", ir.Attrs{"s": "out"}, x)
	b.Graph().AddOutput("y", y)
	b.Graph().AddOutput("x_again", x)
	b.Graph().Objective = b.Op("sum", ir.Attrs{"axes": []int{0, 1}}, y)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	return b.Graph()
}

func TestPrintParseAttrs(t *testing.T) {
	g := attrGraph(t)
	checkRoundTrip(t, g)
	g2, err := ir.Parse(ir.Print(g))
	if err != nil {
		t.Fatal(err)
	}
	// The parsed attributes are the same values, not just the same text.
	for i, v := range g.Values {
		w := g2.Values[i]
		for k, a := range v.Attrs {
			if bv, ok := a.(bool); ok && !bv {
				if w.Attrs.Has(k) {
					t.Errorf("%s: false bool %s came back as %v", v.Ref(), k, w.Attrs[k])
				}
				continue
			}
			if got, want := fmt.Sprintf("%#v", w.Attrs[k]), fmt.Sprintf("%#v", a); got != want {
				if f, ok := a.(float64); !ok || !math.IsNaN(f) || !math.IsNaN(w.Attrs.Float(k)) {
					t.Errorf("%s: attribute %s = %s after Parse, want %s", v.Ref(), k, got, want)
				}
			}
		}
		if v.Pos != w.Pos || v.Name != w.Name || !v.Type.Equal(w.Type) {
			t.Errorf("%s: got pos %v name %q type %v, want %v %q %v", v.Ref(), w.Pos, w.Name, w.Type, v.Pos, v.Name, v.Type)
		}
	}
	// −0 must keep its sign: it prints as "-0".
	if v := g2.Values[len(g2.Values)-5]; v.Op.Name != "const" || !math.Signbit(v.Attrs.Float("value")) {
		t.Errorf("const -0 lost its sign: %s", v)
	}
}

func TestPrintFormat(t *testing.T) {
	b := ir.NewBuilder("models.Tiny")
	b.Graph().AddDim("n")
	b.Pos = ir.Pos{File: "model.go", Line: 12}
	x := b.Input("x", tt(ir.F32, "n", 3))
	y := b.Target("y", tt(ir.I32, "n"))
	b.Pos = ir.Pos{File: "model.go", Line: 13}
	w := b.Param("W", tt(ir.F32, 3, 2), ir.Attrs{"init": "normal", "mean": 0.0, "std": -0.5})
	b.Pos = ir.Pos{File: "model.go", Line: 14}
	h := ir.Named(b.MatMul(x, w, false, false), "h")
	l := b.Op("mean", ir.Attrs{"axes": []int{0}}, b.Op("softmax_xent", nil, h, y))
	b.Graph().AddOutput("loss", l)
	b.Graph().Outputs = append(b.Graph().Outputs, ir.Output{Name: "dW", Value: w, Grad: "W"})
	b.Graph().Objective = l
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	want := `func models.Tiny(n) {
  v0:f32[n,3] = input  # model.go:12 x
  v1:i32[n] = input [target]  # model.go:12 y
  v2:f32[3,2] = param [init="normal" mean=0 std=-0.5]  # model.go:13 W
  v3:f32[n,2] = matmul v0 v2  # model.go:14 h
  v4:f32[n] = softmax_xent v3 v1  # model.go:14
  v5:f32[] = mean v4 [axes=[0]]  # model.go:14
  out loss = v5
  out dW = v2 grad W
  minimize v5
}
`
	if got := ir.Print(b.Graph()); got != want {
		t.Errorf("Print =\n%s\nwant\n%s", got, want)
	}
	checkRoundTrip(t, b.Graph())
}

// TestParseErrors checks that bad text is an error naming the line.
func TestParseErrors(t *testing.T) {
	const head = "func f(n) {\n  v0:f32[n,3] = input  # a.go:1 x\n"
	for _, c := range []struct{ text, err string }{
		{"", "empty text"},
		{"func f(n) {\n", "missing closing }"},
		{"fun f() {\n}\n", "line 1: want \"func name(dims) {\""},
		{"func f(n, n) {\n}\n", "repeated dim"},
		{head + "  v1:f32[n,3] = tanh v2\n}\n", `line 3: v1: unknown argument "v2"`},
		{head + "  v2:f32[n,3] = tanh v0\n}\n", "line 3: value v2 is out of order (want v1)"},
		{head + "  v0:f32[n,3] = tanh v0\n}\n", "line 3: v0 is defined twice"},
		{head + "  v1:f32[n,3] = frob v0\n}\n", `line 3: unknown op "frob"`},
		{head + "  v1:f32[n,4] = tanh v0\n}\n", "type is f32[n,4], but tanh(f32[n,3]) gives f32[n,3]"},
		{head + "  v1:f32[m,3] = const [value=1]\n}\n", `dim "m" is not declared`},
		{head + "  v1:f32[] = numel [dtype=f32 shape=[n,m]]\n}\n", `dim "m" is not declared`},
		{head + "  v1:f32[] = sum v0 [axes=[0,1] keepdims=1]\n}\n", "line 3: v1: op sum has no attribute"},
		{head + "  v1:f32[] = sum v0 [axes=[0,1]\n}\n", "line 3: v1: unterminated attributes"},
		{head + "  v1:f32[] = sum v0 [axes=[0,x]]\n}\n", "line 3: v1: attribute axes"},
		{head + "  v1:f32[n,3] = leaky_relu v0 [alpha=\"1\"]\n}\n", "line 3: v1: attribute alpha"},
		{head + "  v1:f32[] = const [value=1]  # a.go:x\n}\n", "line 3: v1: bad position"},
		{head + "  v1:f32[] = const [value=1]  # a.go:1 two names\n}\n", "line 3: v1: comment"},
		{head + "  v1:f32[] = const [value=1] # a # b\n}\n", "line 3: v1: comment \"a # b\""},
		{head + "  v1:f32[-1] = const [value=1]\n}\n", "negative dim"},
		{head + "  v1:q32[] = const [value=1]\n}\n", `unknown dtype "q32"`},
		{head + "  out y = v7\n}\n", `line 3: out y: unknown value "v7"`},
		{head + "  out y v0\n}\n", "line 3: want \"out name = vN"},
		{head + "  minimize v3\n}\n", `line 3: minimize: unknown value "v3"`},
		{head + "  minimize v0\n}\n", "the objective must be a float scalar"},
		{head + "}\n  v1:f32[] = const [value=1]\n", `line 4: want "func name(dims) {"`},
		{head + "  v1:f32[] = param [init=\"zeros\"]  # a.go:2 x\n}\n", `name "x" is already used by v0`},
	} {
		_, err := ir.Parse(c.text)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error containing %q", c.text, c.err)
			continue
		}
		if !strings.Contains(err.Error(), c.err) {
			t.Errorf("Parse(%q): error %q, want it to contain %q", c.text, err, c.err)
		}
	}
}
