package dsl

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// CustomVJP returns a function that computes fwd with a user-written
// backward rule, like jax.custom_vjp: autodiff does not differentiate fwd;
// instead bwd receives the primal arguments xs, the result y and the
// cotangent g of y, and returns one cotangent per argument (nil for none),
// each of its argument's type. bwd is written with this DSL too, so the
// backward pass stays ordinary IR.
//
//	clip := dsl.CustomVJP("clipgrad",
//		func(xs ...*dsl.Tensor) *dsl.Tensor { return xs[0] },
//		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
//			return []*dsl.Tensor{dsl.Minimum(dsl.Maximum(g, -1), 1)}
//		})
//	h = clip(h)
func CustomVJP(name string, fwd func(xs ...*Tensor) *Tensor, bwd func(xs []*Tensor, y, g *Tensor) []*Tensor) func(xs ...*Tensor) *Tensor {
	return func(xs ...*Tensor) *Tensor {
		if len(xs) == 0 {
			panic("dsl: a CustomVJP function needs at least one argument") // programming error
		}
		g := xs[0].g
		pos := g.callerPos()
		vs, ok := g.values("CustomVJP "+name, xs)
		if !ok {
			return g.invalid()
		}
		if !ir.IsName(name) {
			g.errorf("CustomVJP(%q): the name must be an identifier", name)
			return g.invalid()
		}
		// Forward: on stop_gradient copies, so that no gradient leaks around
		// the user's rule.
		stopped := make([]*Tensor, len(xs))
		for i, x := range xs {
			stopped[i] = x.StopGradient()
		}
		y := fwd(stopped...)
		if y == nil {
			g.atPos(pos).Errorf("CustomVJP %s: the forward returned nil; it must return the result tensor, built from its arguments", name)
			return g.invalid()
		}
		if y.invalid() {
			return g.invalid() // the forward's own error is recorded
		}
		if y.g != g {
			g.atPos(pos).Errorf("CustomVJP %s: the forward returned a tensor of another graph", name)
			return g.invalid()
		}
		// Autodiff does not look inside fwd, so a param it uses other than
		// through xs would silently get no gradient from this use (JAX
		// rejects such closures too).
		if p := closedOverParam(y.v); p != nil {
			g.atPos(pos).Errorf("CustomVJP %s: the forward uses param %s without taking it as an argument, so it would get no gradient; pass it in xs and give its cotangent in the backward (or use %s.StopGradient())", name, p.Name, p.Name)
			return g.invalid()
		}
		// Backward: its own func with inputs x0…, y, g and outputs dx0….
		main := g.b.Graph()
		fname := sanitizeFuncName(fmt.Sprintf("%s.%s_%d", main.Name, name, len(main.Funcs)+1))
		sub := New(fname)
		sub.floatType = g.floatType
		for _, d := range main.Dims {
			sub.b.Graph().AddDim(d)
		}
		sxs := make([]*Tensor, len(xs))
		for i, x := range xs {
			sxs[i] = sub.wrap(sub.atPos(pos).Input(ir.CustomArgName(i), x.v.Type))
		}
		sy := sub.wrap(sub.atPos(pos).Input("y", y.v.Type))
		sg := sub.wrap(sub.atPos(pos).Input("g", y.v.Type))
		grads := bwd(sxs, sy, sg)
		if len(grads) != len(xs) {
			g.atPos(pos).Errorf("CustomVJP %s: backward returned %d cotangents for %d arguments", name, len(grads), len(xs))
			return g.invalid()
		}
		for i, d := range grads {
			if d.invalid() {
				continue // nil: no gradient; else its error is recorded in sub
			}
			if d.g != sub {
				g.atPos(pos).Errorf("CustomVJP %s: cotangent %d was not built from the backward's arguments", name, i)
				return g.invalid()
			}
			if !d.v.Type.Equal(xs[i].v.Type) {
				g.atPos(d.v.Pos).Errorf("CustomVJP %s: cotangent %d is %v, want %v (the type of argument %d)", name, i, d.v.Type, xs[i].v.Type, i)
				return g.invalid()
			}
			sub.b.Graph().AddOutput(ir.CustomGradName(i), d.v)
		}
		if errs := sub.b.Errors(); len(errs) > 0 {
			for _, e := range errs {
				g.b.AddError(fmt.Errorf("in the backward of CustomVJP %s: %w", name, e))
			}
			return g.invalid()
		}
		main.Funcs = append(main.Funcs, sub.b.Graph())
		return g.wrap(g.atPos(pos).Op("custom_vjp", ir.Attrs{"fn": fname}, append([]*ir.Value{y.v}, vs...)...))
	}
}

// closedOverParam returns a param that y depends on through
// differentiable float ops, or nil. The arguments of a CustomVJP reach its
// forward through stop_gradient copies, so such a param was closed over.
func closedOverParam(y *ir.Value) *ir.Value {
	memo := map[*ir.Value]*ir.Value{}
	var walk func(v *ir.Value) *ir.Value
	walk = func(v *ir.Value) *ir.Value {
		if p, ok := memo[v]; ok {
			return p
		}
		memo[v] = nil
		switch {
		case v.Op.Name == "param":
			memo[v] = v
		case v.Op.Differentiable() && v.Type.DType.IsFloat():
			for _, a := range v.Args {
				if p := walk(a); p != nil {
					memo[v] = p
					break
				}
			}
		}
		return memo[v]
	}
	return walk(y)
}

func sanitizeFuncName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return string(b)
}

// atPos points the builder at a fixed position.
func (g *Graph) atPos(p ir.Pos) *ir.Builder {
	g.b.Pos = p
	return g.b
}

// Extern is a plain Go function of the user's package used as an op, with
// a Go backward: for a third-party computation bpgen cannot see into.
// Func and VJP are "import/path.Name". The functions have the forms
//
//	func F[T float32 | float64](out []T, args ...[]T)               // writes the result
//	func FVJP[T float32 | float64](grad []T, arg int, gout []T, args ...[]T) // writes ∂/∂args[arg]
//
// (generic, or for the model's one float type; fixed arity is fine too).
// Generated code calls them directly. To run the model in the interpreter
// (ir.Interp, gradient checks) register float64 versions with
// ir.RegisterExtern and ir.RegisterExternVJP.
type Extern struct {
	Func string
	VJP  string // empty: no gradient flows to the arguments
	// Shape of the result (ints, Dims or dim names); nil: the shape of the
	// first argument.
	Shape []any
}

// Call applies the extern function to args.
func (e Extern) Call(args ...*Tensor) *Tensor {
	if len(args) == 0 {
		panic("dsl: Extern.Call needs at least one argument") // programming error
	}
	g := args[0].g
	vs, ok := g.values("Extern "+e.Func, args)
	if !ok {
		return g.invalid()
	}
	t := args[0].v.Type
	if e.Shape != nil {
		s, _, ok := g.shapeOf("Extern "+e.Func, e.Shape)
		if !ok {
			return g.invalid()
		}
		t = ir.T(t.DType, s)
	}
	attrs := ir.Attrs{"fn": e.Func}
	if e.VJP != "" {
		attrs["vjp"] = e.VJP
	}
	return g.wrap(g.at().Declared("extern", ir.Type{DType: t.DType, Shape: t.Shape.Clone()}, attrs, vs...))
}
