package codegen

import (
	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Pooling lowerings: one call of package rt's single-sweep loops over the
// N·C planes, with the window geometry as an rt.Pool literal.

// poolCall lowers a pooling op to rt.<fn>(out, args..., planes, geometry);
// x is the value of the op's input shape (NCHW).
func poolCall(fn string) lowering {
	return func(k *kctx, v *ir.Value) []jen.Code {
		x := v.Args[0].Type.Shape
		pooled := v.Type.Shape
		if v.Op == ir.OpMaxPool2DGrad || v.Op == ir.OpAvgPool2DGrad {
			x, pooled = v.Type.Shape, v.Args[len(v.Args)-1].Type.Shape
		}
		p, err := ir.PoolGeomOf(v.Attrs)
		if err != nil {
			k.p.fail(err)
			return nil
		}
		field := func(name string, n int) jen.Code { return jen.Id(name).Op(":").Lit(n) }
		geom := jen.Qual(rtPath, "Pool").Values(
			field("H", x[2].N), field("W", x[3].N), field("OH", pooled[2].N), field("OW", pooled[3].N),
			field("KH", p.KH), field("KW", p.KW), field("SH", p.SH), field("SW", p.SW), field("PH", p.PH), field("PW", p.PW))
		args := []jen.Code{k.slice(v)}
		for _, a := range v.Args {
			args = append(args, k.slice(a))
		}
		args = append(args, k.prod(x[:2]), geom)
		return []jen.Code{jen.Qual(rtPath, fn).Call(args...)}
	}
}
