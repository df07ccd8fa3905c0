package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// plan is everything Emit decides before printing: names, which values
// each entry point computes, and where each value lives.
type plan struct {
	g   *ir.Graph
	opt Options
	err error // first problem found while printing

	float  ir.DType // the model's float type (params, objective)
	prefix string   // error-message prefix: the package name

	dims       []dimInfo
	inputs     []*ir.Value
	params     []*ir.Value
	vals       []*valInfo // by value ID
	outputs    []outInfo  // named outputs (not gradients)
	grads      []gradInfo // one per param, in declaration order
	inputGrads []outInfo  // gradients with respect to inputs (passes.GradOptions.Wrt), by input name

	states []stateInfo // state values and their updates (state.go)

	prog                       *passes.Program
	forward, backward, predict []*kcall // kernels, in order (no aliases)
	kernels                    []*kinfo // each kernel method once, in order of first use
	scratch                    []scratchBuf
	inPredict                  []bool // by ID: needed by Predict
	inTrain                    []bool // by ID: needed by Forward or Backward
	dependsOnTarget            []bool // by ID
	// dimConst (by ID): the value is a function of constants and dims
	// alone (a const, a numel, a reshape or an elementwise op of them),
	// every element alike; kernels compute it before their loops. folded
	// holds its value when no symbolic dim enters it. needBuf: it is also
	// read from a buffer (by a kernel other than as an elementwise
	// operand, or as an output), so it keeps one.
	dimConst, needBuf []bool
	folded            map[*ir.Value]float64

	stateFields *namer // fields and methods of state (kernels) share a namespace
}

type dimInfo struct {
	name  string // the DSL name
	field string // state field and kernel local
	cap   string // Config field: "Max" + capitalized name
	in    string // Inputs field: capitalized name
}

// valInfo says where a value lives in generated code.
type valInfo struct {
	v     *ir.Value
	field string    // state field of its buffer ("" if none: param, alias, grad alias)
	input string    // input: its Inputs field (its buffer is field)
	param string    // param: Params field
	alias *ir.Value // reshape: the value whose buffer it views
	grad  string    // stored in this Grads field
}

type outInfo struct {
	name  string // DSL output name
	field string // Outputs field
	v     *ir.Value
}

type gradInfo struct {
	param *ir.Value
	field string    // Params/Grads field
	v     *ir.Value // the gradient value (nil: zero)
	copy  bool      // copied into Grads after the backward pass (not aliased)
}

// kernelLocals are the names kernels use for their own locals.
var kernelLocals = map[string]bool{"out": true, "a": true, "b": true, "c": true, "x": true, "y": true, "z": true,
	"i": true, "j": true, "r": true, "bi": true, "err": true, "s": true, "o": true, "all": true, "rt": true, "kernels": true, "math": true, "fmt": true,
	"acc": true, "max": true, "min": true, "clear": true, "float32": true, "float64": true, "int32": true}

// isKernelLocal reports whether name is, or may be, a local of a kernel:
// the fixed ones above, and the numbered locals of loop nests (a0, x0,
// o0, p0, d0, sc0, lab0, cs0, i0, v12, c12).
func isKernelLocal(name string) bool {
	if kernelLocals[name] {
		return true
	}
	for _, pre := range []string{"a", "x", "o", "p", "d", "sc", "lab", "cs", "i", "v", "c"} {
		if rest, ok := strings.CutPrefix(name, pre); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

// stateReserved are the names of the internal state struct's own fields
// and of kernel locals.
var stateReserved = []string{"training", "step", "seed", "params", "grads", "forward", "backward", "predict", "outputs", "inputGrads",
	"arenaF32", "arenaF64", "arenaI32", "rowF32", "rowF64", "productF32", "productF64", "colSumsF64",
	"convColF32", "convColF64"}

func newPlan(prog *passes.Program, opt Options) (*plan, error) {
	g := prog.Graph
	p := &plan{g: g, opt: opt, prefix: opt.Package, vals: make([]*valInfo, len(g.Values))}
	p.stateFields = newNamer(stateReserved...)

	if err := checkSupported(g); err != nil {
		return nil, err
	}
	p.inputs, p.params = g.Inputs(), g.Params()
	// The model's float type: that of the params and the objective.
	for _, v := range append(append([]*ir.Value(nil), p.params...), g.Objective) {
		if v == nil {
			continue
		}
		if p.float == ir.InvalidDType {
			p.float = v.Type.DType
		} else if v.Type.DType != p.float {
			return nil, fmt.Errorf("params and objective have mixed float types (%v and %v); retarget with Options.DType", p.float, v.Type.DType)
		}
	}
	if p.float == ir.InvalidDType {
		p.float = ir.F32
		for _, v := range g.Values {
			if v.Type.DType.IsFloat() {
				p.float = v.Type.DType
				break
			}
		}
	}

	// Names: dims, inputs, params, outputs.
	inFields := newNamer("Inputs")
	cfgFields := newNamer("Seed", "Optimizer")
	for _, d := range g.Dims {
		di := dimInfo{name: d}
		base := sanitize(d)
		if isKernelLocal(base) {
			base = "dim" + exported(d) // the dim is also a local of every kernel
		}
		di.field = p.stateFields.get(base, "dim")
		di.in = inFields.get(exported(d))
		di.cap = cfgFields.get("Max" + exported(d))
		p.dims = append(p.dims, di)
	}
	paramFields := newNamer()
	for _, v := range g.Values {
		vi := &valInfo{v: v}
		p.vals[v.ID] = vi
		switch v.Op {
		case ir.OpInput:
			vi.input = inFields.get(exported(v.Name))
		case ir.OpParam:
			vi.param = paramFields.get(exported(v.Name))
		}
	}
	for _, v := range p.inputs {
		p.vals[v.ID].field = p.stateFields.get(sanitize(v.Name), "in")
	}
	p.planStates()
	bound := map[string]*ir.Value{} // inputs and params by name
	for _, v := range append(slices.Clone(p.inputs), p.params...) {
		bound[v.Name] = v
	}
	outFields, inGradFields := newNamer(), newNamer()
	for _, o := range g.Outputs {
		if o.Grad != "" {
			if v := bound[o.Grad]; v != nil && v.Op == ir.OpInput {
				p.inputGrads = append(p.inputGrads, outInfo{name: o.Grad, field: inGradFields.get(exported(o.Grad)), v: o.Value})
			}
			continue
		}
		if o.State != "" { // written into Model.State, not an Outputs field
			continue
		}
		p.outputs = append(p.outputs, outInfo{name: o.Name, field: outFields.get(exported(o.Name)), v: o.Value})
	}

	// Which values each entry point computes: the program's partition.
	part := prog.Partition
	p.dependsOnTarget = part.Target
	inFwd := part.Forward
	p.inPredict = part.Predict
	p.inTrain = part.Train

	for _, v := range g.Values {
		if v.Op.Storage == ir.View {
			p.vals[v.ID].alias = v.Args[0]
		}
	}

	// Gradients: alias the Grads field when the gradient value has a
	// kernel of its own and no other gradient shares it.
	gradUses := map[*ir.Value]int{}
	gradOf := map[string]*ir.Value{}
	for _, o := range g.Outputs {
		if o.Grad != "" {
			gradUses[o.Value]++
			gradOf[o.Grad] = o.Value
		}
	}
	for _, pv := range p.params {
		gi := gradInfo{param: pv, field: p.vals[pv.ID].param, v: gradOf[pv.Name]}
		if gi.v != nil {
			// A reshaped gradient (a bias's, summed with keepdims) is
			// stored by the kernel of the value it reshapes.
			root := p.storage(gi.v).v
			if root.Op.HasKernel() && gradUses[gi.v] == 1 && !inFwd[root.ID] && root.Type.DType == pv.Type.DType && p.vals[root.ID].grad == "" {
				p.vals[root.ID].grad = gi.field
			} else {
				gi.copy = true
			}
		}
		p.grads = append(p.grads, gi)
	}
	return p, nil
}

// storage returns the value whose buffer holds v (following reshapes).
func (p *plan) storage(v *ir.Value) *valInfo {
	vi := p.vals[v.ID]
	for vi.alias != nil {
		vi = p.vals[vi.alias.ID]
	}
	return vi
}

// goType is the Go element type of a dtype.
func goType(d ir.DType) string {
	switch d {
	case ir.F32:
		return "float32"
	case ir.F64:
		return "float64"
	case ir.I32:
		return "int32"
	}
	return "invalid"
}

// dim returns the dimInfo of a symbolic dim.
func (p *plan) dim(name string) dimInfo {
	for _, d := range p.dims {
		if d.name == name {
			return d
		}
	}
	panic("codegen: undeclared dim " + name)
}
