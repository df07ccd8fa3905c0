package ir

import (
	"errors"
	"fmt"
)

// OpError is a type error in applying an op: it names the op, the
// argument types and the source position of the call.
type OpError struct {
	Op   string
	Pos  Pos
	Args []Type
	Err  error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("%s: %s%s: %v", e.Pos, e.Op, typesString(e.Args), e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Builder appends values to a graph. Type errors do not panic: the builder
// records them (see Err) and returns an invalid value; ops applied to an
// invalid value yield invalid values without further errors, so one mistake
// is reported once.
type Builder struct {
	g    *Graph
	Pos  Pos // position given to the values made next
	errs []error
}

// NewBuilder starts a new graph.
func NewBuilder(name string) *Builder { return &Builder{g: NewGraph(name)} }

// BuilderFor appends to an existing graph.
func BuilderFor(g *Graph) *Builder { return &Builder{g: g} }

// Graph returns the graph being built.
func (b *Builder) Graph() *Graph { return b.g }

// Errors returns the recorded errors in order.
func (b *Builder) Errors() []error { return b.errs }

// Err joins the recorded errors, or returns nil.
func (b *Builder) Err() error { return errors.Join(b.errs...) }

// AddError records an error.
func (b *Builder) AddError(err error) { b.errs = append(b.errs, err) }

// Errorf records an error at the current position.
func (b *Builder) Errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("%s: %s", b.Pos, fmt.Sprintf(format, args...)))
}

// Invalid reports whether v is the result of a failed op (or nil).
func Invalid(v *Value) bool { return v == nil || v.ID < 0 }

func invalidValue(op *OpDef) *Value { return &Value{ID: -1, Op: op} }

// Op appends the op named name applied to args; the result type comes
// from the op's type rule. (Code that knows its op uses Apply with the
// op's handle; Op serves names read from text.)
func (b *Builder) Op(name string, attrs Attrs, args ...*Value) *Value {
	op := Lookup(name)
	if op == nil {
		b.Errorf("unknown op %q", name)
		return invalidValue(nil)
	}
	return b.emit(op, Type{}, attrs, args)
}

// Apply appends op applied to args; the result type comes from the op's
// type rule.
func (b *Builder) Apply(op *OpDef, attrs Attrs, args ...*Value) *Value {
	return b.emit(op, Type{}, attrs, args)
}

// Declared appends a declared op named name (input, param, const,
// extern...) whose result type is t.
func (b *Builder) Declared(name string, t Type, attrs Attrs, args ...*Value) *Value {
	op := Lookup(name)
	if op == nil {
		b.Errorf("unknown op %q", name)
		return invalidValue(nil)
	}
	return b.emit(op, t, attrs, args)
}

// DeclaredOp appends the declared op op whose result type is t.
func (b *Builder) DeclaredOp(op *OpDef, t Type, attrs Attrs, args ...*Value) *Value {
	return b.emit(op, t, attrs, args)
}

func (b *Builder) emit(op *OpDef, declared Type, attrs Attrs, args []*Value) *Value {
	name := op.Name
	types := make([]Type, len(args))
	for i, a := range args {
		if Invalid(a) {
			return invalidValue(op)
		}
		types[i] = a.Type
	}
	t, err := InferType(op, types, attrs, declared)
	if err != nil {
		b.errs = append(b.errs, &OpError{Op: name, Pos: b.Pos, Args: types, Err: err})
		return invalidValue(op)
	}
	for _, s := range t.Shape.Syms() {
		if !b.g.HasDim(s) {
			b.errs = append(b.errs, &OpError{Op: name, Pos: b.Pos, Args: types, Err: fmt.Errorf("dim %q is not declared (declare it with Dim(%q))", s, s)})
			return invalidValue(op)
		}
	}
	v := &Value{Op: op, Args: append([]*Value(nil), args...), Type: t, Attrs: attrs, Pos: b.Pos}
	if len(v.Attrs) == 0 {
		v.Attrs = nil
	}
	return b.g.Append(v)
}

// Named sets v's user name and returns v.
func Named(v *Value, name string) *Value {
	if !Invalid(v) {
		v.Name = name
	}
	return v
}

// Input declares a graph input.
func (b *Builder) Input(name string, t Type) *Value {
	return Named(b.DeclaredOp(OpInput, t, nil), name)
}

// Target declares an input that only the objective needs (labels,
// regression targets): inference does not ask for it.
func (b *Builder) Target(name string, t Type) *Value {
	return Named(b.DeclaredOp(OpInput, t, Attrs{"target": true}), name)
}

// Param declares a trainable parameter with an initializer (see InitSpecs).
func (b *Builder) Param(name string, t Type, attrs Attrs) *Value {
	return Named(b.DeclaredOp(OpParam, t, attrs), name)
}

// Const is a constant of type t filled with val.
func (b *Builder) Const(val float64, t Type) *Value {
	return b.DeclaredOp(OpConst, t, Attrs{"value": val})
}

// ScalarLike is the scalar constant val with x's dtype.
func (b *Builder) ScalarLike(val float64, x *Value) *Value {
	return b.Const(val, Type{DType: x.Type.DType})
}

// Helpers used by VJP rules and the DSL.

func (b *Builder) Add(x, y *Value) *Value { return b.Apply(OpAdd, nil, x, y) }
func (b *Builder) Sub(x, y *Value) *Value { return b.Apply(OpSub, nil, x, y) }
func (b *Builder) Mul(x, y *Value) *Value { return b.Apply(OpMul, nil, x, y) }
func (b *Builder) Div(x, y *Value) *Value { return b.Apply(OpDiv, nil, x, y) }
func (b *Builder) Neg(x *Value) *Value    { return b.Apply(OpNeg, nil, x) }
func (b *Builder) Exp(x *Value) *Value    { return b.Apply(OpExp, nil, x) }

// Scale multiplies x by the constant c.
func (b *Builder) Scale(x *Value, c float64) *Value { return b.Mul(x, b.ScalarLike(c, x)) }

// Sum reduces x over axes.
func (b *Builder) Sum(x *Value, axes []int, keepdims bool) *Value {
	return b.Apply(OpSum, Attrs{"axes": axes, "keepdims": keepdims}, x)
}

// BroadcastTo broadcasts x to shape s (a no-op if it already has it).
func (b *Builder) BroadcastTo(x *Value, s Shape) *Value {
	if !Invalid(x) && x.Type.Shape.Equal(s) {
		return x
	}
	return b.Apply(OpBroadcastTo, Attrs{"shape": s.Clone()}, x)
}

// Reshape reshapes x to s (a no-op if it already has it).
func (b *Builder) Reshape(x *Value, s Shape) *Value {
	if !Invalid(x) && x.Type.Shape.Equal(s) {
		return x
	}
	return b.Apply(OpReshape, Attrs{"shape": s.Clone()}, x)
}

// MatMul multiplies op(x)·op(y) with optional transposes.
func (b *Builder) MatMul(x, y *Value, transA, transB bool) *Value {
	return b.Apply(OpMatMul, Attrs{"transA": transA, "transB": transB}, x, y)
}

// Select is c != 0 ? x : y, elementwise.
func (b *Builder) Select(c, x, y *Value) *Value { return b.Apply(OpSelect, nil, c, x, y) }

// ZerosLike is a zero constant of x's type.
func (b *Builder) ZerosLike(x *Value) *Value { return b.Const(0, x.Type) }

// Numel is the number of elements of shape s as a scalar of dtype d
// (symbolic dims are read at run time).
func (b *Builder) Numel(s Shape, d DType) *Value {
	return b.Apply(OpNumel, Attrs{"shape": s.Clone(), "dtype": d})
}
