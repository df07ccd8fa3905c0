package ir

import (
	"fmt"
	"strings"
	"sync"
)

// Custom derivatives, the two ways a user needs them:
//
//   - custom_vjp: a value computed by ordinary ops whose gradient is given
//     by a user-written backward func (written in the DSL, like
//     jax.custom_vjp). The backward is a Func of the graph.
//   - extern: a plain Go function of the user's package (a third-party
//     call), with a Go backward; generated code calls both directly by
//     import path; the interpreter calls them through RegisterExtern.

// ExternFunc is the interpreter's view of an extern forward function: it
// writes the result into out. Generated code calls the user's function
// with the model's float type, so a generic
// func F[T float32 | float64](out []T, args ...[]T) serves both.
type ExternFunc func(out []float64, args ...[]float64)

// ExternVJP writes into grad the cotangent of argument arg given the
// cotangent gout of the result (overwriting grad).
type ExternVJP func(grad []float64, arg int, gout []float64, args ...[]float64)

var externs = struct {
	sync.Mutex
	fwd map[string]ExternFunc
	vjp map[string]ExternVJP
}{fwd: map[string]ExternFunc{}, vjp: map[string]ExternVJP{}}

// RegisterExtern makes the Go function name ("import/path.Func") callable
// by the interpreter. Call it from an init func next to the function.
func RegisterExtern(name string, f ExternFunc) {
	externs.Lock()
	defer externs.Unlock()
	externs.fwd[name] = f
}

// RegisterExternVJP makes a backward function callable by the interpreter.
func RegisterExternVJP(name string, f ExternVJP) {
	externs.Lock()
	defer externs.Unlock()
	externs.vjp[name] = f
}

// SplitFuncPath splits "import/path.Func" into the import path and the name.
func SplitFuncPath(s string) (path, name string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 || strings.LastIndexByte(s, '/') > i {
		return "", "", false
	}
	return s[:i], s[i+1:], isIdent(s[i+1:])
}

func checkFuncPath(what, s string) error {
	if _, _, ok := SplitFuncPath(s); !ok {
		return fmt.Errorf("%s %q is not of the form \"import/path.Func\"", what, s)
	}
	return nil
}

func floatArgs(args []Type) error {
	for i, a := range args {
		if !a.DType.IsFloat() {
			return fmt.Errorf("argument %d is %v, want a float type", i+1, a)
		}
	}
	return nil
}

// registered returns the function registered as name in m (a table of
// externs), or nil.
func registered[F any](m map[string]F, name string) F {
	externs.Lock()
	defer externs.Unlock()
	return m[name]
}

// callExtern runs call on a new tensor of v's type and rounds what it
// wrote to v's dtype.
func callExtern(ctx *EvalContext, v *Value, call func(out []float64)) *Tensor {
	out := NewTensor(v.Type.DType, ctx.outShape(v)...)
	call(out.F)
	for i := range out.F {
		out.F[i] = round(out.DType, out.F[i])
	}
	return out
}

func callArgs(args []*Tensor) [][]float64 {
	r := make([][]float64, len(args))
	for i, a := range args {
		r[i] = a.F
	}
	return r
}

// The ops of user-written derivatives and Go functions.
var OpExtern, OpExternVJP, OpCustomVJP *OpDef

func init() {
	OpExtern = Register(&OpDef{Name: "extern", Doc: "calls the Go function fn(out, args...) of a user package; its gradient is the Go function vjp", Class: Opaque, Arity: -1, Declared: true,
		Attrs: []AttrSpec{{Name: "fn", Kind: AttrString}, {Name: "vjp", Kind: AttrString, Optional: true}},
		TypeRule: func(args []Type, a Attrs, t Type) (Type, error) {
			if err := checkFuncPath("fn", a.Str("fn")); err != nil {
				return Type{}, err
			}
			if a.Has("vjp") {
				if err := checkFuncPath("vjp", a.Str("vjp")); err != nil {
					return Type{}, err
				}
			}
			if err := floatArgs(args); err != nil {
				return Type{}, err
			}
			if !t.DType.IsFloat() {
				return Type{}, fmt.Errorf("result must be float, not %v", t)
			}
			return declaredType(args, a, t)
		},
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			name := v.Attrs.Str("fn")
			f := registered(externs.fwd, name)
			if f == nil {
				return nil, fmt.Errorf("extern %s is not registered with ir.RegisterExtern (the interpreter needs it)", name)
			}
			return callExtern(ctx, v, func(out []float64) { f(out, callArgs(args)...) }), nil
		},
		JVP: NoJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			r := make([]*Value, len(v.Args))
			vjp := v.Attrs.Str("vjp")
			if vjp == "" {
				return r
			}
			for i, a := range v.Args {
				r[i] = b.DeclaredOp(OpExternVJP, a.Type, Attrs{"fn": vjp, "arg": i}, append([]*Value{g}, v.Args...)...)
			}
			return r
		}})
	OpExternVJP = Register(&OpDef{Name: "extern_vjp", Doc: "calls the Go backward fn(grad, arg, gout, args...) of an extern op", Class: Opaque, Arity: -1, Declared: true, NonDiff: true,
		Attrs: []AttrSpec{{Name: "fn", Kind: AttrString}, {Name: "arg", Kind: AttrInt}},
		TypeRule: func(args []Type, a Attrs, t Type) (Type, error) {
			if err := checkFuncPath("fn", a.Str("fn")); err != nil {
				return Type{}, err
			}
			if len(args) < 2 {
				return Type{}, fmt.Errorf("takes the result's cotangent and the extern's arguments")
			}
			i := a.Int("arg")
			if i < 0 || i >= len(args)-1 {
				return Type{}, fmt.Errorf("arg %d is out of range for %d arguments", i, len(args)-1)
			}
			if !args[1+i].Equal(t) {
				return Type{}, fmt.Errorf("declared type %v differs from argument %d's %v", t, i, args[1+i])
			}
			return declaredType(args, a, t)
		},
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			name := v.Attrs.Str("fn")
			f := registered(externs.vjp, name)
			if f == nil {
				return nil, fmt.Errorf("extern backward %s is not registered with ir.RegisterExternVJP (the interpreter needs it)", name)
			}
			return callExtern(ctx, v, func(out []float64) { f(out, v.Attrs.Int("arg"), args[0].F, callArgs(args[1:])...) }), nil
		}})
	OpCustomVJP = Register(&OpDef{Name: "custom_vjp", Doc: "y (its first argument) with the user-written backward func fn over the primal arguments x0…", Class: Opaque, Arity: -1,
		Attrs: []AttrSpec{{Name: "fn", Kind: AttrString}},
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			if !isName(a.Str("fn")) {
				return Type{}, fmt.Errorf("fn %q is not a func name", a.Str("fn"))
			}
			return Type{args[0].DType, args[0].Shape.Clone()}, nil
		},
		CheckGraph: func(main *Graph, v *Value) error {
			f := main.Func(v.Attrs.Str("fn"))
			if f == nil {
				return fmt.Errorf("custom_vjp: no func %q in the graph", v.Attrs.Str("fn"))
			}
			return checkCustomFunc(f, v)
		},
		Eval: func(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
			return args[0].Clone(), nil
		},
		JVP: NoJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			f := b.Graph().Func(v.Attrs.Str("fn"))
			bind := map[string]*Value{"y": v.Args[0], "g": g}
			for i, x := range v.Args[1:] {
				bind[CustomArgName(i)] = x
			}
			outs := Inline(b, f, bind)
			r := make([]*Value, len(v.Args))
			for i := range v.Args[1:] {
				r[1+i] = outs[CustomGradName(i)]
			}
			return r
		}})
}

// CustomArgName is the name of primal argument i in a custom VJP's backward func.
func CustomArgName(i int) string { return fmt.Sprintf("x%d", i) }

// CustomGradName is the output name of argument i's cotangent in a custom
// VJP's backward func (absent: no gradient).
func CustomGradName(i int) string { return fmt.Sprintf("dx%d", i) }

// checkCustomFunc checks a backward func against its custom_vjp value: inputs
// x0…, y and g of the right types, outputs dx0… of the arguments' types.
func checkCustomFunc(f *Graph, v *Value) error {
	want := map[string]Type{"y": v.Args[0].Type, "g": v.Type}
	for i, x := range v.Args[1:] {
		want[CustomArgName(i)] = x.Type
	}
	for _, in := range f.Inputs() {
		t, ok := want[in.Name]
		if !ok {
			return fmt.Errorf("func %s: unexpected input %q", f.Name, in.Name)
		}
		if !t.Equal(in.Type) {
			return fmt.Errorf("func %s: input %s is %v, want %v", f.Name, in.Name, in.Type, t)
		}
	}
	if len(f.Params()) > 0 {
		return fmt.Errorf("func %s: a backward func cannot declare params", f.Name)
	}
	for _, o := range f.Outputs {
		ok := false
		for i, x := range v.Args[1:] {
			if o.Name == CustomGradName(i) {
				if !o.Value.Type.Equal(x.Type) {
					return fmt.Errorf("func %s: output %s is %v, want %v (the type of argument %d)", f.Name, o.Name, o.Value.Type, x.Type, i)
				}
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("func %s: unexpected output %q (want dx0…dx%d)", f.Name, o.Name, len(v.Args)-2)
		}
	}
	return nil
}

// Inline appends a copy of f's computation to b, with f's inputs replaced
// by the values bound to their names, and returns f's outputs by name.
func Inline(b *Builder, f *Graph, bind map[string]*Value) map[string]*Value {
	m := make(map[*Value]*Value, len(f.Values))
	saved := b.Pos
	defer func() { b.Pos = saved }()
	for _, v := range f.Values {
		if v.Op == OpInput {
			m[v] = bind[v.Name]
			continue
		}
		args := make([]*Value, len(v.Args))
		for i, a := range v.Args {
			args[i] = m[a]
		}
		b.Pos = v.Pos
		if v.Op.Declared {
			m[v] = b.Declared(v.Op.Name, v.Type, v.Attrs.Clone(), args...)
		} else {
			m[v] = b.Op(v.Op.Name, v.Attrs.Clone(), args...)
		}
		Named(m[v], v.Name)
	}
	outs := map[string]*Value{}
	for _, o := range f.Outputs {
		outs[o.Name] = m[o.Value]
	}
	return outs
}
