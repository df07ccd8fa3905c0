package ir

import "fmt"

// Elementwise ops: each is a scalar formula applied at every index of the
// NumPy-broadcast shape of its arguments.

// elementwiseType: all arguments are floats of one dtype; the result has
// their broadcast shape.
func elementwiseType(args []Type, _ Attrs, _ Type) (Type, error) {
	d := args[0].DType
	s := args[0].Shape
	for i, a := range args {
		if !a.DType.IsFloat() {
			return Type{}, fmt.Errorf("argument %d is %v, want a float type", i+1, a)
		}
		if a.DType != d {
			return Type{}, fmt.Errorf("dtypes differ: %v vs %v", args[0], a)
		}
		if i > 0 {
			var err error
			if s, err = Broadcast(s, a.Shape); err != nil {
				return Type{}, err
			}
		}
	}
	return Type{d, s.Clone()}, nil
}

func unary(name, doc, formula string, vjp VJPFunc) *OpDef {
	return Register(&OpDef{Name: name, Doc: doc, Class: Elementwise, Arity: 1, Formula: formula, TypeRule: elementwiseType, VJP: vjp, JVP: diagJVPIf(vjp), NonDiff: vjp == nil})
}

func binary(name, doc, formula string, vjp VJPFunc) *OpDef {
	return Register(&OpDef{Name: name, Doc: doc, Class: Elementwise, Arity: 2, Formula: formula, TypeRule: elementwiseType, VJP: vjp, JVP: diagJVPIf(vjp), NonDiff: vjp == nil})
}

// The elementwise ops.
var (
	OpNeg, OpAbs, OpSign, OpExp, OpLog, OpLog1p, OpSqrt, OpSquare, OpReciprocal *OpDef
	OpTanh, OpSigmoid, OpReLU, OpLeakyReLU, OpSoftplus, OpSin, OpCos, OpPowC    *OpDef
	OpStopGradient, OpConvert                                                   *OpDef
	OpAdd, OpSub, OpMul, OpDiv, OpMaximum, OpMinimum, OpPow                     *OpDef
	OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpSelect, OpBCELogits                   *OpDef
)

func one(v *Value) []*Value { return []*Value{v} }

func init() {
	OpNeg = unary("neg", "negation −x", "-x", func(b *Builder, v, g *Value) []*Value { return one(b.Neg(g)) })
	OpAbs = unary("abs", "absolute value |x| (gradient sign(x), 0 at 0)", "abs(x)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Apply(OpSign, nil, v.Args[0])))
	})
	OpSign = unary("sign", "sign of x: −1, 0 or 1 (no gradient)", "(x > 0) - (x < 0)", nil)
	OpExp = unary("exp", "exponential eˣ", "exp(x)", func(b *Builder, v, g *Value) []*Value { return one(b.Mul(g, v)) })
	OpLog = unary("log", "natural logarithm", "log(x)", func(b *Builder, v, g *Value) []*Value { return one(b.Div(g, v.Args[0])) })
	OpLog1p = unary("log1p", "log(1+x), accurate for small x", "log1p(x)", func(b *Builder, v, g *Value) []*Value {
		x := v.Args[0]
		return one(b.Div(g, b.Add(x, b.ScalarLike(1, x))))
	})
	OpSqrt = unary("sqrt", "square root", "sqrt(x)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Div(b.Scale(g, 0.5), v))
	})
	OpSquare = unary("square", "x²", "x * x", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Scale(v.Args[0], 2)))
	})
	OpReciprocal = unary("reciprocal", "1/x", "1 / x", func(b *Builder, v, g *Value) []*Value {
		return one(b.Neg(b.Mul(g, b.Mul(v, v))))
	})
	OpTanh = unary("tanh", "hyperbolic tangent", "tanh(x)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Sub(b.ScalarLike(1, v), b.Mul(v, v))))
	})
	OpSigmoid = unary("sigmoid", "logistic sigmoid 1/(1+e⁻ˣ)", "1 / (1 + exp(-x))", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Mul(v, b.Sub(b.ScalarLike(1, v), v))))
	})
	// relu's and leaky_relu's masks read their output (as JAX's defjvp2
	// uses ans): relu(z) > 0 exactly when z > 0 (and for leaky_relu when
	// alpha ≥ 0), so the backward pass needs only the output, which the
	// next layer's weight gradient reads anyway, and never z.
	OpReLU = unary("relu", "rectified linear unit max(x, 0) (gradient 0 at 0)", "max(x, 0)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Apply(OpGt, nil, v, b.ScalarLike(0, v))))
	})
	OpLeakyReLU = Register(&OpDef{Name: "leaky_relu", Doc: "x if x > 0, else alpha·x", Class: Elementwise, Arity: 1,
		Attrs: []AttrSpec{{Name: "alpha", Kind: AttrFloat}}, Formula: "where(x > 0, x, alpha * x)", TypeRule: elementwiseType,
		JVP: DiagJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			alpha := v.Attrs.Float("alpha")
			sign := v // same sign as x when alpha ≥ 0
			if !(alpha >= 0) {
				sign = v.Args[0]
			}
			return one(b.Select(b.Apply(OpGt, nil, sign, b.ScalarLike(0, sign)), g, b.Scale(g, alpha)))
		}})
	OpSoftplus = unary("softplus", "log(1+eˣ), computed stably", "max(x, 0) + log1p(exp(-abs(x)))", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Apply(OpSigmoid, nil, v.Args[0])))
	})
	OpSin = unary("sin", "sine", "sin(x)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Mul(g, b.Apply(OpCos, nil, v.Args[0])))
	})
	OpCos = unary("cos", "cosine", "cos(x)", func(b *Builder, v, g *Value) []*Value {
		return one(b.Neg(b.Mul(g, b.Apply(OpSin, nil, v.Args[0]))))
	})
	OpPowC = Register(&OpDef{Name: "powc", Doc: "xᵖ for a constant p", Class: Elementwise, Arity: 1,
		Attrs: []AttrSpec{{Name: "p", Kind: AttrFloat}}, Formula: "pow(x, p)", TypeRule: elementwiseType,
		JVP: DiagJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			p := v.Attrs.Float("p")
			x := v.Args[0]
			if p == 1 {
				return one(g)
			}
			if p == 0 { // x⁰ is constant; p·x⁻¹ would be 0·∞ = NaN at x = 0
				return []*Value{nil}
			}
			return one(b.Mul(g, b.Scale(b.Apply(OpPowC, Attrs{"p": p - 1}, x), p)))
		}})
	OpStopGradient = unary("stop_gradient", "identity whose gradient is zero", "x", nil)
	OpConvert = Register(&OpDef{Name: "convert", Doc: "converts to another dtype (int32 → float: no gradient)", Class: Elementwise, Arity: 1,
		Attrs: []AttrSpec{{Name: "dtype", Kind: AttrDType}}, Formula: "x",
		TypeRule: func(args []Type, a Attrs, _ Type) (Type, error) {
			d := a.DType("dtype")
			if d == InvalidDType {
				return Type{}, fmt.Errorf("invalid target dtype")
			}
			return Type{d, args[0].Shape.Clone()}, nil
		},
		JVP: convertJVP,
		VJP: func(b *Builder, v, g *Value) []*Value {
			x := v.Args[0]
			if !x.Type.DType.IsFloat() {
				return []*Value{nil}
			}
			return one(b.Apply(OpConvert, Attrs{"dtype": x.Type.DType}, g))
		}})

	OpAdd = binary("add", "x + y", "x + y", func(b *Builder, v, g *Value) []*Value { return []*Value{g, g} })
	OpSub = binary("sub", "x − y", "x - y", func(b *Builder, v, g *Value) []*Value { return []*Value{g, b.Neg(g)} })
	OpMul = binary("mul", "x · y", "x * y", func(b *Builder, v, g *Value) []*Value {
		return []*Value{b.Mul(g, v.Args[1]), b.Mul(g, v.Args[0])}
	})
	OpDiv = binary("div", "x / y", "x / y", func(b *Builder, v, g *Value) []*Value {
		y := v.Args[1]
		gx := b.Div(g, y)
		return []*Value{gx, b.Neg(b.Mul(gx, v))}
	})
	OpMaximum = binary("maximum", "elementwise max(x, y) (ties split the gradient)", "max(x, y)", func(b *Builder, v, g *Value) []*Value {
		return chooserVJP(b, v, g, OpGt)
	})
	OpMinimum = binary("minimum", "elementwise min(x, y) (ties split the gradient)", "min(x, y)", func(b *Builder, v, g *Value) []*Value {
		return chooserVJP(b, v, g, OpLt)
	})
	OpPow = binary("pow", "xʸ", "pow(x, y)", func(b *Builder, v, g *Value) []*Value {
		// As in JAX: ∂x = y·x^(y−1) is taken as 0 where y == 0 (x⁰ is
		// constant; avoids 0·∞ at x = 0), and ∂y = xʸ·log x takes log 1
		// where x == 0 (0ʸ is constant for y > 0; avoids 0·(−∞) = NaN).
		x, y := v.Args[0], v.Args[1]
		zy, zx := b.ScalarLike(0, y), b.ScalarLike(0, x)
		dx := b.Select(b.Apply(OpEq, nil, y, zy), zy, b.Mul(y, b.Apply(OpPow, nil, x, b.Sub(y, b.ScalarLike(1, y)))))
		safeX := b.Select(b.Apply(OpEq, nil, x, zx), b.ScalarLike(1, x), x)
		return []*Value{b.Mul(g, dx), b.Mul(g, b.Mul(v, b.Apply(OpLog, nil, safeX)))}
	})
	OpEq = binary("eq", "1 where x == y, else 0", "x == y", nil)
	OpNe = binary("ne", "1 where x != y, else 0", "x != y", nil)
	OpLt = binary("lt", "1 where x < y, else 0", "x < y", nil)
	OpLe = binary("le", "1 where x <= y, else 0", "x <= y", nil)
	OpGt = binary("gt", "1 where x > y, else 0", "x > y", nil)
	OpGe = binary("ge", "1 where x >= y, else 0", "x >= y", nil)
	OpSelect = Register(&OpDef{Name: "select", Doc: "where(c, x, y): x where c != 0, else y", Class: Elementwise, Arity: 3,
		Formula: "where(x, y, z)", TypeRule: elementwiseType,
		JVP: DiagJVP, VJP: func(b *Builder, v, g *Value) []*Value {
			c := v.Args[0]
			zero := b.ScalarLike(0, g)
			return []*Value{nil, b.Select(c, g, zero), b.Select(c, zero, g)}
		}})
	OpBCELogits = binary("bce_logits", "binary cross-entropy of logits x against targets y, stable: max(x,0) − x·y + log(1+e^−|x|)",
		"max(x, 0) - x * y + log1p(exp(-abs(x)))", func(b *Builder, v, g *Value) []*Value {
			x, y := v.Args[0], v.Args[1]
			return []*Value{b.Mul(g, b.Sub(b.Apply(OpSigmoid, nil, x), y)), b.Neg(b.Mul(g, x))}
		})
}

// chooserVJP is the rule of maximum/minimum: the gradient goes to the
// chosen argument, split evenly on ties.
func chooserVJP(b *Builder, v, g *Value, cmp *OpDef) []*Value {
	x, y := v.Args[0], v.Args[1]
	wx := b.Add(b.Apply(cmp, nil, x, y), b.Scale(b.Apply(OpEq, nil, x, y), 0.5))
	wy := b.Sub(b.ScalarLike(1, wx), wx)
	return []*Value{b.Mul(g, wx), b.Mul(g, wy)}
}
