// Package dsl is what users write models with: a builder over bpgen's IR
// with short names, NumPy broadcasting, and errors that point at the line
// of the user's model.
//
//	func MLP(g *dsl.Graph) {
//		n := g.Dim("n")
//		x := g.Input("x", dsl.Float32, n, 784)
//		y := g.Labels("y", n)
//		W1, b1 := g.Param("W1", 784, 256, dsl.HeNormal()), g.Param("b1", 256)
//		W2, b2 := g.Param("W2", 256, 10), g.Param("b2", 10)
//		h := dsl.ReLU(x.MatMul(W1).Add(b1)).Named("h")
//		loss := dsl.SoftmaxCrossEntropy(h.MatMul(W2).Add(b2), y).Mean()
//		g.Output("loss", loss)
//		g.Minimize(loss.Add(W1.SumSquares().Add(W2.SumSquares()).Mul(lambda / 2)))
//	}
//
//	graph, err := dsl.Build("models.MLP", MLP)
//
// Conventions: losses (SoftmaxCrossEntropy, BCEWithLogits, SquaredError)
// return one value per example, or per element, and the model reduces
// them (usually .Mean()) before Minimize, as in optax. Every reduction R
// (Sum, Mean, Max, Min, LogSumExp) has R(axes...) and RKeep(axes...),
// which keeps the reduced axes as dims of size 1; no axes means all.
// Labels and Target declare training targets, which Predict does not take;
// Input and Indices declare what inference needs.
//
// A shape or dtype mistake does not panic: the builder records an error
// naming the op, the shapes involved and the file:line of the call
// (relative to the current directory, as the Go compiler prints it), and
// Build returns all of them.
package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// DType is an element type.
type DType = ir.DType

// Element types.
const (
	Float32 = ir.F32
	Float64 = ir.F64
	Int32   = ir.I32
)

// Dim is a dimension: declare symbolic ones with Graph.Dim; plain ints are
// static.
type Dim = ir.Dim

// Graph is a model under construction.
type Graph struct {
	b         *ir.Builder
	objective *Tensor
	outputs   map[string]bool
	dropouts  int
	floatType DType
	cwd       string          // error positions are relative to it, as the Go compiler's are
	names     map[string]bool // of inputs and params (Lookup is a scan)
	scan      *scanBody       // set in the body of a Scan (scan.go)
}

// Build runs fn on a new graph named name (conventionally "pkg.Func") and
// returns the IR, or every mistake fn made, joined. A panic in fn is
// returned as an error too.
func Build(name string, fn func(g *Graph)) (graph *ir.Graph, err error) {
	g := New(name)
	defer func() {
		if r := recover(); r != nil {
			// Called from this deferred func, callerPos skips the runtime's
			// panic frames too and finds the user's line that panicked.
			graph, err = nil, fmt.Errorf("%s: model %s panicked: %v", g.callerPos(), name, r)
		}
	}()
	fn(g)
	return g.Finish()
}

// New starts a graph. Most users call Build instead.
func New(name string) *Graph {
	cwd, _ := os.Getwd()
	return &Graph{b: ir.NewBuilder(name), outputs: map[string]bool{}, floatType: Float32, cwd: cwd}
}

// SetFloat sets the dtype of params and constants created afterwards
// (Float32 by default). Code generation can retarget the whole model to
// float64 later, so most models never call this.
func (g *Graph) SetFloat(d DType) { g.floatType = d }

// Finish verifies the graph and returns it, or the errors recorded while
// building it.
func (g *Graph) Finish() (*ir.Graph, error) {
	if g.objective == nil && len(g.b.Graph().Outputs) == 0 && g.b.Err() == nil {
		g.b.AddError(fmt.Errorf("model %s has no objective and no outputs: call g.Minimize(loss) or g.Output(name, value)", g.b.Graph().Name))
	}
	if err := g.b.Err(); err != nil {
		return nil, err
	}
	ig := g.b.Graph()
	baseNames(ig)
	if err := ir.Verify(ig); err != nil {
		return nil, fmt.Errorf("internal error: the built graph does not verify (please report): %w", err)
	}
	return ig, nil
}

// Err returns the mistakes recorded so far, or nil.
func (g *Graph) Err() error { return g.b.Err() }

// IR returns the graph built so far, for inspection: it may be invalid, and
// until Finish its positions name files relative to the current directory
// (Finish turns them into base names).
func (g *Graph) IR() *ir.Graph { return g.b.Graph() }

// baseNames reduces the positions of g's values (and of its funcs') to file
// base names, so that printed IR and generated code do not depend on where
// the model was built from (ir.Pos).
func baseNames(g *ir.Graph) {
	for _, v := range g.Values {
		if v.Pos.File != "" {
			v.Pos.File = filepath.Base(v.Pos.File)
		}
	}
	for _, f := range g.Funcs {
		baseNames(f)
	}
}

// at points the builder at the user's call: the first frame outside this
// package.
func (g *Graph) at() *ir.Builder {
	g.b.Pos = g.callerPos()
	return g.b
}

// dslDir is this package's source directory. Frames are matched by file,
// not function name: the compiler may inline a DSL closure into the user's
// function, renaming it.
var dslDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

func inDSL(file string) bool {
	return filepath.Dir(file) == dslDir && !strings.HasSuffix(file, "_test.go")
}

// callerPos is the position of the user's call: the first frame outside
// this package and the Go runtime (whose frames sit between a panic and
// the deferred recover in Build). Its file is relative to the current
// directory (see shortPath) until Finish.
func (g *Graph) callerPos() ir.Pos {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !inDSL(f.File) && !strings.HasPrefix(f.Function, "runtime.") {
			return ir.Pos{File: shortPath(g.cwd, f.File), Line: f.Line}
		}
		if !more {
			return ir.Pos{}
		}
	}
}

// shortPath names file as the go command does in its messages: relative
// to dir when that is shorter than the absolute path (model.go in the
// model's directory, model/model.go from the module root).
func shortPath(dir, file string) string {
	if dir == "" || !filepath.IsAbs(file) {
		return file // -trimpath: the file is already a module path
	}
	if rel, err := filepath.Rel(dir, file); err == nil && len(rel) < len(file) {
		return rel
	}
	return file
}

func (g *Graph) errorf(format string, args ...any) {
	g.at().Errorf(format, args...)
}

// Dim declares a symbolic dimension, such as the batch size, whose value is
// given at run time (up to a capacity fixed when the generated model is
// constructed).
func (g *Graph) Dim(name string) Dim {
	if !isIdent(name) {
		g.errorf("Dim(%q): a dim name must be an identifier", name)
		return ir.Sym("_")
	}
	g.b.Graph().AddDim(name)
	return ir.Sym(name)
}

func isIdent(s string) bool {
	return ir.IsName(s) && !strings.ContainsAny(s, "./")
}

// shapeOf converts dims given as int, Dim or a declared dim's name.
func (g *Graph) shapeOf(what string, dims []any) (ir.Shape, []any, bool) {
	var s ir.Shape
	var rest []any
	for i, d := range dims {
		switch d := d.(type) {
		case int:
			if d < 0 {
				g.errorf("%s: dim %d is negative (%d)", what, i, d)
				return nil, nil, false
			}
			s = append(s, ir.Static(d))
		case Dim:
			_, syms := d.Factors()
			for _, y := range syms {
				if !g.b.Graph().HasDim(y) {
					g.errorf("%s: dim %q is not declared (declare it with g.Dim(%q))", what, y, y)
					return nil, nil, false
				}
			}
			s = append(s, d)
		case string:
			if !g.b.Graph().HasDim(d) {
				g.errorf("%s: dim %q is not declared (declare it with g.Dim(%q))", what, d, d)
				return nil, nil, false
			}
			s = append(s, ir.Sym(d))
		default:
			rest = append(rest, d)
		}
	}
	if s == nil {
		s = ir.Shape{}
	}
	return s, rest, true
}

func (g *Graph) checkName(kind, name string) bool {
	if !ir.IsName(name) {
		g.errorf("%s name %q is not an identifier", kind, name)
		return false
	}
	if g.names[name] {
		if v := g.b.Graph().Lookup(name); v != nil {
			g.errorf("%s name %q is already used by the %s at %s", kind, name, v.Op.Name, v.Pos)
			return false
		}
	}
	if g.names == nil {
		g.names = map[string]bool{}
	}
	g.names[name] = true
	return true
}

// Inputs come in two kinds. Input and Indices declare what inference needs
// (features, token ids): Predict takes them. Target and Labels declare
// training targets, which only the objective (and outputs computed from
// it, such as the loss) needs: Predict does not ask for them.

// Input declares an input of dtype d and the given dims (ints, Dims or
// declared dim names), given to both training and inference.
func (g *Graph) Input(name string, d DType, dims ...any) *Tensor {
	return g.input(name, d, false, dims)
}

// Indices declares an int32 input that is not a training target, such as
// the token ids of an embedding lookup (t.Gather) or the indices of
// OneHot features; it is Input(name, dsl.Int32, dims...).
func (g *Graph) Indices(name string, dims ...any) *Tensor {
	return g.input(name, Int32, false, dims)
}

// Target declares a training target of dtype d, such as regression targets:
// only the objective needs it, and inference (Predict) does not ask for it.
func (g *Graph) Target(name string, d DType, dims ...any) *Tensor {
	return g.input(name, d, true, dims)
}

// Labels declares int32 class indices that are a training target (for
// SoftmaxCrossEntropy); it is Target(name, dsl.Int32, dims...). For int32
// inputs that inference needs, use Indices.
func (g *Graph) Labels(name string, dims ...any) *Tensor { return g.input(name, Int32, true, dims) }

func (g *Graph) input(name string, d DType, target bool, dims []any) *Tensor {
	s, rest, ok := g.shapeOf("Input "+name, dims)
	if !ok || !g.checkName("input", name) {
		return g.invalid()
	}
	if len(rest) > 0 {
		g.errorf("Input %s: unexpected argument %v (%T); want ints or dims", name, rest[0], rest[0])
		return g.invalid()
	}
	if target {
		return g.wrap(g.at().Target(name, ir.T(d, s)))
	}
	return g.wrap(g.at().Input(name, ir.T(d, s)))
}

// Init is a parameter initializer, given to Param among its dims.
type Init struct{ attrs ir.Attrs }

// Zeros initializes to 0 (the default for vectors: biases).
func Zeros() Init { return Init{ir.Attrs{"init": "zeros"}} }

// Constant initializes every element to v.
func Constant(v float64) Init { return Init{ir.Attrs{"init": "constant", "value": v}} }

// Normal draws from N(mean, std²).
func Normal(mean, std float64) Init {
	return Init{ir.Attrs{"init": "normal", "mean": mean, "std": std}}
}

// Uniform draws from U[low, high).
func Uniform(low, high float64) Init {
	return Init{ir.Attrs{"init": "uniform", "low": low, "high": high}}
}

// XavierUniform is Glorot's U[±√(6/(fan_in+fan_out))] (the default for matrices).
func XavierUniform() Init { return Init{ir.Attrs{"init": "xavier_uniform"}} }

// XavierNormal is Glorot's N(0, 2/(fan_in+fan_out)).
func XavierNormal() Init { return Init{ir.Attrs{"init": "xavier_normal"}} }

// HeNormal is He/Kaiming's N(0, 2/fan_in), for ReLU layers.
func HeNormal() Init { return Init{ir.Attrs{"init": "he_normal"}} }

// HeUniform is He/Kaiming's U[±√(6/fan_in)].
func HeUniform() Init { return Init{ir.Attrs{"init": "he_uniform"}} }

// Param declares a trainable parameter with static dims. Among the dims
// may be an Init (default: XavierUniform for rank ≥ 2, Zeros otherwise),
// a DType (default: the graph's float type) and NoDecay. Weights are stored
// in × out, so a dense layer is x.MatMul(W).
func (g *Graph) Param(name string, dims ...any) *Tensor {
	s, rest, ok := g.shapeOf("Param "+name, dims)
	if !ok || !g.checkName("param", name) {
		return g.invalid()
	}
	init := Zeros()
	if len(s) >= 2 {
		init = XavierUniform()
	}
	d := g.floatType
	var opts []ParamOption
	for _, r := range rest {
		switch r := r.(type) {
		case ParamOption:
			opts = append(opts, r)
		case Init:
			if r.attrs.Str("init") == "" {
				g.errorf("Param %s: unknown initializer (the zero Init); use one of dsl.Zeros, Constant, Normal, Uniform, XavierUniform, XavierNormal, HeNormal, HeUniform", name)
				return g.invalid()
			}
			init = r
		case DType:
			d = r
		default:
			g.errorf("Param %s: unexpected argument %v (%T); want ints, an Init, a DType or dsl.NoDecay", name, r, r)
			return g.invalid()
		}
	}
	if !s.IsStatic() {
		g.errorf("Param %s: shape %v has a symbolic dim; params must have static shapes (a parameter cannot change size with the batch)", name, s)
		return g.invalid()
	}
	attrs := init.attrs.Clone()
	for _, o := range opts {
		attrs[o.attr] = true
	}
	return g.wrap(g.at().Param(name, ir.T(d, s), attrs))
}

// Scalar is a constant scalar of the graph's float type.
func (g *Graph) Scalar(v float64) *Tensor {
	return g.wrap(g.at().Const(v, ir.T(g.floatType, ir.Shape{})))
}

// Const is a constant of dtype d and the given dims filled with v.
func (g *Graph) Const(v float64, d DType, dims ...any) *Tensor {
	s, _, ok := g.shapeOf("Const", dims)
	if !ok {
		return g.invalid()
	}
	return g.wrap(g.at().Const(v, ir.T(d, s)))
}

// Output names a value as a result of the model (returned by the generated
// forward and predict functions).
func (g *Graph) Output(name string, t *Tensor) {
	if !ir.IsName(name) {
		g.errorf("output name %q is not an identifier", name)
		return
	}
	if g.outputs[name] {
		g.errorf("output name %q is used twice", name)
		return
	}
	g.outputs[name] = true
	if t == nil {
		g.errorf("Output %s: the value is a nil *Tensor", name)
		return
	}
	if t.invalid() {
		return
	}
	g.b.Graph().AddOutput(name, t.v)
}

// Minimize marks the scalar objective that training minimizes.
func (g *Graph) Minimize(t *Tensor) {
	if t == nil {
		g.errorf("Minimize: the objective is a nil *Tensor")
		return
	}
	if t.invalid() {
		g.objective = t
		return
	}
	if g.objective != nil {
		if g.objective.invalid() { // its mistake is already reported
			g.errorf("Minimize called twice")
		} else {
			g.errorf("Minimize called twice (the first objective was made at %s)", g.objective.v.Pos)
		}
		return
	}
	if len(t.v.Type.Shape) != 0 {
		g.errorf("Minimize: the objective must be a scalar, got %v (reduce it with .Mean() or .Sum())", t.v.Type)
		return
	}
	if !t.v.Type.DType.IsFloat() {
		g.errorf("Minimize: the objective must be float, got %v", t.v.Type)
		return
	}
	g.objective = t
	g.b.Graph().Objective = t.v
}

func (g *Graph) wrap(v *ir.Value) *Tensor { return &Tensor{g: g, v: v} }

func (g *Graph) invalid() *Tensor { return &Tensor{g: g} }
