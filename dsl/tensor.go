package dsl

import (
	"slices"

	"github.com/bpgen/bpgen/ir"
)

// Tensor is a value of the model being built.
type Tensor struct {
	g *Graph
	v *ir.Value
}

func (t *Tensor) invalid() bool { return t == nil || ir.Invalid(t.v) }

// Shape returns the shape (nil if t is invalid).
func (t *Tensor) Shape() ir.Shape {
	if t.invalid() {
		return nil
	}
	return t.v.Type.Shape
}

// DType returns the element type.
func (t *Tensor) DType() DType {
	if t.invalid() {
		return ir.InvalidDType
	}
	return t.v.Type.DType
}

// Rank is the number of dims.
func (t *Tensor) Rank() int { return len(t.Shape()) }

// Named gives t a name: generated code names its buffer after it.
func (t *Tensor) Named(name string) *Tensor {
	if t.invalid() {
		return t
	}
	if !ir.IsName(name) {
		t.g.errorf("Named(%q): not an identifier", name)
		return t
	}
	if t.v.Op.Name == "input" || t.v.Op.Name == "param" {
		t.g.errorf("Named(%q): %s %q already has a name", name, t.v.Op.Name, t.v.Name)
		return t
	}
	t.v.Name = name
	return t
}

// Checkpoint marks t (which must be named) to be saved by the forward pass
// for the backward pass: when a model has checkpoints, bpgen's remat pass
// recomputes the other intermediates from them instead of keeping them,
// trading compute for memory.
func (t *Tensor) Checkpoint() *Tensor {
	if t.invalid() {
		return t
	}
	if t.v.Name == "" {
		t.g.errorf("Checkpoint: name the value first, e.g. x.Named(\"h1\").Checkpoint()")
		return t
	}
	if ig := t.g.b.Graph(); !slices.Contains(ig.Checkpoints, t.v.Name) {
		ig.Checkpoints = append(ig.Checkpoints, t.v.Name)
	}
	return t
}

func (t *Tensor) String() string {
	if t.invalid() {
		return "<invalid>"
	}
	return t.v.String()
}

// op applies an op at the user's call site.
func (g *Graph) op(name string, attrs ir.Attrs, args ...*Tensor) *Tensor {
	g = g.innermost(args) // a Scan body's op on a captured tensor (scan.go)
	vs, ok := g.values(name, args)
	if !ok {
		return g.invalid()
	}
	return g.wrap(g.at().Op(name, attrs, vs...))
}

// values returns the IR values of the arguments of what (an op or
// function name), or false if one is nil (an error), of another graph (an
// error) or invalid (already reported).
func (g *Graph) values(what string, args []*Tensor) ([]*ir.Value, bool) {
	vs := make([]*ir.Value, len(args))
	for i, a := range args {
		if a == nil {
			g.errorf("%s: argument %d is a nil *Tensor", what, i+1)
			return nil, false
		}
		if a.invalid() {
			return nil, false
		}
		if a.g != g && g.captures(a) { // a Scan body's use of an outer tensor (scan.go)
			a = g.capture(a)
		}
		if a.g != g {
			g.errorf("%s: argument %d belongs to another graph", what, i+1)
			return nil, false
		}
		vs[i] = a.v
	}
	return vs, true
}

// operand turns y (a *Tensor or a number) into a tensor; numbers become
// scalar constants of like's dtype.
func (t *Tensor) operand(op string, y any) *Tensor {
	var c float64
	switch y := y.(type) {
	case *Tensor:
		return y
	case float64:
		c = y
	case float32:
		c = float64(y)
	case int:
		c = float64(y)
	default:
		t.g.errorf("%s: operand %#v has type %T; want a *Tensor or a number", op, y, y)
		return t.g.invalid()
	}
	if t.invalid() {
		return t.g.invalid()
	}
	return t.g.wrap(t.g.at().Const(c, ir.T(t.v.Type.DType, ir.Shape{})))
}

// Add is t + y with broadcasting; y is a *Tensor or a number.
func (t *Tensor) Add(y any) *Tensor { return t.g.op("add", nil, t, t.operand("add", y)) }

// Sub is t − y.
func (t *Tensor) Sub(y any) *Tensor { return t.g.op("sub", nil, t, t.operand("sub", y)) }

// Mul is t · y, elementwise.
func (t *Tensor) Mul(y any) *Tensor { return t.g.op("mul", nil, t, t.operand("mul", y)) }

// Div is t / y.
func (t *Tensor) Div(y any) *Tensor { return t.g.op("div", nil, t, t.operand("div", y)) }

// Pow is tʸ: a number y gives the cheaper pow-by-constant.
func (t *Tensor) Pow(y any) *Tensor {
	switch c := y.(type) {
	case float64:
		return t.g.op("powc", ir.Attrs{"p": c}, t)
	case int:
		return t.g.op("powc", ir.Attrs{"p": float64(c)}, t)
	}
	return t.g.op("pow", nil, t, t.operand("pow", y))
}

// Neg is −t.
func (t *Tensor) Neg() *Tensor { return t.g.op("neg", nil, t) }

// Square is t².
func (t *Tensor) Square() *Tensor { return t.g.op("square", nil, t) }

// MatMul is the matrix product t·y, as torch.matmul for operands of rank
// ≥ 2: leading dims are batch dims, broadcast against each other
// ([n,s,d]·[d,e] is [n,s,e]; [n,1,s,d]·[h,d,e] is [n,h,s,e]).
func (t *Tensor) MatMul(y *Tensor) *Tensor { return MatMul(t, y, false, false) }

// T transposes a matrix (reverses the dims of any rank).
func (t *Tensor) T() *Tensor {
	r := t.Rank()
	perm := make([]int, r)
	for i := range perm {
		perm[i] = r - 1 - i
	}
	return t.g.op("transpose", ir.Attrs{"perm": perm}, t)
}

// Transpose permutes dims: result dim i is t's dim perm[i].
func (t *Tensor) Transpose(perm ...int) *Tensor {
	return t.g.op("transpose", ir.Attrs{"perm": perm}, t)
}

// Reshape gives t new dims (ints, Dims or dim names) with the same element count.
func (t *Tensor) Reshape(dims ...any) *Tensor {
	s, rest, ok := t.g.shapeOf("Reshape", dims)
	if !ok || t.invalid() {
		return t.g.invalid()
	}
	if len(rest) > 0 {
		t.g.errorf("Reshape: unexpected argument %v (%T)", rest[0], rest[0])
		return t.g.invalid()
	}
	return t.g.op("reshape", ir.Attrs{"shape": s}, t)
}

// BroadcastTo broadcasts t to the given dims.
func (t *Tensor) BroadcastTo(dims ...any) *Tensor {
	s, _, ok := t.g.shapeOf("BroadcastTo", dims)
	if !ok {
		return t.g.invalid()
	}
	return t.g.op("broadcast_to", ir.Attrs{"shape": s}, t)
}

// axes normalizes possibly negative axes against t's rank; none means all.
func (t *Tensor) axes(what string, axes []int) ([]int, bool) {
	if t.invalid() {
		return nil, false
	}
	r := t.Rank()
	if len(axes) == 0 {
		all := make([]int, r)
		for i := range all {
			all[i] = i
		}
		return all, true
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < -r || a >= r {
			t.g.errorf("%s(%v): axis %d is out of range for rank %d", what, t.v.Type, a, r)
			return nil, false
		}
		if a < 0 {
			a += r
		}
		out[i] = a
	}
	return out, true
}

func (t *Tensor) reduce(op string, axes []int, keepdims bool) *Tensor {
	ax, ok := t.axes(op, axes)
	if !ok {
		return t.g.invalid()
	}
	return t.g.op(op, ir.Attrs{"axes": ax, "keepdims": keepdims}, t)
}

// Reductions. Every reduction R comes in two forms: R(axes...) drops the
// reduced axes, RKeep(axes...) keeps them as dims of size 1 (NumPy's
// keepdims), so the result broadcasts against t. No axes means all axes;
// negative axes count from the end.

// Sum sums over axes.
func (t *Tensor) Sum(axes ...int) *Tensor { return t.reduce("sum", axes, false) }

// SumKeep sums over axes, keeping them as dims of size 1.
func (t *Tensor) SumKeep(axes ...int) *Tensor { return t.reduce("sum", axes, true) }

// Mean averages over axes.
func (t *Tensor) Mean(axes ...int) *Tensor { return t.reduce("mean", axes, false) }

// MeanKeep averages over axes, keeping them as dims of size 1.
func (t *Tensor) MeanKeep(axes ...int) *Tensor { return t.reduce("mean", axes, true) }

// Max is the maximum over axes (ties share the gradient).
func (t *Tensor) Max(axes ...int) *Tensor { return t.reduce("max", axes, false) }

// MaxKeep is the maximum over axes, keeping them as dims of size 1.
func (t *Tensor) MaxKeep(axes ...int) *Tensor { return t.reduce("max", axes, true) }

// Min is the minimum over axes (ties share the gradient).
func (t *Tensor) Min(axes ...int) *Tensor { return t.reduce("min", axes, false) }

// MinKeep is the minimum over axes, keeping them as dims of size 1.
func (t *Tensor) MinKeep(axes ...int) *Tensor { return t.reduce("min", axes, true) }

// LogSumExp is log Σ exp(t) over axes, computed stably (m + log Σ exp(t − m)).
func (t *Tensor) LogSumExp(axes ...int) *Tensor { return t.reduce("logsumexp", axes, false) }

// LogSumExpKeep is LogSumExp keeping the reduced axes as dims of size 1.
func (t *Tensor) LogSumExpKeep(axes ...int) *Tensor { return t.reduce("logsumexp", axes, true) }

// SumSquares is Σ t² over all elements, the squared L2 norm ‖t‖² (for
// penalties such as λ/2·‖W‖²).
func (t *Tensor) SumSquares() *Tensor { return t.Square().Sum() }

// ArgMax is the int32 index of the largest element along axis.
func (t *Tensor) ArgMax(axis int) *Tensor {
	ax, ok := t.axes("argmax", []int{axis})
	if !ok {
		return t.g.invalid()
	}
	return t.g.op("argmax", ir.Attrs{"axis": ax[0]}, t)
}

// Slice takes elements start ≤ i < end along axis.
func (t *Tensor) Slice(axis, start, end int) *Tensor {
	ax, ok := t.axes("slice", []int{axis})
	if !ok {
		return t.g.invalid()
	}
	return t.g.op("slice", ir.Attrs{"axis": ax[0], "start": start, "end": end}, t)
}

// Gather indexes t along axis with int32 indices.
func (t *Tensor) Gather(axis int, idx *Tensor) *Tensor {
	ax, ok := t.axes("gather", []int{axis})
	if !ok {
		return t.g.invalid()
	}
	return t.g.op("gather", ir.Attrs{"axis": ax[0]}, t, idx)
}

// StopGradient is t, through which no gradient flows.
func (t *Tensor) StopGradient() *Tensor { return t.g.op("stop_gradient", nil, t) }

// Convert changes the dtype (int32 → float, float32 ↔ float64).
func (t *Tensor) Convert(d DType) *Tensor { return t.g.op("convert", ir.Attrs{"dtype": d}, t) }

func (t *Tensor) unary(op string) *Tensor { return t.g.op(op, nil, t) }

// Elementwise functions.

func Neg(x *Tensor) *Tensor        { return x.unary("neg") }
func Abs(x *Tensor) *Tensor        { return x.unary("abs") }
func Sign(x *Tensor) *Tensor       { return x.unary("sign") }
func Exp(x *Tensor) *Tensor        { return x.unary("exp") }
func Log(x *Tensor) *Tensor        { return x.unary("log") }
func Log1p(x *Tensor) *Tensor      { return x.unary("log1p") }
func Sqrt(x *Tensor) *Tensor       { return x.unary("sqrt") }
func Square(x *Tensor) *Tensor     { return x.unary("square") }
func Reciprocal(x *Tensor) *Tensor { return x.unary("reciprocal") }
func Tanh(x *Tensor) *Tensor       { return x.unary("tanh") }
func Sigmoid(x *Tensor) *Tensor    { return x.unary("sigmoid") }
func ReLU(x *Tensor) *Tensor       { return x.unary("relu") }
func Softplus(x *Tensor) *Tensor   { return x.unary("softplus") }
func Sin(x *Tensor) *Tensor        { return x.unary("sin") }
func Cos(x *Tensor) *Tensor        { return x.unary("cos") }

// LeakyReLU is x for x > 0, alpha·x otherwise.
func LeakyReLU(x *Tensor, alpha float64) *Tensor {
	return x.g.op("leaky_relu", ir.Attrs{"alpha": alpha}, x)
}

func binaryOp(op string, x *Tensor, y any) *Tensor { return x.g.op(op, nil, x, x.operand(op, y)) }

// Maximum is the elementwise max(x, y).
func Maximum(x *Tensor, y any) *Tensor { return binaryOp("maximum", x, y) }

// Minimum is the elementwise min(x, y).
func Minimum(x *Tensor, y any) *Tensor { return binaryOp("minimum", x, y) }

// Pow is xʸ elementwise.
func Pow(x *Tensor, y any) *Tensor { return x.Pow(y) }

// Comparisons yield 1 where true and 0 where false, in x's dtype.
func Equal(x *Tensor, y any) *Tensor        { return binaryOp("eq", x, y) }
func NotEqual(x *Tensor, y any) *Tensor     { return binaryOp("ne", x, y) }
func Less(x *Tensor, y any) *Tensor         { return binaryOp("lt", x, y) }
func LessEqual(x *Tensor, y any) *Tensor    { return binaryOp("le", x, y) }
func Greater(x *Tensor, y any) *Tensor      { return binaryOp("gt", x, y) }
func GreaterEqual(x *Tensor, y any) *Tensor { return binaryOp("ge", x, y) }

// Where is x where c != 0, else y (NumPy's where).
func Where(c *Tensor, x, y any) *Tensor {
	xt := c.operand("select", x)
	return c.g.op("select", nil, c, xt, xt.operand("select", y))
}

// MatMul is op(x)·op(y), transposing the last two dims of x and/or y
// first (without copying); leading dims are batch dims, broadcast as in
// torch.matmul(x.mT if transX else x, y.mT if transY else y).
func MatMul(x, y *Tensor, transX, transY bool) *Tensor {
	return x.g.op("matmul", ir.Attrs{"transA": transX, "transB": transY}, x, y)
}

// Concat joins tensors along axis.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("dsl.Concat: no tensors") // a programming error, not a model mistake
	}
	ax, ok := ts[0].axes("concat", []int{axis})
	if !ok {
		return ts[0].g.invalid()
	}
	return ts[0].g.op("concat", ir.Attrs{"axis": ax[0]}, ts...)
}

// OneHot turns int32 indices into one-hot rows of the given depth.
func OneHot(idx *Tensor, depth int, d DType) *Tensor {
	return idx.g.op("onehot", ir.Attrs{"depth": depth, "dtype": d}, idx)
}

// Softmax normalizes exp(x) along axis (default: the last).
func Softmax(x *Tensor, axis ...int) *Tensor { return x.axisOp("softmax", axis) }

// LogSoftmax is x − logsumexp(x) along axis (default: the last).
func LogSoftmax(x *Tensor, axis ...int) *Tensor { return x.axisOp("log_softmax", axis) }

func (t *Tensor) axisOp(op string, axis []int) *Tensor {
	if len(axis) > 1 {
		t.g.errorf("%s: give at most one axis, got %v", op, axis)
		return t.g.invalid()
	}
	a := -1
	if len(axis) == 1 {
		a = axis[0]
	}
	ax, ok := t.axes(op, []int{a})
	if !ok {
		return t.g.invalid()
	}
	return t.g.op(op, ir.Attrs{"axis": ax[0]}, t)
}

// Losses follow one rule (optax's): a loss returns one value per example,
// or per element for an elementwise loss, and never reduces over the
// batch; the model reduces, usually with .Mean() (or .Sum(), or a
// weighted sum), before g.Minimize:
//
//	L := dsl.SoftmaxCrossEntropy(logits, y).Mean() // [n] → []
//	L := dsl.SquaredError(pred, t).Sum(1).Mean()    // [n,k] → [n] → []

// SoftmaxCrossEntropy is the per-example loss logsumexp(z) − z[label] of
// logits [..., k] against int32 labels [...]: the result has the labels'
// shape (one value per example). Reduce it, e.g. with .Mean().
func SoftmaxCrossEntropy(logits, labels *Tensor) *Tensor {
	return logits.g.op("softmax_xent", nil, logits, labels)
}

// BCEWithLogits is the per-element binary cross-entropy of logits against
// targets in [0, 1] (a tensor broadcasting against logits, or a number),
// computed stably: max(x,0) − x·y + log(1+e^−|x|). The result has the
// broadcast shape. Reduce it, e.g. with .Mean().
func BCEWithLogits(logits *Tensor, targets any) *Tensor {
	return binaryOp("bce_logits", logits, targets)
}

// SquaredError is the per-element squared error (pred − target)², the
// broadcast shape of its arguments. .Mean() of it is the mean squared error
// (PyTorch's MSELoss); .Sum(-1).Mean() the squared distance per example,
// averaged.
func SquaredError(pred *Tensor, target any) *Tensor { return pred.Sub(target).Square() }

// Dropout zeroes each element with probability p during training and scales
// the rest by 1/(1−p); at inference it is the identity.
func Dropout(x *Tensor, p float64) *Tensor {
	if x.invalid() {
		return x.g.invalid()
	}
	g := x.g
	g.dropouts++
	mask := g.wrap(g.at().Declared("dropout_mask", x.v.Type, ir.Attrs{"p": p, "seed": g.dropouts}))
	return x.Mul(mask)
}
