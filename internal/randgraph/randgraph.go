// Package randgraph draws random differentiable graphs for tests: float64
// elementwise ops, reductions, matmuls and movement ops drawn from the op
// registry's differentiable ops, on random static shapes with
// broadcasting, values used by several ops and several params, and an
// objective that weights several values. passes' gradient tests check
// them against finite differences, passes' pipeline fuzzer
// (FuzzPipeline) compares every pass's output with the unoptimized joint
// graph, and codegen's TestGeneratedRandomGraphs runs the generated code
// of a sample.
//
// It is a test helper: only tests import it.
package randgraph

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/bpgen/bpgen/ir"
)

// MaxElems is the most elements any value of a graph has (keeps finite
// differences cheap).
const MaxElems = 48

// rgen draws one random graph.
type rgen struct {
	rng    *rand.Rand
	b      *ir.Builder
	env    map[string]*ir.Tensor
	pool   []*ir.Value // float values available as operands
	params int
	inputs int
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (r *rgen) randShape(minRank int) []int {
	s := make([]int, minRank+r.rng.IntN(4-minRank))
	for i := range s {
		s[i] = 1 + r.rng.IntN(4)
	}
	for numel(s) > MaxElems {
		s[r.rng.IntN(len(s))] = 1
	}
	return s
}

func (r *rgen) newParam(shape []int) *ir.Value {
	name := fmt.Sprintf("p%d", r.params)
	r.params++
	v := r.b.Param(name, ir.T(ir.F64, Shape(shape)), ir.Attrs{"init": "zeros"})
	r.env[name] = Uniform(r.rng, -1.5, 1.5, shape...)
	r.pool = append(r.pool, v)
	return v
}

// newInput declares a fixed input (not differentiated).
func (r *rgen) newInput(t *ir.Tensor) *ir.Value {
	name := fmt.Sprintf("c%d", r.inputs)
	r.inputs++
	r.env[name] = t
	return r.b.Input(name, ir.T(t.DType, Shape(t.Shape)))
}

// pick returns an operand, preferring recent values, so values fan out
// to several consumers; ok restricts the choice (nil if none qualifies).
func (r *rgen) pick(ok func(v *ir.Value) bool) *ir.Value {
	var cands []*ir.Value
	for _, v := range r.pool {
		if ok == nil || ok(v) {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	i := len(cands) - 1 - min(int(r.rng.ExpFloat64()*2), len(cands)-1)
	return cands[i]
}

func (r *rgen) push(v *ir.Value) *ir.Value {
	if !ir.Invalid(v) {
		r.pool = append(r.pool, v)
	}
	return v
}

func rankOf(v *ir.Value) int { return len(v.Type.Shape) }
func sizeOf(v *ir.Value) int { return numel(Ints(v.Type.Shape)) }

// positive maps x to a safe domain for log, sqrt, reciprocal and pow's
// base: exp(x) (x bounded by tanh first) or softplus(x) + 0.1.
func (r *rgen) positive(x *ir.Value) *ir.Value {
	if r.rng.IntN(2) == 0 {
		return r.b.Exp(r.b.Op("tanh", nil, x))
	}
	return r.b.Add(r.b.Op("softplus", nil, x), r.b.ScalarLike(0.1, x))
}

// partner returns a value whose shape broadcasts with x's (an existing
// one, or a new param of a shape derived from x's).
func (r *rgen) partner(x *ir.Value) *ir.Value {
	xs := x.Type.Shape
	if r.rng.IntN(3) > 0 {
		if y := r.pick(func(v *ir.Value) bool {
			s, err := ir.Broadcast(xs, v.Type.Shape)
			return err == nil && numel(Ints(s)) <= MaxElems
		}); y != nil {
			return y
		}
	}
	s := Ints(xs)
	if len(s) > 0 && r.rng.IntN(3) == 0 {
		s = s[r.rng.IntN(len(s)+1):] // fewer leading dims
	}
	s = slices.Clone(s)
	for i := range s {
		if r.rng.IntN(3) == 0 {
			s[i] = 1
		}
	}
	return r.newParam(s)
}

var (
	randUnary  = []string{"neg", "tanh", "sigmoid", "sin", "cos", "softplus", "square", "abs", "relu", "leaky_relu", "exp", "powc", "log", "sqrt", "reciprocal", "log1p"}
	randBinary = []string{"add", "sub", "mul", "div", "maximum", "minimum", "pow", "bce_logits", "select"}
	randReduce = []string{"sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax"}
	randMove   = []string{"transpose", "reshape", "slice", "pad", "concat", "broadcast_to", "gather"}
)

func (r *rgen) unary() {
	b := r.b
	x := r.pick(nil)
	switch op := randUnary[r.rng.IntN(len(randUnary))]; op {
	case "exp":
		r.push(b.Exp(b.Op("tanh", nil, x))) // bounded, so values stay moderate
	case "leaky_relu":
		r.push(b.Op(op, ir.Attrs{"alpha": 0.2}, x))
	case "powc":
		r.push(b.Op(op, ir.Attrs{"p": []float64{2, 3, -1.5, 0.5}[r.rng.IntN(4)]}, r.positive(x)))
	case "log", "sqrt", "reciprocal", "log1p":
		r.push(b.Op(op, nil, r.positive(x)))
	default:
		r.push(b.Op(op, nil, x))
	}
}

func (r *rgen) binary() {
	b := r.b
	x := r.pick(nil)
	y := r.partner(x)
	if r.rng.IntN(2) == 0 {
		x, y = y, x
	}
	switch op := randBinary[r.rng.IntN(len(randBinary))]; op {
	case "div":
		r.push(b.Div(x, r.positive(y)))
	case "pow":
		r.push(b.Op(op, nil, r.positive(x), b.Op("tanh", nil, y)))
	case "bce_logits":
		r.push(b.Op(op, nil, x, b.Op("sigmoid", nil, y)))
	case "select":
		s, _ := ir.Broadcast(x.Type.Shape, y.Type.Shape)
		cs := Ints(s)
		if len(cs) > 0 && r.rng.IntN(2) == 0 {
			cs[r.rng.IntN(len(cs))] = 1
		}
		c := ir.NewTensor(ir.F64, cs...)
		for i := range c.F {
			c.F[i] = float64(r.rng.IntN(2))
		}
		r.push(b.Select(r.newInput(c), x, y))
	default:
		r.push(b.Op(op, nil, x, y))
	}
}

func (r *rgen) reduce() {
	x := r.pick(func(v *ir.Value) bool { return rankOf(v) > 0 })
	if x == nil {
		return
	}
	op := randReduce[r.rng.IntN(len(randReduce))]
	if op == "softmax" || op == "log_softmax" {
		r.push(r.b.Op(op, ir.Attrs{"axis": r.rng.IntN(rankOf(x))}, x))
		return
	}
	var axes []int
	for len(axes) == 0 {
		axes = axes[:0]
		for i := range rankOf(x) {
			if r.rng.IntN(2) == 0 {
				axes = append(axes, i)
			}
		}
	}
	r.push(r.b.Op(op, ir.Attrs{"axes": axes, "keepdims": r.rng.IntN(2) == 0}, x))
}

func (r *rgen) matmul() {
	x := r.pick(func(v *ir.Value) bool { return rankOf(v) == 2 || rankOf(v) == 3 })
	if x == nil {
		return
	}
	ta, tb := r.rng.IntN(2) == 0, r.rng.IntN(2) == 0
	s := Ints(x.Type.Shape)
	rank := len(s)
	m, k := s[rank-2], s[rank-1]
	if ta {
		m, k = k, m
	}
	fits := func(v *ir.Value) bool {
		t := Ints(v.Type.Shape)
		if len(t) != rank || (rank == 3 && t[0] != s[0]) {
			return false
		}
		kk, n := t[rank-2], t[rank-1]
		if tb {
			kk, n = n, kk
		}
		return kk == k && numel(s[:rank-2])*m*n <= MaxElems
	}
	y := r.pick(fits)
	if y == nil || r.rng.IntN(3) == 0 {
		n := 1 + r.rng.IntN(4)
		want := []int{k, n}
		if tb {
			want = []int{n, k}
		}
		if rank == 3 {
			want = append([]int{s[0]}, want...)
		}
		y = r.newParam(want)
	}
	r.push(r.b.MatMul(x, y, ta, tb))
}

func (r *rgen) movement() {
	b := r.b
	x := r.pick(nil)
	s := Ints(x.Type.Shape)
	rank := len(s)
	switch randMove[r.rng.IntN(len(randMove))] {
	case "transpose":
		if rank < 2 {
			return
		}
		r.push(b.Op("transpose", ir.Attrs{"perm": r.rng.Perm(rank)}, x))
	case "reshape":
		n := numel(s)
		var t []int
		switch {
		case n > 1 && n%2 == 0 && r.rng.IntN(2) == 0:
			t = []int{2, n / 2}
		case r.rng.IntN(2) == 0:
			t = []int{n}
		default:
			t = append([]int{1}, s...)
		}
		r.push(b.Reshape(x, Shape(t)))
	case "slice":
		if rank == 0 {
			return
		}
		ax := r.rng.IntN(rank)
		if s[ax] < 2 {
			return
		}
		start := r.rng.IntN(s[ax] - 1)
		end := start + 1 + r.rng.IntN(s[ax]-start)
		r.push(b.Op("slice", ir.Attrs{"axis": ax, "start": start, "end": end}, x))
	case "pad":
		if rank == 0 {
			return
		}
		ax := r.rng.IntN(rank)
		bef, aft := r.rng.IntN(2), r.rng.IntN(2)
		if numel(s)/s[ax]*(s[ax]+bef+aft) > MaxElems {
			return
		}
		r.push(b.Op("pad", ir.Attrs{"axis": ax, "before": bef, "after": aft}, x))
	case "concat":
		if rank == 0 || 2*numel(s) > MaxElems {
			return
		}
		ax := r.rng.IntN(rank)
		y := r.pick(func(v *ir.Value) bool {
			t := Ints(v.Type.Shape)
			if len(t) != rank {
				return false
			}
			for i := range t {
				if i != ax && t[i] != s[i] {
					return false
				}
			}
			return numel(s)+numel(t) <= MaxElems
		})
		if y == nil {
			y = x // the same value twice: its two cotangents add up
		}
		r.push(b.Op("concat", ir.Attrs{"axis": ax}, x, y))
	case "broadcast_to":
		t := append([]int{2}, s...)
		for i := range s {
			if s[i] == 1 {
				t[i+1] = 1 + r.rng.IntN(3)
			}
		}
		if numel(t) > MaxElems {
			return
		}
		r.push(b.BroadcastTo(x, Shape(t)))
	case "gather":
		if rank == 0 {
			return
		}
		ax := r.rng.IntN(rank)
		n := 1 + r.rng.IntN(4)
		if numel(s)/s[ax]*n > MaxElems {
			return
		}
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(r.rng.IntN(s[ax])) // repeats are likely: cotangents must add up
		}
		r.push(b.Op("gather", ir.Attrs{"axis": ax}, x, r.newInput(ir.FromInts(idx, n))))
	}
}

// Graph draws the graph of seed (attempt counts the draws a caller
// rejected before: each attempt is another graph) and the values of its
// params and inputs: params uniform in [-1.5, 1.5), the objective's
// weights of magnitude in [0.5, 1.5) with random signs, select's
// conditions 0 or 1, gather's indices in range. It is deterministic.
func Graph(seed uint64, attempt int) (*ir.Graph, map[string]*ir.Tensor, error) {
	r := &rgen{rng: rand.New(rand.NewPCG(seed, uint64(attempt))), b: ir.NewBuilder(fmt.Sprintf("random%d", seed)), env: map[string]*ir.Tensor{}}
	for range 2 + r.rng.IntN(2) {
		r.newParam(r.randShape(1))
	}
	for range 4 + r.rng.IntN(12) {
		switch k := r.rng.IntN(20); {
		case k < 6:
			r.unary()
		case k < 11:
			r.binary()
		case k < 14:
			r.reduce()
		case k < 16:
			r.matmul()
		default:
			r.movement()
		}
	}
	// Objective: the last value and up to two others, each weighted by
	// fixed random weights, so several values (and params) feed it.
	last := r.pool[len(r.pool)-1]
	terms := []*ir.Value{last}
	for range r.rng.IntN(3) {
		if v := r.pick(nil); !slices.Contains(terms, v) {
			terms = append(terms, v)
		}
	}
	var obj *ir.Value
	for i, v := range terms {
		w := fmt.Sprintf("w%d", i)
		r.env[w] = SignedWeights(r.rng, Ints(v.Type.Shape)...)
		t := WeightedSum(r.b, v, w)
		if obj == nil {
			obj = t
		} else {
			obj = r.b.Add(obj, t)
		}
	}
	r.b.Graph().Objective = obj
	if err := r.b.Err(); err != nil {
		return nil, nil, err
	}
	return r.b.Graph(), r.env, ir.Verify(r.b.Graph())
}

// Shape is the static shape of dims.
func Shape(dims []int) ir.Shape {
	s := make(ir.Shape, len(dims))
	for i, d := range dims {
		s[i] = ir.Static(d)
	}
	return s
}

// Ints is the static shape s as ints.
func Ints(s ir.Shape) []int {
	r := make([]int, len(s))
	for i, d := range s {
		r[i] = d.N
	}
	return r
}

// Uniform is a float64 tensor of shape with entries uniform in [lo, hi).
func Uniform(rng *rand.Rand, lo, hi float64, shape ...int) *ir.Tensor {
	t := ir.NewTensor(ir.F64, shape...)
	for i := range t.F {
		t.F[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// SignedWeights is a float64 tensor whose entries have magnitude in
// [0.5, 1.5) and a random sign: a non-uniform cotangent with no entry near
// zero (so no gradient entry is accidentally tiny).
func SignedWeights(rng *rand.Rand, shape ...int) *ir.Tensor {
	t := ir.NewTensor(ir.F64, shape...)
	for i := range t.F {
		t.F[i] = 0.5 + rng.Float64()
		if rng.IntN(2) == 0 {
			t.F[i] = -t.F[i]
		}
	}
	return t
}

// AllAxes is [0, 1, ..., rank-1].
func AllAxes(rank int) []int {
	r := make([]int, rank)
	for i := range r {
		r[i] = i
	}
	return r
}

// WeightedSum appends sum(v * w) for a new input w of v's type: an
// objective whose cotangent for v is w, not uniform.
func WeightedSum(b *ir.Builder, v *ir.Value, wname string) *ir.Value {
	w := b.Input(wname, v.Type)
	return b.Sum(b.Mul(v, w), AllAxes(len(v.Type.Shape)), false)
}
