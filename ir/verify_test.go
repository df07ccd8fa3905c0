package ir_test

import (
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// chain builds a valid graph of eight values: x, then a chain of unary
// ops, an objective and an output.
func chain(t *testing.T) *ir.Graph {
	t.Helper()
	b := ir.NewBuilder("test.chain")
	b.Graph().AddDim("n")
	b.Pos = ir.Pos{File: "chain.go", Line: 1}
	v := b.Input("x", tt(ir.F32, "n", 3))
	for i, op := range []string{"tanh", "exp", "neg", "sigmoid", "relu"} {
		b.Pos.Line = i + 2
		v = b.Op(op, nil, v)
	}
	b.Pos.Line = 10
	s := b.Op("sum", ir.Attrs{"axes": []int{0, 1}}, v)
	b.Graph().Objective = s
	b.Graph().AddOutput("y", v)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(b.Graph()); err != nil {
		t.Fatalf("the valid graph does not verify: %v", err)
	}
	return b.Graph()
}

func TestVerify(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(g *ir.Graph)
		bad    int    // index of the value the error must point at; -1: none
		err    string // what the message must say
	}{
		{"use before def", func(g *ir.Graph) { g.Values[3].Args[0] = g.Values[5] }, 3, "argument 1 is not defined before its use"},
		{"self use", func(g *ir.Graph) { g.Values[3].Args[0] = g.Values[3] }, 3, "argument 1 is not defined before its use"},
		{"foreign value", func(g *ir.Graph) { g.Values[3].Args[0] = chain(t).Values[2] }, 3, "argument 1 is not defined before its use"},
		{"wrong type", func(g *ir.Graph) { g.Values[4].Type = tt(ir.F32, "n", 4) }, 4, "type is f32[n,4], but sigmoid(f32[n,3]) gives f32[n,3]"},
		{"wrong dtype", func(g *ir.Graph) { g.Values[2].Type = tt(ir.F64, "n", 3) }, 2, "type is f64[n,3], but exp(f32[n,3]) gives f32[n,3]"},
		{"wrong arity", func(g *ir.Graph) { g.Values[4].Args = append(g.Values[4].Args, g.Values[0]) }, 4, "takes 1 argument(s), got 2"},
		{"bad attribute", func(g *ir.Graph) { g.Values[4].Attrs = ir.Attrs{"axis": 1} }, 4, `op sigmoid has no attribute "axis"`},
		{"undeclared dim", func(g *ir.Graph) { g.Dims = nil }, 0, `dim "n" is not declared in func test.chain()`},
		{"duplicate names", func(g *ir.Graph) {
			dup := &ir.Value{Op: ir.Lookup("input"), Type: tt(ir.F32, 2), Name: "x", Pos: ir.Pos{File: "chain.go", Line: 20}}
			g.Values = append(g.Values[:4:4], append([]*ir.Value{dup}, g.Values[4:]...)...)
			g.Renumber()
		}, 4, `name "x" is already used by v0`},
		{"non-scalar objective", func(g *ir.Graph) { g.Objective = g.Values[5] }, 5, "the objective must be a float scalar, not f32[n,3]"},
		{"bad IDs", func(g *ir.Graph) { g.Values[3].ID = 7 }, 3, "value has ID 7 at index 3"},
		{"unregistered op", func(g *ir.Graph) {
			op := *ir.Lookup("neg")
			g.Values[3].Op = &op
		}, 3, "op is not registered"},
		{"output elsewhere", func(g *ir.Graph) { g.Outputs[0].Value = chain(t).Values[1] }, -1, `output "y" is not a value of the graph`},
		{"unnamed input", func(g *ir.Graph) { g.Values[0].Name = "" }, 0, "input has no name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := chain(t)
			c.break_(g)
			err := ir.Verify(g)
			if err == nil {
				t.Fatalf("Verify accepted the broken graph:\n%s", g)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.err) {
				t.Errorf("error %q does not say %q", msg, c.err)
			}
			if c.bad < 0 {
				return
			}
			// The message shows the bad value marked, and up to three values
			// on either side.
			if !strings.Contains(msg, "\n\t>> "+g.Values[c.bad].String()+"\n") && !strings.HasSuffix(msg, "\n\t>> "+g.Values[c.bad].String()) {
				t.Errorf("error does not show the bad value %q:\n%s", g.Values[c.bad], msg)
			}
			for j := max(0, c.bad-3); j < min(len(g.Values), c.bad+4); j++ {
				if j != c.bad && !strings.Contains(msg, "\n\t   "+g.Values[j].String()) {
					t.Errorf("error does not show the neighbour %q:\n%s", g.Values[j], msg)
				}
			}
			if c.bad > 3 && strings.Contains(msg, g.Values[c.bad-4].String()+"\n") {
				t.Errorf("error shows more than three values before the bad one:\n%s", msg)
			}
			if pos := g.Values[c.bad].Pos.String(); !strings.Contains(msg, pos) {
				t.Errorf("error does not name the position %s:\n%s", pos, msg)
			}
		})
	}
}
