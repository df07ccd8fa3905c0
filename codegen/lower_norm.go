package codegen

import (
	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Lowerings of the normalization ops (ir/ops_norm.go) to the single-sweep
// loops of runtime/rt/norm.go.

// lowerVar is rt.Var over adjacent axes, rt.VarAxes otherwise.
func lowerVar(k *kctx, v *ir.Value) []jen.Code {
	return k.reduceCall(v, "Var", "VarAxes", nil, []jen.Code{jen.Lit(v.Attrs.Int("correction"))})
}
