package ir

import (
	"fmt"
	"slices"
)

// Model state that is not a parameter: values the training step updates
// but no gradient touches (batch normalization's running statistics).
//
// A state value is a declared source op, bound by name like a param (the
// model owns its buffer; Storage Bound, no gradient). Its update is an
// output of the graph marked with the state's name (Output.State): the
// training forward pass computes the new value, and the training step
// writes it into the state after the forward pass, so the next step (and
// Predict) read it. Inference never updates state. Generated code keeps
// state next to the params (Model.State) and saves and loads it with
// them; ir.Interp returns the updated values in Result.State.

// OpState declares a state value.
var OpState *OpDef

func init() {
	OpState = Register(&OpDef{Name: "state", Doc: "model state that is not trained (batch norm's running statistics), filled with value at creation; the training step writes its update (an output marked state)", Class: Source, Declared: true, NonDiff: true, Storage: Bound,
		Attrs: []AttrSpec{{Name: "value", Kind: AttrFloat}},
		TypeRule: func(args []Type, a Attrs, t Type) (Type, error) {
			if !t.DType.IsFloat() {
				return Type{}, fmt.Errorf("state must be float, not %v", t.DType)
			}
			if !t.Shape.IsStatic() {
				return Type{}, fmt.Errorf("state shape %v has a symbolic dim; state must have a static shape", t.Shape)
			}
			return declaredType(args, a, t)
		},
		Eval: func(ctx *EvalContext, v *Value, _ []*Tensor) (*Tensor, error) {
			return bound(ctx, v)
		}})
}

// State declares a state value named name, filled with value at creation.
func (b *Builder) State(name string, t Type, value float64) *Value {
	return Named(b.DeclaredOp(OpState, t, Attrs{"value": value}), name)
}

// States lists the state values in order.
func (g *Graph) States() []*Value { return g.byOp(OpState) }

// UpdateState makes next the value the training step writes into state s
// (an output named after s, marked with Output.State).
func (g *Graph) UpdateState(s, next *Value) {
	g.Outputs = append(g.Outputs, Output{Name: s.Name, Value: next, State: s.Name})
}

// StateUpdates lists the outputs that update state, in order.
func (g *Graph) StateUpdates() []Output {
	var r []Output
	for _, o := range g.Outputs {
		if o.State != "" {
			r = append(r, o)
		}
	}
	return r
}

// InitState returns the initial value of every state value of g, by name.
func InitState(g *Graph) (map[string]*Tensor, error) {
	m := map[string]*Tensor{}
	for _, s := range g.States() {
		shape, err := s.Type.Shape.Eval(nil)
		if err != nil {
			return nil, fmt.Errorf("state %s: %v", s.Name, err)
		}
		t := NewTensor(s.Type.DType, shape...)
		for i := range t.F {
			t.F[i] = round(t.DType, s.Attrs.Float("value"))
		}
		m[s.Name] = t
	}
	return m, nil
}

// verifyStateUpdates checks the outputs marked State: each names a state
// value of g, has its type, and is its only update.
func verifyStateUpdates(g *Graph) error {
	var seen []string
	for _, o := range g.Outputs {
		if o.State == "" {
			continue
		}
		if o.Grad != "" {
			return fmt.Errorf("verify %s: output %q is both a gradient and a state update", g.Name, o.Name)
		}
		s := g.Lookup(o.State)
		if s == nil || s.Op != OpState {
			return fmt.Errorf("verify %s: output %q updates %q, which is not a state value", g.Name, o.Name, o.State)
		}
		if !s.Type.Equal(o.Value.Type) {
			return fmt.Errorf("verify %s: the update of state %q is %v, want the state's type %v", g.Name, o.State, o.Value.Type, s.Type)
		}
		if slices.Contains(seen, o.State) {
			return fmt.Errorf("verify %s: state %q is updated twice", g.Name, o.State)
		}
		seen = append(seen, o.State)
	}
	return nil
}
