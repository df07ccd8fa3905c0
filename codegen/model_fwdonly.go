package codegen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// -- forward-only models (issue 17, "forward-only compilation") --
//
// A program without an objective (a model that never calls g.Minimize,
// compiled by passes.Lower) has no backward pass: its package has New,
// Forward (returning the outputs), Outputs, Predict, Evaluate, Predictor,
// ParamVector/SetParams and Save/Load, and no Grads, Backward, Apply,
// TrainStep, GradVector or optimizer. Its *Model is an api.Function.

// forwardOnly reports whether the program has no objective, hence no
// backward pass and no training API.
func (p *plan) forwardOnly() bool { return p.g.Objective == nil }

// forwardOnlyPackageDoc is the package comment's description of a
// forward-only package (after its first line).
func (p *plan) forwardOnlyPackageDoc(f *jen.File) {
	f.PackageComment("buffer once; Forward and Predict evaluate its outputs without")
	f.PackageComment("allocating. It is forward-only (the model has no objective): it")
	f.PackageComment("computes no gradients and has no training step.")
}

// tensorGradField is the Grad field of the Tensor type (none in a
// forward-only package).
func (p *plan) tensorGradField() jen.Code {
	if p.forwardOnly() {
		return jen.Null()
	}
	return jen.Comment("Grad holds its gradient after Backward or TrainStep.").Line().Id("Grad").Add(p.sliceType(p.float))
}

// withGrads adds the gradients' struct of the model m to a state literal
// (a forward-only model has none: the state's grads stay nil, no kernel
// reads them).
func (p *plan) withGrads(d jen.Dict, m *jen.Statement) jen.Dict {
	if !p.forwardOnly() {
		d[jen.Id("grads")] = jen.Op("&").Add(m.Clone()).Dot("Grads")
	}
	return d
}

// invalidateForward is what a change of the params by Load does to a
// Forward/Backward pair: Backward fails until the next Forward.
func (p *plan) invalidateForward() []jen.Code {
	if p.forwardOnly() {
		return nil
	}
	return []jen.Code{jen.Id("m").Dot("forwardDone").Op("=").False()}
}

// forwardOnlyModelType emits the Model type of a forward-only package.
func (p *plan) forwardOnlyModelType(f *jen.File) {
	f.Comment("Model is the compiled function: its parameters (if any) and every")
	f.Comment("buffer, allocated once by New. It is forward-only: the model has no")
	f.Comment("objective, so there are no gradients and no training step.")
	f.Comment("A Model is not safe for concurrent use; to serve its weights from")
	f.Comment("many goroutines, give each a Predictor (NewPredictor).")
	f.Type().Id("Model").Struct(append(append([]jen.Code{
		jen.Comment("Params are the parameters, set by New from Config.Seed, by Load or"),
		jen.Comment("SetParams, or in place."),
		jen.Id("Params").Id("Params")},
		p.stateModelFields()...),
		jen.Line(),
		jen.Id("cfg").Id("Config"),
		jen.Id("params").Add(p.viewsType(p.float)).Comment("every param, flat (Flat): Params is a view of it"),
		p.stateViewsFields(),
		jen.Id("train").Id("state").Comment("Forward"),
		jen.Id("pred").Id("state").Comment("Predict"),
		jen.Id("eval").Op("*").Id("state").Comment("Evaluate: a training state in inference mode, allocated by its first call"),
	)...)
	f.Line()
}

// forwardOnlyEntryPoints emits the entry points of a forward-only
// package after bind and checkViews.
func (p *plan) forwardOnlyEntryPoints(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	zero := jen.Id("Outputs").Values()
	f.Comment("Forward runs the forward pass in training mode (dropout active, at")
	f.Comment("step 0) on in, target inputs included, and returns every output (also")
	f.Comment("kept for Outputs). The model is forward-only: there is no objective and")
	f.Comment("no gradient.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Forward").Params(jen.Id("in").Id("Inputs")).Params(jen.Id("Outputs"), jen.Error()).Block(append(append([]jen.Code{
		jen.If(jen.Err().Op(":=").Add(m()).Dot("bind").Call(jen.Op("&").Add(m()).Dot("train"), jen.Op("&").Id("in"), jen.False()), jen.Err().Op("!=").Nil()).Block(jen.Return(zero.Clone(), jen.Err())),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("train").Dot("forward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(zero.Clone(), jen.Err()))},
		p.updateStateCall()...),
		jen.Return(m().Dot("train").Dot("outputs").Call(jen.True()), jen.Nil()),
	)...)
	f.Line()
	p.paramVectorDoc(f)
	f.Func().Params(m().Op("*").Id("Model")).Id("ParamVector").Params().Index().Id(p.elem()).Block(jen.Return(m().Dot("params").Dot("Flat")))
	f.Line()
	p.setParams(f)
	f.Comment("Outputs returns the named outputs of the last Forward.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Outputs").Params().Id("Outputs").Block(
		jen.Return(m().Dot("train").Dot("outputs").Call(jen.True())),
	)
	f.Line()
	p.evaluate(f)
	p.predictor(f)
	p.predictFunc(f)
}

// paramVectorDoc is ParamVector's doc comment, with the layout of the
// flat vector.
func (p *plan) paramVectorDoc(f *jen.File) {
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
}

// -- end of forward-only models --
