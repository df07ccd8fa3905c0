package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Model state that is not a parameter (ir/state.go): the exported State
// struct next to Params, its storage (an rt.Views per dtype, bound in New
// and saved and loaded by package rt from the name table's States), and
// the copy of each update after the training forward pass. Every function
// here emits nothing for a model without state, so such models generate
// as before.

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
	for _, sg := range p.stateGroups() {
		var names []string
		for _, si := range sg.states {
			names = append(names, si.field)
		}
		if len(p.stateGroups()) == 1 {
			f.Comment(sg.fields + " returns a pointer to each field of s, in declaration order")
			f.Comment("(Info().States'): the table by which package rt binds them to their flat")
			f.Comment("vector (rt.Views).")
		} else {
			f.Comment(fmt.Sprintf("%s returns a pointer to each %v field of s, in declaration", sg.fields, sg.dtype))
			f.Comment("order (Info().States'): the table by which package rt binds them to")
			f.Comment("their flat vector (rt.Views).")
		}
		fieldsMethod(f, "State", sg.fields, goType(sg.dtype), names)
	}
}

// stateGroup is the state values of one dtype, which one rt.Views holds.
type stateGroup struct {
	dtype  ir.DType
	views  string // the Model field of the rt.Views
	fields string // the method of State that lists their fields
	states []stateInfo
}

// stateGroups groups the state values by dtype: those of the model's
// float first, in Model.stateVec, listed by State.fields; then those of
// another dtype (rare), each with its own, in order of first appearance.
func (p *plan) stateGroups() []stateGroup {
	var gs []stateGroup
	add := func(si stateInfo) {
		d := si.v.Type.DType
		i := slices.IndexFunc(gs, func(g stateGroup) bool { return g.dtype == d })
		if i < 0 {
			g := stateGroup{dtype: d, views: "stateVec", fields: "fields"}
			if d != p.float {
				suffix := strings.ToUpper(d.String())
				g.views, g.fields = g.views+suffix, g.fields+suffix
			}
			gs, i = append(gs, g), len(gs)
		}
		gs[i].states = append(gs[i].states, si)
	}
	for _, si := range p.states {
		if si.v.Type.DType == p.float {
			add(si)
		}
	}
	for _, si := range p.states {
		if si.v.Type.DType != p.float {
			add(si)
		}
	}
	return gs
}

// stateViewsFields are the Model fields of the state groups' rt.Views,
// as one field list.
func (p *plan) stateViewsFields() jen.Code {
	var fields []jen.Code
	groups := p.stateGroups()
	for _, sg := range groups {
		comment := "every state value, flat (Flat): State's fields are views of it"
		if len(groups) > 1 {
			comment = fmt.Sprintf("every %v state value, flat (Flat): State's %v fields are views of it", sg.dtype, sg.dtype)
		}
		fields = append(fields, jen.Id(sg.views).Add(p.viewsType(sg.dtype)).Comment(comment))
	}
	if len(fields) == 0 {
		return jen.Null()
	}
	st := jen.Add(fields[0])
	for _, f := range fields[1:] {
		st = st.Line().Add(f)
	}
	return st
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

// newStates points the internal states of New at the model's State.
func (p *plan) newStates() []jen.Code {
	return []jen.Code{p.bindStates(jen.Id("m").Dot("train")), p.bindStates(jen.Id("m").Dot("pred"))}
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

// stateFuncs emits updateState.
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
}
