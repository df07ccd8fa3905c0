// Package api is the face every bpgen-generated package shares: its
// params, gradients, inputs and outputs by DSL name, as one Tensor type,
// with a name table (Info), so that a driver, a checkpoint tool or a
// trainer written once works for every generated model, without
// reflection and without parsing generated source. Every generated
// *Model implements Model; the typed fields and methods (Params.W1,
// Inputs.X, TrainStep(Inputs)) stay the fast, checked way for code written
// for one model.
//
//	func describe(m api.Model) {
//		for _, p := range m.Info().Params {
//			fmt.Println(p.Name, p.DType, p.Shape)
//		}
//	}
package api

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/internal/detrand"
)

// DType is the element type of a tensor.
type DType string

// The dtypes of generated models: a Tensor's data is in the field of that
// name (F32, F64, I32).
const (
	F32 DType = "f32"
	F64 DType = "f64"
	I32 DType = "i32"
)

// Axis is one dim of a declared shape: static (N) or symbolic (Dim, the
// DSL name of the dim, sized per call).
type Axis struct {
	N   int
	Dim string
}

func (a Axis) String() string {
	if a.Dim != "" {
		return a.Dim
	}
	return fmt.Sprint(a.N)
}

// Shape is a declared shape.
type Shape []Axis

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, a := range s {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Spec describes one param, state value, input or output of a model.
type Spec struct {
	// Name is the DSL name (dsl.Graph.Param, State, Input, Labels,
	// Output).
	Name string
	// Field is the Go field of the typed struct (Params, State, Inputs,
	// Outputs) that holds it.
	Field string
	DType DType
	Shape Shape
	// Target marks target inputs (Labels, and inputs only losses read):
	// Predict does not take them, and outputs computed from them.
	Target bool
	// Init is the initializer of a param or state value: New fills it
	// with the values ir.InitParams (ir.InitState) gives. It is zero for
	// inputs and outputs.
	Init Init
	// NoDecay excludes a param from the optimizer's weight decay
	// (dsl.NoDecay).
	NoDecay bool
}

// Init is an initializer with every default resolved (rt.Init): Kind is
// one of zeros, constant (Value), normal (Mean, Std), uniform (Low, High),
// xavier_uniform, xavier_normal, he_normal, he_uniform (Gain).
type Init = detrand.Init

// Dim describes one symbolic dim.
type Dim struct {
	Name  string // DSL name (dsl.Graph.Dim)
	Field string // its Inputs field (the size in a call)
	Cap   string // its Config field (the capacity)
}

// Info is a generated model's name table. It is also the one table the
// generated package hands to package rt, which implements from it what
// every model does alike (binding Params, Grads and State to their flat
// vectors, initializing them, checking them, the optimizer, Save and
// Load), as protobuf-go's generated code hands its descriptors to
// protoimpl.
type Info struct {
	Source  string // the model function, e.g. "models.MLP"
	Package string // the generated package's name, which prefixes its errors
	Float   DType  // the dtype of params and gradients
	// Optimizer is the update rule an empty Config.Optimizer.Kind selects
	// (bpgen's -optimizer: "sgd" or "adam"); empty in a forward-only
	// model.
	Optimizer string
	Dims      []Dim
	Params    []Spec // declaration order: ParamVector's
	// States are the model's state that is not trained (batch norm's
	// running statistics: the State struct), saved and loaded with the
	// params, in declaration order.
	States  []Spec
	Inputs  []Spec
	Outputs []Spec
}

// Lookup returns the spec named name in specs (Info.Params, Inputs or
// Outputs) and whether there is one.
func Lookup(specs []Spec, name string) (Spec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Tensor is a named tensor of a generated model: row-major data in the
// field of its DType, viewed in place (a param's Tensor aliases the model's
// storage: writing it writes the param).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	F64   []float64
	I32   []int32
}

// Len is the number of elements of t's data.
func (t Tensor) Len() int {
	switch t.DType {
	case F32:
		return len(t.F32)
	case F64:
		return len(t.F64)
	}
	return len(t.I32)
}

// Floats returns t's data as float64s (a copy): a convenience for drivers
// that print or compare values of any float dtype.
func (t Tensor) Floats() []float64 {
	r := make([]float64, t.Len())
	for i := range r {
		switch t.DType {
		case F32:
			r[i] = float64(t.F32[i])
		case F64:
			r[i] = t.F64[i]
		default:
			r[i] = float64(t.I32[i])
		}
	}
	return r
}

// Feed is the inputs of one call by DSL name: the size of every symbolic
// dim and every input tensor (Shape is not read; the data's length is
// checked against the dims). Target inputs may be left out for Predict.
type Feed struct {
	Dims   map[string]int
	Inputs map[string]Tensor
}

// CheckInput checks an input of a feed for generated code: t (ok: it is
// in the feed) must have dtype d, and be there if required.
func CheckInput(t Tensor, ok bool, where, name string, d DType, required bool) error {
	switch {
	case !ok && required:
		return fmt.Errorf("%s: the feed has no input %q", where, name)
	case ok && t.DType != d:
		return fmt.Errorf("%s: input %q is %s in the feed; the model takes %s", where, name, t.DType, d)
	}
	return nil
}

// Model is implemented by every generated *Model: its name table, its
// params and gradients as Tensors, and its entry points with inputs and
// outputs by DSL name. The Feed variants check names and dtypes, then do
// what the typed methods do (TrainStepFeed is TrainStep, and so on), and
// allocate nothing but the slices of Tensors they return; those Tensors
// view the model's buffers, valid until the next call.
type Model interface {
	Function
	// GradTensors returns every gradient, in ParamTensors' order.
	GradTensors() []Tensor
	ForwardFeed(f *Feed) (objective float64, err error)
	Backward() error
	Apply() error
	TrainStepFeed(f *Feed) (objective float64, err error)
}

// Function is implemented by every generated *Model, forward-only ones
// (generated from a model without an objective: no gradients, no
// training) included: its name table, its params, and inference by DSL
// name. A Function that trains is also a Model (a type assertion tells).
type Function interface {
	Info() *Info
	// ParamTensors returns every param, declaration order, aliasing the
	// model's storage.
	ParamTensors() []Tensor
	// OutputTensors returns the outputs of the last Forward (Info.Outputs'
	// order).
	OutputTensors() []Tensor
	PredictFeed(f *Feed) ([]Tensor, error)
	EvaluateFeed(f *Feed) ([]Tensor, error)
	Save(path string) error
	Load(path string) error
}
