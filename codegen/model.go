package codegen

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// elem is the Go type of the model's float.
func (p *plan) elem() string { return goType(p.float) }

func (p *plan) sliceType(d ir.DType) *jen.Statement { return jen.Index().Id(goType(d)) }

// capProd is the element count of shape s at capacity (symbolic dims read
// from cfg).
func (p *plan) capProd(s ir.Shape) *jen.Statement {
	return dimProd(s, func(sym string) jen.Code { return jen.Id("cfg").Dot(p.dim(sym).cap) })
}

// dimProd is the Go expression of the product of dims: the symbolic ones
// as sym prints them, times the product of the static ones (unless 1).
func dimProd(dims []ir.Dim, sym func(name string) jen.Code) *jen.Statement {
	static := 1
	var parts []jen.Code
	for _, d := range dims {
		f, syms := d.Factors()
		static *= f
		for _, y := range syms {
			parts = append(parts, sym(y))
		}
	}
	if static != 1 || len(parts) == 0 {
		parts = append(parts, jen.Lit(static))
	}
	st := jen.Add(parts[0])
	for _, x := range parts[1:] {
		st = st.Op("*").Add(x)
	}
	return st
}

func (p *plan) modelFile() *jen.File {
	f := p.newFile()
	f.PackageComment(fmt.Sprintf("Package %s is the model %s compiled by bpgen: New allocates every", p.opt.Package, p.opt.Source))
	if p.forwardOnly() {
		p.forwardOnlyPackageDoc(f)
	} else {
		f.PackageComment("buffer once, TrainStep runs the forward pass, the backward pass and the")
		f.PackageComment("optimizer update without allocating, and Predict runs inference.")
	}
	if p.float == ir.F32 && p.opt.Accumulate == ir.F64 {
		f.PackageComment("")
		f.PackageComment("Matrix products accumulate in float64 and round each element to float32")
		f.PackageComment("once (generated with -accumulate f64).")
	}
	f.Comment("Stale generated code fails to compile here: regenerate it with this version of bpgen.")
	f.Const().Id("_").Op("=").Qual(rtPath, "SupportPackageIsVersion2")
	f.Line()
	f.Comment("Source is the model function this package was generated from.")
	f.Const().Id("Source").Op("=").Lit(p.opt.Source)
	f.Line()
	p.configTypes(f)
	p.dataTypes(f)
	p.stateTypes(f)
	p.modelType(f)
	p.newFunc(f)
	p.entryPoints(f)
	p.ioFuncs(f)
	p.stateFuncs(f)
	p.namedAPI(f)
	return f
}

func (p *plan) configTypes(f *jen.File) {
	var fields []jen.Code
	for _, d := range p.dims {
		fields = append(fields, jen.Comment(fmt.Sprintf("%s is the capacity of dim %s: calls may use any %s in [1, %s].", d.cap, d.name, d.in, d.cap)),
			jen.Id(d.cap).Int())
	}
	fields = append(fields,
		jen.Comment("Seed seeds the parameters' initial values and dropout."),
		jen.Id("Seed").Uint64())
	if p.forwardOnly() {
		f.Comment("Config configures New.")
		f.Type().Id("Config").Struct(fields...)
		f.Line()
		return
	}
	fields = append(fields,
		jen.Comment("Optimizer is the update rule of Apply and TrainStep."),
		jen.Id("Optimizer").Id("Optimizer"))
	f.Comment("Config configures New.")
	f.Type().Id("Config").Struct(fields...)
	f.Line()
	f.Comment("Optimizer selects and configures the update rule of Apply and TrainStep,")
	f.Comment(fmt.Sprintf("with PyTorch's semantics (see optim.Config); an empty Kind selects %q.", p.opt.Optimizer.String()))
	f.Comment("Zero fields take the defaults.")
	f.Type().Id("Optimizer").Op("=").Qual(optimPath, "Config")
	f.Line()
}

func (p *plan) dataTypes(f *jen.File) {
	// Params.
	var fields []jen.Code
	for _, v := range p.params {
		vi := p.vals[v.ID]
		fields = append(fields, jen.Comment(fmt.Sprintf("%s: %v, param at %v (init %s)", v.Name, v.Type, v.Pos, v.Attrs.Str("init"))),
			jen.Id(vi.param).Add(p.sliceType(v.Type.DType)))
	}
	if p.forwardOnly() {
		f.Comment("Params holds one flat row-major slice per parameter (Model.Params), each")
		f.Comment("a view of the model's ParamVector made by New. Change the values in")
		f.Comment("place (copy into a field, SetParams or Load); a field replaced by")
		f.Comment("another slice makes the next call fail.")
	} else {
		f.Comment("Params holds one flat row-major slice per parameter: the parameters")
		f.Comment("themselves (Model.Params) or their gradients (Model.Grads), each a view")
		f.Comment("of the model's ParamVector (or GradVector) made by New. Change the")
		f.Comment("values in place (copy into a field); a field replaced by another slice")
		f.Comment("makes the next call fail.")
	}
	f.Type().Id("Params").Struct(fields...)
	f.Line()
	var names []string
	for _, v := range p.params {
		names = append(names, p.vals[v.ID].param)
	}
	f.Comment("fields returns a pointer to each field of p, in declaration order")
	f.Comment("(Info().Params'): the table by which package rt binds them to their flat")
	f.Comment("vector (rt.Views).")
	fieldsMethod(f, "Params", "fields", p.elem(), names)

	// Inputs.
	fields = nil
	for _, v := range p.inputs {
		vi := p.vals[v.ID]
		what := "input"
		if v.Attrs.Bool("target") {
			what = "target input (Forward and TrainStep only; Predict ignores it)"
		}
		fields = append(fields, jen.Comment(fmt.Sprintf("%s: %v, %s at %v", v.Name, v.Type, what, v.Pos)),
			jen.Id(vi.input).Add(p.sliceType(v.Type.DType)))
	}
	for _, d := range p.dims {
		fields = append(fields, jen.Comment(fmt.Sprintf("%s is the size of dim %s in this call: 1 ≤ %s ≤ Config.%s.", d.in, d.name, d.in, d.cap)),
			jen.Id(d.in).Int())
	}
	f.Comment("Inputs holds the inputs of one call, flat and row-major, and the sizes of")
	f.Comment("the symbolic dims. The slices are read in place, never modified.")
	f.Type().Id("Inputs").Struct(fields...)
	f.Line()

	// Outputs.
	fields = nil
	for _, o := range p.outputs {
		t := o.v.Type
		typ := p.sliceType(t.DType)
		if len(t.Shape) == 0 {
			typ = jen.Id(goType(t.DType))
		}
		note := ""
		if p.dependsOnTarget[o.v.ID] {
			note = "; depends on target inputs, so Predict leaves it zero"
		}
		fields = append(fields, jen.Comment(fmt.Sprintf("%s: %v, output %q (%s at %v)%s", o.field, t, o.name, o.v.Label(), o.v.Pos, note)),
			jen.Id(o.field).Add(typ))
	}
	f.Comment("Outputs holds the model's named outputs: scalars by value, tensors as")
	f.Comment("slices into the model's buffers, valid until the next call.")
	f.Type().Id("Outputs").Struct(fields...)
	f.Line()

	if len(p.inputGrads) > 0 {
		fields = nil
		for _, o := range p.inputGrads {
			in := p.g.Lookup(o.name)
			fields = append(fields, jen.Comment(fmt.Sprintf("%s: %v, the gradient of the objective with respect to input %s", o.field, in.Type, o.name)),
				jen.Id(o.field).Add(p.sliceType(o.v.Type.DType)))
		}
		f.Comment("InputGrads holds the gradients of the objective with respect to the")
		f.Comment("inputs the model was differentiated for, as slices into the model's")
		f.Comment("buffers, valid until the next call.")
		f.Type().Id("InputGrads").Struct(fields...)
		f.Line()
	}

	f.Comment("Tensor is one parameter with its gradient, for saving, loading and")
	f.Comment("inspection. Data and Grad alias the model's buffers.")
	f.Type().Id("Tensor").Struct(
		jen.Comment("Name is the parameter's name in the model (dsl.Graph.Param)."),
		jen.Id("Name").String(),
		jen.Comment("Shape is the parameter's shape; Data and Grad are row-major."),
		jen.Id("Shape").Index().Int(),
		jen.Comment("Data holds the parameter's values."),
		jen.Id("Data").Add(p.sliceType(p.float)),
		p.tensorGradField(),
	)
	f.Line()
}

func (p *plan) modelType(f *jen.File) {
	e := p.elem()
	if p.forwardOnly() {
		p.forwardOnlyModelType(f)
	} else {
		f.Comment("Model is the compiled model: its parameters, their gradients after")
		f.Comment("Backward, the optimizer's state and every buffer, allocated once by New.")
		f.Comment("A Model is not safe for concurrent use; to serve its weights from")
		f.Comment("many goroutines, give each a Predictor (NewPredictor).")
		f.Type().Id("Model").Struct(append(append([]jen.Code{
			jen.Comment("Params are the trainable parameters, updated in place by Apply."),
			jen.Id("Params").Id("Params"),
			jen.Comment("Grads are the gradients of the objective computed by Backward."),
			jen.Id("Grads").Id("Params")},
			p.stateModelFields()...),
			jen.Line(),
			jen.Id("cfg").Id("Config"),
			jen.List(jen.Id("params"), jen.Id("grads")).Add(p.viewsType(p.float)).Comment("every param and every gradient, flat (Flat): Params and Grads are views of them"),
			p.stateViewsFields(),
			jen.Id("opt").Op("*").Qual(optimPath, "Flat").Types(jen.Id(e)).Comment("the update rule of Apply, with its state"),
			jen.Id("steps").Int().Comment("completed Applys: the step of dropout's RNG"),
			jen.Id("forwardDone").Bool().Comment("Backward may run: Forward succeeded and the params have not changed since"),
			jen.Id("paramSum").Uint64().Comment("rt.ParamSum of the params at the last Forward: Backward checks it"),
			jen.Id("train").Id("state").Comment("Forward and Backward"),
			jen.Id("pred").Id("state").Comment("Predict"),
			jen.Id("eval").Op("*").Id("state").Comment("Evaluate: a training state in inference mode, allocated by its first call"),
		)...)
		f.Line()
	}

	// The state struct.
	fields := []jen.Code{
		jen.Id("training").Bool().Comment("dropout drops"),
		jen.Id("step").Uint64().Comment("seeds dropout"),
		jen.Id("seed").Uint64(),
		jen.List(jen.Id("params"), jen.Id("grads")).Op("*").Id("Params"),
	}
	for _, d := range p.dims {
		fields = append(fields, jen.Id(d.field).Int().Comment("dim "+d.name))
	}
	for _, v := range p.inputs {
		fields = append(fields, jen.Id(p.vals[v.ID].field).Add(p.sliceType(v.Type.DType)).Comment("input "+v.Name))
	}
	for _, v := range p.g.Values {
		vi := p.vals[v.ID]
		if vi.field == "" || vi.input != "" {
			continue
		}
		fields = append(fields, jen.Id(vi.field).Add(p.sliceType(v.Type.DType)).Comment(fmt.Sprintf("%s %v %s %v", v.Ref(), v.Type, v.Op.Name, v.Pos)))
	}
	for _, d := range p.arenaDTypes() {
		fields = append(fields, jen.Id(arenaField(d)).Add(p.sliceType(d)).Comment(fmt.Sprintf("the %v buffers above live in this arena, as planned", d)))
	}
	for _, sb := range p.scratch {
		fields = append(fields, jen.Id(sb.field).Add(p.sliceType(sb.dtype)).Comment("working space of kernels (not in the arena)"))
	}
	for _, ki := range p.kernels {
		if ki.par != nil {
			fields = append(fields, jen.Id(ki.par.typ).Id(ki.par.typ).Comment("the buffers of a call of "+ki.name+", for kernels.For"))
		}
	}
	f.Comment("state is what one kind of call (training or inference) works on: the")
	f.Comment("dims and inputs of the current call and a buffer per materialized value,")
	f.Comment("allocated for the capacity (views of the arenas, at the offsets of the")
	f.Comment("buffer plan) and cut to the current dims by each kernel.")
	f.Type().Id("state").Struct(fields...)
	f.Line()
}

// initSpec is the api.Init literal of a param's initializer, on one
// line (ir.InitSpec: Kind, then the fields it reads in declaration order,
// defaults resolved; zeros left out).
func initSpec(v *ir.Value) jen.Code { return initLit(v.Attrs) }

// stateInit is the api.Init literal of a state value's initial value (a
// constant: ir.InitState).
func stateInit(v *ir.Value) jen.Code {
	if x := v.Attrs.Float("value"); x != 0 {
		return initLit(ir.Attrs{"init": "constant", "value": x})
	}
	return initLit(ir.Attrs{"init": "zeros"})
}

// initLit is the api.Init literal of the initializer attributes a.
func initLit(a ir.Attrs) jen.Code {
	in := ir.InitSpec(a)
	elts := []jen.Code{kv("Kind", jen.Lit(in.Kind))}
	for _, f := range []struct {
		name string
		x    float64
	}{{"Value", in.Value}, {"Mean", in.Mean}, {"Std", in.Std}, {"Low", in.Low}, {"High", in.High}, {"Gain", in.Gain}} {
		if f.x != 0 {
			elts = append(elts, kv(f.name, jen.Op(ir.FormatFloat(f.x))))
		}
	}
	return jen.Qual(apiPath, "Init").Values(elts...)
}

func (p *plan) newFunc(f *jen.File) {
	var body []jen.Code
	body = append(body, p.checkCaps()...)
	body = append(body, jen.Id("m").Op(":=").Op("&").Id("Model").Values(jen.Dict{jen.Id("cfg"): jen.Id("cfg")}))
	// Params, gradients and state: views of flat vectors, bound, counted
	// and initialized by package rt from the name table.
	body = append(body, jen.Id("mem").Op(":=").Qual(rtPath, "Memory").Values(jen.Dict{jen.Id("Where"): jen.Lit(p.prefix + ": Config")}))
	bind := func(views, role string, fields *jen.Statement) jen.Code {
		return jen.If(jen.Err().Op(":=").Id("m").Dot(views).Dot("Bind").Call(jen.Op("&").Id("mem"), jen.Id("info"), jen.Qual(rtPath, role), jen.Id("cfg").Dot("Seed"), fields), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err()))
	}
	body = append(body, bind("params", "Params", jen.Id("m").Dot("Params").Dot("fields").Call()))
	if !p.forwardOnly() {
		body = append(body, bind("grads", "Grads", jen.Id("m").Dot("Grads").Dot("fields").Call()))
	}
	for _, sg := range p.stateGroups() {
		body = append(body, bind(sg.views, "State", jen.Id("m").Dot("State").Dot(sg.fields).Call()))
	}
	// The optimizer.
	if !p.forwardOnly() {
		body = append(body,
			jen.Var().Err().Error(),
			jen.If(jen.List(jen.Id("m").Dot("opt"), jen.Err()).Op("=").Qual(rtPath, "NewOptimizer").Types(jen.Id(p.elem())).Call(jen.Id("info"), jen.Id("cfg").Dot("Optimizer")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Err())),
			jen.Id("m").Dot("cfg").Dot("Optimizer").Op("=").Id("m").Dot("opt").Dot("Config").Call(),
		)
	}
	// States.
	body = append(body,
		jen.Id("m").Dot("train").Op("=").Id("state").Values(p.withGrads(jen.Dict{jen.Id("training"): jen.True(), jen.Id("seed"): jen.Id("cfg").Dot("Seed"),
			jen.Id("params"): jen.Op("&").Id("m").Dot("Params")}, jen.Id("m"))),
		jen.If(jen.Err().Op(":=").Id("newTrainState").Call(jen.Op("&").Id("m").Dot("train"), jen.Id("cfg"), jen.Op("&").Id("mem")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("m").Dot("pred").Op("=").Id("state").Values(p.withGrads(jen.Dict{jen.Id("seed"): jen.Id("cfg").Dot("Seed"),
			jen.Id("params"): jen.Op("&").Id("m").Dot("Params")}, jen.Id("m"))),
		jen.If(jen.Err().Op(":=").Id("newPredState").Call(jen.Op("&").Id("m").Dot("pred"), jen.Id("cfg"), jen.Op("&").Id("mem")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
	)
	body = append(body, p.newStates()...)
	body = append(body, jen.Return(jen.Id("m"), jen.Nil()))
	f.Comment("New returns a model with every buffer allocated for the capacities in")
	f.Comment("cfg and the parameters initialized from cfg.Seed (the values")
	if p.forwardOnly() {
		f.Comment("ir.InitParams gives). It fails if a capacity is not positive.")
	} else {
		f.Comment("ir.InitParams gives). It fails if a capacity is not positive or the")
		f.Comment("optimizer's configuration is invalid.")
	}
	f.Func().Id("New").Params(jen.Id("cfg").Id("Config")).Params(jen.Op("*").Id("Model"), jen.Error()).Block(body...)
	f.Line()
	for _, st := range p.stateKinds() {
		f.Comment(fmt.Sprintf("%s allocates the buffers of a state of %s", st.fn, st.what))
		f.Comment("for the capacities in cfg, counted in mem.")
		f.Func().Id(st.fn).Params(jen.Id("s").Op("*").Id("state"), jen.Id("cfg").Id("Config"), jen.Id("mem").Op("*").Qual(rtPath, "Memory")).Error().Block(
			p.allocState(st)...)
		f.Line()
	}
}

// -- capacity checks (acceptance 4 of issue 11) --

// maxCapElems bounds the element count of any buffer at capacity (2^50),
// so that sizes computed from the capacities cannot overflow an int, even
// summed over an arena's regions.
const maxCapElems = 1 << 50

// maxCap is the largest capacity of every dim for which no value's
// element count exceeds maxCapElems (each dim at that capacity).
func (p *plan) maxCap() int {
	best := maxCapElems
	for _, v := range p.g.Values {
		static, syms := 1, 0
		for _, d := range v.Type.Shape {
			if d.IsStatic() {
				static *= max(d.N, 1)
			} else {
				syms++
			}
		}
		if syms == 0 {
			continue
		}
		// The largest c with static·c^syms ≤ maxCapElems.
		c := 1
		for c < best && fitsCap(static, c+1, syms) {
			c = min(c*2, best)
			if !fitsCap(static, c, syms) {
				lo, hi := c/2, c // lo fits, hi does not
				for hi-lo > 1 {
					mid := lo + (hi-lo)/2
					if fitsCap(static, mid, syms) {
						lo = mid
					} else {
						hi = mid
					}
				}
				c = lo
				break
			}
		}
		best = min(best, c)
	}
	return best
}

// fitsCap reports whether static·c^n ≤ maxCapElems.
func fitsCap(static, c, n int) bool {
	x := static
	for range n {
		if x > maxCapElems/c {
			return false
		}
		x *= c
	}
	return x <= maxCapElems
}

// checkCaps emits New's checks of the capacities: positive, and small
// enough that no buffer size overflows (the memory they need is checked
// as New allocates, by rt.Alloc).
func (p *plan) checkCaps() []jen.Code {
	var body []jen.Code
	limit := p.maxCap()
	for _, d := range p.dims {
		body = append(body, jen.If(jen.Id("cfg").Dot(d.cap).Op("<").Lit(1)).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s: Config.%s is %%d; it must be positive (the largest %s a call may use)", p.prefix, d.cap, d.in)), jen.Id("cfg").Dot(d.cap))),
		), jen.If(jen.Id("cfg").Dot(d.cap).Op(">").Lit(limit)).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s: Config.%s is %%d; it must be at most %d (larger buffers' sizes overflow)", p.prefix, d.cap, limit)), jen.Id("cfg").Dot(d.cap))),
		))
	}
	return body
}

// alloc emits dst, err = rt.Alloc[T](mem, n, what) returning ret on
// error: New's allocations are counted against the machine's memory. mem
// is a *rt.Memory.
func (p *plan) alloc(dst *jen.Statement, d ir.DType, n jen.Code, what string, ret ...jen.Code) jen.Code {
	return jen.If(jen.List(dst, jen.Err()).Op("=").Qual(rtPath, "Alloc").Types(jen.Id(goType(d))).Call(jen.Id("mem"), n, jen.Lit(what)), jen.Err().Op("!=").Nil()).Block(
		jen.Return(ret...))
}

// -- end of capacity checks --

// -- finiteness checks (acceptance 5 of issue 11) --

// checkObjective emits TrainStep's check of the objective obj: NaN or ±Inf
// is an error (an *optim.NonFiniteError), before Backward and Apply.
func (p *plan) checkObjective() jen.Code {
	return jen.If(jen.Err().Op(":=").Id("m").Dot("opt").Dot("CheckObjective").Call(jen.Lit(p.prefix+": TrainStep"), jen.Id("obj")), jen.Err().Op("!=").Nil()).Block(
		jen.Return(jen.Id("obj"), jen.Err()))
}

// checkGrads emits Apply's check of every gradient (one sweep of
// GradVector) before the optimizer step.
func (p *plan) checkGrads() jen.Code {
	return jen.If(jen.Err().Op(":=").Id("m").Dot("opt").Dot("CheckGrads").Call(jen.Lit(p.prefix+": Apply"), jen.Id("m").Dot("grads").Dot("Flat")), jen.Err().Op("!=").Nil()).Block(
		jen.Return(jen.Err()))
}

// -- end of finiteness checks --

// paramOffsets returns the offset of each param in the flat vectors
// (declaration order, no gaps) and their total size.
func (p *plan) paramOffsets() (offs []int, total int) {
	for _, v := range p.params {
		n, _ := v.Type.Shape.NumElements()
		offs = append(offs, total)
		total += n
	}
	return offs, total
}

// shapeText describes the element count of shape s for error messages:
// "N·784", and the format of its value "%d·784".
func (p *plan) shapeText(s ir.Shape) (sym, format string, args []jen.Code) {
	if len(s) == 0 {
		return "1", "1", nil
	}
	var a, b []string
	for _, d := range s {
		f, syms := d.Factors()
		if f != 1 || len(syms) == 0 {
			a = append(a, fmt.Sprint(f))
			b = append(b, fmt.Sprint(f))
		}
		for _, y := range syms {
			di := p.dim(y)
			a = append(a, di.in)
			b = append(b, "%d")
			args = append(args, jen.Id("in").Dot(di.in))
		}
	}
	return strings.Join(a, "·"), strings.Join(b, "·"), args
}

func (p *plan) entryPoints(f *jen.File) {
	e := p.elem()
	m := func() *jen.Statement { return jen.Id("m") }
	// bind validates and binds the inputs.
	var body []jen.Code
	for _, d := range p.dims {
		body = append(body, jen.If(jen.Id("in").Dot(d.in).Op("<").Lit(1).Op("||").Id("in").Dot(d.in).Op(">").Id("m").Dot("cfg").Dot(d.cap)).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s: Inputs.%s is %%d, want 1 ≤ %s ≤ %%d (Config.%s)", p.prefix, d.in, d.in, d.cap)), jen.Id("in").Dot(d.in), jen.Id("m").Dot("cfg").Dot(d.cap))),
		))
	}
	for _, v := range p.inputs {
		vi := p.vals[v.ID]
		sym, format, args := p.shapeText(v.Type.Shape)
		var msg string
		var margs []jen.Code
		margs = append(margs, jen.Len(jen.Id("in").Dot(vi.input)))
		switch {
		case len(args) == 0:
			msg = fmt.Sprintf("%s: Inputs.%s has %%d elements, want %s", p.prefix, vi.input, sym)
		case len(v.Type.Shape) == 1:
			msg = fmt.Sprintf("%s: Inputs.%s has %%d elements, want %s = %%d", p.prefix, vi.input, sym)
			margs = append(margs, args...)
		default:
			msg = fmt.Sprintf("%s: Inputs.%s has %%d elements, want %s = %s = %%d", p.prefix, vi.input, sym, format)
			margs = append(margs, args...)
			margs = append(margs, p.inputsProd(v.Type.Shape))
		}
		check := jen.If(jen.Len(jen.Id("in").Dot(vi.input)).Op("!=").Add(p.inputsProd(v.Type.Shape))).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(append([]jen.Code{jen.Lit(msg)}, margs...)...)))
		if v.Attrs.Bool("target") {
			check = jen.If(jen.Op("!").Id("pred")).Block(check)
		}
		body = append(body, check)
	}
	body = append(body, jen.If(jen.Err().Op(":=").Id("m").Dot("checkViews").Call(jen.Op("!").Id("pred")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
	for _, d := range p.dims {
		body = append(body, jen.Id("s").Dot(d.field).Op("=").Id("in").Dot(d.in))
	}
	for _, v := range p.inputs {
		vi := p.vals[v.ID]
		set := jen.Id("s").Dot(vi.field).Op("=").Id("in").Dot(vi.input)
		if v.Attrs.Bool("target") {
			set = jen.If(jen.Op("!").Id("pred")).Block(set)
		}
		body = append(body, set)
	}
	body = append(body, jen.Return(jen.Nil()))
	f.Comment("bind checks the inputs of a call and binds them to s; Predict (pred)")
	f.Comment("needs no target inputs.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("bind").Params(jen.Id("s").Op("*").Id("state"), jen.Id("in").Op("*").Id("Inputs"), jen.Id("pred").Bool()).Error().Block(body...)
	f.Line()

	// checkViews: Params, Grads and State are exported, so a caller may
	// have replaced a field.
	body = nil
	for _, sg := range p.stateGroups() {
		body = append(body, jen.If(jen.Err().Op(":=").Id("m").Dot(sg.views).Dot("Check").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
	}
	if p.forwardOnly() {
		body = append(body, jen.Return(jen.Id("m").Dot("params").Dot("Check").Call()))
	} else {
		body = append(body,
			jen.If(jen.Err().Op(":=").Id("m").Dot("params").Dot("Check").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.If(jen.Op("!").Id("grads")).Block(jen.Return(jen.Nil())),
			jen.Return(jen.Id("m").Dot("grads").Dot("Check").Call()))
	}
	structs := "m.Params"
	if len(p.states) > 0 {
		structs = "m.State, m.Params"
	}
	if !p.forwardOnly() {
		structs += " (and of m.Grads if grads)"
	}
	for _, line := range wrapComment(fmt.Sprintf("checkViews checks that every field of %s is still the view of the flat vector New made (rt.Views.Check).", structs), 72) {
		f.Comment(line)
	}
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("checkViews").Params(jen.Id("grads").Bool()).Error().Block(body...)
	f.Line()

	if p.forwardOnly() {
		p.forwardOnlyEntryPoints(f)
		return
	}

	// Forward.
	var ret jen.Code = jen.Id(e).Call(jen.Lit(0))
	if p.g.Objective != nil {
		ret = p.refOn(mtrain, p.storage(p.g.Objective)).Index(jen.Lit(0))
	}
	f.Comment("forward runs the training-mode forward pass (dropout active) on in and")
	f.Comment("returns the objective (Forward without taking ParamSum).")
	f.Func().Params(m().Op("*").Id("Model")).Id("forward").Params(jen.Id("in").Id("Inputs")).Params(jen.Id(e), jen.Error()).Block(append(append([]jen.Code{
		m().Dot("forwardDone").Op("=").False(),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("bind").Call(jen.Op("&").Add(m()).Dot("train"), jen.Op("&").Id("in"), jen.False()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		m().Dot("train").Dot("step").Op("=").Uint64().Call(m().Dot("steps")),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("train").Dot("forward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err()))},
		p.updateStateCall()...),
		m().Dot("forwardDone").Op("=").True(),
		jen.Return(ret, jen.Nil()),
	)...)
	f.Line()

	// Backward.
	body = []jen.Code{
		jen.If(jen.Op("!").Add(m()).Dot("forwardDone")).Block(jen.Return(jen.Qual("errors", "New").Call(jen.Lit(p.prefix + ": Backward called without a successful Forward")))),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("train").Dot("backward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
	}
	for _, gi := range p.grads {
		switch {
		case gi.v == nil: // a graph without gradients
			body = append(body, jen.Clear(jen.Id("m").Dot("Grads").Dot(gi.field)))
		case gi.copy:
			src := p.refOn(mtrain, p.storage(gi.v))
			body = append(body, jen.Copy(jen.Id("m").Dot("Grads").Dot(gi.field), src))
		}
	}
	body = append(body, jen.Return(jen.Nil()))
	f.Comment("backward is Backward without the check of ParamSum.")
	f.Func().Params(m().Op("*").Id("Model")).Id("backward").Params().Error().Block(body...)
	f.Line()
	p.forwardBackward(f)

	// Apply.
	f.Comment("Apply updates every parameter with one step of the optimizer from the")
	f.Comment("gradients in GradVector: those of the last Backward, or whatever the")
	f.Comment("caller put there since (e.g. gradients summed over data-parallel")
	f.Comment("workers). It invalidates the residuals of the last Forward (Backward")
	f.Comment("fails until the next Forward) and advances the step count that seeds")
	f.Comment("dropout.")
	f.Comment("A gradient that is not finite (NaN or ±Inf) makes it fail with an")
	f.Comment("*optim.NonFiniteError naming the parameter, and leaves the parameters,")
	f.Comment("the optimizer's state and the step count as they were.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Apply").Params().Error().Block(
		jen.If(jen.Err().Op(":=").Add(m()).Dot("checkViews").Call(jen.True()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		p.checkGrads(),
		m().Dot("opt").Dot("Step").Call(m().Dot("params").Dot("Flat"), m().Dot("grads").Dot("Flat")),
		m().Dot("forwardDone").Op("=").False().Comment("the residuals belong to the old parameters"),
		m().Dot("steps").Op("++"),
		jen.Return(jen.Nil()),
	)
	f.Line()

	// TrainStep.
	f.Comment("TrainStep runs Forward, Backward and Apply on in and returns the")
	f.Comment("objective (before the update). The k-th step (from 0) draws dropout")
	f.Comment("masks for step k, as ir.Interp does with Env{Step: k, Seed:")
	f.Comment("Config.Seed, Training: true}; Adam's step is k+1. If the objective or")
	f.Comment("a gradient is not finite (NaN or ±Inf: a bad batch, a diverging")
	f.Comment("run), it returns an *optim.NonFiniteError saying which (with the")
	f.Comment("objective), and applies no update: the parameters, the optimizer's")
	f.Comment("state and the step count stay as they were.")
	f.Func().Params(m().Op("*").Id("Model")).Id("TrainStep").Params(jen.Id("in").Id("Inputs")).Params(jen.Id(e), jen.Error()).Block(
		jen.List(jen.Id("obj"), jen.Err()).Op(":=").Add(m()).Dot("forward").Call(jen.Id("in")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		p.checkObjective(),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("backward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.Return(jen.Id("obj"), m().Dot("Apply").Call()),
	)
	f.Line()

	// The flat vectors.
	offs, total := p.paramOffsets()
	var parts []string
	for i, v := range p.params {
		n, _ := v.Type.Shape.NumElements()
		parts = append(parts, fmt.Sprintf("%s %v at [%d:%d]", v.Name, v.Type, offs[i], offs[i]+n))
	}
	order := "It holds no parameters."
	if len(parts) > 0 {
		order = fmt.Sprintf("In declaration order, row-major, %d elements: %s.", total, strings.Join(parts, ", "))
	}
	f.Comment("ParamVector returns every parameter as one flat vector, the storage of")
	f.Comment("m.Params' fields (not a copy): reading it reads the parameters, writing")
	f.Comment("it sets them (as an optimizer outside the model does).")
	for _, line := range wrapComment(order, 72) {
		f.Comment(line)
	}
	f.Func().Params(m().Op("*").Id("Model")).Id("ParamVector").Params().Index().Id(e).Block(jen.Return(m().Dot("params").Dot("Flat")))
	f.Line()
	f.Comment("GradVector returns every gradient as one flat vector in ParamVector's")
	f.Comment("order, the storage of m.Grads' fields (not a copy): Backward writes it,")
	f.Comment("Apply reads it, and a caller may reduce it in place in between (an")
	f.Comment("all-reduce of data-parallel training).")
	f.Func().Params(m().Op("*").Id("Model")).Id("GradVector").Params().Index().Id(e).Block(jen.Return(m().Dot("grads").Dot("Flat")))
	f.Line()
	p.optimizerSurface(f)

	// Outputs and Predict.
	f.Comment("Outputs returns the named outputs of the last Forward.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Outputs").Params().Id("Outputs").Block(
		jen.Return(m().Dot("train").Dot("outputs").Call(jen.True())),
	)
	f.Line()
	if len(p.inputGrads) > 0 {
		f.Comment("InputGrads returns the gradients with respect to inputs of the last")
		f.Comment("Backward.")
		f.Func().Params(m().Op("*").Id("Model")).Id("InputGrads").Params().Id("InputGrads").Block(
			jen.Return(m().Dot("train").Dot("inputGrads").Call()),
		)
		f.Line()
	}
	p.evaluate(f)
	p.predictor(f)
	p.predictFunc(f)
}

// predictFunc emits Predict.
func (p *plan) predictFunc(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	f.Comment("Predict runs inference (dropout is the identity) on in and returns the")
	f.Comment("outputs that do not depend on target inputs; the others are left zero.")
	if p.forwardOnly() {
		f.Comment("It needs no target inputs and has buffers of its own: it leaves")
		f.Comment("Outputs as it was.")
	} else {
		f.Comment("It needs no target inputs and has buffers of its own: it does not")
		f.Comment("disturb a Forward/Backward pair.")
	}
	f.Func().Params(m().Op("*").Id("Model")).Id("Predict").Params(jen.Id("in").Id("Inputs")).Params(jen.Id("Outputs"), jen.Error()).Block(
		jen.If(jen.Err().Op(":=").Add(m()).Dot("bind").Call(jen.Op("&").Add(m()).Dot("pred"), jen.Op("&").Id("in"), jen.True()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("pred").Dot("predict").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.Return(m().Dot("pred").Dot("outputs").Call(jen.False()), jen.Nil()),
	)
	f.Line()
}

// -- Evaluate (acceptance 6 of issue 11) --

// evaluate emits Evaluate: the forward pass of training (every output,
// targets included) in inference mode, on buffers of its own.
func (p *plan) evaluate(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	f.Comment("Evaluate runs the forward pass in inference mode (dropout is the")
	f.Comment("identity) on in, target inputs included, and returns every output,")
	f.Comment("those that depend on targets too (the validation loss). It has buffers")
	if p.forwardOnly() {
		f.Comment("of its own, allocated by its first call, and leaves Outputs as it was.")
	} else {
		f.Comment("of its own, allocated by its first call, and changes no training state:")
		f.Comment("the parameters, the step count, Outputs and a Forward/Backward pair are")
		f.Comment("left as they were.")
	}
	f.Func().Params(m().Op("*").Id("Model")).Id("Evaluate").Params(jen.Id("in").Id("Inputs")).Params(jen.Id("Outputs"), jen.Error()).Block(
		jen.If(m().Dot("eval").Op("==").Nil()).Block(
			jen.Id("s").Op(":=").Op("&").Id("state").Values(p.withGrads(jen.Dict{jen.Id("seed"): m().Dot("cfg").Dot("Seed"),
				jen.Id("params"): jen.Op("&").Add(m()).Dot("Params")}, m())),
			jen.Id("mem").Op(":=").Qual(rtPath, "Memory").Values(jen.Dict{jen.Id("Where"): jen.Lit(p.prefix + ": Evaluate")}),
			jen.If(jen.Err().Op(":=").Id("newTrainState").Call(jen.Id("s"), m().Dot("cfg"), jen.Op("&").Id("mem")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Id("Outputs").Values(), jen.Err())),
			p.bindStates(jen.Id("s")),
			m().Dot("eval").Op("=").Id("s"),
		),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("bind").Call(m().Dot("eval"), jen.Op("&").Id("in"), jen.False()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("eval").Dot("forward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.Return(m().Dot("eval").Dot("outputs").Call(jen.True()), jen.Nil()),
	)
	f.Line()
}

// -- end of Evaluate --

// -- Predictor (acceptance 7 of issue 11) --

// predictor emits the Predictor type: inference on buffers of its own,
// reading the model's params, so that many goroutines can serve one
// model's weights.
func (p *plan) predictor(f *jen.File) {
	f.Comment("Predictor runs inference with its model's parameters (read in place,")
	f.Comment("not copied: it sees every update) on buffers of its own, so that many")
	f.Comment("goroutines can serve one set of weights: each uses a Predictor of its")
	f.Comment("own. Predictors of one model may run at the same time as each other and")
	if p.forwardOnly() {
		f.Comment("as the model's Predict and Evaluate, but not while the parameters")
		f.Comment("change (Load, SetParams, or writes to Params).")
	} else {
		f.Comment("as the model's Predict and Evaluate, but not while the parameters")
		f.Comment("change (Apply, TrainStep, Load, or writes to Params).")
	}
	f.Type().Id("Predictor").Struct(
		jen.Id("m").Op("*").Id("Model"),
		jen.Id("s").Id("state"),
	)
	f.Line()
	f.Comment("NewPredictor returns a Predictor of m, with inference buffers for m's")
	f.Comment("capacities (as many as Predict's).")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("NewPredictor").Params().Params(jen.Op("*").Id("Predictor"), jen.Error()).Block(
		jen.Id("pr").Op(":=").Op("&").Id("Predictor").Values(jen.Dict{jen.Id("m"): jen.Id("m"), jen.Id("s"): jen.Id("state").Values(p.withGrads(jen.Dict{
			jen.Id("seed"): jen.Id("m").Dot("cfg").Dot("Seed"), jen.Id("params"): jen.Op("&").Id("m").Dot("Params")}, jen.Id("m")))}),
		jen.Id("mem").Op(":=").Qual(rtPath, "Memory").Values(jen.Dict{jen.Id("Where"): jen.Lit(p.prefix + ": NewPredictor")}),
		jen.If(jen.Err().Op(":=").Id("newPredState").Call(jen.Op("&").Id("pr").Dot("s"), jen.Id("m").Dot("cfg"), jen.Op("&").Id("mem")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err())),
		p.bindStates(jen.Id("pr").Dot("s")),
		jen.Return(jen.Id("pr"), jen.Nil()),
	)
	f.Line()
	f.Comment("Predict is Model.Predict on the Predictor's buffers: the same outputs,")
	f.Comment("bit for bit, valid until its next call.")
	f.Func().Params(jen.Id("pr").Op("*").Id("Predictor")).Id("Predict").Params(jen.Id("in").Id("Inputs")).Params(jen.Id("Outputs"), jen.Error()).Block(
		jen.If(jen.Err().Op(":=").Id("pr").Dot("m").Dot("bind").Call(jen.Op("&").Id("pr").Dot("s"), jen.Op("&").Id("in"), jen.True()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.If(jen.Err().Op(":=").Id("pr").Dot("s").Dot("predict").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("Outputs").Values(), jen.Err())),
		jen.Return(jen.Id("pr").Dot("s").Dot("outputs").Call(jen.False()), jen.Nil()),
	)
	f.Line()
}

// -- end of Predictor --

// inputsProd is the element count of shape s with symbolic dims read from
// the Inputs in.
func (p *plan) inputsProd(s ir.Shape) *jen.Statement {
	return dimProd(s, func(sym string) jen.Code { return jen.Id("in").Dot(p.dim(sym).in) })
}

// mtrain is the training state of the model m.
func mtrain() *jen.Statement { return jen.Id("m").Dot("train") }

func (p *plan) ioFuncs(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	data := strings.ToUpper(p.float.String())
	t := jen.Dict{jen.Id("Name"): jen.Id("t").Dot("Name"), jen.Id("Shape"): jen.Id("t").Dot("Shape"), jen.Id("Data"): jen.Id("t").Dot(data)}
	var loop []jen.Code
	if p.forwardOnly() {
		f.Comment("Tensors lists the parameters in declaration order.")
		loop = []jen.Code{jen.Id("ps").Op(":=").Add(m()).Dot("params").Dot("Tensors").Call()}
	} else {
		f.Comment("Tensors lists the parameters with their gradients in declaration order.")
		loop = []jen.Code{jen.List(jen.Id("ps"), jen.Id("gs")).Op(":=").List(m().Dot("params").Dot("Tensors").Call(), m().Dot("grads").Dot("Tensors").Call())}
		t[jen.Id("Grad")] = jen.Id("gs").Index(jen.Id("i")).Dot(data)
	}
	f.Func().Params(m().Op("*").Id("Model")).Id("Tensors").Params().Index().Id("Tensor").Block(append(loop,
		jen.Id("ts").Op(":=").Make(jen.Index().Id("Tensor"), jen.Len(jen.Id("ps"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("t")).Op(":=").Range().Id("ps")).Block(
			jen.Id("ts").Index(jen.Id("i")).Op("=").Id("Tensor").Values(t)),
		jen.Return(jen.Id("ts")),
	)...)
	f.Line()
	tensors := []jen.Code{jen.Id("path"), jen.Id("info"), m().Dot("params").Dot("Tensors").Call()}
	for _, sg := range p.stateGroups() {
		tensors = append(tensors, m().Dot(sg.views).Dot("Tensors").Call())
	}
	f.Comment("Save writes the parameters to a safetensors file, with the metadata")
	f.Comment(`"bpgen.model": Source.`)
	f.Func().Params(m().Op("*").Id("Model")).Id("Save").Params(jen.Id("path").String()).Error().Block(
		jen.Return(jen.Qual(rtPath, "Save").Call(tensors...)))
	f.Line()
	f.Comment("Load reads the parameters from a safetensors file written by Save (or")
	f.Comment("any file with tensors of the same names, dtypes and shapes). It is")
	f.Comment("all-or-nothing: on any error (a bad header, truncated data, a missing")
	f.Comment("tensor, a wrong dtype or shape) every parameter and state keeps its value.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Load").Params(jen.Id("path").String()).Error().Block(append(p.invalidateForward(),
		jen.Return(jen.Qual(rtPath, "Load").Call(append([]jen.Code{jen.Id("path")}, tensors[2:]...)...)))...)
	f.Line()
}

// wrapComment splits text into lines of at most width bytes at spaces.
func wrapComment(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// -- the model-independent API by DSL name (acceptance 10 of issue 11) --

// apiPath is the import path of the model-independent API.
const apiPath = "github.com/bpgen/bpgen/runtime/api"

// apiDType is the runtime/api constant of dtype d.
func apiDType(d ir.DType) *jen.Statement { return jen.Qual(apiPath, strings.ToUpper(d.String())) }

// apiShape is the api.Shape literal of a declared shape.
func apiShape(s ir.Shape) *jen.Statement {
	var axes []jen.Code
	for _, d := range s {
		if d.IsStatic() {
			axes = append(axes, jen.Values(jen.Dict{jen.Id("N"): jen.Lit(d.N)}))
		} else {
			axes = append(axes, jen.Values(jen.Dict{jen.Id("Dim"): jen.Lit(d.Sym)}))
		}
	}
	return jen.Qual(apiPath, "Shape").Values(axes...)
}

// viewsType is the rt.Views type of dtype d.
func (p *plan) viewsType(d ir.DType) *jen.Statement {
	return jen.Qual(rtPath, "Views").Types(jen.Id(goType(d)))
}

// fieldsMethod emits the method of struct typ that returns a pointer to
// each of its fields named names, all of type []elem: the table of
// pointers rt.Views.Bind takes, written once, wrapped like a paragraph.
func fieldsMethod(f *jen.File, typ, method, elem string, names []string) {
	const width = 64 // of the pointers on one line, after the indent
	recv := strings.ToLower(typ[:1])
	var ptrs []jen.Code
	line, wrapped := 0, false
	for _, n := range names {
		ptr := jen.Op("&").Id(recv).Dot(n)
		if line > 0 && line+len(n)+5 > width {
			ptr, line, wrapped = jen.Line().Add(ptr), 0, true
		}
		line += len(n) + 5 // "&p.", the name, ", "
		ptrs = append(ptrs, ptr)
	}
	if wrapped {
		ptrs[0] = jen.Line().Add(ptrs[0])
		ptrs = append(ptrs, jen.Line())
	}
	list := jen.Index().Op("*").Index().Id(elem)
	f.Func().Params(jen.Id(recv).Op("*").Id(typ)).Id(method).Params().Add(list.Clone()).Block(
		jen.Return(list.Clone().Values(ptrs...)))
	f.Line()
}

// kv is the key: value element of a composite literal.
func kv(key string, value jen.Code) jen.Code { return jen.Id(key).Op(":").Add(value) }

// apiSpec is the api.Spec literal of a value, on one line: the row of a
// table. A param's or state's carries its initializer (init) and its
// weight-decay exclusion.
func apiSpec(name, field string, v *ir.Value, target bool, init jen.Code) jen.Code {
	elts := []jen.Code{kv("Name", jen.Lit(name)), kv("Field", jen.Lit(field)), kv("DType", apiDType(v.Type.DType)), kv("Shape", apiShape(v.Type.Shape))}
	if target {
		elts = append(elts, kv("Target", jen.True()))
	}
	if init != nil {
		elts = append(elts, kv("Init", init))
	}
	if v.Op == ir.OpParam && v.Attrs.Bool("no_decay") {
		elts = append(elts, kv("NoDecay", jen.True()))
	}
	return jen.Values(elts...)
}

// namedAPI emits the name table (info), and the methods by which *Model
// implements api.Model: params, gradients, inputs and outputs by DSL name.
func (p *plan) namedAPI(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	var dims, params, states, inputs, outputs []jen.Code
	for _, d := range p.dims {
		dims = append(dims, jen.Values(kv("Name", jen.Lit(d.name)), kv("Field", jen.Lit(d.in)), kv("Cap", jen.Lit(d.cap))))
	}
	for _, v := range p.params {
		params = append(params, apiSpec(v.Name, p.vals[v.ID].param, v, false, initSpec(v)))
	}
	for _, si := range p.states {
		states = append(states, apiSpec(si.v.Name, si.field, si.v, false, stateInit(si.v)))
	}
	for _, v := range p.inputs {
		inputs = append(inputs, apiSpec(v.Name, p.vals[v.ID].input, v, v.Attrs.Bool("target"), nil))
	}
	for _, o := range p.outputs {
		outputs = append(outputs, apiSpec(o.name, o.field, o.v, p.dependsOnTarget[o.v.ID], nil))
	}
	// A list of specs is a table: one per line.
	list := func(typ string, xs []jen.Code) jen.Code {
		if len(xs) == 0 {
			return jen.Nil()
		}
		var rows []jen.Code
		for _, x := range xs {
			rows = append(rows, jen.Line().Add(x))
		}
		return jen.Index().Qual(apiPath, typ).Values(append(rows, jen.Line())...)
	}
	elts := []jen.Code{kv("Source", jen.Id("Source")), kv("Package", jen.Lit(p.opt.Package)), kv("Float", apiDType(p.float))}
	if !p.forwardOnly() {
		elts = append(elts, kv("Optimizer", jen.Lit(p.opt.Optimizer.String())))
	}
	elts = append(elts, kv("Dims", list("Dim", dims)), kv("Params", list("Spec", params)))
	if len(states) > 0 {
		elts = append(elts, kv("States", list("Spec", states)))
	}
	elts = append(elts, kv("Inputs", list("Spec", inputs)), kv("Outputs", list("Spec", outputs)))
	var rows []jen.Code
	for _, e := range elts {
		rows = append(rows, jen.Line().Add(e))
	}
	what := "info is the model's name table (api.Info), the one table from which package rt binds, initializes, checks, saves and loads the params"
	if len(p.states) > 0 {
		what += " and the state"
	}
	if !p.forwardOnly() {
		what += ", and configures the optimizer"
	}
	for _, line := range wrapComment(what+".", 72) {
		f.Comment(line)
	}
	f.Var().Id("info").Op("=").Op("&").Qual(apiPath, "Info").Values(append(rows, jen.Line())...)
	f.Line()
	if p.forwardOnly() {
		f.Comment("The model-independent API: *Model is an api.Function (forward-only: not")
		f.Comment("an api.Model, which trains).")
		f.Var().Id("_").Qual(apiPath, "Function").Op("=").Parens(jen.Op("*").Id("Model")).Parens(jen.Nil())
	} else {
		f.Comment("The model-independent API: *Model is an api.Model.")
		f.Var().Id("_").Qual(apiPath, "Model").Op("=").Parens(jen.Op("*").Id("Model")).Parens(jen.Nil())
	}
	f.Line()
	if len(p.states) > 0 {
		f.Comment("Info returns the model's name table: its dims, params, state, inputs")
		f.Comment("and outputs by DSL name, with their Go fields, dtypes and shapes.")
	} else {
		f.Comment("Info returns the model's name table: its dims, params, inputs and")
		f.Comment("outputs by DSL name, with their Go fields, dtypes and shapes.")
	}
	f.Func().Params(m().Op("*").Id("Model")).Id("Info").Params().Op("*").Qual(apiPath, "Info").Block(jen.Return(jen.Id("info")))
	f.Line()
	f.Comment("ParamTensors returns every param as an api.Tensor, in declaration")
	f.Comment("order, aliasing m.Params (writing one writes the param).")
	f.Func().Params(m().Op("*").Id("Model")).Id("ParamTensors").Params().Index().Qual(apiPath, "Tensor").Block(
		jen.Return(m().Dot("params").Dot("Tensors").Call()))
	f.Line()
	if !p.forwardOnly() {
		f.Comment("GradTensors returns every gradient as an api.Tensor, in ParamTensors'")
		f.Comment("order, aliasing m.Grads.")
		f.Func().Params(m().Op("*").Id("Model")).Id("GradTensors").Params().Index().Qual(apiPath, "Tensor").Block(
			jen.Return(m().Dot("grads").Dot("Tensors").Call()))
		f.Line()
	}

	// feed: an api.Feed to Inputs.
	body := []jen.Code{jen.Var().Id("in").Id("Inputs"),
		jen.If(jen.Id("f").Op("==").Nil()).Block(jen.Return(jen.Id("in"), jen.Qual("errors", "New").Call(jen.Id("where").Op("+").Lit(": the feed is nil"))))}
	for _, d := range p.dims {
		body = append(body, jen.Id("in").Dot(d.in).Op("=").Id("f").Dot("Dims").Index(jen.Lit(d.name)))
	}
	for _, v := range p.inputs {
		required := jen.True()
		if v.Attrs.Bool("target") {
			required = jen.Id("targets")
		}
		body = append(body, jen.Block(
			jen.List(jen.Id("t"), jen.Id("ok")).Op(":=").Id("f").Dot("Inputs").Index(jen.Lit(v.Name)),
			jen.If(jen.Err().Op(":=").Qual(apiPath, "CheckInput").Call(jen.Id("t"), jen.Id("ok"), jen.Id("where"), jen.Lit(v.Name), apiDType(v.Type.DType), required), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Id("in"), jen.Err())),
			jen.Id("in").Dot(p.vals[v.ID].input).Op("=").Id("t").Dot(strings.ToUpper(v.Type.DType.String())),
		))
	}
	body = append(body, jen.Return(jen.Id("in"), jen.Nil()))
	f.Comment("feed returns the Inputs of f, checking names and dtypes; targets says")
	f.Comment("whether target inputs are required.")
	f.Func().Id("feed").Params(jen.Id("f").Op("*").Qual(apiPath, "Feed"), jen.Id("where").String(), jen.Id("targets").Bool()).Params(jen.Id("Inputs"), jen.Error()).Block(body...)
	f.Line()

	// outputTensors: Outputs to api.Tensors, shapes at the call's dims.
	var ts []jen.Code
	for _, o := range p.outputs {
		t := o.v.Type
		var shape []jen.Code
		for _, d := range t.Shape {
			if d.IsStatic() {
				shape = append(shape, jen.Lit(d.N))
			} else {
				shape = append(shape, jen.Id("s").Dot(p.dim(d.Sym).field))
			}
		}
		data := jen.Id("o").Dot(o.field)
		if len(t.Shape) == 0 {
			data = jen.Index().Id(goType(t.DType)).Values(data)
		}
		ts = append(ts, jen.Values(jen.Dict{jen.Id("Name"): jen.Lit(o.name), jen.Id("DType"): apiDType(t.DType),
			jen.Id("Shape"): jen.Index().Int().Values(shape...), jen.Id(strings.ToUpper(t.DType.String())): data}))
	}
	f.Comment("outputTensors returns o as api.Tensors (Info.Outputs' order), shaped")
	f.Comment("by the dims of the call s ran.")
	f.Func().Id("outputTensors").Params(jen.Id("o").Id("Outputs"), jen.Id("s").Op("*").Id("state")).Index().Qual(apiPath, "Tensor").Block(
		jen.Return(jen.Index().Qual(apiPath, "Tensor").Values(ts...)))
	f.Line()

	objCall := func(method string) {
		f.Comment(fmt.Sprintf("%sFeed is %s with the inputs of f (by DSL name).", method, method))
		f.Func().Params(m().Op("*").Id("Model")).Id(method+"Feed").Params(jen.Id("f").Op("*").Qual(apiPath, "Feed")).Params(jen.Float64(), jen.Error()).Block(
			jen.List(jen.Id("in"), jen.Err()).Op(":=").Id("feed").Call(jen.Id("f"), jen.Lit(p.prefix+": "+method+"Feed"), jen.True()),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
			jen.List(jen.Id("obj"), jen.Err()).Op(":=").Add(m()).Dot(method).Call(jen.Id("in")),
			jen.Return(jen.Float64().Call(jen.Id("obj")), jen.Err()),
		)
		f.Line()
	}
	if !p.forwardOnly() {
		objCall("Forward")
		objCall("TrainStep")
	}
	f.Comment("OutputTensors returns the outputs of the last Forward as api.Tensors.")
	f.Func().Params(m().Op("*").Id("Model")).Id("OutputTensors").Params().Index().Qual(apiPath, "Tensor").Block(
		jen.Return(jen.Id("outputTensors").Call(m().Dot("Outputs").Call(), jen.Op("&").Add(m()).Dot("train"))))
	f.Line()
	outCall := func(method string, state jen.Code, targets bool) {
		f.Comment(fmt.Sprintf("%sFeed is %s with the inputs of f (by DSL name), returning the", method, method))
		f.Comment("outputs as api.Tensors.")
		f.Func().Params(m().Op("*").Id("Model")).Id(method+"Feed").Params(jen.Id("f").Op("*").Qual(apiPath, "Feed")).Params(jen.Index().Qual(apiPath, "Tensor"), jen.Error()).Block(
			jen.List(jen.Id("in"), jen.Err()).Op(":=").Id("feed").Call(jen.Id("f"), jen.Lit(p.prefix+": "+method+"Feed"), jen.Lit(targets)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.List(jen.Id("o"), jen.Err()).Op(":=").Add(m()).Dot(method).Call(jen.Id("in")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(jen.Id("outputTensors").Call(jen.Id("o"), state), jen.Nil()),
		)
		f.Line()
	}
	outCall("Predict", jen.Op("&").Id("m").Dot("pred"), false)
	outCall("Evaluate", jen.Id("m").Dot("eval"), true)
}

// -- end of the API by DSL name --
