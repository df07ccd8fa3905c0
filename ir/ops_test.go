package ir_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// This file walks the whole op table: every registered op must have an
// entry in opCases, which checks its shape rule (on symbolic shapes too,
// and on at least one wrong case) and compares ir.Interp against an
// independent computation (plain loops and the math package, never the
// op's own formula or evaluator) in float32 and float64.

// Tolerances of the interpreter against the float64 references.
const (
	// relTol32: the interpreter computes each op in float64 and rounds the
	// result to float32 once (half an ulp, 2⁻²⁴ relative); references that
	// use a different but equivalent formula (softplus, sigmoid, bce) add a
	// few float64 ulps. Four float32 ulps covers both.
	relTol32 = 4.0 / (1 << 23)
	// relTol64: float64 results differ from the reference only by the
	// rounding of equivalent float64 formulas: a few float64 ulps, with
	// ample room.
	relTol64 = 1e-12
)

// testDims binds the symbolic dim n. 5 differs from every static size used
// in the cases, so a broadcast or stride bug cannot hide behind equal sizes.
var testDims = map[string]int{"n": 5}

func tolFor(d ir.DType) float64 {
	if d == ir.F32 {
		return relTol32
	}
	return relTol64
}

// gen draws one input element.
type gen func(r *rand.Rand) float64

func uniform(lo, hi float64) gen {
	return func(r *rand.Rand) float64 { return lo + (hi-lo)*r.Float64() }
}

func choice(vals ...float64) gen {
	return func(r *rand.Rand) float64 { return vals[r.IntN(len(vals))] }
}

var (
	anyReal  = uniform(-2, 2)
	positive = uniform(0.25, 3) // the domain of log, sqrt, reciprocal, pow's base
	ties     = choice(-1, 0, 0.5, 1, 1)
	boolish  = choice(0, 1, -2)
	unit     = uniform(0, 1) // probabilities, BCE targets
)

// opCase builds the test data of one op for the float dtype d.
type opCase func(d ir.DType) opTest

type opTest struct {
	shapes []shapeCase
	evals  []evalCase
}

// shapeCase checks InferType: the result type want, or an error containing err.
type shapeCase struct {
	args     []ir.Type
	attrs    ir.Attrs
	declared ir.Type
	want     ir.Type
	err      string
}

// evalCase runs the op in the interpreter on random arguments of the given
// types (graph inputs a0, a1, ...) and compares with ref.
type evalCase struct {
	name     string
	args     []ir.Type
	gens     []gen // per argument; default anyReal (i32 arguments: truncated)
	attrs    ir.Attrs
	declared ir.Type
	self     gen // for input/param: the op's own value is bound with these values and passed to ref last
	training bool
	setup    func(g *ir.Graph)                // adds what the op refers to (custom_vjp's backward func)
	ref      func(in []*ir.Tensor) *ir.Tensor // unrounded float64 (or int32) expected result
	check    func(t *testing.T, got *ir.Tensor)
}

func TestOpRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range ir.Ops() {
		seen[op.Name] = true
		build, ok := opCases[op.Name]
		if !ok {
			t.Errorf("op %s has no test data: add it to opCases", op.Name)
			continue
		}
		t.Run(op.Name, func(t *testing.T) {
			for _, d := range []ir.DType{ir.F32, ir.F64} {
				t.Run(d.String(), func(t *testing.T) {
					tc := build(d)
					checkCoverage(t, tc)
					for i, sc := range tc.shapes {
						checkShape(t, op, i, sc)
					}
					for i, ec := range tc.evals {
						name := ec.name
						if name == "" {
							name = fmt.Sprint(i)
						}
						t.Run(name, func(t *testing.T) { runEval(t, op, d, ec, uint64(i)) })
					}
				})
			}
		})
	}
	for name := range opCases {
		if !seen[name] {
			t.Errorf("opCases has data for %s, which is not a registered op", name)
		}
	}
}

// checkCoverage insists every op's data has a symbolic-dim shape case, a
// wrong case and an interpreter case.
func checkCoverage(t *testing.T, tc opTest) {
	t.Helper()
	var sym, bad bool
	for _, sc := range tc.shapes {
		for _, a := range append(slices.Clone(sc.args), sc.declared, ir.Type{Shape: sc.attrs.Shape("shape")}) {
			if len(a.Shape.Syms()) > 0 {
				sym = true
			}
		}
		if sc.err != "" {
			bad = true
		}
	}
	if !sym {
		t.Error("no shape case with a symbolic dim")
	}
	if !bad {
		t.Error("no shape case that must fail")
	}
	if len(tc.evals) == 0 {
		t.Error("no interpreter case")
	}
}

func checkShape(t *testing.T, op *ir.OpDef, i int, sc shapeCase) {
	t.Helper()
	got, err := ir.InferType(op, sc.args, sc.attrs, sc.declared)
	call := fmt.Sprintf("shape case %d: %s%v %v", i, op.Name, sc.args, sc.attrs)
	switch {
	case sc.err != "" && err == nil:
		t.Errorf("%s = %v, want an error containing %q", call, got, sc.err)
	case sc.err != "" && !strings.Contains(err.Error(), sc.err):
		t.Errorf("%s: error %q, want it to contain %q", call, err, sc.err)
	case sc.err == "" && err != nil:
		t.Errorf("%s: unexpected error %v", call, err)
	case sc.err == "" && !got.Equal(sc.want):
		t.Errorf("%s = %v, want %v", call, got, sc.want)
	}
}

func runEval(t *testing.T, op *ir.OpDef, d ir.DType, ec evalCase, seed uint64) {
	r := rand.New(rand.NewPCG(seed, uint64(d)))
	g, v, inputs, ins := buildOpGraph(t, op, ec, r)
	if t.Failed() {
		return
	}
	checkRoundTrip(t, g)
	res, err := ir.Interp(g, ir.Env{Dims: testDims, Inputs: inputs, Training: ec.training, Step: 3, Seed: 42})
	if err != nil {
		t.Fatalf("Interp: %v\n%s", err, g)
	}
	got := res.Outputs["out"]
	if want, _ := v.Type.Shape.Eval(testDims); !slices.Equal(got.Shape, want) || got.DType != v.Type.DType {
		t.Fatalf("result is %v%v, want %v%v", got.DType, got.Shape, v.Type.DType, want)
	}
	if ec.check != nil {
		ec.check(t, got)
	}
	if ec.ref != nil {
		compareTensors(t, got, ec.ref(ins), tolFor(d), ins)
	}
}

// buildOpGraph makes a graph of the op applied to fresh inputs, with its
// result as output "out", and random values for the inputs.
func buildOpGraph(t testing.TB, op *ir.OpDef, ec evalCase, r *rand.Rand) (*ir.Graph, *ir.Value, map[string]*ir.Tensor, []*ir.Tensor) {
	t.Helper()
	b := ir.NewBuilder("test." + op.Name)
	b.Graph().AddDim("n")
	if ec.setup != nil {
		ec.setup(b.Graph())
	}
	b.Pos = ir.Pos{File: "ops_test.go", Line: 1}
	inputs := map[string]*ir.Tensor{}
	var args []*ir.Value
	var ins []*ir.Tensor
	for i, at := range ec.args {
		name := fmt.Sprintf("a%d", i)
		args = append(args, b.Input(name, at))
		gn := anyReal
		if i < len(ec.gens) && ec.gens[i] != nil {
			gn = ec.gens[i]
		}
		x := randomTensor(r, at, gn)
		inputs[name] = x
		ins = append(ins, x)
	}
	var v *ir.Value
	if op.Declared {
		v = b.Declared(op.Name, ec.declared, ec.attrs, args...)
	} else {
		v = b.Op(op.Name, ec.attrs, args...)
	}
	if ec.self != nil {
		ir.Named(v, "self")
		x := randomTensor(r, ec.declared, ec.self)
		inputs["self"] = x
		ins = append(ins, x)
	}
	if err := b.Err(); err != nil {
		t.Fatalf("building %s%v %v: %v", op.Name, ec.args, ec.attrs, err)
	}
	b.Graph().AddOutput("out", v)
	if err := ir.Verify(b.Graph()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return b.Graph(), v, inputs, ins
}

func randomTensor(r *rand.Rand, ty ir.Type, gn gen) *ir.Tensor {
	shape, err := ty.Shape.Eval(testDims)
	if err != nil {
		panic(err)
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if ty.DType == ir.I32 {
		data := make([]int32, n)
		for i := range data {
			data[i] = int32(math.Floor(gn(r)))
		}
		return ir.FromInts(data, shape...)
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = gn(r)
	}
	return ir.FromFloats(ty.DType, data, shape...)
}

// closeTo reports whether got is want within the relative tolerance tol;
// below magnitude 1 the tolerance is absolute, since inputs are O(1) and
// so are the rounding errors of any formula over them.
func closeTo(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= tol*max(math.Abs(want), 1)
}

func compareTensors(t *testing.T, got, want *ir.Tensor, tol float64, ins []*ir.Tensor) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) || got.DType != want.DType {
		t.Fatalf("got %v%v, reference is %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	bad := 0
	for i := range got.Len() {
		if got.DType == ir.I32 {
			if got.I[i] != want.I[i] {
				t.Errorf("element %d = %d, want %d", i, got.I[i], want.I[i])
				bad++
			}
		} else if !closeTo(got.F[i], want.F[i], tol) {
			t.Errorf("element %d = %.17g, want %.17g (diff %.3g)", i, got.F[i], want.F[i], got.F[i]-want.F[i])
			bad++
		}
		if bad > 5 {
			break
		}
	}
	if bad > 0 {
		for i, x := range ins {
			t.Logf("argument %d: %v %v %v", i, x.Shape, x.F, x.I)
		}
	}
}

// References. Each walks the output's multi-indices with plain loops.

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// index decodes flat index k (row-major) into a multi-index of shape.
func index(k int, shape []int) []int {
	idx := make([]int, len(shape))
	for j := len(shape) - 1; j >= 0; j-- {
		idx[j] = k % shape[j]
		k /= shape[j]
	}
	return idx
}

// flat encodes a multi-index of shape row-major.
func flat(idx, shape []int) int {
	k := 0
	for j := range shape {
		k = k*shape[j] + idx[j]
	}
	return k
}

// refElementwise applies f at every index of the NumPy broadcast of the
// arguments' shapes: aligned on the right, a dim of size 1 repeats.
func refElementwise(d ir.DType, f func(x []float64) float64) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		rank := 0
		for _, a := range in {
			rank = max(rank, len(a.Shape))
		}
		out := make([]int, rank)
		for k := range out {
			out[k] = 1
		}
		for _, a := range in {
			for j, n := range a.Shape {
				if n != 1 {
					out[rank-len(a.Shape)+j] = n
				}
			}
		}
		res := ir.NewTensor(d, out...)
		xs := make([]float64, len(in))
		for k := range res.Len() {
			idx := index(k, out)
			for i, a := range in {
				ai := make([]int, len(a.Shape))
				for j, n := range a.Shape {
					if n != 1 {
						ai[j] = idx[rank-len(a.Shape)+j]
					}
				}
				xs[i] = a.At(flat(ai, a.Shape))
			}
			res.F[k] = f(xs)
		}
		return res
	}
}

// reduceGroups collects x's elements by their index with axes dropped:
// keep is the keepdims shape, group[k] the group of element k.
func reduceGroups(x *ir.Tensor, axes []int) (keep []int, vals [][]float64, group []int) {
	keep = slices.Clone(x.Shape)
	for _, a := range axes {
		keep[a] = 1
	}
	vals = make([][]float64, numel(keep))
	group = make([]int, x.Len())
	for k := range x.Len() {
		idx := index(k, x.Shape)
		for _, a := range axes {
			idx[a] = 0
		}
		o := flat(idx, keep)
		vals[o] = append(vals[o], x.F[k])
		group[k] = o
	}
	return keep, vals, group
}

func refReduce(d ir.DType, axes []int, keepdims bool, fold func(v []float64) float64) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		keep, vals, _ := reduceGroups(in[0], axes)
		shape := keep
		if !keepdims {
			shape = nil
			for j, s := range in[0].Shape {
				if !slices.Contains(axes, j) {
					shape = append(shape, s)
				}
			}
		}
		res := ir.NewTensor(d, shape...)
		for o, v := range vals {
			res.F[o] = fold(v)
		}
		return res
	}
}

func foldSum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func foldMean(v []float64) float64 { return foldSum(v) / float64(len(v)) }

func foldMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

func foldMin(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		if x < m {
			m = x
		}
	}
	return m
}

// lseRef is log Σ exp(v) by the max-shift trick.
func lseRef(v []float64) float64 {
	m := foldMax(v)
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// refAlongAxis applies f to each 1-D slice of x along axis, writing the
// results back in place of the slice.
func refAlongAxis(d ir.DType, axis int, f func(v []float64) []float64) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x := in[0]
		_, vals, group := reduceGroups(x, []int{axis})
		outs := make([][]float64, len(vals))
		for o, v := range vals {
			outs[o] = f(v)
		}
		res := ir.NewTensor(d, x.Shape...)
		pos := make([]int, len(vals))
		for k, o := range group {
			res.F[k] = outs[o][pos[o]]
			pos[o]++
		}
		return res
	}
}

func softmaxRef(v []float64) []float64 {
	m := foldMax(v)
	r := make([]float64, len(v))
	s := 0.0
	for i, x := range v {
		r[i] = math.Exp(x - m)
		s += r[i]
	}
	for i := range r {
		r[i] /= s
	}
	return r
}

func logSoftmaxRef(v []float64) []float64 {
	l := lseRef(v)
	r := make([]float64, len(v))
	for i, x := range v {
		r[i] = x - l
	}
	return r
}

func refMatMul(d ir.DType, ta, tb bool) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x, y := in[0], in[1]
		rx, ry := len(x.Shape), len(y.Shape)
		// at reads element (batch index bidx, aligned from the right, then
		// row i, column j of op(t)) of t, as if t were broadcast.
		at := func(t *ir.Tensor, trans bool, bidx []int, i, j int) float64 {
			r := len(t.Shape)
			if trans {
				i, j = j, i
			}
			idx := make([]int, r)
			for a := 0; a < r-2; a++ {
				idx[a] = bidx[len(bidx)-(r-2)+a]
				if t.Shape[a] == 1 {
					idx[a] = 0
				}
			}
			idx[r-2], idx[r-1] = i, j
			flat := 0
			for a := range r {
				flat = flat*t.Shape[a] + idx[a]
			}
			return t.F[flat]
		}
		m, k := x.Shape[rx-2], x.Shape[rx-1]
		if ta {
			m, k = k, m
		}
		n := y.Shape[ry-1]
		if tb {
			n = y.Shape[ry-2]
		}
		nb := max(rx, ry) - 2
		bshape := make([]int, nb)
		for a := range nb {
			bshape[a] = 1
			if j := rx - 2 - nb + a; j >= 0 {
				bshape[a] = max(bshape[a], x.Shape[j])
			}
			if j := ry - 2 - nb + a; j >= 0 {
				bshape[a] = max(bshape[a], y.Shape[j])
			}
		}
		res := ir.NewTensor(d, append(append([]int{}, bshape...), m, n)...)
		bidx := make([]int, nb)
		for o := range res.F {
			rest := o / (m * n)
			for a := nb - 1; a >= 0; a-- {
				bidx[a] = rest % bshape[a]
				rest /= bshape[a]
			}
			i, j := o/n%m, o%n
			s := 0.0
			for l := range k {
				s += at(x, ta, bidx, i, l) * at(y, tb, bidx, l, j)
			}
			res.F[o] = s
		}
		return res
	}
}

func sigmoidRef(x float64) float64 { return math.Exp(x) / (1 + math.Exp(x)) }

// tt builds a type of dtype d; dims are ints or symbolic names.
func tt(d ir.DType, dims ...any) ir.Type { return ir.T(d, ir.S(dims...)) }

// otherFloat is the float dtype that is not d.
func otherFloat(d ir.DType) ir.DType {
	if d == ir.F32 {
		return ir.F64
	}
	return ir.F32
}

// ewiseSpec describes an elementwise op's test: its reference scalar
// function, per-argument generators and attributes.
type ewiseSpec struct {
	arity int
	f     func(x []float64) float64
	gens  []gen
	attrs ir.Attrs
}

// ewise is the test of an elementwise op: the broadcasting shape rule, and
// the interpreter on broadcast shapes (including symbolic ones and scalars).
func ewise(s ewiseSpec) opCase {
	return func(d ir.DType) opTest {
		T := func(dims ...any) ir.Type { return tt(d, dims...) }
		var shapes []shapeCase
		var argSets [][]ir.Type
		switch s.arity {
		case 1:
			shapes = []shapeCase{
				{args: []ir.Type{T("n", 3)}, want: T("n", 3)},
				{args: []ir.Type{T()}, want: T()},
				{args: []ir.Type{tt(ir.I32, "n")}, err: "want a float type"},
			}
			argSets = [][]ir.Type{{T("n", 3)}, {T()}, {T(2, 1, 3)}}
		case 2:
			shapes = []shapeCase{
				{args: []ir.Type{T("n", 3), T(3)}, want: T("n", 3)},
				{args: []ir.Type{T(3, 1), T(1, 4)}, want: T(3, 4)},
				{args: []ir.Type{T(), T(2, 3)}, want: T(2, 3)},
				{args: []ir.Type{T("n", 1), T(1, "n")}, want: T("n", "n")},
				{args: []ir.Type{T("n", 3), T(4)}, err: "do not broadcast"},
				{args: []ir.Type{T("n", 3), T(3, "n")}, err: "do not broadcast"},
				{args: []ir.Type{T(3), tt(otherFloat(d), 3)}, err: "dtypes differ"},
				{args: []ir.Type{T(3), tt(ir.I32, 3)}, err: "want a float type"},
			}
			argSets = [][]ir.Type{
				{T("n", 3), T(3)},
				{T(3, 4), T(4)},
				{T(3, 1), T(1, 4)},
				{T(), T(2, 3)},
				{T(2, 3), T()},
				{T("n", 1, 4), T(3, 1)},
			}
		case 3:
			shapes = []shapeCase{
				{args: []ir.Type{T("n", 3), T(3), T()}, want: T("n", 3)},
				{args: []ir.Type{T(3, 1), T(1, 4), T(4)}, want: T(3, 4)},
				{args: []ir.Type{T("n", 3), T(3), T(2)}, err: "do not broadcast"},
				{args: []ir.Type{T(3), T(3), tt(otherFloat(d), 3)}, err: "dtypes differ"},
			}
			argSets = [][]ir.Type{
				{T("n", 3), T(3), T()},
				{T(3, 1), T(1, 4), T(4)},
				{T(), T(2, 3), T(2, 1)},
				{T(3, 4), T(3, 4), T(3, 4)},
			}
		}
		for i := range shapes {
			shapes[i].attrs = s.attrs
		}
		var evals []evalCase
		for _, as := range argSets {
			evals = append(evals, evalCase{name: fmt.Sprint(as), args: as, gens: s.gens, attrs: s.attrs, ref: refElementwise(d, s.f)})
		}
		return opTest{shapes: shapes, evals: evals}
	}
}

func unaryCase(f func(x float64) float64, g gen) opCase {
	return ewise(ewiseSpec{arity: 1, f: func(x []float64) float64 { return f(x[0]) }, gens: []gen{g}})
}

func binaryCase(f func(x, y float64) float64, gx, gy gen) opCase {
	return ewise(ewiseSpec{arity: 2, f: func(x []float64) float64 { return f(x[0], x[1]) }, gens: []gen{gx, gy}})
}

func truth(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func reduceCase(fold func([]float64) float64, g gen) opCase {
	return func(d ir.DType) opTest {
		ax := func(keep bool, axes ...int) ir.Attrs { return ir.Attrs{"axes": axes, "keepdims": keep} }
		var evals []evalCase
		for _, c := range []struct {
			axes []int
			keep bool
		}{{[]int{1}, false}, {[]int{1}, true}, {[]int{0, 2}, false}, {[]int{0, 1, 2}, false}, {[]int{2, 0}, true}} {
			evals = append(evals, evalCase{
				name: fmt.Sprintf("axes%v keep%v", c.axes, c.keep), args: []ir.Type{tt(d, "n", 3, 4)}, gens: []gen{g},
				attrs: ax(c.keep, c.axes...), ref: refReduce(d, c.axes, c.keep, fold)})
		}
		return opTest{
			shapes: []shapeCase{
				{args: []ir.Type{tt(d, "n", 3, 4)}, attrs: ax(false, 1), want: tt(d, "n", 4)},
				{args: []ir.Type{tt(d, "n", 3, 4)}, attrs: ax(true, 0, 2), want: tt(d, 1, 3, 1)},
				{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 0, 1), want: tt(d)},
				{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 2), err: "axis 2 is out of range for rank 2"},
				{args: []ir.Type{tt(d, "n", 3)}, attrs: ax(false, 1, 1), err: "axis 1 is repeated"},
				{args: []ir.Type{tt(ir.I32, "n", 3)}, attrs: ax(false, 1), err: "want a float type"},
			},
			evals: evals,
		}
	}
}

func axisCase(f func(v []float64) []float64) opCase {
	return func(d ir.DType) opTest {
		return opTest{
			shapes: []shapeCase{
				{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 1}, want: tt(d, "n", 4)},
				{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 2}, err: "axis 2 is out of range for rank 2"},
				{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": -1}, err: "out of range"},
			},
			evals: []evalCase{
				{name: "last", args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 1}, ref: refAlongAxis(d, 1, f)},
				{name: "first", args: []ir.Type{tt(d, 3, "n")}, attrs: ir.Attrs{"axis": 0}, ref: refAlongAxis(d, 0, f)},
				{name: "middle", args: []ir.Type{tt(d, 2, 3, 4)}, gens: []gen{uniform(-30, 30)}, attrs: ir.Attrs{"axis": 1}, ref: refAlongAxis(d, 1, f)},
			},
		}
	}
}

func identity(in []*ir.Tensor) *ir.Tensor { return in[len(in)-1] }

// opCases holds the test data of every registered op.
var opCases = map[string]opCase{
	"neg":        unaryCase(func(x float64) float64 { return -x }, anyReal),
	"abs":        unaryCase(math.Abs, ties),
	"sign":       unaryCase(func(x float64) float64 { return truth(x > 0) - truth(x < 0) }, ties),
	"exp":        unaryCase(math.Exp, anyReal),
	"log":        unaryCase(math.Log, positive),
	"log1p":      unaryCase(math.Log1p, positive),
	"sqrt":       unaryCase(math.Sqrt, positive),
	"square":     unaryCase(func(x float64) float64 { return math.Pow(x, 2) }, anyReal),
	"reciprocal": unaryCase(func(x float64) float64 { return math.Pow(x, -1) }, positive),
	"tanh":       unaryCase(func(x float64) float64 { return (math.Exp(2*x) - 1) / (math.Exp(2*x) + 1) }, anyReal),
	"sigmoid":    unaryCase(sigmoidRef, uniform(-6, 6)),
	"relu": unaryCase(func(x float64) float64 {
		if x > 0 {
			return x
		}
		return 0
	}, ties),
	"leaky_relu": ewise(ewiseSpec{arity: 1, attrs: ir.Attrs{"alpha": 0.1}, gens: []gen{anyReal}, f: func(x []float64) float64 {
		if x[0] > 0 {
			return x[0]
		}
		return 0.1 * x[0]
	}}),
	"softplus":      unaryCase(func(x float64) float64 { return math.Log(1 + math.Exp(x)) }, uniform(-6, 6)),
	"sin":           unaryCase(math.Sin, uniform(-4, 4)),
	"cos":           unaryCase(math.Cos, uniform(-4, 4)),
	"powc":          ewise(ewiseSpec{arity: 1, attrs: ir.Attrs{"p": -1.5}, gens: []gen{positive}, f: func(x []float64) float64 { return 1 / (x[0] * math.Sqrt(x[0])) }}),
	"stop_gradient": unaryCase(func(x float64) float64 { return x }, anyReal),
	"convert":       convertCase,

	"add":     binaryCase(func(x, y float64) float64 { return x + y }, anyReal, anyReal),
	"sub":     binaryCase(func(x, y float64) float64 { return x - y }, anyReal, anyReal),
	"mul":     binaryCase(func(x, y float64) float64 { return x * y }, anyReal, anyReal),
	"div":     binaryCase(func(x, y float64) float64 { return x * math.Pow(y, -1) }, anyReal, positive),
	"maximum": binaryCase(math.Max, ties, ties),
	"minimum": binaryCase(math.Min, ties, ties),
	"pow":     binaryCase(func(x, y float64) float64 { return math.Exp(y * math.Log(x)) }, positive, anyReal),
	"eq":      binaryCase(func(x, y float64) float64 { return truth(x == y) }, ties, ties),
	"ne":      binaryCase(func(x, y float64) float64 { return truth(x != y) }, ties, ties),
	"lt":      binaryCase(func(x, y float64) float64 { return truth(x < y) }, ties, ties),
	"le":      binaryCase(func(x, y float64) float64 { return truth(x <= y) }, ties, ties),
	"gt":      binaryCase(func(x, y float64) float64 { return truth(x > y) }, ties, ties),
	"ge":      binaryCase(func(x, y float64) float64 { return truth(x >= y) }, ties, ties),
	"select": ewise(ewiseSpec{arity: 3, gens: []gen{boolish, anyReal, anyReal}, f: func(x []float64) float64 {
		if x[0] != 0 {
			return x[1]
		}
		return x[2]
	}}),
	// The textbook definition −y·log σ(x) − (1−y)·log(1−σ(x)), fine for |x| ≤ 6.
	"bce_logits": binaryCase(func(x, y float64) float64 {
		return -y*math.Log(sigmoidRef(x)) - (1-y)*math.Log(1-sigmoidRef(x))
	}, uniform(-6, 6), unit),

	"matmul":       matmulCase,
	"reshape":      reshapeCase,
	"transpose":    transposeCase,
	"broadcast_to": broadcastToCase,
	"slice":        sliceCase,
	"pad":          padCase,
	"concat":       concatCase,
	"onehot":       onehotCase,
	"gather":       gatherCase,
	"scatter_add":  scatterAddCase,

	"sum":          reduceCase(foldSum, anyReal),
	"mean":         reduceCase(foldMean, anyReal),
	"max":          reduceCase(foldMax, ties),
	"min":          reduceCase(foldMin, ties),
	"logsumexp":    reduceCase(lseRef, uniform(-30, 30)),
	"softmax":      axisCase(softmaxRef),
	"log_softmax":  axisCase(logSoftmaxRef),
	"argmax":       argmaxCase,
	"softmax_xent": softmaxXentCase,

	"input":        inputCase,
	"param":        paramCase,
	"const":        constCase,
	"numel":        numelCase,
	"dropout_mask": dropoutMaskCase,

	"extern":     externCase,
	"extern_vjp": externVJPCase,
	"custom_vjp": customVJPCase,
}

// Extern functions for the interpreter, as a user package would register them.
func init() {
	ir.RegisterExtern("bpgen.test/ext.Cube", func(out []float64, args ...[]float64) {
		for i, x := range args[0] {
			out[i] = x * x * x
		}
	})
	ir.RegisterExtern("bpgen.test/ext.Dot", func(out []float64, args ...[]float64) {
		out[0] = 0
		for i := range args[0] {
			out[0] += args[0][i] * args[1][i]
		}
	})
	ir.RegisterExternVJP("bpgen.test/ext.CubeVJP", func(grad []float64, arg int, gout []float64, args ...[]float64) {
		for i, x := range args[0] {
			grad[i] = 3 * x * x * gout[i]
		}
	})
}

func externCase(d ir.DType) opTest {
	cube := ir.Attrs{"fn": "bpgen.test/ext.Cube", "vjp": "bpgen.test/ext.CubeVJP"}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{tt(d, "n", 3)}, attrs: cube, declared: tt(d, "n", 3), want: tt(d, "n", 3)},
			{args: []ir.Type{tt(d, "n", 3), tt(d, "n", 3)}, attrs: ir.Attrs{"fn": "bpgen.test/ext.Dot"}, declared: tt(d), want: tt(d)},
			{args: []ir.Type{tt(d, "n")}, attrs: ir.Attrs{"fn": "Cube"}, declared: tt(d, "n"), err: `fn "Cube" is not of the form`},
			{args: []ir.Type{tt(d, "n")}, attrs: ir.Attrs{"fn": "a/b.F", "vjp": "a/b."}, declared: tt(d, "n"), err: `vjp "a/b." is not of the form`},
			{args: []ir.Type{tt(ir.I32, "n")}, attrs: cube, declared: tt(d, "n"), err: "want a float type"},
			{args: []ir.Type{tt(d, "n")}, attrs: cube, declared: tt(ir.I32, "n"), err: "result must be float"},
		},
		evals: []evalCase{
			{name: "cube", args: []ir.Type{tt(d, "n", 3)}, attrs: cube, declared: tt(d, "n", 3),
				ref: refElementwise(d, func(x []float64) float64 { return math.Pow(x[0], 3) })},
			{name: "dot", args: []ir.Type{tt(d, "n", 3), tt(d, "n", 3)}, attrs: ir.Attrs{"fn": "bpgen.test/ext.Dot"}, declared: tt(d),
				ref: func(in []*ir.Tensor) *ir.Tensor {
					r := ir.NewTensor(d)
					for i := range in[0].F {
						r.F[0] += in[0].F[i] * in[1].F[i]
					}
					return r
				}},
		},
	}
}

func externVJPCase(d ir.DType) opTest {
	a := func(arg int) ir.Attrs { return ir.Attrs{"fn": "bpgen.test/ext.CubeVJP", "arg": arg} }
	T := tt(d, "n", 3)
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T, T}, attrs: a(0), declared: T, want: T},
			{args: []ir.Type{tt(d), T, tt(d, 2)}, attrs: a(1), declared: tt(d, 2), want: tt(d, 2)},
			{args: []ir.Type{T, T}, attrs: a(1), declared: T, err: "arg 1 is out of range for 1 arguments"},
			{args: []ir.Type{T, T}, attrs: a(0), declared: tt(d, 3), err: "differs from argument 0's"},
			{args: []ir.Type{T}, attrs: a(0), declared: T, err: "takes the result's cotangent and the extern's arguments"},
		},
		evals: []evalCase{
			{args: []ir.Type{T, T}, attrs: a(0), declared: T,
				ref: refElementwise(d, func(x []float64) float64 { return 3 * math.Pow(x[1], 2) * x[0] })},
		},
	}
}

// customBackward is the backward func of custom_vjp: dx0 = −g·x0.
func customBackward(name string, y, x ir.Type) func(g *ir.Graph) {
	return func(main *ir.Graph) {
		b := ir.NewBuilder(name)
		b.Graph().AddDim("n")
		x0 := b.Input("x0", x)
		b.Input("y", y)
		g := b.Input("g", y)
		b.Graph().AddOutput("dx0", b.Neg(b.Mul(g, x0)))
		main.Funcs = append(main.Funcs, b.Graph())
	}
}

func customVJPCase(d ir.DType) opTest {
	fn := ir.Attrs{"fn": "test.custom_vjp.bwd"}
	T := tt(d, "n", 3)
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T, T}, attrs: fn, want: T},
			{args: []ir.Type{tt(d), T, tt(d, 2)}, attrs: fn, want: tt(d)},
			{args: []ir.Type{T, T}, attrs: ir.Attrs{"fn": "no such"}, err: `fn "no such" is not a func name`},
			{args: []ir.Type{T, T}, err: "needs attribute fn"},
		},
		evals: []evalCase{
			{args: []ir.Type{T, T}, attrs: fn, setup: customBackward("test.custom_vjp.bwd", T, T), ref: func(in []*ir.Tensor) *ir.Tensor { return in[0] }},
		},
	}
}

func convertCase(d ir.DType) opTest {
	id := refElementwise(d, func(x []float64) float64 { return x[0] })
	to := ir.Attrs{"dtype": d}
	o := otherFloat(d)
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{tt(o, "n", 3)}, attrs: to, want: tt(d, "n", 3)},
			{args: []ir.Type{tt(ir.I32, "n")}, attrs: to, want: tt(d, "n")},
			{args: []ir.Type{tt(o, "n")}, err: "needs attribute dtype"},
			{args: []ir.Type{tt(o, "n")}, attrs: ir.Attrs{"dtype": ir.InvalidDType}, err: "invalid target dtype"},
			{args: []ir.Type{tt(o, "n")}, attrs: ir.Attrs{"dtype": "f32"}, err: "attribute dtype is string"},
		},
		evals: []evalCase{
			{name: "float", args: []ir.Type{tt(o, "n", 3)}, attrs: to, ref: id},
			{name: "same", args: []ir.Type{tt(d, 2)}, attrs: to, ref: id},
			{name: "int", args: []ir.Type{tt(ir.I32, "n")}, gens: []gen{uniform(-100, 100)}, attrs: to, ref: id},
		},
	}
}

func matmulCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	tr := func(a, b bool) ir.Attrs { return ir.Attrs{"transA": a, "transB": b} }
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 3), T(3, 4)}, want: T("n", 4)},
			{args: []ir.Type{T(3, "n"), T(3, 4)}, attrs: tr(true, false), want: T("n", 4)},
			{args: []ir.Type{T("n", 3), T(4, 3)}, attrs: tr(false, true), want: T("n", 4)},
			{args: []ir.Type{T("n", 2, 3), T("n", 3, 4)}, want: T("n", 2, 4)},
			{args: []ir.Type{T("n", 784), T(256, 10)}, err: "inner dimensions differ: [n,784]·[256,10] needs 784 == 256"},
			{args: []ir.Type{T("n", 3), T(4, 3)}, err: "inner dimensions differ"},
			{args: []ir.Type{T(3), T(3, 4)}, err: "rank 2 or more"},
			{args: []ir.Type{T(2, 2, 3), T(3, 3, 4)}, err: "batch dims of [2,2,3]·[3,3,4] do not broadcast: [2] vs [3]"},
			// Broadcast batch dims (torch.matmul).
			{args: []ir.Type{T("n", "s", 8), T(8, 6)}, want: T("n", "s", 6)},
			{args: []ir.Type{T("b", 4, "s", 8), T("b", 4, 8, "s")}, want: T("b", 4, "s", "s")},
			{args: []ir.Type{T("n", 1, "s", 8), T(4, 8, 6)}, want: T("n", 4, "s", 6)},
			{args: []ir.Type{T(8, 6), T("n", "s", 8)}, attrs: tr(true, true), want: T("n", 6, "s")},
			{args: []ir.Type{T("n", 1, 2, 3), T(4, 3, 5)}, want: T("n", 4, 2, 5)},
			{args: []ir.Type{T("n", 2, 3), T("m", 3, 4)}, err: "do not broadcast: [n] vs [m]"},
			{args: []ir.Type{T(2, 5, 3), T(3, 3, 4)}, err: "[2,5,3]·[3,3,4]"},
			{args: []ir.Type{T(2, 3), tt(otherFloat(d), 3, 4)}, err: "floats of one dtype"},
		},
		evals: []evalCase{
			{name: "plain", args: []ir.Type{T("n", 3), T(3, 4)}, ref: refMatMul(d, false, false)},
			{name: "transA", args: []ir.Type{T(3, "n"), T(3, 4)}, attrs: tr(true, false), ref: refMatMul(d, true, false)},
			{name: "transB", args: []ir.Type{T("n", 3), T(4, 3)}, attrs: tr(false, true), ref: refMatMul(d, false, true)},
			{name: "both", args: []ir.Type{T(3, "n"), T(4, 3)}, attrs: tr(true, true), ref: refMatMul(d, true, true)},
			{name: "batched", args: []ir.Type{T(2, "n", 3), T(2, 3, 4)}, ref: refMatMul(d, false, false)},
			{name: "batchedT", args: []ir.Type{T(2, 3, "n"), T(2, 4, 3)}, attrs: tr(true, true), ref: refMatMul(d, true, true)},
			{name: "bcast_rank2_rhs", args: []ir.Type{T(2, "n", 3), T(3, 4)}, ref: refMatMul(d, false, false)},
			{name: "bcast_rank2_rhsT", args: []ir.Type{T(2, 3, "n"), T(4, 3)}, attrs: tr(true, true), ref: refMatMul(d, true, true)},
			{name: "bcast_rank2_lhs", args: []ir.Type{T(3, 4), T(2, "n", 5, 4)}, attrs: tr(false, true), ref: refMatMul(d, false, true)},
			{name: "bcast_4d", args: []ir.Type{T(2, 3, "n", 4), T(2, 3, 4, 2)}, ref: refMatMul(d, false, false)},
			{name: "bcast_ones", args: []ir.Type{T("n", 1, 2, 3), T(3, 3, 4)}, ref: refMatMul(d, false, false)},
			{name: "bcast_onesT", args: []ir.Type{T("n", 1, 3, 2), T(3, 4, 3)}, attrs: tr(true, true), ref: refMatMul(d, true, true)},
			{name: "bcast_mid", args: []ir.Type{T(2, 1, 3, 2), T(1, 3, 3, 4)}, attrs: tr(true, false), ref: refMatMul(d, true, false)},
		},
	}
}

func reshapeCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	ns := ir.Prod(ir.Sym("s"), ir.Sym("n"))
	sh := func(dims ...any) ir.Attrs { return ir.Attrs{"shape": ir.S(dims...)} }
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 6)}, attrs: sh("n", 2, 3), want: T("n", 2, 3)},
			{args: []ir.Type{T("n", 6)}, attrs: sh(3, "n", 2), want: T(3, "n", 2)},
			{args: []ir.Type{T(2, 3)}, attrs: sh(), err: "element counts differ"},
			{args: []ir.Type{T(1)}, attrs: sh(), want: T()},
			{args: []ir.Type{T("n", 6)}, attrs: sh("n", 5), err: "cannot reshape [n,6] to [n,5]"},
			{args: []ir.Type{T("n", 6)}, attrs: sh(6, 5), err: "element counts differ"},
			// Products of symbolic dims ([n,s,d] → [n·s,d] and back).
			{args: []ir.Type{T("n", "s", 4)}, attrs: sh(ns, 4), want: T(ns, 4)},
			{args: []ir.Type{T(ns, 4)}, attrs: sh("n", "s", 4), want: T("n", "s", 4)},
			{args: []ir.Type{T("s", 2, "n", 3)}, attrs: sh(ir.Prod(ns, ir.Static(6))), want: T(ir.Prod(ns, ir.Static(6)))},
			{args: []ir.Type{T("n", "s", 4)}, attrs: sh(ir.Prod(ir.Sym("n"), ir.Sym("n")), 4), err: "cannot reshape [n,s,4] to [n*n,4]"},
			{args: []ir.Type{T("n", "s", 4)}, attrs: sh(ns, 2), err: "cannot reshape [n,s,4] to [n*s,2]"},
		},
		evals: []evalCase{
			{args: []ir.Type{T("n", 6)}, attrs: sh(3, "n", 2), ref: func(in []*ir.Tensor) *ir.Tensor {
				r := in[0].Clone()
				r.Shape = []int{3, testDims["n"], 2}
				return r
			}},
			{args: []ir.Type{tt(ir.I32, 2, 3)}, gens: []gen{uniform(-9, 9)}, attrs: sh(6), ref: func(in []*ir.Tensor) *ir.Tensor {
				r := in[0].Clone()
				r.Shape = []int{6}
				return r
			}},
			{name: "product", args: []ir.Type{T("n", 3, 2)}, attrs: sh(ir.Prod(ir.Static(3), ir.Sym("n")), 2), ref: func(in []*ir.Tensor) *ir.Tensor {
				r := in[0].Clone()
				r.Shape = []int{3 * testDims["n"], 2}
				return r
			}},
			{name: "product_back", args: []ir.Type{T(ir.Prod(ir.Static(3), ir.Sym("n")), 2)}, attrs: sh("n", 6), ref: func(in []*ir.Tensor) *ir.Tensor {
				r := in[0].Clone()
				r.Shape = []int{testDims["n"], 6}
				return r
			}},
		},
	}
}

func transposeCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	perm := func(p ...int) ir.Attrs { return ir.Attrs{"perm": p} }
	ref := func(p []int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			x := in[0]
			shape := make([]int, len(p))
			for i, pi := range p {
				shape[i] = x.Shape[pi]
			}
			r := ir.NewTensor(x.DType, shape...)
			for k := range r.Len() {
				oi := index(k, shape)
				xi := make([]int, len(p))
				for i, pi := range p {
					xi[pi] = oi[i]
				}
				if x.DType == ir.I32 {
					r.I[k] = x.I[flat(xi, x.Shape)]
				} else {
					r.F[k] = x.F[flat(xi, x.Shape)]
				}
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 3, 4)}, attrs: perm(2, 0, 1), want: T(4, "n", 3)},
			{args: []ir.Type{T("n", 3)}, attrs: perm(0, 0), err: "not a permutation"},
			{args: []ir.Type{T("n", 3)}, attrs: perm(0, 2), err: "not a permutation"},
			{args: []ir.Type{T("n", 3)}, attrs: perm(1, 0, 2), err: "has 3 entries for rank 2"},
		},
		evals: []evalCase{
			{name: "3d", args: []ir.Type{T("n", 3, 4)}, attrs: perm(2, 0, 1), ref: ref([]int{2, 0, 1})},
			{name: "2d", args: []ir.Type{T(3, "n")}, attrs: perm(1, 0), ref: ref([]int{1, 0})},
			{name: "int", args: []ir.Type{tt(ir.I32, 2, 3, 4)}, gens: []gen{uniform(-50, 50)}, attrs: perm(1, 2, 0), ref: ref([]int{1, 2, 0})},
		},
	}
}

func broadcastToCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	sh := func(dims ...any) ir.Attrs { return ir.Attrs{"shape": ir.S(dims...)} }
	id := refElementwise(d, func(x []float64) float64 { return x[0] })
	// broadcasting x against zeros of the target shape is the reference.
	to := func(dims ...int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor { return id([]*ir.Tensor{in[0], ir.NewTensor(d, dims...)}) }
	}
	n := testDims["n"]
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T(3, 1)}, attrs: sh("n", 3, 4), want: T("n", 3, 4)},
			{args: []ir.Type{T()}, attrs: sh("n"), want: T("n")},
			{args: []ir.Type{T(3)}, attrs: sh("n", 4), err: "cannot broadcast [3] to [n,4]"},
			{args: []ir.Type{T("n", 3)}, attrs: sh(3), err: "cannot broadcast"},
		},
		evals: []evalCase{
			{name: "middle", args: []ir.Type{T(3, 1)}, attrs: sh("n", 3, 4), ref: to(n, 3, 4)},
			{name: "scalar", args: []ir.Type{T()}, attrs: sh(2, "n"), ref: to(2, n)},
			{name: "same", args: []ir.Type{T(1, 4)}, attrs: sh(1, 4), ref: to(1, 4)},
		},
	}
}

// sliceRef copies elements start ≤ i < end along axis.
func sliceRef(axis, start, end int) func(in []*ir.Tensor) *ir.Tensor {
	return func(in []*ir.Tensor) *ir.Tensor {
		x := in[0]
		shape := slices.Clone(x.Shape)
		shape[axis] = end - start
		r := ir.NewTensor(x.DType, shape...)
		for k := range r.Len() {
			idx := index(k, shape)
			idx[axis] += start
			r.F[k] = x.F[flat(idx, x.Shape)]
		}
		return r
	}
}

func sliceCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(axis, start, end int) ir.Attrs { return ir.Attrs{"axis": axis, "start": start, "end": end} }
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 5)}, attrs: a(1, 1, 4), want: T("n", 3)},
			{args: []ir.Type{T("n", 5)}, attrs: a(1, 2, 2), want: T("n", 0)},
			{args: []ir.Type{T("n", 5)}, attrs: a(0, 0, 1), err: "cannot slice symbolic dim"},
			{args: []ir.Type{T("n", 5)}, attrs: a(1, 2, 6), err: "out of range"},
			{args: []ir.Type{T("n", 5)}, attrs: a(1, 3, 2), err: "out of range"},
			{args: []ir.Type{T("n", 5)}, attrs: a(2, 0, 1), err: "axis 2 is out of range"},
		},
		evals: []evalCase{
			{name: "last", args: []ir.Type{T("n", 5)}, attrs: a(1, 1, 4), ref: sliceRef(1, 1, 4)},
			{name: "middle", args: []ir.Type{T(2, 5, "n")}, attrs: a(1, 3, 5), ref: sliceRef(1, 3, 5)},
			{name: "empty", args: []ir.Type{T(4, 3)}, attrs: a(0, 2, 2), ref: sliceRef(0, 2, 2)},
		},
	}
}

func padCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(axis, before, after int) ir.Attrs {
		return ir.Attrs{"axis": axis, "before": before, "after": after}
	}
	ref := func(axis, before, after int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			x := in[0]
			shape := slices.Clone(x.Shape)
			shape[axis] += before + after
			r := ir.NewTensor(x.DType, shape...)
			for k := range r.Len() {
				idx := index(k, shape)
				if idx[axis] < before || idx[axis] >= before+x.Shape[axis] {
					continue
				}
				idx[axis] -= before
				r.F[k] = x.F[flat(idx, x.Shape)]
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 3)}, attrs: a(1, 1, 2), want: T("n", 6)},
			{args: []ir.Type{T("n", 3)}, attrs: a(0, 1, 2), err: "cannot pad symbolic dim"},
			{args: []ir.Type{T("n", 3)}, attrs: a(1, -1, 2), err: "negative padding"},
			{args: []ir.Type{T("n", 3)}, attrs: a(1, math.MaxInt, math.MaxInt), err: "too large"},
		},
		evals: []evalCase{
			{name: "last", args: []ir.Type{T("n", 3)}, attrs: a(1, 1, 2), ref: ref(1, 1, 2)},
			{name: "first", args: []ir.Type{T(2, "n")}, attrs: a(0, 0, 3), ref: ref(0, 0, 3)},
		},
	}
}

func concatCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	ax := func(a int) ir.Attrs { return ir.Attrs{"axis": a} }
	ref := func(axis int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			shape := slices.Clone(in[0].Shape)
			shape[axis] = 0
			for _, x := range in {
				shape[axis] += x.Shape[axis]
			}
			r := ir.NewTensor(in[0].DType, shape...)
			for k := range r.Len() {
				idx := index(k, shape)
				for _, x := range in {
					if idx[axis] < x.Shape[axis] {
						r.F[k] = x.F[flat(idx, x.Shape)]
						break
					}
					idx[axis] -= x.Shape[axis]
				}
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 2), T("n", 3)}, attrs: ax(1), want: T("n", 5)},
			{args: []ir.Type{T(2, "n"), T(1, "n"), T(4, "n")}, attrs: ax(0), want: T(7, "n")},
			{args: []ir.Type{T("n", 2)}, attrs: ax(1), want: T("n", 2)},
			{args: []ir.Type{T("n", 2), T(3, 2)}, attrs: ax(1), err: "argument 2 has shape [3,2], which differs from [n,2] outside axis 1"},
			{args: []ir.Type{T("n", 2), T("n", 2)}, attrs: ax(0), err: "cannot concat along symbolic dim n"},
			{args: []ir.Type{T("n", 2), T("n", 2, 1)}, attrs: ax(1), err: "incompatible"},
			{args: []ir.Type{}, attrs: ax(0), err: "at least one argument"},
			{args: []ir.Type{T("n", math.MaxInt), T("n", 1)}, attrs: ax(1), err: "concatenated dim 1 is too large"},
		},
		evals: []evalCase{
			{name: "two", args: []ir.Type{T("n", 2), T("n", 3)}, attrs: ax(1), ref: ref(1)},
			{name: "three", args: []ir.Type{T(2, "n", 2), T(1, "n", 2), T(3, "n", 2)}, attrs: ax(0), ref: ref(0)},
			{name: "middle", args: []ir.Type{T(2, 1, 3), T(2, 2, 3)}, attrs: ax(1), ref: ref(1)},
		},
	}
}

func onehotCase(d ir.DType) opTest {
	a := func(depth int, dt ir.DType) ir.Attrs { return ir.Attrs{"depth": depth, "dtype": dt} }
	ref := func(in []*ir.Tensor) *ir.Tensor {
		x := in[0]
		r := ir.NewTensor(d, append(slices.Clone(x.Shape), 4)...)
		for i, l := range x.I {
			for c := range 4 {
				r.F[i*4+c] = truth(int(l) == c)
			}
		}
		return r
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{tt(ir.I32, "n")}, attrs: a(4, d), want: tt(d, "n", 4)},
			{args: []ir.Type{tt(ir.I32, "n", 2)}, attrs: a(4, d), want: tt(d, "n", 2, 4)},
			{args: []ir.Type{tt(d, "n")}, attrs: a(4, d), err: "want int32"},
			{args: []ir.Type{tt(ir.I32, "n")}, attrs: a(0, d), err: "depth 0 must be positive"},
			{args: []ir.Type{tt(ir.I32, "n")}, attrs: a(4, ir.I32), err: "dtype must be float"},
		},
		evals: []evalCase{
			// labels from −1 to 5: out-of-range ones give zero rows.
			{args: []ir.Type{tt(ir.I32, "n", 3)}, gens: []gen{uniform(-1, 6)}, attrs: a(4, d), ref: ref},
		},
	}
}

func gatherCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	ref := func(axis int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			x, ix := in[0], in[1]
			shape := append(append(slices.Clone(x.Shape[:axis]), ix.Shape...), x.Shape[axis+1:]...)
			r := ir.NewTensor(x.DType, shape...)
			for k := range r.Len() {
				o := index(k, shape)
				ii := o[axis : axis+len(ix.Shape)]
				xi := append(append(slices.Clone(o[:axis]), int(ix.I[flat(ii, ix.Shape)])), o[axis+len(ix.Shape):]...)
				r.F[k] = x.F[flat(xi, x.Shape)]
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T(5, 3), tt(ir.I32, "n")}, attrs: ir.Attrs{"axis": 0}, want: T("n", 3)},
			{args: []ir.Type{T(2, 5, 3), tt(ir.I32, "n", 2)}, attrs: ir.Attrs{"axis": 1}, want: T(2, "n", 2, 3)},
			{args: []ir.Type{T(5, 3), T("n")}, attrs: ir.Attrs{"axis": 0}, err: "want int32"},
			{args: []ir.Type{T(5, 3), tt(ir.I32, "n")}, attrs: ir.Attrs{"axis": 2}, err: "out of range"},
		},
		evals: []evalCase{
			{name: "rows", args: []ir.Type{T(5, 3), tt(ir.I32, "n")}, gens: []gen{anyReal, uniform(0, 5)}, attrs: ir.Attrs{"axis": 0}, ref: ref(0)},
			{name: "middle", args: []ir.Type{T(2, 5, 3), tt(ir.I32, "n", 2)}, gens: []gen{anyReal, uniform(0, 5)}, attrs: ir.Attrs{"axis": 1}, ref: ref(1)},
		},
	}
}

func scatterAddCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	a := func(axis int, dims ...any) ir.Attrs { return ir.Attrs{"axis": axis, "shape": ir.S(dims...)} }
	ref := func(axis int, shape ...int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			g, ix := in[0], in[1]
			r := ir.NewTensor(d, shape...)
			for k := range g.Len() {
				gi := index(k, g.Shape)
				ii := gi[axis : axis+len(ix.Shape)]
				ri := append(append(slices.Clone(gi[:axis]), int(ix.I[flat(ii, ix.Shape)])), gi[axis+len(ix.Shape):]...)
				r.F[flat(ri, shape)] += g.F[k]
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 3), tt(ir.I32, "n")}, attrs: a(0, 5, 3), want: T(5, 3)},
			{args: []ir.Type{T("n", 3), tt(ir.I32, "n")}, attrs: a(0, 5, 4), err: "updates have shape [n,3], want [n,4]"},
			{args: []ir.Type{T("n", 3), T("n")}, attrs: a(0, 5, 3), err: "int32 indices"},
			{args: []ir.Type{T("n", 3), tt(ir.I32, "n")}, attrs: a(2, 5, 3), err: "out of range"},
		},
		evals: []evalCase{
			// n = 5 indices into 3 rows: some rows get several updates.
			{name: "rows", args: []ir.Type{T("n", 3), tt(ir.I32, "n")}, gens: []gen{anyReal, uniform(0, 3)}, attrs: a(0, 3, 3), ref: ref(0, 3, 3)},
			{name: "middle", args: []ir.Type{T(2, "n", 3), tt(ir.I32, "n")}, gens: []gen{anyReal, uniform(0, 4)}, attrs: a(1, 2, 4, 3), ref: ref(1, 2, 4, 3)},
		},
	}
}

func argmaxCase(d ir.DType) opTest {
	ref := func(axis int) func(in []*ir.Tensor) *ir.Tensor {
		return func(in []*ir.Tensor) *ir.Tensor {
			x := in[0]
			var shape []int
			for j, s := range x.Shape {
				if j != axis {
					shape = append(shape, s)
				}
			}
			r := ir.NewTensor(ir.I32, shape...)
			for k := range r.Len() {
				o := index(k, shape)
				best := math.Inf(-1)
				for c := range x.Shape[axis] {
					xi := append(append(slices.Clone(o[:axis]), c), o[axis:]...)
					if v := x.F[flat(xi, x.Shape)]; v > best { // strict: the first maximum wins
						best, r.I[k] = v, int32(c)
					}
				}
			}
			return r
		}
	}
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 1}, want: tt(ir.I32, "n")},
			{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 0}, want: tt(ir.I32, 4)},
			{args: []ir.Type{tt(d, "n", 4)}, attrs: ir.Attrs{"axis": 2}, err: "out of range"},
			{args: []ir.Type{tt(ir.I32, "n", 4)}, attrs: ir.Attrs{"axis": 1}, err: "want a float type"},
		},
		evals: []evalCase{
			{name: "ties", args: []ir.Type{tt(d, "n", 4)}, gens: []gen{ties}, attrs: ir.Attrs{"axis": 1}, ref: ref(1)},
			{name: "first", args: []ir.Type{tt(d, 3, "n", 2)}, attrs: ir.Attrs{"axis": 0}, ref: ref(0)},
		},
	}
}

func softmaxXentRef(in []*ir.Tensor) *ir.Tensor {
	z, y := in[0], in[1]
	k := z.Shape[len(z.Shape)-1]
	r := ir.NewTensor(z.DType, y.Shape...)
	for i := range y.Len() {
		row := z.F[i*k : (i+1)*k]
		r.F[i] = -logSoftmaxRef(row)[y.I[i]]
	}
	return r
}

func softmaxXentCase(d ir.DType) opTest {
	T := func(dims ...any) ir.Type { return tt(d, dims...) }
	return opTest{
		shapes: []shapeCase{
			{args: []ir.Type{T("n", 10), tt(ir.I32, "n")}, want: T("n")},
			{args: []ir.Type{T(2, "n", 10), tt(ir.I32, 2, "n")}, want: T(2, "n")},
			{args: []ir.Type{T("n", 10), T("n")}, err: "labels are " + T("n").String() + ", want int32 class indices"},
			{args: []ir.Type{T("n", 10), tt(ir.I32, 10)}, err: "must be the logits shape"},
			{args: []ir.Type{T(10, "n"), tt(ir.I32, 10)}, err: "need a static class dim last"},
			{args: []ir.Type{tt(ir.I32, "n", 10), tt(ir.I32, "n")}, err: "want a float type"},
		},
		evals: []evalCase{
			{name: "2d", args: []ir.Type{T("n", 4), tt(ir.I32, "n")}, gens: []gen{uniform(-5, 5), uniform(0, 4)}, ref: softmaxXentRef},
			{name: "3d", args: []ir.Type{T(2, "n", 3), tt(ir.I32, 2, "n")}, gens: []gen{uniform(-5, 5), uniform(0, 3)}, ref: softmaxXentRef},
		},
	}
}

func inputCase(d ir.DType) opTest {
	return opTest{
		shapes: []shapeCase{
			{declared: tt(d, "n", 784), want: tt(d, "n", 784)},
			{declared: tt(ir.I32, "n"), attrs: ir.Attrs{"target": true}, want: tt(ir.I32, "n")},
			{declared: tt(d, "n", -3), err: "negative dim"},
			{err: "needs a declared type"},
			{declared: tt(d, "n"), attrs: ir.Attrs{"traget": true}, err: `has no attribute "traget"`},
		},
		evals: []evalCase{
			{name: "float", declared: tt(d, "n", 3), self: anyReal, ref: identity},
			{name: "labels", declared: tt(ir.I32, "n"), attrs: ir.Attrs{"target": true}, self: uniform(0, 10), ref: identity},
		},
	}
}

func paramCase(d ir.DType) opTest {
	return opTest{
		shapes: []shapeCase{
			{declared: tt(d, 784, 256), attrs: ir.Attrs{"init": "he_normal"}, want: tt(d, 784, 256)},
			{declared: tt(d), attrs: ir.Attrs{"init": "constant", "value": 0.5}, want: tt(d)},
			{declared: tt(d, "n", 3), attrs: ir.Attrs{"init": "zeros"}, err: "has a symbolic dim"},
			{declared: tt(d, 3), attrs: ir.Attrs{"init": "glorot"}, err: `unknown initializer "glorot"`},
			{declared: tt(d, 3), err: "needs attribute init"},
			{declared: tt(ir.I32, 3), attrs: ir.Attrs{"init": "zeros"}, err: "params must be float"},
		},
		evals: []evalCase{
			{declared: tt(d, 3, 4), attrs: ir.Attrs{"init": "normal", "mean": 0.5, "std": 2.0}, self: anyReal, ref: identity},
		},
	}
}

func constCase(d ir.DType) opTest {
	fill := func(v float64, dt ir.DType, shape ...int) func([]*ir.Tensor) *ir.Tensor {
		return func([]*ir.Tensor) *ir.Tensor {
			r := ir.NewTensor(dt, shape...)
			for i := range r.F {
				r.F[i] = v
			}
			for i := range r.I {
				r.I[i] = int32(v)
			}
			return r
		}
	}
	n := testDims["n"]
	return opTest{
		shapes: []shapeCase{
			{declared: tt(d, "n", 2), attrs: ir.Attrs{"value": -1.5}, want: tt(d, "n", 2)},
			{declared: tt(d), attrs: ir.Attrs{"value": 1}, err: "attribute value is int, want float"},
			{declared: tt(d), err: "needs attribute value"},
			{attrs: ir.Attrs{"value": 1.0}, err: "needs a declared type"},
		},
		evals: []evalCase{
			{name: "fill", declared: tt(d, "n", 2), attrs: ir.Attrs{"value": -1.5}, ref: fill(-1.5, d, n, 2)},
			{name: "inf", declared: tt(d, 3), attrs: ir.Attrs{"value": math.Inf(-1)}, ref: fill(math.Inf(-1), d, 3)},
			{name: "nan", declared: tt(d), attrs: ir.Attrs{"value": math.NaN()}, ref: fill(math.NaN(), d)},
			{name: "int", declared: tt(ir.I32, 2), attrs: ir.Attrs{"value": 7.0}, ref: fill(7, ir.I32, 2)},
		},
	}
}

func numelCase(d ir.DType) opTest {
	a := func(dt ir.DType, dims ...any) ir.Attrs { return ir.Attrs{"shape": ir.S(dims...), "dtype": dt} }
	return opTest{
		shapes: []shapeCase{
			{attrs: a(d, "n", 3), want: tt(d)},
			{attrs: a(ir.I32, "n", 3), err: "numel dtype must be float"},
			{attrs: ir.Attrs{"shape": ir.S("n")}, err: "needs attribute dtype"},
		},
		evals: []evalCase{
			{attrs: a(d, "n", 3, 2), ref: func([]*ir.Tensor) *ir.Tensor {
				r := ir.NewTensor(d)
				r.F[0] = float64(testDims["n"] * 6)
				return r
			}},
		},
	}
}

func dropoutMaskCase(d ir.DType) opTest {
	attrs := ir.Attrs{"p": 0.25, "seed": 1}
	return opTest{
		shapes: []shapeCase{
			{declared: tt(d, "n", 8), attrs: attrs, want: tt(d, "n", 8)},
			{declared: tt(d, "n", 8), attrs: ir.Attrs{"p": 1.0, "seed": 1}, err: "outside [0, 1)"},
			{declared: tt(d, "n", 8), attrs: ir.Attrs{"p": -0.1, "seed": 1}, err: "outside [0, 1)"},
			{declared: tt(d, "n", 8), attrs: ir.Attrs{"p": math.NaN(), "seed": 1}, err: "outside [0, 1)"},
			{declared: tt(ir.I32, "n", 8), attrs: attrs, err: "must be float"},
		},
		evals: []evalCase{
			{name: "inference", declared: tt(d, "n", 8), attrs: attrs, ref: func([]*ir.Tensor) *ir.Tensor {
				r := ir.NewTensor(d, testDims["n"], 8)
				for i := range r.F {
					r.F[i] = 1
				}
				return r
			}},
			{name: "training", declared: tt(d, "n", 8), attrs: attrs, training: true, check: func(t *testing.T, got *ir.Tensor) {
				scale := 4.0 / 3 // 1/(1−p)
				if d == ir.F32 {
					scale = float64(float32(scale))
				}
				kept := 0
				for i, x := range got.F {
					if x == scale {
						kept++
					} else if x != 0 {
						t.Errorf("mask element %d = %v, want 0 or 1/(1-p) = %v", i, x, scale)
					}
				}
				if kept == 0 || kept == len(got.F) {
					t.Errorf("kept %d of %d elements; want some dropped and some kept", kept, len(got.F))
				}
			}},
		},
	}
}
