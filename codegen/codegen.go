// Package codegen writes the Go source of a model: a package with a
// constructor, the forward and backward kernels of an ir.Graph that
// already holds its adjoint computation (see passes.Grad), the optimizer
// step, inference, and safetensors I/O.
//
// Generation is a pure function from a graph to file contents; only the
// CLI writes files. The smallest use:
//
//	g, _ := dsl.Build("models.MLP", models.MLP)
//	joint, _, _ := passes.Grad(g, passes.GradOptions{})
//	files, err := codegen.Emit(joint, codegen.Options{Package: "mlp", Source: "models.MLP"})
//	// files["model.go"], files["kernels.go"]: gofmt'd, DO NOT EDIT
//
// Generated code imports only runtime/… packages of this module, gonum and
// the standard library. It names buffers after the DSL values they hold,
// precedes each kernel with the line of IR it implements, and allocates
// nothing per training step.
//
// The generated package's API, for a model with symbolic dim n, input x,
// labels y, params W1 and b1 and outputs loss and logits:
//
//	type Config struct { MaxN int; Seed uint64; Optimizer Optimizer } // capacity per dim
//	type Optimizer struct { Kind string; LR, Momentum, WeightDecay float64; Nesterov bool; Beta1, Beta2, Eps float64 }
//	type Params struct { W1, B1 []float32 }                   // capitalized DSL names
//	type Inputs struct { X []float32; Y []int32; N int }      // inputs, then dims
//	type Outputs struct { Loss float32; Logits []float32 }   // non-gradient outputs
//	func New(cfg Config) (*Model, error)
//	func (m *Model) Forward(in Inputs) (float32, error)      // training mode; returns the objective
//	func (m *Model) Backward() error                         // gradients into m.Grads
//	func (m *Model) TrainStep(in Inputs) (float32, error)    // forward, backward, optimizer update
//	func (m *Model) Outputs() Outputs                        // of the last Forward
//	func (m *Model) Predict(in Inputs) (Outputs, error)      // inference; no target inputs needed
//	func (m *Model) InputGrads() InputGrads                  // only with passes.GradOptions.Wrt
//	func (m *Model) Tensors() []Tensor                       // params with gradients, for I/O
//	func (m *Model) Save(path string) error                  // safetensors
//	func (m *Model) Load(path string) error
//
// Initial parameters equal ir.InitParams bit for bit, dropout masks those
// of ir.Interp with Env{Step: number of completed TrainSteps}, and every
// entry point checks its inputs (dims within capacity, slice lengths,
// label and index ranges) and returns an error rather than panic.
package codegen

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Options configures Emit.
type Options struct {
	Package string   // Go package name of the output
	Source  string   // "pkg.Func" the model comes from, for the header
	DType   ir.DType // 0: keep the model's float type; ir.F32 or ir.F64: retarget every float value
	Gemm    string   // "bpgen" (default: runtime/kernels) or "gonum" (gonum's BLAS, for comparison)
}

// Import paths of the packages generated code uses.
const (
	rtPath      = "github.com/bpgen/bpgen/runtime/rt"
	kernelsPath = "github.com/bpgen/bpgen/runtime/kernels"
	optimPath   = "github.com/bpgen/bpgen/runtime/optim"
	tensorioPkg = "github.com/bpgen/bpgen/runtime/tensorio"
)

// Emit generates the package of g: file name → gofmt'd content. The
// output depends only on g and opt, byte for byte.
func Emit(g *ir.Graph, opt Options) (map[string][]byte, error) {
	if opt.Package == "" || !isIdent(opt.Package) {
		return nil, fmt.Errorf("codegen: package name %q is not an identifier", opt.Package)
	}
	if opt.Source == "" {
		opt.Source = g.Name
	}
	switch opt.Gemm {
	case "":
		opt.Gemm = "bpgen"
	case "bpgen", "gonum":
	default:
		return nil, fmt.Errorf("codegen: Options.Gemm is %q, want \"bpgen\" or \"gonum\"", opt.Gemm)
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, err)
	}
	if opt.DType != ir.InvalidDType {
		if !opt.DType.IsFloat() {
			return nil, fmt.Errorf("codegen: Options.DType is %v, want f32 or f64", opt.DType)
		}
		g = Retarget(g, opt.DType)
		if err := ir.Verify(g); err != nil {
			return nil, fmt.Errorf("codegen %s: retargeted to %v: %w", g.Name, opt.DType, err)
		}
	}
	p, err := newPlan(g, opt)
	if err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, err)
	}
	files := map[string]*jen.File{
		"model.go":   p.modelFile(),
		"kernels.go": p.kernelsFile(),
	}
	out := map[string][]byte{}
	names := mapsKeys(files)
	slices.Sort(names)
	for _, name := range names {
		var b bytes.Buffer
		if err := files[name].Render(&b); err != nil {
			return nil, fmt.Errorf("codegen %s: rendering %s: %w", g.Name, name, err)
		}
		out[name] = b.Bytes()
	}
	if p.err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, p.err)
	}
	return out, nil
}

func mapsKeys[K comparable, V any](m map[K]V) []K {
	r := make([]K, 0, len(m))
	for k := range m {
		r = append(r, k)
	}
	return r
}

func isIdent(s string) bool { return sanitize(s) == s && s != "_" }

// Retarget returns a copy of g with every float dtype (of values and of
// dtype attributes) replaced by d. Converts between float types become
// identities.
func Retarget(g *ir.Graph, d ir.DType) *ir.Graph {
	c := g.Clone()
	retype(c, d)
	return c
}

func retype(g *ir.Graph, d ir.DType) {
	for _, v := range g.Values {
		if v.Type.DType.IsFloat() {
			v.Type.DType = d
		}
		if t := v.Attrs.DType("dtype"); t.IsFloat() {
			v.Attrs["dtype"] = d
		}
	}
	for _, f := range g.Funcs {
		retype(f, d)
	}
}

// newFile starts a generated file with the header and the version
// handshake of the runtime support package.
func (p *plan) newFile() *jen.File {
	f := jen.NewFile(p.opt.Package)
	f.HeaderComment("Code generated by bpgen from " + p.opt.Source + "; DO NOT EDIT.")
	f.ImportNames(map[string]string{rtPath: "rt", kernelsPath: "kernels", optimPath: "optim", tensorioPkg: "tensorio"})
	return f
}
