package codegen

import (
	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Lowerings of the normalization ops (ir/ops_norm.go) to the single-sweep
// loops of runtime/rt/norm.go.

// lowerVar is rt.Var over adjacent axes, rt.VarSplit around a kept block
// (NCHW's per-channel variance), rt.VarAxes otherwise.
func lowerVar(k *kctx, v *ir.Value) []jen.Code {
	return k.reduceCall(v, "Var", "VarSplit", "VarAxes", nil, []jen.Code{jen.Lit(v.Attrs.Int("correction"))})
}

// lowerLayerNorm is rt.LayerNorm over the rows of x: its leading dims by
// the normalized (trailing) ones.
func lowerLayerNorm(k *kctx, v *ir.Value) []jen.Code {
	x, gamma, beta := v.Args[0], v.Args[1], v.Args[2]
	lead := x.Type.Shape[:len(x.Type.Shape)-len(gamma.Type.Shape)]
	return []jen.Code{jen.Qual(rtPath, "LayerNorm").Call(k.slice(v), k.slice(x), k.slice(gamma), k.slice(beta),
		k.prod(lead), k.prod(gamma.Type.Shape), floatLit(v.Attrs.Float("eps"), 1))}
}

// lowerBatchNorm is rt.BatchNorm over x as [N, C, the rest], in the
// state's mode (training: batch statistics).
func lowerBatchNorm(k *kctx, v *ir.Value) []jen.Code {
	x := v.Args[0]
	s := x.Type.Shape
	args := []jen.Code{k.slice(v)}
	for _, a := range v.Args {
		args = append(args, k.slice(a))
	}
	args = append(args, k.prod(s[:1]), k.prod(s[1:2]), k.prod(s[2:]), floatLit(v.Attrs.Float("eps"), 1), jen.Id("s").Dot("training"))
	return []jen.Code{jen.Qual(rtPath, "BatchNorm").Call(args...)}
}
