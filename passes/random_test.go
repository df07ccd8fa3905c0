package passes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// Random graphs: differentiable elementwise, reduce, matmul and movement
// ops on random shapes with broadcasting, values reused by several ops and
// several params, checked entry by entry against central finite
// differences (see checkRandomGradient): at gradTol relative, or within the
// differences' own round-off for entries too small to resolve that well.

const (
	randomGraphs   = 200
	maxElems       = 48   // no value has more elements (keeps finite differences cheap)
	kinkMargin     = 1e-3 // a kink (relu/abs at 0, max/min ties) at least this far from every argument value
	domainMargin   = 0.05 // inputs of log, sqrt, reciprocal, pow's base are at least this large
	magnitudeLimit = 1e3  // every value is at most this large in magnitude
	maxAttempts    = 50   // graphs drawn per seed before giving up

	// roundoffUnits is the error, in units of ε·max(1, |J|), with which
	// the interpreter computes an objective J: the rounding of each op
	// along the paths to J, accumulated (see roundoff). The largest error
	// beyond the gradTol term, over the first 3000 seeds, was 10 units (1.5
	// over the 200 the test draws); 32 leaves a margin of 3 and still
	// checks every entry above ~4e-7·max(1, |J|) to 1%.
	roundoffUnits = 32
)

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
	for numel(s) > maxElems {
		s[r.rng.IntN(len(s))] = 1
	}
	return s
}

func (r *rgen) newParam(shape []int) *ir.Value {
	name := fmt.Sprintf("p%d", r.params)
	r.params++
	v := r.b.Param(name, ir.T(ir.F64, shp(shape)), ir.Attrs{"init": "zeros"})
	r.env[name] = randTensor(r.rng, -1.5, 1.5, shape...)
	r.pool = append(r.pool, v)
	return v
}

// newInput declares a fixed input (not differentiated).
func (r *rgen) newInput(t *ir.Tensor) *ir.Value {
	name := fmt.Sprintf("c%d", r.inputs)
	r.inputs++
	r.env[name] = t
	return r.b.Input(name, ir.T(t.DType, shp(t.Shape)))
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
func sizeOf(v *ir.Value) int { return numel(shapeInts(v.Type.Shape)) }

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
			return err == nil && numel(shapeInts(s)) <= maxElems
		}); y != nil {
			return y
		}
	}
	s := shapeInts(xs)
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
		cs := shapeInts(s)
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
	s := shapeInts(x.Type.Shape)
	rank := len(s)
	m, k := s[rank-2], s[rank-1]
	if ta {
		m, k = k, m
	}
	fits := func(v *ir.Value) bool {
		t := shapeInts(v.Type.Shape)
		if len(t) != rank || (rank == 3 && t[0] != s[0]) {
			return false
		}
		kk, n := t[rank-2], t[rank-1]
		if tb {
			kk, n = n, kk
		}
		return kk == k && numel(s[:rank-2])*m*n <= maxElems
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
	s := shapeInts(x.Type.Shape)
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
		r.push(b.Reshape(x, shp(t)))
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
		if numel(s)/s[ax]*(s[ax]+bef+aft) > maxElems {
			return
		}
		r.push(b.Op("pad", ir.Attrs{"axis": ax, "before": bef, "after": aft}, x))
	case "concat":
		if rank == 0 || 2*numel(s) > maxElems {
			return
		}
		ax := r.rng.IntN(rank)
		y := r.pick(func(v *ir.Value) bool {
			t := shapeInts(v.Type.Shape)
			if len(t) != rank {
				return false
			}
			for i := range t {
				if i != ax && t[i] != s[i] {
					return false
				}
			}
			return numel(s)+numel(t) <= maxElems
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
		if numel(t) > maxElems {
			return
		}
		r.push(b.BroadcastTo(x, shp(t)))
	case "gather":
		if rank == 0 {
			return
		}
		ax := r.rng.IntN(rank)
		n := 1 + r.rng.IntN(4)
		if numel(s)/s[ax]*n > maxElems {
			return
		}
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(r.rng.IntN(s[ax])) // repeats are likely: cotangents must add up
		}
		r.push(b.Op("gather", ir.Attrs{"axis": ax}, x, r.newInput(ir.FromInts(idx, n))))
	}
}

// randomGraph draws a graph for seed (attempt counts rejected draws).
func randomGraph(seed uint64, attempt int) (*ir.Graph, map[string]*ir.Tensor, error) {
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
		r.env[w] = signedWeights(r.rng, shapeInts(v.Type.Shape)...)
		t := weightedSum(r.b, v, w)
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

// suitable rejects a graph whose forward values come within kinkMargin of
// a kink, leave the safe domain, or grow too large: there finite
// differences are not a valid reference.
func suitable(g *ir.Graph, env map[string]*ir.Tensor) error {
	res, err := ir.Interp(g, ir.Env{Inputs: env})
	if err != nil {
		return err
	}
	val := func(v *ir.Value) *ir.Tensor { return res.Values[v.ID] }
	for _, v := range g.Values {
		t := val(v)
		for _, x := range t.F {
			if math.IsNaN(x) || math.Abs(x) > magnitudeLimit {
				return fmt.Errorf("%s: value %g", v.Ref(), x)
			}
		}
		switch v.Op {
		case ir.OpReLU, ir.OpAbs, ir.OpLeakyReLU:
			for _, x := range val(v.Args[0]).F {
				if math.Abs(x) < kinkMargin {
					return fmt.Errorf("%s: %s at %g", v.Ref(), v.Op.Name, x)
				}
			}
		case ir.OpLog, ir.OpSqrt, ir.OpReciprocal, ir.OpPowC:
			for _, x := range val(v.Args[0]).F {
				if x < domainMargin {
					return fmt.Errorf("%s: %s at %g", v.Ref(), v.Op.Name, x)
				}
			}
		case ir.OpMaximum, ir.OpMinimum:
			// |x − y| elementwise over the broadcast shape, via the interpreter.
			b := ir.NewBuilder("gap")
			x := b.Input("x", ir.T(ir.F64, v.Args[0].Type.Shape))
			y := b.Input("y", ir.T(ir.F64, v.Args[1].Type.Shape))
			b.Graph().AddOutput("d", b.Op("abs", nil, b.Sub(x, y)))
			r, err := ir.Interp(b.Graph(), ir.Env{Inputs: map[string]*ir.Tensor{"x": val(v.Args[0]), "y": val(v.Args[1])}})
			if err != nil {
				return err
			}
			for _, d := range r.Outputs["d"].F {
				if d < kinkMargin {
					return fmt.Errorf("%s: %s tie (gap %g)", v.Ref(), v.Op.Name, d)
				}
			}
		case ir.OpMax, ir.OpMin:
			// The runner-up of each group is at least kinkMargin away from the extreme.
			x := val(v.Args[0])
			if err := checkReduceTies(x, v.Attrs.Ints("axes"), v.Op == ir.OpMax); err != nil {
				return fmt.Errorf("%s: %v", v.Ref(), err)
			}
		}
	}
	return nil
}

// checkReduceTies reports an error if, in some group of x reduced over
// axes, the two most extreme elements are within kinkMargin.
func checkReduceTies(x *ir.Tensor, axes []int, isMax bool) error {
	groups := map[int][]float64{}
	idx := make([]int, len(x.Shape))
	for k := range x.F {
		rem := k
		for d := len(x.Shape) - 1; d >= 0; d-- {
			idx[d] = rem % x.Shape[d]
			rem /= x.Shape[d]
		}
		key := 0
		for d := range x.Shape {
			if !slices.Contains(axes, d) {
				key = key*x.Shape[d] + idx[d]
			}
		}
		groups[key] = append(groups[key], x.F[k])
	}
	for _, vals := range groups {
		slices.Sort(vals)
		if len(vals) < 2 {
			continue
		}
		gap := vals[len(vals)-1] - vals[len(vals)-2]
		if !isMax {
			gap = vals[1] - vals[0]
		}
		if gap < kinkMargin {
			return fmt.Errorf("near-tie (gap %g) in a %s reduction", gap, map[bool]string{true: "max", false: "min"}[isMax])
		}
	}
	return nil
}

// fdGradient is the central finite-difference gradient of the objective
// with respect to every param, at gradcheck's default step for each param
// (h = DefaultStep·max(1, max|p|)), and the objective J.
func fdGradient(g *ir.Graph, env map[string]*ir.Tensor) (grads map[string][]float64, steps map[string]float64, J float64) {
	obj := func() float64 {
		res, err := ir.Interp(g, ir.Env{Inputs: env})
		if err != nil {
			panic(err)
		}
		return res.Objective.Scalar()
	}
	J = obj()
	grads, steps = map[string][]float64{}, map[string]float64{}
	for _, p := range g.Params() {
		orig := env[p.Name]
		scale := 1.0
		for _, x := range orig.F {
			scale = math.Max(scale, math.Abs(x))
		}
		h := gradcheck.DefaultStep * scale
		d := make([]float64, len(orig.F))
		for i := range orig.F {
			t := orig.Clone()
			t.F[i] = orig.F[i] + h
			env[p.Name] = t
			fp := obj()
			t.F[i] = orig.F[i] - h
			fm := obj()
			env[p.Name] = orig
			d[i] = (fp - fm) / (2 * h)
		}
		grads[p.Name], steps[p.Name] = d, h
	}
	return grads, steps, J
}

// roundoff is the bound on the round-off error of a central difference
// at step h of an objective of value J: (J(x+h) − J(x−h))/2h carries the
// float64 errors of the two evaluations of J divided by 2h, each about
// roundoffUnits·ε·max(1, |J|) with ε = 2⁻⁵³.
func roundoff(J, h float64) float64 {
	return roundoffUnits * 0x1p-53 * math.Max(1, math.Abs(J)) / h
}

// checkRandomGradient compares the gradient passes.Grad computes (the
// joint graph under ir.Interp) with central finite differences, entry by
// entry:
//
//	|analytic − numeric| ≤ gradTol·max(|analytic|, |numeric|) + roundoff(J, h)
//
// The relative term decides for entries of order one; the absolute
// round-off term for entries too small for finite differences to resolve
// to gradTol (below ~roundoff/gradTol), which are still checked to the
// precision finite differences have. The truncation error h²|∂³J|/6 is
// ~1e-12 at h = 1e-6 and left out.
func checkRandomGradient(p *gradProblem) error {
	fd, steps, J := fdGradient(p.g, p.env)
	analytic := p.grads(p.env)
	var errs []string
	for _, l := range p.leaves {
		a, d, bound := analytic[l.Name].F, fd[l.Name], roundoff(J, steps[l.Name])
		for i := range d {
			if diff := math.Abs(a[i] - d[i]); !(diff <= gradTol*math.Max(math.Abs(a[i]), math.Abs(d[i]))+bound) {
				errs = append(errs, fmt.Sprintf("∂J/∂%s[%d]: analytic %.10g, finite differences %.10g (difference %.3g; round-off bound %.3g)", l.Name, i, a[i], d[i], diff, bound))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the gradient disagrees with finite differences (J = %.6g):\n  %s", J, strings.Join(errs, "\n  "))
	}
	return nil
}

// checkable reports an error if no entry of the finite-difference
// gradient stands out of the round-off bound: the objective is constant
// up to round-off and there is nothing to check.
func checkable(g *ir.Graph, env map[string]*ir.Tensor) error {
	fd, steps, J := fdGradient(g, env)
	for name, d := range fd {
		for _, x := range d {
			if math.Abs(x) > roundoff(J, steps[name])/gradTol {
				return nil
			}
		}
	}
	return fmt.Errorf("the objective is constant up to round-off (J = %.3g)", J)
}

// drawSuitable draws graphs for seed until one is suitable.
func drawSuitable(seed uint64) (*ir.Graph, map[string]*ir.Tensor, int, error) {
	var last error
	for attempt := range maxAttempts {
		g, env, err := randomGraph(seed, attempt)
		if err != nil {
			return nil, nil, attempt, fmt.Errorf("building the graph: %v", err) // a generator bug
		}
		if err := suitable(g, env); err != nil {
			last = err
			continue
		}
		if err := checkable(g, env); err != nil {
			last = err
			continue
		}
		return g, env, attempt, nil
	}
	return nil, nil, maxAttempts, fmt.Errorf("no suitable graph in %d attempts; last: %v", maxAttempts, last)
}

func TestRandomGraphGradients(t *testing.T) {
	rejected := 0
	ops := map[string]int{}
	for seed := range uint64(randomGraphs) {
		g, env, attempts, err := drawSuitable(seed)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			continue
		}
		rejected += attempts
		for _, v := range g.Values {
			ops[v.Op.Name]++
		}
		p, err := newGradProblem(g, nil, env, nil)
		if err != nil {
			t.Errorf("seed %d: passes.Grad: %v\ngraph:\n%s", seed, err, ir.Print(g))
			continue
		}
		if err := checkRandomGradient(p); err != nil {
			t.Errorf("seed %d: %v\ngraph:\n%s", seed, err, ir.Print(g))
		}
	}
	t.Logf("%d graphs (%d draws rejected: near kinks or domain edges, or constant up to round-off); ops used: %v", randomGraphs, rejected, ops)
}

// TestRandomGraphsDeterministic: a seed always gives the same graph.
func TestRandomGraphGradientsDeterministic(t *testing.T) {
	for _, seed := range []uint64{0, 17, 199} {
		g1, _, _, err1 := drawSuitable(seed)
		g2, _, _, err2 := drawSuitable(seed)
		if err1 != nil || err2 != nil {
			t.Fatalf("seed %d: %v, %v", seed, err1, err2)
		}
		if a, b := ir.Print(g1), ir.Print(g2); a != b {
			t.Errorf("seed %d gives two different graphs:\n%s\n%s", seed, a, b)
		}
	}
}
