package passes

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// Retarget returns a copy of g with every float dtype (of values and of
// dtype attributes) replaced by d, which must be a float type. Converts
// between float types become identities. (The retarget pass applies it
// first in the pipeline, so constants fold in the target type.)
func Retarget(g *ir.Graph, d ir.DType) *ir.Graph {
	c := g.Clone()
	retype(c, d)
	return c
}

func retype(g *ir.Graph, d ir.DType) {
	for _, v := range g.Values {
		if v.Type.DType.IsFloat() {
			v.Type.DType = d
		}
		if t := v.Attrs.DType("dtype"); t.IsFloat() {
			v.Attrs["dtype"] = d
		}
	}
	for _, f := range g.Funcs {
		retype(f, d)
	}
}

// retargetPass runs Retarget when Options.DType is set.
func retargetPass(c *Context) error {
	d := c.Options.DType
	if d == ir.InvalidDType {
		return nil
	}
	if !d.IsFloat() {
		return fmt.Errorf("Options.DType is %v, want f32 or f64", d)
	}
	c.Graph = Retarget(c.Graph, d)
	return nil
}
