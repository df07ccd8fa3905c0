package ir

import (
	"fmt"
	"sort"
	"strings"
)

// Class is an op's fusion class: it tells the optimizer how the op's loops
// may be combined with its neighbours'.
type Class uint8

const (
	Source      Class = iota + 1 // no arguments: inputs, params, constants
	Elementwise                  // one output element from the same-index elements of the (broadcast) args
	Reduce                       // reduces over axes (or normalizes along one)
	Contraction                  // matmul
	Movement                     // reshapes, transposes, slices, gathers: moves data
	Opaque                       // anything else; a kernel of its own
)

// Storage says how a value of an op gets its buffer in generated code,
// and so whether a kernel computes it.
type Storage uint8

const (
	// Computed values are computed by a kernel into a buffer of their own
	// (the zero value: most ops).
	Computed Storage = iota
	// Bound values are provided from outside every kernel: inputs by the
	// caller, params by the model that owns them.
	Bound
	// Fill values are constants: filled once, never computed per call.
	Fill
	// View values share their first argument's buffer (a reshape: the
	// row-major layout makes it free).
	View
)

var storageNames = [...]string{Computed: "computed", Bound: "bound", Fill: "fill", View: "view"}

func (s Storage) String() string {
	if int(s) < len(storageNames) {
		return storageNames[s]
	}
	return fmt.Sprintf("storage(%d)", s)
}

// Reduction is the semantics of a reduction that folds the elements of each
// group with one scalar formula, in the formula language (see
// ParseFormula): Interp evaluates it, codegen prints it into fused loops
// and column sums, and simplify folds constants with it. Accumulation is in
// float64, in index order.
type Reduction struct {
	Init float64 // the accumulator's start (±Inf allowed)
	// Combine is the new accumulator from acc and the element x.
	Combine string
	// Finalize is the result from acc and the group's element count n.
	Finalize string
	// Repeat is the result of reducing n copies of x (constant folding).
	Repeat string

	combine, finalize, repeat *Expr
}

// CombineExpr, FinalizeExpr and RepeatExpr return the parsed formulas:
// arguments (acc, x), (acc, n) and (x, n).
func (r *Reduction) CombineExpr() *Expr  { return r.combine }
func (r *Reduction) FinalizeExpr() *Expr { return r.finalize }
func (r *Reduction) RepeatExpr() *Expr   { return r.repeat }

func (r *Reduction) parse() error {
	var err error
	if r.combine, err = ParseFormulaArgs(r.Combine, []string{"acc", "x"}, nil); err != nil {
		return fmt.Errorf("combine %q: %v", r.Combine, err)
	}
	if r.finalize, err = ParseFormulaArgs(r.Finalize, []string{"acc", "n"}, nil); err != nil {
		return fmt.Errorf("finalize %q: %v", r.Finalize, err)
	}
	if r.repeat, err = ParseFormulaArgs(r.Repeat, []string{"x", "n"}, nil); err != nil {
		return fmt.Errorf("repeat %q: %v", r.Repeat, err)
	}
	return nil
}

// Fold reduces xs (as Interp does: float64, in order).
func (r *Reduction) Fold(xs []float64) float64 {
	acc := r.Init
	for _, x := range xs {
		acc = r.combine.Eval([]float64{acc, x}, nil)
	}
	return r.finalize.Eval([]float64{acc, float64(len(xs))}, nil)
}

var classNames = [...]string{Source: "source", Elementwise: "elementwise", Reduce: "reduce", Contraction: "contraction", Movement: "movement", Opaque: "opaque"}

func (c Class) String() string {
	if int(c) < len(classNames) && classNames[c] != "" {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// VJPFunc is an op's reverse-mode rule. Given the value v and the cotangent
// g of v's result (same type as v), it returns, for each argument, the
// cotangent to add into that argument's adjoint, or nil where no gradient
// flows. A cotangent may have v's (broadcast) shape instead of the
// argument's: the grad pass sums over broadcast axes, once, for all rules.
// Rules build their values with b, so the backward pass is ordinary IR.
type VJPFunc func(b *Builder, v *Value, g *Value) []*Value

// EvalFunc is the interpreter's implementation of a non-elementwise op.
type EvalFunc func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error)

// OpDef defines one op, once: its name, arity, attributes, type rule,
// fusion class, semantics (a scalar formula for elementwise ops, an
// evaluator otherwise) and its VJP rule (or a NonDiff mark).
type OpDef struct {
	Name  string
	Doc   string // one line, for the op reference
	Class Class
	Arity int // number of arguments; -1 for one or more
	Attrs []AttrSpec

	// Declared ops (inputs, params, constants, extern calls) carry their
	// result type on the value itself; TypeRule then only validates it.
	Declared bool
	// TypeRule computes the result type from the argument types and the
	// attributes. Errors name what is wrong (both shapes, the axis, ...);
	// the caller adds the op name and source position.
	TypeRule func(args []Type, a Attrs, declared Type) (Type, error)

	// Formula is the scalar semantics of an elementwise op over its
	// arguments x, y, z (in order) and its attributes, in a small Go-like
	// expression language (see ParseFormula). The interpreter evaluates it
	// and codegen prints it; fusion composes formulas.
	Formula string
	// Eval implements a non-elementwise op in the interpreter.
	Eval EvalFunc

	VJP     VJPFunc
	NonDiff bool // no gradient flows through this op (comparisons, one-hot, argmax, stop_gradient)
	// JVP is the forward-mode rule (see JVPFunc); every op with a VJP rule
	// has one.
	JVP JVPFunc

	// CheckGraph, if set, checks what the type rule cannot see: a
	// reference from the value to another part of the (main) graph.
	CheckGraph func(main *Graph, v *Value) error

	// Training marks ops whose behaviour differs between training and
	// inference (dropout).
	Training bool

	// Storage says how a value of the op is stored (Computed unless set).
	Storage Storage
	// Reduction, for a reduction over its "axes" attribute that folds each
	// group with one formula (sum, mean, max, min), gives that fold; the
	// op's Eval is derived from it when not set.
	Reduction *Reduction
	// Reduced, for a Reduce op, returns the axes of its first argument
	// that the op reduces or normalizes along.
	Reduced func(v *Value) []int
	// RowFusable marks a Reduce op whose kernel can compute elementwise
	// producers of its first argument in its own sweep, when it reduces
	// along the last axis or along every axis (the fuse pass reads it;
	// codegen must then lower the fused form).
	RowFusable bool

	expr *Expr // parsed Formula
}

// Expr returns the parsed scalar formula of an elementwise op (nil for other ops).
func (op *OpDef) Expr() *Expr { return op.expr }

func (op *OpDef) attrSpec(name string) *AttrSpec {
	for i := range op.Attrs {
		if op.Attrs[i].Name == name {
			return &op.Attrs[i]
		}
	}
	return nil
}

// Differentiable reports whether gradients flow through op.
func (op *OpDef) Differentiable() bool { return op.VJP != nil }

// HasKernel reports whether values of op are computed by generated code at
// every call: neither bound, nor filled once, nor views.
func (op *OpDef) HasKernel() bool { return op.Storage == Computed }

// IsFree reports whether recomputing a value of op costs nothing worth
// saving memory for: sources other than training-mode ones (inputs,
// params, constants, numel).
func (op *OpDef) IsFree() bool { return op.Class == Source && !op.Training }

// ReducesAxes reports whether op reduces over an "axes" attribute with
// "keepdims" (sum, mean, max, min, logsumexp), rather than along one axis
// (the softmax family).
func (op *OpDef) ReducesAxes() bool { return op.Class == Reduce && op.attrSpec("axes") != nil }

var registry = map[string]*OpDef{}

// Register adds op to the op table. It panics (at init) if the definition
// is incomplete: no name, no class, no type rule, an elementwise op without
// a formula or a non-elementwise op without an evaluator, or neither a VJP
// rule nor a NonDiff mark.
func Register(op *OpDef) *OpDef {
	if err := validateOp(op); err != nil {
		panic("ir.Register: " + err.Error())
	}
	registry[op.Name] = op
	return op
}

func validateOp(op *OpDef) error {
	switch {
	case op.Name == "":
		return fmt.Errorf("op without a name")
	case registry[op.Name] != nil:
		return fmt.Errorf("op %s registered twice", op.Name)
	case op.Class == 0:
		return fmt.Errorf("op %s has no fusion class", op.Name)
	case op.TypeRule == nil:
		return fmt.Errorf("op %s has no type rule", op.Name)
	case op.Doc == "":
		return fmt.Errorf("op %s has no doc line", op.Name)
	case op.VJP == nil && !op.NonDiff:
		return fmt.Errorf("op %s has neither a VJP rule nor a NonDiff mark", op.Name)
	case op.VJP != nil && op.NonDiff:
		return fmt.Errorf("op %s has a VJP rule and a NonDiff mark", op.Name)
	case checkJVP(op) != nil:
		return checkJVP(op)
	case op.Class == Elementwise && op.Formula == "":
		return fmt.Errorf("elementwise op %s has no scalar formula", op.Name)
	case op.Class != Elementwise && op.Eval == nil && op.Reduction == nil:
		return fmt.Errorf("op %s has no evaluator", op.Name)
	case op.Class == Reduce && op.Reduced == nil:
		return fmt.Errorf("reduce op %s does not say which axes it reduces (Reduced)", op.Name)
	case op.RowFusable && op.Class != Reduce:
		return fmt.Errorf("op %s is RowFusable but not a reduction", op.Name)
	case op.Storage == View && (op.Arity != 1 || op.Class != Movement):
		return fmt.Errorf("op %s: only one-argument movement ops can be views", op.Name)
	case op.Class == Source && op.Arity != 0:
		return fmt.Errorf("source op %s must take no arguments", op.Name)
	}
	if op.Formula != "" {
		var attrs []string
		for _, a := range op.Attrs {
			attrs = append(attrs, a.Name)
		}
		e, err := ParseFormula(op.Formula, op.Arity, attrs)
		if err != nil {
			return fmt.Errorf("op %s: formula %q: %v", op.Name, op.Formula, err)
		}
		op.expr = e
	}
	if r := op.Reduction; r != nil {
		if err := r.parse(); err != nil {
			return fmt.Errorf("op %s: reduction %v", op.Name, err)
		}
		if op.Eval == nil {
			op.Eval = func(ctx *EvalContext, v *Value, a []*Tensor) (*Tensor, error) {
				return reduceEval(ctx, v, a[0], op.Reduced(v), r), nil
			}
		}
	}
	return nil
}

// Lookup returns the op named name, or nil.
func Lookup(name string) *OpDef { return registry[name] }

// Ops returns every registered op, sorted by name.
func Ops() []*OpDef {
	r := make([]*OpDef, 0, len(registry))
	for _, op := range registry {
		r = append(r, op)
	}
	sort.Slice(r, func(i, j int) bool { return r[i].Name < r[j].Name })
	return r
}

// MustLookup returns the op named name and panics if there is none (for
// bpgen's own code, which names ops that are always registered).
func MustLookup(name string) *OpDef {
	op := registry[name]
	if op == nil {
		panic("ir: no op " + name)
	}
	return op
}

// InferType applies op's type rule to argument types and attributes.
func InferType(op *OpDef, args []Type, a Attrs, declared Type) (Type, error) {
	if op.Arity >= 0 && len(args) != op.Arity {
		return Type{}, fmt.Errorf("takes %d argument(s), got %d", op.Arity, len(args))
	}
	if op.Arity < 0 && len(args) == 0 {
		return Type{}, fmt.Errorf("takes at least one argument")
	}
	if err := checkAttrs(op, a); err != nil {
		return Type{}, err
	}
	return op.TypeRule(args, a, declared)
}

func typesString(ts []Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return "(" + strings.Join(s, ", ") + ")"
}
