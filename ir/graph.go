// Package ir is bpgen's intermediate representation: a graph of SSA values
// in topological order, the table of ops that may appear in it, a text form
// that prints and parses back exactly, a verifier and a reference
// interpreter.
//
// Every value is produced by one op from earlier values; its type (dtype and
// shape, possibly with symbolic dims such as the batch "n") follows from the
// op's shape rule. The smallest use:
//
//	b := ir.NewBuilder("demo")
//	x := b.Input("x", ir.T(ir.F64, ir.S("n", 3)))
//	y := b.Apply(ir.OpTanh, nil, x)
//	b.Graph().AddOutput("y", y)
//	res, err := ir.Interp(b.Graph(), ir.Env{Dims: map[string]int{"n": 2}, Inputs: ...})
//
// The package imports only the standard library.
package ir

import (
	"fmt"
	"strconv"
)

// Pos is a source position of the DSL call that created a value. File is a
// base name (never an absolute path, so printed IR is reproducible).
type Pos struct {
	File string
	Line int
}

// IsKnown reports whether p refers to a source line.
func (p Pos) IsKnown() bool { return p.File != "" }

func (p Pos) String() string {
	if p.File == "" {
		return "-"
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// A Value is one SSA value: the result of applying Op to Args.
type Value struct {
	ID    int // index in Graph.Values
	Op    *OpDef
	Args  []*Value
	Type  Type
	Attrs Attrs
	Pos   Pos    // the DSL call that made it
	Name  string // the user's name for it, if any; inputs and params always have one
}

// Ref is the value's printed reference, e.g. "v3".
func (v *Value) Ref() string { return "v" + strconv.Itoa(v.ID) }

// String prints the value as one line of IR text.
func (v *Value) String() string { return formatValue(v) }

// Label is the user's name if any, otherwise the ref.
func (v *Value) Label() string {
	if v.Name != "" {
		return v.Name
	}
	return v.Ref()
}

// Output is a named result of a graph. Grad, when set, names the parameter
// (or input) whose gradient this output is; State, when set, names the
// state value this output is the training step's update of (see
// Graph.UpdateState).
type Output struct {
	Name  string
	Value *Value
	Grad  string
	State string
}

// Graph is a program: values in topological order (each value's args come
// before it), the symbolic dims it is generic over, its named outputs and,
// for a model, the scalar objective to minimize.
type Graph struct {
	Name      string // e.g. "models.MLP"
	Dims      []string
	Values    []*Value
	Outputs   []Output
	Objective *Value
	// Checkpoints names values (by Value.Name) the user marked to be saved
	// for the backward pass; the remat pass recomputes the other residuals.
	Checkpoints []string
	// Funcs are graphs the main graph refers to by name: the user-written
	// backward rules of custom_vjp values. They print after the main graph.
	Funcs []*Graph
}

// Func returns the function named name, or nil.
func (g *Graph) Func(name string) *Graph {
	for _, f := range g.Funcs {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// NewGraph returns an empty graph.
func NewGraph(name string) *Graph { return &Graph{Name: name} }

// AddDim declares a symbolic dim (idempotent).
func (g *Graph) AddDim(name string) {
	for _, d := range g.Dims {
		if d == name {
			return
		}
	}
	g.Dims = append(g.Dims, name)
}

// HasDim reports whether name is a declared symbolic dim.
func (g *Graph) HasDim(name string) bool {
	for _, d := range g.Dims {
		if d == name {
			return true
		}
	}
	return false
}

// Append adds v at the end of the graph and gives it the next ID.
func (g *Graph) Append(v *Value) *Value {
	v.ID = len(g.Values)
	g.Values = append(g.Values, v)
	return v
}

// AddOutput names v as an output of the graph.
func (g *Graph) AddOutput(name string, v *Value) {
	g.Outputs = append(g.Outputs, Output{Name: name, Value: v})
}

// Output returns the output named name, or nil.
func (g *Graph) Output(name string) *Value {
	for _, o := range g.Outputs {
		if o.Name == name {
			return o.Value
		}
	}
	return nil
}

// Inputs lists the input values in order.
func (g *Graph) Inputs() []*Value { return g.byOp(OpInput) }

// Params lists the parameter values in order.
func (g *Graph) Params() []*Value { return g.byOp(OpParam) }

func (g *Graph) byOp(op *OpDef) []*Value {
	var r []*Value
	for _, v := range g.Values {
		if v.Op == op {
			r = append(r, v)
		}
	}
	return r
}

// Lookup returns the input or param named name, or nil.
func (g *Graph) Lookup(name string) *Value {
	for _, v := range g.Values {
		if v.Name == name && v.Op.Storage == Bound {
			return v
		}
	}
	return nil
}

// Renumber makes IDs dense in slice order. Passes that delete or insert
// values call it before returning.
func (g *Graph) Renumber() {
	for i, v := range g.Values {
		v.ID = i
	}
}

// Clone returns a deep copy of g (values are new; ops and positions shared).
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, Dims: append([]string(nil), g.Dims...), Checkpoints: append([]string(nil), g.Checkpoints...)}
	m := make(map[*Value]*Value, len(g.Values))
	for _, v := range g.Values {
		nv := &Value{ID: v.ID, Op: v.Op, Type: Type{v.Type.DType, v.Type.Shape.Clone()}, Attrs: v.Attrs.Clone(), Pos: v.Pos, Name: v.Name}
		for _, a := range v.Args {
			nv.Args = append(nv.Args, m[a])
		}
		m[v] = nv
		c.Values = append(c.Values, nv)
	}
	for _, o := range g.Outputs {
		c.Outputs = append(c.Outputs, Output{Name: o.Name, Value: m[o.Value], Grad: o.Grad, State: o.State})
	}
	if g.Objective != nil {
		c.Objective = m[g.Objective]
	}
	for _, f := range g.Funcs {
		c.Funcs = append(c.Funcs, f.Clone())
	}
	return c
}

// String prints the graph as IR text.
func (g *Graph) String() string { return Print(g) }

// errorf formats an error about a value, showing it in full.
func valueErrorf(v *Value, format string, args ...any) error {
	return fmt.Errorf("%s: %s\n\t%s", v.Pos, fmt.Sprintf(format, args...), formatValue(v))
}
