package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
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
		if ki.par != nil {
			p.parKernel(f, ki)
			continue
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

// parKernel emits a kernel method whose loop nest runs on the cores: the
// method stores the buffers the nest reads and writes in its state field
// of type ki.par.typ and calls kernels.For on it, in grains of about
// kernels.ElemGrain elements; the type's Run method is the nest over a
// range of its outer loop. Each element is computed as it would be by
// the whole loop, so the results are the same on any number of cores.
func (p *plan) parKernel(f *jen.File, ki *kinfo) {
	kp := ki.par
	run := append(p.dimLocalsIn(kp.split.body), kp.split.body...)
	src := fmt.Sprintf("%#v", jen.Block(run...))
	var fields, lhs, rhs []jen.Code
	vals := jen.Dict{}
	if usesIdent(src, "s") {
		fields = append(fields, jen.Id("s").Op("*").Id("state").Comment("its receiver"))
		lhs, rhs = append(lhs, jen.Id("s")), append(rhs, jen.Id("r").Dot("s"))
		vals[jen.Id("s")] = jen.Id("s")
	}
	for i, name := range kp.names {
		if !usesIdent(src, name) {
			continue
		}
		fields = append(fields, jen.Id(name).Add(kp.types[i]).Comment("its parameter "+name))
		lhs, rhs = append(lhs, jen.Id(name)), append(rhs, jen.Id("r").Dot(name))
		vals[jen.Id(name)] = jen.Id(name)
	}
	if len(lhs) > 0 {
		run = append([]jen.Code{jen.List(lhs...).Op(":=").List(rhs...)}, run...)
	}

	k := &kctx{p: p, used: map[string]bool{}}
	grain := jen.Qual(kernelsPath, "ElemGrain")
	switch static, syms := ir.Shape(kp.split.per).NumElements(); {
	case len(kp.split.per) == 0:
	case len(syms) == 0 && static >= elemGrain:
		grain = jen.Lit(1)
	case len(syms) == 0:
		grain = grain.Op("/").Lit(static)
	default:
		grain = grain.Op("/").Max(jen.Lit(1), k.prod(kp.split.per))
	}
	main := slices.Clone(ki.body)
	main = append(main,
		jen.Id("s").Dot(kp.typ).Op("=").Id(kp.typ).Values(vals),
		jen.Qual(kernelsPath, "For").Call(k.prod(kp.split.over), grain, jen.Op("&").Id("s").Dot(kp.typ)),
	)
	main = append(p.dimLocalsIn(main), main...)
	f.Func().Params(jen.Id("s").Op("*").Id("state")).Id(ki.name).Params(ki.params...).Block(main...)
	f.Line()

	f.Comment(fmt.Sprintf("%s is a call of %s, for kernels.For.", kp.typ, ki.name))
	f.Type().Id(kp.typ).Struct(fields...)
	f.Line()
	of := "its outer loop"
	if kp.split.cols {
		of = "its columns"
	}
	f.Comment(fmt.Sprintf("Run computes %s's loop nest over [lo, hi) of %s.", ki.name, of))
	f.Func().Params(jen.Id("r").Op("*").Id(kp.typ)).Id("Run").Params(jen.List(jen.Id("lo"), jen.Id("hi")).Int()).Block(run...)
	f.Line()
}

// dimLocalsIn binds the symbolic dims code reads to locals (dimLocals).
func (p *plan) dimLocalsIn(code []jen.Code) []jen.Code {
	src := fmt.Sprintf("%#v", jen.Block(code...))
	used := map[string]bool{}
	for _, d := range p.dims {
		if usesIdent(src, d.field) {
			used[d.name] = true
		}
	}
	return p.dimLocals(used)
}

// usesIdent reports whether the Go source src uses the identifier name
// other than as a field or method (after a dot).
func usesIdent(src, name string) bool {
	isIdent := func(c byte) bool {
		return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
	}
	for i := 0; ; {
		j := strings.Index(src[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !isIdent(src[j-1]) && src[j-1] != '.') && (end == len(src) || !isIdent(src[end])) {
			return true
		}
		i = j + 1
	}
}
