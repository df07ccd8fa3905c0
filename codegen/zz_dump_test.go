package codegen

import (
	"fmt"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

func TestZZDump(t *testing.T) {
	s := benchmodels.Specs[1]
	g, _ := dsl.Build("x", s.Model())
	p, err := passes.CompileProgram(g, passes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ir.Print(p.Graph))
	fmt.Println(p)
	for _, k := range p.Backward {
		for _, v := range k.Values {
			if v.Op.Class == ir.Elementwise {
				e, in := k.Formula(v)
				fmt.Println(v.Ref(), e, len(in))
			}
		}
	}
}
