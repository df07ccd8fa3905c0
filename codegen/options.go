package codegen

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// Gemm selects the matrix-product kernels of generated code.
type Gemm uint8

const (
	// GemmBpgen is runtime/kernels (the default).
	GemmBpgen Gemm = iota
	// GemmGonum is gonum's BLAS, for comparison.
	GemmGonum
)

var gemmNames = [...]string{GemmBpgen: "bpgen", GemmGonum: "gonum"}

func (g Gemm) String() string {
	if int(g) < len(gemmNames) {
		return gemmNames[g]
	}
	return fmt.Sprintf("Gemm(%d)", g)
}

// MarshalText and UnmarshalText make a Gemm a flag (flag.TextVar): "bpgen"
// or "gonum".
func (g Gemm) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

func (g *Gemm) UnmarshalText(b []byte) error {
	return parseEnum(string(b), gemmNames[:], g, "GEMM", "bpgen or gonum")
}

// Optimizer is the update rule of a generated Config whose Optimizer.Kind
// is left empty.
type Optimizer uint8

const (
	// OptimizerSGD is SGD with momentum (the default).
	OptimizerSGD Optimizer = iota
	// OptimizerAdam is Adam.
	OptimizerAdam
)

var optimizerNames = [...]string{OptimizerSGD: "sgd", OptimizerAdam: "adam"}

func (o Optimizer) String() string {
	if int(o) < len(optimizerNames) {
		return optimizerNames[o]
	}
	return fmt.Sprintf("Optimizer(%d)", o)
}

// MarshalText and UnmarshalText make an Optimizer a flag: "sgd" or "adam".
func (o Optimizer) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

func (o *Optimizer) UnmarshalText(b []byte) error {
	return parseEnum(string(b), optimizerNames[:], o, "optimizer", "sgd or adam")
}

// parseEnum sets *e to the index of s in names.
func parseEnum[E ~uint8](s string, names []string, e *E, what, want string) error {
	for i, n := range names {
		if n == s {
			*e = E(i)
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q (want %s)", what, s, want)
}

// Options configures EmitProgram.
type Options struct {
	Package string // Go package name of the output
	Source  string // "pkg.Func" the model comes from, for the header
	Gemm    Gemm   // the GEMM of generated code
	// Accumulate is the precision float32 matrix products accumulate in:
	// ir.F32 (the default when zero, kernels.Sgemm, as PyTorch and JAX do)
	// or ir.F64 (kernels.SgemmAcc64: each element rounded to float32 once,
	// as ir.Interp computes it; products 2.1–2.4× slower, a train step
	// about 2×: BenchmarkTrainStepAccumulate). float64 models ignore it.
	Accumulate ir.DType
	// Optimizer is the update rule of the generated Config when its
	// Optimizer.Kind is left empty.
	Optimizer Optimizer
}

// checkOptions validates opt and fills in its defaults.
func checkOptions(opt Options, g *ir.Graph) (Options, error) {
	if opt.Package == "" || !isIdent(opt.Package) {
		return opt, fmt.Errorf("codegen: package name %q is not an identifier", opt.Package)
	}
	if opt.Source == "" {
		opt.Source = g.Name
	}
	if int(opt.Gemm) >= len(gemmNames) {
		return opt, fmt.Errorf("codegen: Options.Gemm is %v, want GemmBpgen or GemmGonum", opt.Gemm)
	}
	if int(opt.Optimizer) >= len(optimizerNames) {
		return opt, fmt.Errorf("codegen: Options.Optimizer is %v, want OptimizerSGD or OptimizerAdam", opt.Optimizer)
	}
	switch {
	case opt.Accumulate == ir.InvalidDType:
		opt.Accumulate = ir.F32
	case !opt.Accumulate.IsFloat():
		return opt, fmt.Errorf("codegen: Options.Accumulate is %v, want f32 or f64", opt.Accumulate)
	case opt.Accumulate == ir.F64 && opt.Gemm == GemmGonum:
		return opt, fmt.Errorf("codegen: Options.Accumulate f64 needs Options.Gemm bpgen (gonum's Sgemm accumulates in float32)")
	}
	return opt, nil
}
