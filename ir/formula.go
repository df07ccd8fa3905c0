package ir

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"strconv"
	"strings"
)

// ExprKind says what an Expr node is.
type ExprKind uint8

const (
	ExprArg    ExprKind = iota + 1 // argument Arg (x=0, y=1, z=2)
	ExprConst                      // the constant Val
	ExprAttr                       // the op attribute Name, as a float
	ExprUnary                      // Op ("-") applied to Args[0]
	ExprBinary                     // Args[0] Op Args[1]; Op is + - * / or a comparison (result 1 or 0)
	ExprCall                       // the scalar function Op applied to Args
)

// An Expr is a scalar formula: the semantics of an elementwise op. The
// language is a tiny subset of Go expressions: arguments x, y, z; the op's
// attributes by name; float literals; + - * /; comparisons < <= > >= == !=
// (which yield 1 or 0); and the functions in ScalarFuncs.
type Expr struct {
	Kind ExprKind
	Op   string
	Arg  int
	Val  float64
	Name string
	Args []*Expr
}

// ScalarFunc is a function the formula language may call, with what code
// generation prints for it.
type ScalarFunc struct {
	Arity int
	Eval  func(a []float64) float64
	// Go is how generated code calls it: the function of package math
	// ("Exp"), computed in float64; or, when Builtin is set, the Go
	// builtin of that name (max, min), computed in the formula's type.
	Go      string
	Builtin bool
	// Select marks where(c, a, b): generated code tests c (a comparison
	// as it is, anything else against 0) and picks a or b.
	Select bool
}

// ScalarFuncs are the functions of the formula language. where(c, a, b)
// is a if c != 0, else b. max and min follow Go's builtins. This is the
// only list of them: the interpreter calls Eval and codegen prints Go.
var ScalarFuncs = map[string]ScalarFunc{
	"exp":   {Arity: 1, Eval: func(a []float64) float64 { return math.Exp(a[0]) }, Go: "Exp"},
	"log":   {Arity: 1, Eval: func(a []float64) float64 { return math.Log(a[0]) }, Go: "Log"},
	"log1p": {Arity: 1, Eval: func(a []float64) float64 { return math.Log1p(a[0]) }, Go: "Log1p"},
	"sqrt":  {Arity: 1, Eval: func(a []float64) float64 { return math.Sqrt(a[0]) }, Go: "Sqrt"},
	"tanh":  {Arity: 1, Eval: func(a []float64) float64 { return math.Tanh(a[0]) }, Go: "Tanh"},
	"abs":   {Arity: 1, Eval: func(a []float64) float64 { return math.Abs(a[0]) }, Go: "Abs"},
	"sin":   {Arity: 1, Eval: func(a []float64) float64 { return math.Sin(a[0]) }, Go: "Sin"},
	"cos":   {Arity: 1, Eval: func(a []float64) float64 { return math.Cos(a[0]) }, Go: "Cos"},
	"pow":   {Arity: 2, Eval: func(a []float64) float64 { return math.Pow(a[0], a[1]) }, Go: "Pow"},
	"max":   {Arity: 2, Eval: func(a []float64) float64 { return max(a[0], a[1]) }, Go: "max", Builtin: true},
	"min":   {Arity: 2, Eval: func(a []float64) float64 { return min(a[0], a[1]) }, Go: "min", Builtin: true},
	"where": {Arity: 3, Eval: func(a []float64) float64 { return sel(a[0], a[1], a[2]) }, Select: true},
}

func sel(c, a, b float64) float64 {
	if c != 0 {
		return a
	}
	return b
}

var argNames = []string{"x", "y", "z"}

// ParseFormula parses a scalar formula over arity arguments (x, y, z) and
// the named attributes.
func ParseFormula(src string, arity int, attrs []string) (*Expr, error) {
	if arity < 0 || arity > len(argNames) {
		return nil, fmt.Errorf("formulas take 0 to %d arguments, not %d", len(argNames), arity)
	}
	return ParseFormulaArgs(src, argNames[:arity], attrs)
}

// ParseFormulaArgs parses a scalar formula over arguments with the given
// names (argument i is names[i]) and the named attributes.
func ParseFormulaArgs(src string, names, attrs []string) (*Expr, error) {
	n, err := parser.ParseExpr(src)
	if err != nil {
		return nil, err
	}
	return convertExpr(n, names, attrs)
}

func convertExpr(n ast.Expr, names []string, attrs []string) (*Expr, error) {
	switch n := n.(type) {
	case *ast.ParenExpr:
		return convertExpr(n.X, names, attrs)
	case *ast.BasicLit:
		if n.Kind != token.INT && n.Kind != token.FLOAT {
			return nil, fmt.Errorf("literal %s is not a number", n.Value)
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: ExprConst, Val: f}, nil
	case *ast.Ident:
		for i, a := range names {
			if n.Name == a {
				return &Expr{Kind: ExprArg, Arg: i}, nil
			}
		}
		for _, a := range attrs {
			if n.Name == a {
				return &Expr{Kind: ExprAttr, Name: a}, nil
			}
		}
		return nil, fmt.Errorf("unknown name %s", n.Name)
	case *ast.UnaryExpr:
		x, err := convertExpr(n.X, names, attrs)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case token.SUB:
			return &Expr{Kind: ExprUnary, Op: "-", Args: []*Expr{x}}, nil
		case token.ADD:
			return x, nil
		}
		return nil, fmt.Errorf("unsupported unary operator %s", n.Op)
	case *ast.BinaryExpr:
		switch n.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.LSS, token.LEQ, token.GTR, token.GEQ, token.EQL, token.NEQ:
		default:
			return nil, fmt.Errorf("unsupported operator %s", n.Op)
		}
		x, err := convertExpr(n.X, names, attrs)
		if err != nil {
			return nil, err
		}
		y, err := convertExpr(n.Y, names, attrs)
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: ExprBinary, Op: n.Op.String(), Args: []*Expr{x, y}}, nil
	case *ast.CallExpr:
		id, ok := n.Fun.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("only plain function names can be called")
		}
		f, ok := ScalarFuncs[id.Name]
		if !ok {
			return nil, fmt.Errorf("unknown function %s", id.Name)
		}
		if len(n.Args) != f.Arity {
			return nil, fmt.Errorf("%s takes %d argument(s), got %d", id.Name, f.Arity, len(n.Args))
		}
		e := &Expr{Kind: ExprCall, Op: id.Name}
		for _, a := range n.Args {
			x, err := convertExpr(a, names, attrs)
			if err != nil {
				return nil, err
			}
			e.Args = append(e.Args, x)
		}
		return e, nil
	}
	return nil, fmt.Errorf("unsupported expression %T", n)
}

// Eval evaluates e in float64 given argument values and attributes.
func (e *Expr) Eval(args []float64, attrs Attrs) float64 {
	switch e.Kind {
	case ExprArg:
		return args[e.Arg]
	case ExprConst:
		return e.Val
	case ExprAttr:
		switch v := attrs[e.Name].(type) {
		case float64:
			return v
		case int:
			return float64(v)
		}
		return 0
	case ExprUnary:
		return -e.Args[0].Eval(args, attrs)
	case ExprBinary:
		a, b := e.Args[0].Eval(args, attrs), e.Args[1].Eval(args, attrs)
		return binaryOp(e.Op, a, b)
	case ExprCall:
		var buf [3]float64
		vals := buf[:len(e.Args)]
		for i, a := range e.Args {
			vals[i] = a.Eval(args, attrs)
		}
		return ScalarFuncs[e.Op].Eval(vals)
	}
	panic("ir: bad Expr kind")
}

func binaryOp(op string, a, b float64) float64 {
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		return a / b
	case "<":
		return b2f(a < b)
	case "<=":
		return b2f(a <= b)
	case ">":
		return b2f(a > b)
	case ">=":
		return b2f(a >= b)
	case "==":
		return b2f(a == b)
	case "!=":
		return b2f(a != b)
	}
	panic("ir: bad binary op " + op)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// IsComparison reports whether a binary operator yields 1 or 0.
func IsComparison(op string) bool {
	switch op {
	case "<", "<=", ">", ">=", "==", "!=":
		return true
	}
	return false
}

// Subst returns e with argument i replaced by args[i] (used by fusion to
// compose formulas).
func (e *Expr) Subst(args []*Expr) *Expr {
	if e.Kind == ExprArg {
		return args[e.Arg]
	}
	if len(e.Args) == 0 {
		return e
	}
	c := *e
	c.Args = make([]*Expr, len(e.Args))
	for i, a := range e.Args {
		c.Args[i] = a.Subst(args)
	}
	return &c
}

// String prints e in the formula language, fully parenthesized where needed.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	switch e.Kind {
	case ExprArg:
		if e.Arg < len(argNames) {
			b.WriteString(argNames[e.Arg])
		} else {
			fmt.Fprintf(b, "a%d", e.Arg)
		}
	case ExprConst:
		b.WriteString(FormatFloat(e.Val))
	case ExprAttr:
		b.WriteString(e.Name)
	case ExprUnary:
		b.WriteString("-(")
		e.Args[0].write(b)
		b.WriteString(")")
	case ExprBinary:
		b.WriteString("(")
		e.Args[0].write(b)
		b.WriteString(" " + e.Op + " ")
		e.Args[1].write(b)
		b.WriteString(")")
	case ExprCall:
		b.WriteString(e.Op + "(")
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteString(")")
	}
}
