package codegen

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Model state that is not a parameter (ir/state.go): the exported State
// struct next to Params, its allocation in New, the copy of each update
// after the training forward pass, and its entries in Save and Load.
// Every function here emits nothing for a model without state, so such
// models generate as before.

// stateInfo is one state value and its update.
type stateInfo struct {
	v     *ir.Value
	field string    // State field
	next  *ir.Value // the value the training step writes into it (nil: never updated)
}

// planStates names the state values (a field of State, and a field of the
// internal state struct that aliases it) and finds their updates.
func (p *plan) planStates() {
	fields := newNamer()
	for _, v := range p.g.States() {
		vi := p.vals[v.ID]
		vi.field = p.stateFields.get(sanitize(v.Name), "st")
		si := stateInfo{v: v, field: fields.get(exported(v.Name))}
		for _, o := range p.g.StateUpdates() {
			if o.State == v.Name {
				si.next = o.Value
			}
		}
		p.states = append(p.states, si)
	}
}

// stateTypes emits the State struct.
func (p *plan) stateTypes(f *jen.File) {
	if len(p.states) == 0 {
		return
	}
	var fields []jen.Code
	for _, si := range p.states {
		v := si.v
		upd := "never updated"
		if si.next != nil {
			upd = "updated by every training step"
		}
		fields = append(fields, jen.Comment(fmt.Sprintf("%s: %v, state at %v (initially %s; %s)", v.Name, v.Type, v.Pos, ir.FormatFloat(v.Attrs.Float("value")), upd)),
			jen.Id(si.field).Add(p.sliceType(v.Type.DType)))
	}
	f.Comment("State holds the model's state that is not a parameter (batch")
	f.Comment("normalization's running statistics), one flat row-major slice per value:")
	f.Comment("Forward and TrainStep write each update after the forward pass, Predict")
	f.Comment("reads it, no gradient or optimizer touches it, and Save and Load include")
	f.Comment("it. Change the values in place (copy into a field); do not replace a field.")
	f.Type().Id("State").Struct(fields...)
	f.Line()
}

// stateModelFields are the fields of Model for its state.
func (p *plan) stateModelFields() []jen.Code {
	if len(p.states) == 0 {
		return nil
	}
	return []jen.Code{
		jen.Comment("State is the state that is not trained, updated by each training step."),
		jen.Id("State").Id("State"),
	}
}

// newStates allocates the state in New, filled with its initial values,
// and points both internal states at it.
func (p *plan) newStates() []jen.Code {
	var body []jen.Code
	for _, si := range p.states {
		v := si.v
		n, _ := v.Type.Shape.NumElements()
		fld := jen.Id("m").Dot("State").Dot(si.field)
		body = append(body, fld.Clone().Op("=").Make(p.sliceType(v.Type.DType), jen.Lit(n)))
		if x := v.Attrs.Float("value"); x != 0 {
			body = append(body, jen.Qual(rtPath, "Fill").Call(fld.Clone(), floatLit(x, 1)))
		}
	}
	return append(body, p.bindStates(jen.Id("m").Dot("train")), p.bindStates(jen.Id("m").Dot("pred")))
}

// bindStates points the state buffers of s (a state value: m.train,
// m.pred, a Predictor's or Evaluate's) at the model's State, which its
// kernels read: one assignment (nothing without state).
func (p *plan) bindStates(s *jen.Statement) jen.Code {
	if len(p.states) == 0 {
		return jen.Null()
	}
	var lhs, rhs []jen.Code
	for _, si := range p.states {
		lhs = append(lhs, s.Clone().Dot(p.vals[si.v.ID].field))
		rhs = append(rhs, jen.Id("m").Dot("State").Dot(si.field))
	}
	return jen.List(lhs...).Op("=").List(rhs...)
}

// updateStateCall is Forward's call of updateState after the forward pass.
func (p *plan) updateStateCall() []jen.Code {
	if len(p.states) == 0 {
		return nil
	}
	return []jen.Code{jen.Id("m").Dot("updateState").Call()}
}

// stateFuncs emits updateState and stateTensors.
func (p *plan) stateFuncs(f *jen.File) {
	if len(p.states) == 0 {
		return
	}
	var body []jen.Code
	for _, si := range p.states {
		if si.next == nil || p.storage(si.next).v == si.v {
			continue
		}
		n, _ := si.v.Type.Shape.NumElements()
		src := p.refOn(mtrain, p.storage(si.next)).Index(jen.Empty(), jen.Lit(n))
		body = append(body, jen.Copy(jen.Id("m").Dot("State").Dot(si.field), src).Comment(fmt.Sprintf("%s at %v", si.next.Label(), si.next.Pos)))
	}
	f.Comment("updateState writes the updates the training forward pass computed into")
	f.Comment("the state (the state's buffers are read by that pass, so the copy comes")
	f.Comment("after it).")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("updateState").Params().Block(body...)
	f.Line()

	var ts []jen.Code
	for _, si := range p.states {
		ts = append(ts, jen.Values(jen.Dict{
			jen.Id("Name"): jen.Lit(si.v.Name), jen.Id("DType"): jen.Lit(tensorioDType(si.v.Type.DType)),
			jen.Id("Shape"): staticInts(si.v.Type.Shape), jen.Id("Data"): jen.Id("m").Dot("State").Dot(si.field),
		}))
	}
	f.Comment("stateTensors lists the state under its names, for Save and Load.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("stateTensors").Params().Index().Qual(tensorioPkg, "Tensor").Block(
		jen.Return(jen.Index().Qual(tensorioPkg, "Tensor").Values(ts...)),
	)
	f.Line()
}

// saveStates adds the state to Save's tensors ts.
func (p *plan) saveStates() []jen.Code {
	if len(p.states) == 0 {
		return nil
	}
	return []jen.Code{jen.Id("ts").Op("=").Append(jen.Id("ts"), jen.Id("m").Dot("stateTensors").Call().Op("..."))}
}

// loadStates adds the state to Load's destinations dst.
func (p *plan) loadStates() []jen.Code {
	if len(p.states) == 0 {
		return nil
	}
	return []jen.Code{jen.For(jen.List(jen.Id("_"), jen.Id("t")).Op(":=").Range().Id("m").Dot("stateTensors").Call()).Block(
		jen.Id("dst").Index(jen.Id("t").Dot("Name")).Op("=").Qual(tensorioPkg, "Tensor").Values(jen.Dict{
			jen.Id("Shape"): jen.Id("t").Dot("Shape"), jen.Id("Data"): jen.Id("t").Dot("Data"),
		}))}
}

// checkStateViews are checkViews' checks that no field of m.State was
// replaced: the kernels read the buffers New made.
func (p *plan) checkStateViews() []jen.Code {
	var body []jen.Code
	for i, si := range p.states {
		n, _ := si.v.Type.Shape.NumElements()
		fld := jen.Id("m").Dot("State").Dot(si.field)
		cond := jen.Len(fld.Clone()).Op("!=").Lit(n)
		if n > 0 {
			cond = cond.Op("||").Op("&").Add(fld.Clone()).Index(jen.Lit(0)).Op("!=").Op("&").Id("m").Dot("train").Dot(p.vals[si.v.ID].field).Index(jen.Lit(0))
		}
		if i == 0 {
			body = append(body, jen.Comment("State's fields are the buffers the kernels read."))
		}
		body = append(body, jen.If(cond).Block(jen.Return(jen.Qual("errors", "New").Call(
			jen.Lit(fmt.Sprintf("%s: State.%s was replaced: it must stay the slice New made (copy values into it instead)", p.prefix, si.field))))))
	}
	return body
}
