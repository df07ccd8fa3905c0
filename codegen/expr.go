package codegen

import (
	"fmt"
	"math"
	"strconv"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// mathFunc returns the package math function that generated code calls
// for a formula function ("" for the others: Go builtins and where).
func mathFunc(name string) string {
	f := ir.ScalarFuncs[name]
	if f.Builtin || f.Select {
		return ""
	}
	return f.Go
}

// usesMath reports whether e calls a function of package math.
func usesMath(e *ir.Expr) bool {
	if e.Kind == ir.ExprCall && mathFunc(e.Op) != "" {
		return true
	}
	for _, a := range e.Args {
		if usesMath(a) {
			return true
		}
	}
	return false
}

// idents makes Go identifiers of names.
func idents(names []string) []*jen.Statement {
	r := make([]*jen.Statement, len(names))
	for i, n := range names {
		r[i] = jen.Id(n)
	}
	return r
}

// exprPrinter prints a scalar formula as Go. args are the Go expressions
// of the formula's arguments x, y, z (all of Go type elem). If the
// formula calls math functions it is computed in float64 and rounded to
// elem once at the end, as the interpreter does; otherwise it is computed
// in elem.
type exprPrinter struct {
	elem  string           // "float32" or "float64"
	args  []*jen.Statement // Go expressions of x, y, z
	attrs ir.Attrs
	wide  bool // computing in float64 while elem is float32
	err   error
}

// root prints e as a Go expression of type elem.
func (ep *exprPrinter) root(e *ir.Expr) *jen.Statement {
	ep.wide = ep.elem == "float32" && usesMath(e)
	s := ep.print(e, 0)
	if ep.wide {
		return jen.Id(ep.elem).Call(s)
	}
	return s
}

// work is the Go type the formula is computed in.
func (ep *exprPrinter) work() string {
	if ep.wide {
		return "float64"
	}
	return ep.elem
}

// Precedences of Go's binary operators that formulas use.
func prec(op string) int {
	switch op {
	case "*", "/":
		return 5
	case "+", "-":
		return 4
	}
	return 3 // comparisons
}

// print prints e; ctx is the precedence of the enclosing operator (0 at
// the top), so parentheses appear only where Go needs them to keep the
// formula's order of evaluation.
func (ep *exprPrinter) print(e *ir.Expr, ctx int) *jen.Statement {
	switch e.Kind {
	case ir.ExprArg:
		if e.Arg >= len(ep.args) {
			ep.fail(fmt.Errorf("formula argument %d has no value", e.Arg))
			return jen.Id("_")
		}
		if ep.wide {
			return jen.Float64().Call(ep.args[e.Arg].Clone())
		}
		return ep.args[e.Arg].Clone()
	case ir.ExprConst:
		return floatLit(e.Val, ctx)
	case ir.ExprAttr:
		return floatLit(e.Eval(nil, ep.attrs), ctx)
	case ir.ExprUnary:
		x := ep.print(e.Args[0], 6)
		if e.Args[0].Kind == ir.ExprUnary || (e.Args[0].Kind == ir.ExprConst && e.Args[0].Val < 0) {
			x = jen.Parens(x)
		}
		return jen.Op("-").Add(x)
	case ir.ExprBinary:
		if ir.IsComparison(e.Op) {
			return jen.Qual(rtPath, "B2F").Types(jen.Id(ep.work())).Call(
				ep.print(e.Args[0], 3).Op(e.Op).Add(ep.print(e.Args[1], 4)))
		}
		p := prec(e.Op)
		// The right operand of an operator of equal precedence keeps its
		// parentheses: float arithmetic is not associative.
		s := ep.print(e.Args[0], p).Op(e.Op).Add(ep.print(e.Args[1], p+1))
		if p < ctx {
			return jen.Parens(s)
		}
		return s
	case ir.ExprCall:
		args := make([]jen.Code, len(e.Args))
		f := ir.ScalarFuncs[e.Op]
		if name := mathFunc(e.Op); name != "" {
			for i, a := range e.Args {
				if ep.elem == "float32" && !ep.wide {
					ep.fail(fmt.Errorf("internal error: math call in a narrow formula"))
				}
				args[i] = ep.print(a, 0)
			}
			return jen.Qual("math", name).Call(args...)
		}
		for i, a := range e.Args {
			args[i] = ep.print(a, 0)
		}
		switch {
		case f.Builtin:
			return jen.Id(f.Go).Call(args...)
		case f.Select:
			var cond *jen.Statement
			if c := e.Args[0]; c.Kind == ir.ExprBinary && ir.IsComparison(c.Op) {
				cond = ep.print(c.Args[0], 3).Op(c.Op).Add(ep.print(c.Args[1], 4)) // the comparison itself
			} else {
				cond = ep.print(c, 3).Op("!=").Lit(0)
			}
			return jen.Qual(rtPath, "Where").Types(jen.Id(ep.work())).Call(cond, args[1], args[2])
		}
		ep.fail(fmt.Errorf("formula function %s not supported by codegen", e.Op))
		return jen.Id("_")
	}
	ep.fail(fmt.Errorf("bad formula node kind %d", e.Kind))
	return jen.Id("_")
}

func (ep *exprPrinter) fail(err error) {
	if ep.err == nil {
		ep.err = err
	}
}

// floatLit prints an untyped float constant exactly (shortest form that
// reads back as the same float64); negative constants are parenthesized
// inside operators.
func floatLit(f float64, ctx int) *jen.Statement {
	switch {
	case math.IsInf(f, 1):
		return jen.Qual("math", "Inf").Call(jen.Lit(1))
	case math.IsInf(f, -1):
		return jen.Qual("math", "Inf").Call(jen.Lit(-1))
	case math.IsNaN(f):
		return jen.Qual("math", "NaN").Call()
	}
	s := jen.Op(ir.FormatFloat(f))
	if f < 0 && ctx > 0 {
		return jen.Parens(s)
	}
	return s
}

// typedLit prints a value of dtype d as the shortest constant that
// converts back to it: float32 values in float32's shortest form (5e-05,
// not 4.999999873689376e-05).
func typedLit(d ir.DType, f float64) *jen.Statement {
	if d != ir.F32 || math.IsInf(f, 0) || math.IsNaN(f) {
		return floatLit(f, 0)
	}
	return jen.Op(strconv.FormatFloat(f, 'g', -1, 32))
}
