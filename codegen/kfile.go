package codegen

import (
	"github.com/dave/jennifer/jen"
)

// kernelsFile holds the computation: the passes that call the kernels in
// order, and one method per kernel.
func (p *plan) kernelsFile() *jen.File {
	f := p.newFile()
	pass := func(name, doc string, ks []*kcall) {
		var body []jen.Code
		for _, c := range ks {
			ki := c.ki
			var args []jen.Code
			for _, vi := range c.args {
				args = append(args, p.ref(vi))
			}
			call := jen.Id("s").Dot(ki.name).Call(args...)
			if ki.uses > 1 && ki.fallible {
				body = append(body, jen.Comment(callNote(c.k)))
			} else if ki.uses > 1 {
				call = call.Comment(callNote(c.k))
			}
			if ki.fallible {
				body = append(body, jen.If(jen.Err().Op(":=").Add(call), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
			} else {
				body = append(body, call)
			}
		}
		body = append(body, jen.Return(jen.Nil()))
		f.Comment(doc)
		f.Func().Params(jen.Id("s").Op("*").Id("state")).Id(name).Params().Error().Block(body...)
		f.Line()
	}
	pass("forward", "forward computes the objective and the named outputs.", p.forward)
	pass("backward", "backward computes the gradients, after forward.", p.backward)
	pass("predict", "predict computes the outputs that do not depend on target inputs.", p.predict)

	// outputs.
	var all, some []jen.Code
	k := &kctx{p: p, used: map[string]bool{}}
	for _, o := range p.outputs {
		var val jen.Code
		if len(o.v.Type.Shape) == 0 {
			val = k.ref(o.v).Index(jen.Lit(0))
		} else {
			val = k.slice(o.v)
		}
		set := jen.Id("o").Dot(o.field).Op("=").Add(val)
		if p.dependsOnTarget[o.v.ID] {
			all = append(all, set)
		} else {
			some = append(some, set)
		}
	}
	body := p.dimLocals(k.used)
	body = append(body, jen.Var().Id("o").Id("Outputs"))
	body = append(body, some...)
	if len(all) > 0 {
		body = append(body, jen.If(jen.Id("all")).Block(all...))
	}
	body = append(body, jen.Return(jen.Id("o")))
	f.Comment("outputs returns the named outputs held in s; all includes those that")
	f.Comment("depend on target inputs.")
	f.Func().Params(jen.Id("s").Op("*").Id("state")).Id("outputs").Params(jen.Id("all").Bool()).Id("Outputs").Block(body...)
	f.Line()

	if len(p.inputGrads) > 0 {
		k := &kctx{p: p, used: map[string]bool{}}
		var sets []jen.Code
		for _, o := range p.inputGrads {
			sets = append(sets, jen.Id("g").Dot(o.field).Op("=").Add(k.slice(o.v)))
		}
		body := p.dimLocals(k.used)
		body = append(body, jen.Var().Id("g").Id("InputGrads"))
		body = append(body, sets...)
		body = append(body, jen.Return(jen.Id("g")))
		f.Comment("inputGrads returns the gradients with respect to inputs held in s.")
		f.Func().Params(jen.Id("s").Op("*").Id("state")).Id("inputGrads").Params().Id("InputGrads").Block(body...)
		f.Line()
	}

	// The kernels, in order of first use.
	for _, ki := range p.kernels {
		for _, line := range kernelDoc(ki) {
			f.Comment(line)
		}
		var ret jen.Code = jen.Null()
		if ki.fallible {
			ret = jen.Error()
		}
		f.Func().Params(jen.Id("s").Op("*").Id("state")).Id(ki.name).Params(ki.params...).Add(ret).Block(ki.body...)
		f.Line()
	}
	return f
}
