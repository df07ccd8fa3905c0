package rt

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/runtime/api"
	"github.com/bpgen/bpgen/runtime/optim"
	"github.com/bpgen/bpgen/runtime/tensorio"
)

// The model-independent half of a generated package: what every model
// does alike with its params, gradients and state, driven by the one name
// table (api.Info) the package declares, as protobuf-go's generated code
// hands its logic to protoimpl. The generated package keeps the typed API
// (Params, Grads and State with a field per value, every method with its
// doc comment) and the kernels; its New binds the typed fields to flat
// vectors with Views.Bind, every call checks them with Views.Check, and
// its optimizer, Save, Load and ParamTensors are calls of this file.
//
//	var info = &api.Info{Package: "mlp", Params: []api.Spec{{Name: "W1", Field: "W1", …}, …}, …}
//	func (p *Params) fields() []*[]float32 { return []*[]float32{&p.W1, &p.B1, …} }
//
//	err := m.params.Bind(&mem, info, rt.Params, cfg.Seed, m.Params.fields()) // in New
//	err := m.params.Check()                                                  // in every call

// SupportPackageIsVersion2 is referenced by code generated since package
// rt implements the model-independent half of a generated package (Views,
// NewOptimizer, Save, Load): such code fails to compile with this name in
// the error against an older version of this package.
const SupportPackageIsVersion2 = true

// A Role is what a Views holds: a model's params, their gradients, or its
// state.
type Role int

const (
	// Params are a model's parameters (Model.Params, viewing
	// ParamVector), filled by Bind with their initializers
	// (api.Spec.Init) from the seed.
	Params Role = iota
	// Grads are the gradients of the params (Model.Grads, viewing
	// GradVector), zero.
	Grads
	// State is a model's state that is not trained (Model.State: batch
	// norm's running statistics), filled by Bind with its initial values.
	// A Views of T holds the state values of dtype T.
	State
)

// String is the Role's struct in the generated package: "Params",
// "Grads" or "State".
func (r Role) String() string {
	switch r {
	case Params:
		return "Params"
	case Grads:
		return "Grads"
	case State:
		return "State"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// vector is the method of a generated Model that returns the flat vector
// of r ("" for State, which has none).
func (r Role) vector() string {
	switch r {
	case Params:
		return "ParamVector"
	case Grads:
		return "GradVector"
	}
	return ""
}

// what names r's vector in Alloc's errors.
func (r Role) what() string {
	switch r {
	case Params:
		return "the parameters"
	case Grads:
		return "the gradients"
	}
	return "the state"
}

// Views is one flat vector of a generated model and the typed fields that
// view it, in the order of its name table: Model.Params' fields and
// ParamVector, Model.Grads' and GradVector, or Model.State's. The fields
// are exported, so a caller may replace one: every entry point calls
// Check first, so that the kernels only ever see the vector.
//
// The zero Views holds nothing; Bind makes one. A Views allocates only in
// Bind and Tensors.
type Views[T float32 | float64] struct {
	// Flat is the vector: the i-th field views Flat[off[i]:off[i+1]]
	// (params and gradients: declaration order, row-major, no gaps).
	Flat   []T
	role   Role
	where  string     // "mlp: Params": the prefix of a field in errors
	specs  []api.Spec // the values, in the fields' order
	fields []*[]T     // the typed fields (&m.Params.W1, …), kept from Bind
	off    []int      // len(fields)+1 offsets into Flat
}

// Bind allocates the flat vector of role's values in info (its Params,
// or its States of dtype T), counting it in mem, points each of fields
// (the typed fields, one per value in the table's order: &m.Params.W1,
// &m.Params.B1, …) at its view, and fills params and state with their
// initial values (params from seed, as ir.InitParams does; state with
// its constant, as ir.InitState does). Bind keeps fields, which Check and
// Tensors read. It fails if the memory is not there, or if the fields do
// not match the table (generated code of another version).
func (v *Views[T]) Bind(mem *Memory, info *api.Info, role Role, seed uint64, fields []*[]T) error {
	specs := info.Params
	if role == State {
		specs = nil
		for _, s := range info.States {
			if s.DType == dtypeOf[T]() {
				specs = append(specs, s)
			}
		}
	}
	where := info.Package + ": " + role.String()
	if len(fields) != len(specs) {
		return fmt.Errorf("%s has %d fields and the name table %d values of dtype %s: regenerate the package with this version of bpgen", where, len(fields), len(specs), dtypeOf[T]())
	}
	off := make([]int, len(specs)+1)
	for i, s := range specs {
		n, err := numElements(s.Shape)
		if err != nil {
			return fmt.Errorf("%s.%s: %v", where, s.Field, err)
		}
		off[i+1] = off[i] + n
	}
	flat, err := Alloc[T](mem, off[len(specs)], role.what())
	if err != nil {
		return err
	}
	for i, f := range fields {
		*f = flat[off[i]:off[i+1]:off[i+1]]
	}
	if role != Grads {
		for i, s := range specs {
			if err := InitParam(*fields[i], s.Name, ints(s.Shape), s.Init, seed); err != nil {
				return err
			}
		}
	}
	*v = Views[T]{Flat: flat, role: role, where: where, specs: specs, fields: fields, off: off}
	return nil
}

// Check returns nil if every field is still the view Bind made (its
// length and its first element's address), else an error naming the
// first field that is not and what it must be, e.g.
//
//	mlp: Params.W1 was replaced: it must stay ParamVector()[0:200704], as New made it (copy values into it instead)
//
// It does not allocate unless it fails.
func (v *Views[T]) Check() error {
	for i, f := range v.fields {
		s, lo, hi := *f, v.off[i], v.off[i+1]
		if len(s) != hi-lo || hi > lo && &s[0] != &v.Flat[lo] {
			field := v.where + "." + v.specs[i].Field
			if v.role == State {
				return fmt.Errorf("%s was replaced: it must stay the slice New made (copy values into it instead)", field)
			}
			return CheckView(field, s, v.Flat, lo, hi-lo, v.role.vector())
		}
	}
	return nil
}

// Tensors returns every field as an api.Tensor, in order, named and
// shaped by the name table, each aliasing its field's current slice
// (writing the tensor writes the value). The slice and the shapes are new
// at each call.
func (v *Views[T]) Tensors() []api.Tensor {
	ts := make([]api.Tensor, len(v.fields))
	for i, f := range v.fields {
		ts[i] = api.Tensor{Name: v.specs[i].Name, DType: dtypeOf[T](), Shape: ints(v.specs[i].Shape)}
		switch d := any(*f).(type) {
		case []float32:
			ts[i].F32 = d
		case []float64:
			ts[i].F64 = d
		}
	}
	return ts
}

// NewOptimizer returns the optimizer cfg selects for the params of info,
// in ParamVector's layout with their NoDecay marks, as optim.NewFlat does:
// an empty cfg.Kind selects info.Optimizer, zero fields the defaults, and
// errors start "<package>: Config.Optimizer".
func NewOptimizer[T Float](info *api.Info, cfg optim.Config) (*optim.Flat[T], error) {
	ps := make([]optim.Param, len(info.Params))
	for i, s := range info.Params {
		n, err := numElements(s.Shape)
		if err != nil {
			return nil, fmt.Errorf("%s: Params.%s: %v", info.Package, s.Field, err)
		}
		ps[i] = optim.Param{Name: s.Name, Size: n, NoDecay: s.NoDecay}
	}
	return optim.NewFlat[T](info.Package+": Config.Optimizer", cfg, info.Optimizer, ps)
}

// Save writes tensors (a model's ParamTensors, then its state's) to a
// safetensors file at path, atomically (tensorio.SaveFile), with the
// metadata "bpgen.model": info.Source.
func Save(path string, info *api.Info, tensors ...[]api.Tensor) error {
	var ts []tensorio.Tensor
	for _, group := range tensors {
		for _, t := range group {
			ts = append(ts, tensorio.Tensor{Name: t.Name, DType: strings.ToUpper(string(t.DType)), Shape: t.Shape, Data: data(t)})
		}
	}
	return tensorio.SaveFile(path, ts, map[string]string{"bpgen.model": info.Source})
}

// Load copies the tensors of the safetensors file at path into tensors
// (a model's ParamTensors, then its state's), by name, each of which the
// file must have with the same dtype and shape (it may have others). It
// is all-or-nothing, as tensorio.LoadInto: on any error (a bad header,
// truncated data, a missing tensor, a wrong dtype or shape) it changes
// nothing.
func Load(path string, tensors ...[]api.Tensor) error {
	dst := map[string]any{}
	for _, group := range tensors {
		for _, t := range group {
			dst[t.Name] = tensorio.Tensor{Shape: t.Shape, Data: data(t)}
		}
	}
	return tensorio.LoadInto(path, dst)
}

// data is t's data slice (of its dtype's field).
func data(t api.Tensor) any {
	switch t.DType {
	case api.F32:
		return t.F32
	case api.F64:
		return t.F64
	}
	return t.I32
}

// dtypeOf is the api.DType of T.
func dtypeOf[T float32 | float64]() api.DType {
	var x T
	if _, ok := any(x).(float32); ok {
		return api.F32
	}
	return api.F64
}

// ints is the sizes of a static shape's axes.
func ints(s api.Shape) []int {
	r := make([]int, len(s))
	for i, a := range s {
		r[i] = a.N
	}
	return r
}

// numElements is the element count of a static shape.
func numElements(s api.Shape) (int, error) {
	n := 1
	for _, a := range s {
		if a.Dim != "" || a.N < 0 {
			return 0, fmt.Errorf("shape %v is not static", s)
		}
		n *= a.N
	}
	return n, nil
}
