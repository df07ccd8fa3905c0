package passes

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// SimplifyReport counts what Simplify did, by rule.
type SimplifyReport struct {
	Before, After int            // values
	Rules         map[string]int // rule name → times applied
}

// String prints the report in one line, rules sorted by name.
func (r *SimplifyReport) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Rules)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.Rules[k]))
	}
	return fmt.Sprintf("simplify: %d → %d values; %s", r.Before, r.After, strings.Join(parts, " "))
}

// Simplify rewrites g in place into an equivalent, smaller graph:
//
//   - constant folding: an elementwise op whose arguments are all constants,
//     a movement op (reshape, broadcast_to, transpose, slice) of a constant,
//     a reduction (sum, mean, max, min) of a constant over static non-empty
//     axes and numel of a static shape become one const (a const is a fill,
//     so folding costs nothing whatever its shape). A fold whose result is
//     not finite is skipped, so every folded constant prints and parses.
//   - common-subexpression elimination: two values with the same op, the
//     same arguments, the same attributes (and, for declared ops, the same
//     type) become one. dropout_mask (an op marked Training: two masks must
//     drop independently) and opaque ops (extern calls, which may have
//     effects) are never merged; inputs and params are unique by name.
//   - algebraic identities, applied only when the replacement has exactly
//     the value's type: x·1, 1·x, x+0, 0+x, x−0, x/1 → x; x−x → 0;
//     −(−x) → x; exp(log x) → x; log(exp x) → x; transpose of transpose →
//     one transpose (none if the perms compose to the identity); reshape of
//     reshape → one reshape; reshape or broadcast_to to the value's own
//     shape → the value; broadcast_to of broadcast_to → one; a reduction over
//     no axes → its argument; select with a constant condition → a branch.
//   - layout: matmul(transpose(a)) → matmul(a) with transA (or transB)
//     flipped, when the transpose swaps the last two dims (rank 2, or rank 3
//     keeping the batch dim first).
//   - broadcasts folded into consumers: broadcast_to(x) as an argument of an
//     elementwise op is replaced by x when the op's other arguments still
//     broadcast to the same result shape (elementwise ops broadcast
//     themselves), and a constant argument becomes a scalar constant under
//     the same condition; a reshape of a keepdims reduction to the shape
//     without the kept dims becomes the reduction without keepdims; a
//     reshape of a broadcast of a one-element value becomes a broadcast of
//     a reshape of that value, so the rule above applies.
//   - after grad (the graph has gradient outputs), stop_gradient(x) and
//     custom_vjp(y, …) are identities and are replaced by x and y.
//   - dead-code elimination (DCE) at the end.
//
// Floating-point semantics. The identities x−x → 0, exp(log x) → x and
// log(exp x) → x are exact wherever the original expression is finite; they
// differ only where it is NaN or ±Inf (x = ±Inf, x < 0, overflow), where
// the rewritten graph gives a finite answer instead. This is the usual
// contract of algebraic simplifiers (XLA's algsimp makes the same choice).
// x·0 → 0 is NOT applied: it would hide an Inf or NaN in x, which is how a
// diverging model is noticed.
//
// Outputs, the objective, inputs and params keep their names; a value
// replaced by an equivalent one passes its user name (Value.Name) on to
// the replacement when that has none.
func Simplify(g *ir.Graph) (*SimplifyReport, error) {
	s := &simplifier{g: g, rep: &SimplifyReport{Before: len(g.Values), Rules: map[string]int{}}}
	for _, o := range g.Outputs {
		if o.Grad != "" {
			s.afterGrad = true
		}
	}
	// Rewrites enable one another (a fold exposes an identity, an identity
	// exposes a CSE); a few sweeps reach the fixed point in practice.
	for range 8 {
		s.changed = false
		if err := s.sweep(); err != nil {
			return nil, err
		}
		if err := DCE(g); err != nil {
			return nil, err
		}
		if !s.changed {
			break
		}
	}
	s.rep.After = len(g.Values)
	return s.rep, nil
}

type simplifier struct {
	g         *ir.Graph
	rep       *SimplifyReport
	afterGrad bool
	changed   bool

	out     []*ir.Value
	emitted map[*ir.Value]bool
	cse     map[string]*ir.Value
}

// sweep rebuilds g.Values once, rewriting every value.
func (s *simplifier) sweep() error {
	s.out = make([]*ir.Value, 0, len(s.g.Values))
	s.emitted = map[*ir.Value]bool{}
	s.cse = map[string]*ir.Value{}
	repl := map[*ir.Value]*ir.Value{}
	for _, v := range s.g.Values {
		for i, a := range v.Args {
			v.Args[i] = repl[a]
		}
		r, err := s.simplify(v)
		if err != nil {
			return err
		}
		if r != v {
			s.changed = true
			if v.Name != "" && r.Name == "" && !isInterface(r) {
				r.Name = v.Name
			}
		}
		repl[v] = r
	}
	for i := range s.g.Outputs {
		s.g.Outputs[i].Value = repl[s.g.Outputs[i].Value]
	}
	if s.g.Objective != nil {
		s.g.Objective = repl[s.g.Objective]
	}
	s.g.Values = s.out
	s.g.Renumber()
	return nil
}

// isInterface reports whether v is an input or a param: the model's
// interface, never renamed or merged.
func isInterface(v *ir.Value) bool { return v.Op.Storage == ir.Bound }

// simplify returns the value that replaces v: an emitted value.
func (s *simplifier) simplify(v *ir.Value) (*ir.Value, error) {
	for range 16 {
		r, rule, err := s.rewrite(v)
		if err != nil {
			return nil, fmt.Errorf("simplify: rule %s: %w\n\t%s", rule, err, v)
		}
		if r == nil {
			break
		}
		s.rep.Rules[rule]++
		if s.emitted[r] {
			return r, nil
		}
		v = r
	}
	return s.emit(v), nil
}

// emit appends v to the new value list, or returns an equal value already
// there (CSE).
func (s *simplifier) emit(v *ir.Value) *ir.Value {
	key, ok := cseKey(v)
	if ok {
		if w := s.cse[key]; w != nil {
			s.rep.Rules["cse"]++
			s.changed = true
			return w
		}
	}
	v.ID = len(s.out)
	s.out = append(s.out, v)
	s.emitted[v] = true
	if ok {
		s.cse[key] = v
	}
	return v
}

// cseKey identifies a value by what it computes; ok is false for values
// that must never be merged.
func cseKey(v *ir.Value) (string, bool) {
	if isInterface(v) || v.Op.Training || v.Op.Class == ir.Opaque && !isScan(v) {
		return "", false
	}
	var b strings.Builder
	b.WriteString(v.Op.Name) // the op's name identifies it in the key
	if v.Op.Declared {
		b.WriteString(":" + v.Type.String())
	}
	for _, a := range v.Args {
		b.WriteString(" " + strconv.Itoa(a.ID))
	}
	b.WriteString(" " + v.Attrs.String())
	return b.String(), true
}

// newValue makes an unemitted value of op applied to args, typed by the
// op's rule (or declared type t).
func newValue(def *ir.OpDef, attrs ir.Attrs, t ir.Type, pos ir.Pos, args ...*ir.Value) (*ir.Value, error) {
	types := make([]ir.Type, len(args))
	for i, a := range args {
		types[i] = a.Type
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	rt, err := ir.InferType(def, types, attrs, t)
	if err != nil {
		return nil, fmt.Errorf("%s%v: %w", def.Name, types, err)
	}
	return &ir.Value{Op: def, Args: args, Type: rt, Attrs: attrs, Pos: pos}, nil
}

func constOf(val float64, t ir.Type, pos ir.Pos) *ir.Value {
	v, err := newValue(ir.OpConst, ir.Attrs{"value": val}, ir.Type{DType: t.DType, Shape: t.Shape.Clone()}, pos)
	if err != nil {
		panic(err) // a const of a valid type always types
	}
	return v
}

// constValue returns the fill value of a const.
func constValue(v *ir.Value) (float64, bool) {
	if v.Op != ir.OpConst {
		return 0, false
	}
	return v.Attrs.Float("value"), true
}

func isConst(v *ir.Value, c float64) bool {
	x, ok := constValue(v)
	return ok && x == c
}

// roundTo rounds x as a value of dtype d is stored; ok is false if the
// result is not finite (or out of int32 range).
func roundTo(d ir.DType, x float64) (float64, bool) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	switch d {
	case ir.F32:
		r := float64(float32(x))
		return r, !math.IsInf(r, 0)
	case ir.I32:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return float64(int32(x)), true
	}
	return x, true
}

// staticCount returns the product of the dims of s at axes, if all static.
func staticCount(s ir.Shape, axes []int) (int, bool) {
	n := 1
	for _, a := range axes {
		if !s[a].IsStatic() {
			return 0, false
		}
		n *= s[a].N
	}
	return n, true
}

// rewrite applies the first rule that matches v. It returns nil if none
// does, else the replacement (emitted or new) and the rule's name.
func (s *simplifier) rewrite(v *ir.Value) (*ir.Value, string, error) {
	same := func(r *ir.Value) bool { return r != nil && r.Type.Equal(v.Type) }
	if isInterface(v) || v.Op.Training {
		return nil, "", nil
	}

	// Constant folding.
	if v.Op.Class == ir.Elementwise && len(v.Args) > 0 {
		vals := make([]float64, len(v.Args))
		all := true
		for i, a := range v.Args {
			c, ok := constValue(a)
			if !ok {
				all = false
				break
			}
			if c2, ok := roundTo(a.Type.DType, c); ok {
				c = c2
			}
			vals[i] = c
		}
		if all {
			if r, ok := roundTo(v.Type.DType, v.Op.Expr().Eval(vals, v.Attrs)); ok {
				return constOf(r, v.Type, v.Pos), "fold", nil
			}
		}
	}
	if len(v.Args) == 1 {
		if c, ok := constValue(v.Args[0]); ok {
			x := v.Args[0]
			switch {
			case v.Op == ir.OpReshape || v.Op == ir.OpBroadcastTo || v.Op == ir.OpTranspose || v.Op == ir.OpSlice:
				// Every element of the result is an element of x.
				return constOf(c, v.Type, v.Pos), "fold", nil
			case v.Op.Reduction != nil:
				axes := v.Attrs.Ints("axes")
				if n, ok := staticCount(x.Type.Shape, axes); ok && n > 0 {
					if r, ok := roundTo(v.Type.DType, v.Op.Reduction.RepeatExpr().Eval([]float64{c, float64(n)}, nil)); ok {
						return constOf(r, v.Type, v.Pos), "fold", nil
					}
				}
			}
		}
	}
	if s := v.Attrs.Shape("shape"); v.Op == ir.OpNumel && s.IsStatic() {
		n, _ := s.NumElements()
		return constOf(float64(n), v.Type, v.Pos), "fold", nil
	}

	// Algebraic identities.
	if v.Op.ReducesAxes() && len(v.Attrs.Ints("axes")) == 0 && same(v.Args[0]) {
		return v.Args[0], "reduce-no-axes", nil
	}
	switch v.Op {
	case ir.OpMul:
		x, y := v.Args[0], v.Args[1]
		if isConst(y, 1) && same(x) {
			return x, "x*1", nil
		}
		if isConst(x, 1) && same(y) {
			return y, "x*1", nil
		}
	case ir.OpAdd:
		x, y := v.Args[0], v.Args[1]
		if isConst(y, 0) && same(x) {
			return x, "x+0", nil
		}
		if isConst(x, 0) && same(y) {
			return y, "x+0", nil
		}
	case ir.OpSub:
		x, y := v.Args[0], v.Args[1]
		if isConst(y, 0) && same(x) {
			return x, "x-0", nil
		}
		if x == y {
			return constOf(0, v.Type, v.Pos), "x-x", nil
		}
	case ir.OpDiv:
		if isConst(v.Args[1], 1) && same(v.Args[0]) {
			return v.Args[0], "x/1", nil
		}
	case ir.OpNeg:
		if x := v.Args[0]; x.Op == ir.OpNeg {
			return x.Args[0], "neg-neg", nil
		}
	case ir.OpExp:
		if x := v.Args[0]; x.Op == ir.OpLog && same(x.Args[0]) {
			return x.Args[0], "exp-log", nil
		}
	case ir.OpLog:
		if x := v.Args[0]; x.Op == ir.OpExp && same(x.Args[0]) {
			return x.Args[0], "log-exp", nil
		}
	case ir.OpStopGradient:
		if s.afterGrad {
			return v.Args[0], "stop_gradient-after-grad", nil
		}
	case ir.OpCustomVJP:
		if s.afterGrad && same(v.Args[0]) {
			return v.Args[0], "custom_vjp-after-grad", nil
		}
	case ir.OpSelect:
		if c, ok := constValue(v.Args[0]); ok {
			r := v.Args[2]
			if c != 0 {
				r = v.Args[1]
			}
			if same(r) {
				return r, "select-const", nil
			}
		}
	case ir.OpTranspose:
		perm := v.Attrs.Ints("perm")
		if isIdentityPerm(perm) {
			return v.Args[0], "transpose-identity", nil
		}
		if x := v.Args[0]; x.Op == ir.OpTranspose {
			inner := x.Attrs.Ints("perm")
			comp := make([]int, len(perm))
			for i, p := range perm {
				comp[i] = inner[p]
			}
			if isIdentityPerm(comp) {
				return x.Args[0], "transpose-transpose", nil
			}
			r, err := newValue(ir.OpTranspose, ir.Attrs{"perm": comp}, ir.Type{}, v.Pos, x.Args[0])
			return r, "transpose-transpose", err
		}
	case ir.OpReshape:
		x := v.Args[0]
		if same(x) {
			return x, "reshape-same", nil
		}
		if x.Op == ir.OpReshape {
			r, err := newValue(ir.OpReshape, ir.Attrs{"shape": v.Type.Shape.Clone()}, ir.Type{}, v.Pos, x.Args[0])
			return r, "reshape-reshape", err
		}
		// reshape(reduce(u, axes, keepdims)) to the shape without the kept
		// dims → reduce(u, axes).
		if x.Op.ReducesAxes() && x.Attrs.Bool("keepdims") {
			axes := x.Attrs.Ints("axes")
			if ir.ReduceShape(x.Args[0].Type.Shape, axes, false).Equal(v.Type.Shape) {
				a := x.Attrs.Clone() // the reduction's other attributes (var's correction) stay
				delete(a, "keepdims")
				r, err := newValue(x.Op, a, ir.Type{}, v.Pos, x.Args[0])
				return r, "reshape-keepdims", err
			}
		}
		// reshape(broadcast_to(u, S)) with u one element → broadcast_to(reshape(u)).
		if x.Op == ir.OpBroadcastTo && isOneElement(x.Args[0].Type.Shape) {
			u, err := s.reshapeOnes(x.Args[0], len(v.Type.Shape), v.Pos)
			if err != nil {
				return nil, "reshape-broadcast", err
			}
			if same(u) {
				return u, "reshape-broadcast", nil
			}
			r, err := newValue(ir.OpBroadcastTo, ir.Attrs{"shape": v.Type.Shape.Clone()}, ir.Type{}, v.Pos, u)
			return r, "reshape-broadcast", err
		}
	case ir.OpBroadcastTo:
		x := v.Args[0]
		if same(x) {
			return x, "broadcast-same", nil
		}
		if x.Op == ir.OpBroadcastTo {
			r, err := newValue(ir.OpBroadcastTo, ir.Attrs{"shape": v.Type.Shape.Clone()}, ir.Type{}, v.Pos, x.Args[0])
			return r, "broadcast-broadcast", err
		}
	case ir.OpMatMul:
		a, b := v.Args[0], v.Args[1]
		if swapsLastTwo(a) {
			attrs := v.Attrs.Clone()
			setBool(&attrs, "transA", !v.Attrs.Bool("transA"))
			r, err := newValue(ir.OpMatMul, attrs, ir.Type{}, v.Pos, a.Args[0], b)
			return r, "matmul-transpose", err
		}
		if swapsLastTwo(b) {
			attrs := v.Attrs.Clone()
			setBool(&attrs, "transB", !v.Attrs.Bool("transB"))
			r, err := newValue(ir.OpMatMul, attrs, ir.Type{}, v.Pos, a, b.Args[0])
			return r, "matmul-transpose", err
		}
	}

	// Broadcasts folded into elementwise consumers.
	if v.Op.Class == ir.Elementwise {
		for i, a := range v.Args {
			if c, ok := constValue(a); ok && len(a.Type.Shape) > 0 {
				// A constant fill broadcasts as a scalar does.
				args := slices.Clone(v.Args)
				args[i] = constOf(c, ir.Type{DType: a.Type.DType, Shape: ir.Shape{}}, a.Pos)
				r, err := newValue(v.Op, v.Attrs.Clone(), v.Type, v.Pos, args...)
				if err == nil && same(r) {
					args[i] = s.emit(args[i])
					return r, "scalar-const-into-elementwise", nil
				}
			}
			if a.Op != ir.OpBroadcastTo {
				continue
			}
			args := slices.Clone(v.Args)
			args[i] = a.Args[0]
			r, err := newValue(v.Op, v.Attrs.Clone(), v.Type, v.Pos, args...)
			if err == nil && same(r) {
				return r, "broadcast-into-elementwise", nil
			}
		}
	}
	return nil, "", nil
}

// reshapeOnes returns u (one element) reshaped to rank ones, emitted.
func (s *simplifier) reshapeOnes(u *ir.Value, rank int, pos ir.Pos) (*ir.Value, error) {
	ones := make(ir.Shape, rank)
	for i := range ones {
		ones[i] = ir.Static(1)
	}
	if u.Type.Shape.Equal(ones) {
		return u, nil
	}
	r, err := newValue(ir.OpReshape, ir.Attrs{"shape": ones}, ir.Type{}, pos, u)
	if err != nil {
		return nil, err
	}
	return s.simplify(r)
}

func setBool(a *ir.Attrs, k string, b bool) {
	if *a == nil {
		*a = ir.Attrs{}
	}
	if b {
		(*a)[k] = true
	} else {
		delete(*a, k)
	}
}

func isIdentityPerm(p []int) bool {
	for i, x := range p {
		if x != i {
			return false
		}
	}
	return true
}

// swapsLastTwo reports whether v is a transpose that swaps the last two
// dims of a rank-2 or rank-3 value, keeping the batch dim.
func swapsLastTwo(v *ir.Value) bool {
	if v.Op != ir.OpTranspose {
		return false
	}
	p := v.Attrs.Ints("perm")
	return slices.Equal(p, []int{1, 0}) || slices.Equal(p, []int{0, 2, 1})
}

// isOneElement reports whether s has exactly one element (all dims static 1).
func isOneElement(s ir.Shape) bool {
	for _, d := range s {
		if d != ir.Static(1) {
			return false
		}
	}
	return true
}

func axesUpTo(rank int) []int {
	r := make([]int, rank)
	for i := range r {
		r[i] = i
	}
	return r
}
