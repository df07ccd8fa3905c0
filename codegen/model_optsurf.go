package codegen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// -- the optimizer-friendly surface (issue 17) --
//
// For optimizers outside bpgen (gonum's optimize, a hand-written line
// search): every param as one flat vector in a documented order
// (ParamVector, SetParams) with the gradients in the same order
// (GradVector), f and ∇f at a given x in one forward and one backward
// pass (ValueAndGrad), an error when the params change between Forward
// and Backward (rt.ParamSum), and a learning-rate setter for schedules of
// the built-in optimizer (SetLR).

// forwardBackward emits the public Forward and Backward of a model with
// an objective: forward and backward, with the params' hash taken at
// Forward and checked at Backward.
func (p *plan) forwardBackward(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	e := p.elem()
	f.Comment("Forward runs the training-mode forward pass (dropout active) on in and")
	f.Comment("returns the objective. It keeps what Backward needs: in's slices are")
	f.Comment("read in place and must not change until Backward returns, nor may the")
	f.Comment("parameters (Backward checks a hash of them: rt.ParamSum).")
	f.Func().Params(m().Op("*").Id("Model")).Id("Forward").Params(jen.Id("in").Id("Inputs")).Params(jen.Id(e), jen.Error()).Block(
		jen.List(jen.Id("obj"), jen.Err()).Op(":=").Add(m()).Dot("forward").Call(jen.Id("in")),
		jen.If(jen.Err().Op("==").Nil()).Block(
			m().Dot("paramSum").Op("=").Qual(rtPath, "ParamSum").Call(m().Dot("params").Dot("Flat"))),
		jen.Return(jen.Id("obj"), jen.Err()),
	)
	f.Line()
	f.Comment("Backward computes the gradient of the objective with respect to every")
	f.Comment("parameter into m.Grads (GradVector, in ParamVector's order), after")
	f.Comment("Forward. It fails if the parameters changed since that Forward (Apply,")
	f.Comment("Load, SetParams, or a write through Params, ParamVector or")
	f.Comment("ParamTensors, detected by a 64-bit hash of the parameters: a change is")
	f.Comment("missed only by a hash collision, and writing back the same values is")
	f.Comment("no change); run Forward again.")
	f.Func().Params(m().Op("*").Id("Model")).Id("Backward").Params().Error().Block(
		jen.If(m().Dot("forwardDone").Op("&&").Qual(rtPath, "ParamSum").Call(m().Dot("params").Dot("Flat")).Op("!=").Add(m()).Dot("paramSum")).Block(
			jen.Return(jen.Qual("errors", "New").Call(jen.Lit(p.prefix+": the parameters changed between Forward and Backward; run Forward again")))),
		jen.Return(m().Dot("backward").Call()),
	)
	f.Line()
}

// setParams emits SetParams.
func (p *plan) setParams(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	_, total := p.paramOffsets()
	f.Comment("SetParams copies x into every parameter, in ParamVector's order (x may")
	f.Comment("be ParamVector itself). It fails, changing nothing, if x's length is not")
	f.Comment(fmt.Sprintf("%d.", total))
	f.Func().Params(m().Op("*").Id("Model")).Id("SetParams").Params(jen.Id("x").Index().Id(p.elem())).Error().Block(
		jen.If(jen.Len(jen.Id("x")).Op("!=").Lit(total)).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(p.prefix+": SetParams: x has %d elements, want "+fmt.Sprint(total)), jen.Len(jen.Id("x"))))),
		jen.Copy(m().Dot("params").Dot("Flat"), jen.Id("x")),
		jen.Return(jen.Nil()),
	)
	f.Line()
}

// optimizerSurface emits SetParams, ValueAndGrad and SetLR of a model
// with an objective.
func (p *plan) optimizerSurface(f *jen.File) {
	m := func() *jen.Statement { return jen.Id("m") }
	e := p.elem()
	_, total := p.paramOffsets()
	p.setParams(f)

	f.Comment("ValueAndGrad sets the parameters to x (ParamVector's order), runs one")
	f.Comment("forward and one backward pass on in, writes the gradient into grad (the")
	f.Comment("same order) and returns the objective: f(x) and ∇f(x) for an optimizer")
	f.Comment("outside the model, without a second forward pass. x and grad must have")
	f.Comment(fmt.Sprintf("%d elements; x may be ParamVector, grad may be GradVector. It leaves", total))
	f.Comment("the model as Forward and Backward do (Outputs, GradVector); it applies")
	f.Comment("no update and does not advance the step count. A NaN or ±Inf objective")
	f.Comment("is returned as it is, with no error.")
	f.Func().Params(m().Op("*").Id("Model")).Id("ValueAndGrad").Params(jen.List(jen.Id("x"), jen.Id("grad")).Index().Id(e), jen.Id("in").Id("Inputs")).Params(jen.Id(e), jen.Error()).Block(
		jen.If(jen.Len(jen.Id("x")).Op("!=").Lit(total).Op("||").Len(jen.Id("grad")).Op("!=").Lit(total)).Block(
			jen.Return(jen.Lit(0), jen.Qual("fmt", "Errorf").Call(jen.Lit(p.prefix+": ValueAndGrad: x and grad have %d and %d elements, want "+fmt.Sprint(total)), jen.Len(jen.Id("x")), jen.Len(jen.Id("grad"))))),
		jen.Copy(m().Dot("params").Dot("Flat"), jen.Id("x")),
		jen.List(jen.Id("obj"), jen.Err()).Op(":=").Add(m()).Dot("forward").Call(jen.Id("in")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		m().Dot("paramSum").Op("=").Qual(rtPath, "ParamSum").Call(m().Dot("params").Dot("Flat")),
		jen.If(jen.Err().Op(":=").Add(m()).Dot("backward").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.Copy(jen.Id("grad"), m().Dot("grads").Dot("Flat")),
		jen.Return(jen.Id("obj"), jen.Nil()),
	)
	f.Line()

	f.Comment("SetLR sets the learning rate of the optimizer for the steps to come (a")
	f.Comment("schedule calls it between steps), keeping its state (momentum, Adam's")
	f.Comment("moments and step count). lr must be positive and finite; otherwise it")
	f.Comment("fails and changes nothing.")
	f.Func().Params(m().Op("*").Id("Model")).Id("SetLR").Params(jen.Id("lr").Float64()).Error().Block(
		jen.If(jen.Err().Op(":=").Add(m()).Dot("opt").Dot("SetLR").Call(jen.Lit(p.prefix+": SetLR"), jen.Id("lr")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		m().Dot("cfg").Dot("Optimizer").Dot("LR").Op("=").Id("lr"),
		jen.Return(jen.Nil()),
	)
	f.Line()
}

// -- end of the optimizer-friendly surface --
