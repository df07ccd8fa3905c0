package ir

import "fmt"

// JVPFunc is an op's forward-mode rule. Given the value v and the tangents
// t of its arguments (t[i] has argument i's type, or is nil: a zero
// tangent), it returns the tangent of v's result, of v's type, or nil when
// that tangent is zero. Rules build their values with b, so the forward
// pass (passes.JVP) is ordinary IR. A rule that cannot give a tangent
// records an error with b (see NoJVP) rather than returning a wrong one.
type JVPFunc func(b *Builder, v *Value, t []*Value) *Value

// The helpers below build the JVP rules of whole families of ops.

// DiagJVP is the JVP rule of an elementwise op, derived from its VJP rule:
// an elementwise op's Jacobian with respect to each argument is diagonal
// (symmetric), so the VJP rule applied to a tangent gives that argument's
// part of the directional derivative, ∂f/∂xᵢ·tᵢ, at the broadcast shape.
// The parts are summed and broadcast to v's shape. (The VJP rule's
// formulas are the stable ones: sigmoid's σ(1−σ), not the derivative of
// 1/(1+e⁻ˣ), which overflows.)
func DiagJVP(b *Builder, v *Value, t []*Value) *Value {
	var sum *Value
	for i, ti := range t {
		if ti == nil {
			continue
		}
		part := v.Op.VJP(b, v, ti)[i]
		if part == nil {
			continue
		}
		if sum == nil {
			sum = part
		} else {
			sum = b.Add(sum, part)
		}
	}
	if sum == nil {
		return nil
	}
	return b.BroadcastTo(sum, v.Type.Shape)
}

// LinearIn is the JVP rule of an op that is linear in each of the
// arguments args separately and constant in the others (within the
// piecewise-constant selections they make): reshape and the other
// movement ops, sum and mean (linear in their one argument), gather (in x,
// not the indices), matmul and the convolutions (bilinear: the product
// rule f(ta, b) + f(a, tb)). It applies the op, with v's attributes, to
// each argument's tangent in turn in place of the argument.
func LinearIn(args ...int) JVPFunc {
	return func(b *Builder, v *Value, t []*Value) *Value {
		var sum *Value
		for _, i := range args {
			if t[i] == nil {
				continue
			}
			a := append([]*Value(nil), v.Args...)
			a[i] = t[i]
			var part *Value
			if v.Op.Declared {
				part = b.DeclaredOp(v.Op, v.Type, v.Attrs.Clone(), a...)
			} else {
				part = b.Apply(v.Op, v.Attrs.Clone(), a...)
			}
			if sum == nil {
				sum = part
			} else {
				sum = b.Add(sum, part)
			}
		}
		return sum
	}
}

// JointlyLinearJVP is the JVP rule of an op that is linear in all its
// arguments together (concat): the op applied to the tangents, zeros for
// the zero ones.
func JointlyLinearJVP(b *Builder, v *Value, t []*Value) *Value {
	a := make([]*Value, len(t))
	any := false
	for i, ti := range t {
		if ti == nil {
			ti = b.ZerosLike(v.Args[i])
		} else {
			any = true
		}
		a[i] = ti
	}
	if !any {
		return nil
	}
	return b.Apply(v.Op, v.Attrs.Clone(), a...)
}

// GroupJVP is the JVP rule of a reduction over its "axes" attribute whose
// groups are disjoint (max, min, logsumexp, var): each output element
// depends only on its group, so its row of the Jacobian is the VJP of a
// unit cotangent there, and all rows come from one VJP of ones:
// ẏ = Σ_axes VJP(1) ⊙ ṫ.
func GroupJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil {
		return nil
	}
	w := v.Op.VJP(b, v, b.Const(1, v.Type))[0]
	return b.Sum(b.Mul(w, t[0]), v.Attrs.Ints("axes"), v.Attrs.Bool("keepdims"))
}

// NoJVP is the JVP rule of an op whose derivative bpgen only knows in
// reverse (custom_vjp's user-written backward func, extern's Go vjp): it
// records a clear error, as jax.custom_vjp does, instead of a tangent.
func NoJVP(b *Builder, v *Value, t []*Value) *Value {
	for _, ti := range t {
		if ti != nil {
			b.Errorf("%s has no JVP rule: its derivative is given only in reverse mode (a backward function), so forward mode and second-order derivatives through it are not available\n\t%s", v.Op.Name, v)
			return nil
		}
	}
	return nil
}

// The JVP rules of ops with one formula of their own.

// convertJVP converts the tangent to v's dtype (int32 arguments have none).
func convertJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil || !v.Args[0].Type.DType.IsFloat() {
		return nil
	}
	return b.Apply(OpConvert, Attrs{"dtype": v.Type.DType}, t[0])
}

// softmaxJVP: ẏ = y ⊙ (ṫ − Σ_axis y ⊙ ṫ).
func softmaxJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil {
		return nil
	}
	s := b.Sum(b.Mul(v, t[0]), []int{v.Attrs.Int("axis")}, true)
	return b.Mul(v, b.Sub(t[0], b.BroadcastTo(s, v.Type.Shape)))
}

// logSoftmaxJVP: ẏ = ṫ − Σ_axis softmax ⊙ ṫ, softmax = exp(y).
func logSoftmaxJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil {
		return nil
	}
	s := b.Sum(b.Mul(b.Exp(v), t[0]), []int{v.Attrs.Int("axis")}, true)
	return b.Sub(t[0], b.BroadcastTo(s, v.Type.Shape))
}

// softmaxXentJVP: ẏ = Σ_class (softmax(z) − onehot(label)) ⊙ ż.
func softmaxXentJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil {
		return nil
	}
	z := v.Args[0]
	w := v.Op.VJP(b, v, b.Const(1, v.Type))[0] // softmax(z) − onehot(label)
	return b.Sum(b.Mul(w, t[0]), []int{len(z.Type.Shape) - 1}, false)
}

// normalizeJVP is the tangent of y = x̂·γ + β (γB, βB: γ and β broadcast
// to x's shape, and their tangents likewise, nil for zero). The map from
// ẋ to the tangent of x̂ is symmetric (a scaled projection), so it is
// normalizeVJP's with γ = 1: ρ·(ẋ − mean(ẋ) − x̂·mean(x̂·ẋ)).
func normalizeJVP(b *Builder, x, gammaB, tx, tgammaB, tbetaB *Value, axes []int, eps float64) *Value {
	var r *Value
	add := func(p *Value) {
		if r == nil {
			r = p
		} else {
			r = b.Add(r, p)
		}
	}
	var xhat *Value
	if tx != nil {
		var dxhat *Value
		dxhat, xhat = normalizeVJP(b, x, b.ScalarLike(1, x), tx, axes, eps)
		add(b.Mul(dxhat, gammaB))
	}
	if tgammaB != nil {
		if xhat == nil {
			_, xhat = normalizeVJP(b, x, b.ScalarLike(1, x), b.ZerosLike(x), axes, eps)
		}
		add(b.Mul(xhat, tgammaB))
	}
	if tbetaB != nil {
		add(b.BroadcastTo(tbetaB, x.Type.Shape))
	}
	return r
}

func layerNormJVP(b *Builder, v *Value, t []*Value) *Value {
	x, gamma := v.Args[0], v.Args[1]
	s := x.Type.Shape
	bc := func(u *Value) *Value {
		if u == nil {
			return nil
		}
		return b.BroadcastTo(u, s)
	}
	return normalizeJVP(b, x, bc(gamma), t[0], bc(t[1]), bc(t[2]), normAxes(v), v.Attrs.Float("eps"))
}

// batchNormJVP is the training-mode rule, as batch_norm's VJP (the batch
// statistics depend on x; the running statistics are not used and get no
// tangent).
func batchNormJVP(b *Builder, v *Value, t []*Value) *Value {
	x, gamma := v.Args[0], v.Args[1]
	cs := Shape{gamma.Type.Shape[0]}
	for range x.Type.Shape[2:] {
		cs = append(cs, Static(1))
	}
	bc := func(u *Value) *Value {
		if u == nil {
			return nil
		}
		return b.BroadcastTo(b.Reshape(u, cs), x.Type.Shape)
	}
	return normalizeJVP(b, x, bc(gamma), t[0], bc(t[1]), bc(t[2]), channelAxes(v), v.Attrs.Float("eps"))
}

// maxPoolJVP: the tangent read at each window's first maximum
// (max_pool2d(x) = max_pool2d_gather(x, x), linear in the second x).
func maxPoolJVP(b *Builder, v *Value, t []*Value) *Value {
	if t[0] == nil {
		return nil
	}
	return b.Apply(OpMaxPool2DGather, v.Attrs.Clone(), v.Args[0], t[0])
}

// checkJVP is Register's check of the JVP rule: every differentiable op
// has one, and no NonDiff op.
func checkJVP(op *OpDef) error {
	switch {
	case op.VJP != nil && op.JVP == nil:
		return fmt.Errorf("op %s has a VJP rule but no JVP rule (forward mode needs one; NoJVP for ops whose derivative is known only in reverse)", op.Name)
	case op.NonDiff && op.JVP != nil:
		return fmt.Errorf("op %s has a JVP rule and a NonDiff mark", op.Name)
	}
	return nil
}

// diagJVPIf is DiagJVP for an elementwise op with a VJP rule, nil for a
// NonDiff one.
func diagJVPIf(vjp VJPFunc) JVPFunc {
	if vjp == nil {
		return nil
	}
	return DiagJVP
}
