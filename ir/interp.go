package ir

import (
	"fmt"
	"slices"
)

// Tensor is a concrete array used by the interpreter. Float tensors keep
// their data in F (float32 values are stored rounded to float32); int32
// tensors in I. Data is row-major.
type Tensor struct {
	DType DType
	Shape []int
	F     []float64
	I     []int32
}

// NewTensor returns a zero tensor.
func NewTensor(d DType, shape ...int) *Tensor {
	t := &Tensor{DType: d, Shape: append([]int(nil), shape...)}
	n := t.Len()
	if d == I32 {
		t.I = make([]int32, n)
	} else {
		t.F = make([]float64, n)
	}
	return t
}

// FromFloats wraps data (copied and rounded to d) as a tensor.
func FromFloats(d DType, data []float64, shape ...int) *Tensor {
	t := NewTensor(d, shape...)
	if len(data) != len(t.F) {
		panic(fmt.Sprintf("ir.FromFloats: %d values for shape %v", len(data), shape))
	}
	for i, x := range data {
		t.F[i] = round(d, x)
	}
	return t
}

// FromInts wraps int32 data (copied) as a tensor.
func FromInts(data []int32, shape ...int) *Tensor {
	t := NewTensor(I32, shape...)
	if len(data) != len(t.I) {
		panic(fmt.Sprintf("ir.FromInts: %d values for shape %v", len(data), shape))
	}
	copy(t.I, data)
	return t
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Scalar returns the only element of a one-element float tensor.
func (t *Tensor) Scalar() float64 { return t.F[0] }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...), F: append([]float64(nil), t.F...), I: append([]int32(nil), t.I...)}
}

// At returns element i (by flat index) as a float64.
func (t *Tensor) At(i int) float64 {
	if t.DType == I32 {
		return float64(t.I[i])
	}
	return t.F[i]
}

func round(d DType, x float64) float64 {
	if d == F32 {
		return float64(float32(x))
	}
	return x
}

// Env binds a graph's free names for the interpreter.
type Env struct {
	Dims     map[string]int     // symbolic dims
	Inputs   map[string]*Tensor // inputs, params and state, by name
	Training bool               // training mode: dropout drops
	Step     uint64             // the training step, which seeds dropout
	Seed     uint64             // the model seed, mixed into dropout's
}

// EvalContext is what an op's evaluator sees.
type EvalContext struct {
	Env
	main *Graph // the graph whose Funcs the values refer to (scan bodies)
}

// Result is everything the interpreter computed.
type Result struct {
	Values    []*Tensor // by value ID
	Outputs   map[string]*Tensor
	Objective *Tensor
	// State holds, in training mode, the new value of every updated state
	// value by name: what the training step writes after the forward pass
	// (nil at inference, which leaves state unchanged).
	State map[string]*Tensor
}

// Interp evaluates g directly: the reference the generated code is tested
// against. Float32 values are rounded to float32 after every op.
func Interp(g *Graph, env Env) (*Result, error) { return interpIn(g, g, env) }

// interpIn evaluates g, a graph or one of main's funcs.
func interpIn(g, main *Graph, env Env) (*Result, error) {
	ctx := &EvalContext{Env: env, main: main}
	for _, d := range g.Dims {
		n, ok := env.Dims[d]
		if !ok {
			return nil, fmt.Errorf("interp %s: no value for dim %q", g.Name, d)
		}
		if n < 0 {
			return nil, fmt.Errorf("interp %s: dim %s = %d is negative", g.Name, d, n)
		}
	}
	res := &Result{Values: make([]*Tensor, len(g.Values)), Outputs: map[string]*Tensor{}}
	for i, v := range g.Values {
		if v.ID != i {
			return nil, fmt.Errorf("interp %s: value %s at index %d (renumber the graph)", g.Name, v.Ref(), i)
		}
		args := make([]*Tensor, len(v.Args))
		for j, a := range v.Args {
			args[j] = res.Values[a.ID]
		}
		t, err := evalValue(ctx, v, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", v.Pos, v.Op.Name, err)
		}
		want, err := v.Type.Shape.Eval(env.Dims)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(t.Shape, want) || t.DType != v.Type.DType {
			return nil, valueErrorf(v, "interp produced %v%v, want %v%v", t.DType, t.Shape, v.Type.DType, want)
		}
		res.Values[i] = t
	}
	for _, o := range g.Outputs {
		res.Outputs[o.Name] = res.Values[o.Value.ID]
	}
	if g.Objective != nil {
		res.Objective = res.Values[g.Objective.ID]
	}
	if env.Training {
		for _, o := range g.StateUpdates() {
			if res.State == nil {
				res.State = map[string]*Tensor{}
			}
			res.State[o.State] = res.Values[o.Value.ID]
		}
	}
	return res, nil
}

func evalValue(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
	if v.Op.Class == Elementwise {
		return evalElementwise(ctx, v, args)
	}
	return v.Op.Eval(ctx, v, args)
}

// outShape evaluates v's shape in ctx.
func (ctx *EvalContext) outShape(v *Value) []int {
	s, err := v.Type.Shape.Eval(ctx.Dims)
	if err != nil {
		panic(err) // Interp checked every dim is bound
	}
	return s
}

// broadcastStrides returns strides for reading a tensor of shape in as if
// it had shape out (0 along broadcast dims).
func broadcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	stride := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := len(out) - len(in) + i
		if in[i] != 1 || out[j] == 1 {
			st[j] = stride
		}
		stride *= in[i]
	}
	return st
}

func evalElementwise(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
	shape := ctx.outShape(v)
	out := NewTensor(v.Type.DType, shape...)
	n := out.Len()
	strides := make([][]int, len(args))
	for i, a := range args {
		strides[i] = broadcastStrides(a.Shape, shape)
	}
	idx := make([]int, len(shape))
	off := make([]int, len(args))
	vals := make([]float64, len(args))
	e := v.Op.expr
	for k := 0; k < n; k++ {
		for i, a := range args {
			vals[i] = a.At(off[i])
		}
		r := e.Eval(vals, v.Attrs)
		if out.DType == I32 {
			out.I[k] = int32(r)
		} else {
			out.F[k] = round(out.DType, r)
		}
		// advance the multi-index
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			for i := range args {
				off[i] += strides[i][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for i := range args {
				off[i] -= strides[i][d] * shape[d]
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// stridesOf returns row-major strides of shape.
func stridesOf(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// unravel converts flat index k into a multi-index of shape.
func unravel(k int, shape []int, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 0 {
			idx[d] = 0
			continue
		}
		idx[d] = k % shape[d]
		k /= shape[d]
	}
}
