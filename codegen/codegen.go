// Package codegen writes the Go source of a model: a package with a
// constructor, the forward and backward kernels of a program lowered by
// package passes, the optimizer step, inference, and safetensors I/O.
//
// Generation is a pure function from a program to file contents; only the
// CLI writes files. The smallest use:
//
//	g, _ := dsl.Build("models.MLP", models.MLP)
//	prog, _ := passes.CompileProgram(g, passes.Options{})
//	files, err := codegen.EmitProgram(prog, codegen.Options{Package: "mlp", Source: "models.MLP"})
//	// files["model.go"], files["kernels.go"]: gofmt'd, DO NOT EDIT
//
// To generate a program unoptimized (one kernel and one buffer per value),
// compile it with every optional pass disabled (passes.Options.Disable).
//
// Kernels. Each kernel of the program becomes one method, preceded by the
// IR lines of its values (with the model's file:line), and Forward,
// Backward and Predict call them in the program's order:
//
//   - Loop: one loop nest over the root's shape (dims of size 1 dropped,
//     dims merged where every operand broadcasts alike) computing each
//     value of the kernel into a local and storing only the materialized
//     ones.
//   - Reduce with fused producers: one sweep computing the producers and
//     accumulating each row (last axis, or everything) in float64;
//     logsumexp and softmax cross-entropy stage the row in a scratch row,
//     softmax and log_softmax in their output row, then finish it with
//     package rt (a second sweep over a row in cache).
//   - Gemm with an epilogue: one GEMM into the buffer of a stored value of
//     the product's shape, then one pass over it right after (bias add,
//     activation, the backward ReLU mask…), storing the materialized
//     values and accumulating column sums (the bias gradient).
//   - Opaque kernels, and unfused reductions and GEMMs, call package rt or
//     the GEMM directly.
//
// Buffers. The materialized values of training (Forward then Backward, one
// timeline) live in one arena per dtype, those of Predict in arenas of
// their own, at the offsets of the program's BufferPlan: New allocates
// each arena once and every value is a named view of its buffer (values
// computed in place share one). The offsets are planned for the capacity
// in passes.Options.Capacity; a model configured for more lays the
// arena out again in New (rt.Layout), by the same method. Params,
// gradients (each stored straight into its Grads slice when it can be)
// and the optimizer's state live outside the arenas: the params in one
// flat vector and the gradients in another (Params' and Grads' fields are
// views of them, in declaration order), the optimizer's state in vectors
// of the same layout (optim.Flat).
//
// One table. What every model does alike with its params, gradients and
// state — binding the typed fields to their flat vectors, initializing
// them, checking before each call that none was replaced, the optimizer
// with its defaults, ParamTensors, Save and Load — is not generated: the
// package declares its name table once (var info = &api.Info{…}: every
// dim, param with its initializer, state value, input and output), and
// pointers to the typed fields (Params.fields), and calls package rt with
// them (rt.Views, rt.NewOptimizer, rt.Save, rt.Load), as protobuf-go's
// generated code hands its logic to protoimpl. model.go keeps the typed
// API, every method with its doc comment, and what is specific to the
// model: the capacity and input checks, the arenas and the kernels' calls.
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
//	type Optimizer = optim.Config                            // Kind, LR, Momentum, WeightDecay, ...
//	type Params struct { W1, B1 []float32 }                   // capitalized DSL names; views of ParamVector
//	type Inputs struct { X []float32; Y []int32; N int }      // inputs, then dims
//	type Outputs struct { Loss float32; Logits []float32 }   // non-gradient outputs
//	func New(cfg Config) (*Model, error)
//	func (m *Model) Forward(in Inputs) (float32, error)      // training mode; returns the objective
//	func (m *Model) Backward() error                         // gradients into m.Grads (GradVector)
//	func (m *Model) Apply() error                            // one optimizer step from GradVector
//	func (m *Model) TrainStep(in Inputs) (float32, error)    // Forward, Backward, Apply
//	func (m *Model) ParamVector() []float32                  // every param, flat, declaration order (aliases m.Params)
//	func (m *Model) GradVector() []float32                   // every gradient, same order (aliases m.Grads)
//	func (m *Model) Outputs() Outputs                        // of the last Forward
//	func (m *Model) Predict(in Inputs) (Outputs, error)      // inference; no target inputs needed
//	func (m *Model) Evaluate(in Inputs) (Outputs, error)     // inference mode, every output (targets too)
//	func (m *Model) NewPredictor() (*Predictor, error)       // Predict on its own buffers, for concurrent serving
//	func (m *Model) InputGrads() InputGrads                  // only with passes.GradOptions.Wrt
//	func (m *Model) Tensors() []Tensor                       // params with gradients, for I/O
//	func (m *Model) Save(path string) error                  // safetensors
//	func (m *Model) Load(path string) error                  // all-or-nothing
//	func (m *Model) Info() *api.Info                         // api.Model: names, fields, dtypes, shapes; and
//	                                                         // ParamTensors, GradTensors, TrainStepFeed, ... by DSL name
//
// Initial parameters equal ir.InitParams bit for bit, dropout masks those
// of ir.Interp with Env{Step: number of completed TrainSteps}, and every
// entry point checks its inputs (dims within capacity, slice lengths,
// label and index ranges) and returns an error rather than panic.
package codegen

import (
	"bytes"
	"fmt"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/dave/jennifer/jen"
)

// Import paths of the packages generated code uses.
const (
	rtPath      = "github.com/bpgen/bpgen/runtime/rt"
	kernelsPath = "github.com/bpgen/bpgen/runtime/kernels"
	optimPath   = "github.com/bpgen/bpgen/runtime/optim"
)

// EmitProgram generates the package of a lowered program (see
// passes.CompileProgram): file name → gofmt'd content, byte for byte a
// function of p and opt. Forward, Backward and Predict run p's kernels in
// order; the values they materialize live in one arena per dtype and per
// entry point (training, inference), at the offsets of p.Plan and
// p.PredictPlan. Options.DType, if set, must be the program's float type:
// retarget a model before compiling it (Retarget, then
// passes.CompileProgram), so that constants are folded in the target type.
func EmitProgram(p *passes.Program, opt Options) (map[string][]byte, error) {
	if p == nil || p.Graph == nil || p.Plan == nil || p.PredictPlan == nil {
		return nil, fmt.Errorf("codegen: EmitProgram needs a lowered program with its buffer plans (passes.CompileProgram or passes.Lower)")
	}
	g := p.Graph
	opt, err := checkOptions(opt, g)
	if err != nil {
		return nil, err
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, err)
	}
	return emit(p, opt)
}

// checkSupported rejects ops codegen has no kernels for.
func checkSupported(g *ir.Graph) error {
	for _, v := range g.Values {
		if ir.Lookup(v.Op.Name) != v.Op || (v.Op.Class != ir.Elementwise && v.Op.HasKernel() && lowerings[v.Op] == nil) {
			return fmt.Errorf("%s: op %s not supported by codegen yet\n\t%s", v.Pos, v.Op.Name, v)
		}
	}
	return nil
}

// emit generates the files of a lowered program.
func emit(prog *passes.Program, opt Options) (map[string][]byte, error) {
	g := prog.Graph
	p, err := newPlan(prog, opt)
	if err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, err)
	}
	p.lower(prog)
	if p.err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, p.err)
	}
	files := map[string]*jen.File{
		"model.go":   p.modelFile(),
		"kernels.go": p.kernelsFile(),
	}
	if p.err != nil {
		return nil, fmt.Errorf("codegen %s: %w", g.Name, p.err)
	}
	out := map[string][]byte{}
	for name, f := range files {
		var b bytes.Buffer
		if err := f.Render(&b); err != nil {
			return nil, fmt.Errorf("codegen %s: rendering %s: %w", g.Name, name, err)
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

func isIdent(s string) bool { return sanitize(s) == s && s != "_" }

// newFile starts a generated file: the header and the names of the
// runtime packages it may import.
func (p *plan) newFile() *jen.File {
	f := jen.NewFile(p.opt.Package)
	f.HeaderComment("Code generated by bpgen from " + p.opt.Source + "; DO NOT EDIT.")
	f.ImportNames(map[string]string{rtPath: "rt", kernelsPath: "kernels", optimPath: "optim"})
	return f
}
