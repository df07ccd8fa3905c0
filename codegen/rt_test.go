package codegen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"strconv"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/kernels"
	"github.com/bpgen/bpgen/runtime/rt"
)

// TestInitLiteral checks that the rt.Init literal codegen prints for a
// param reads back as ir.InitSpec of its attributes, which both
// ir.InitValues and rt.InitParam fill from (package internal/detrand): the
// generated constructor initializes what the interpreter does.
func TestInitLiteral(t *testing.T) {
	for _, a := range []ir.Attrs{
		{"init": "zeros"}, {"init": "constant", "value": 0.3},
		{"init": "normal"}, {"init": "normal", "mean": 1.5, "std": 0.2},
		{"init": "uniform"}, {"init": "uniform", "low": -2.0, "high": 3.0},
		{"init": "xavier_uniform"}, {"init": "xavier_uniform", "gain": 2.0},
		{"init": "xavier_normal"}, {"init": "he_normal"}, {"init": "he_normal", "gain": 0.5},
		{"init": "he_uniform"}, {"init": "he_uniform", "gain": 3.0}, {"init": "constant", "value": 1e-300},
	} {
		src := fmt.Sprintf("%#v", initSpec(&ir.Value{Attrs: a}))
		e, err := parser.ParseExpr(src)
		if err != nil {
			t.Fatalf("%v: %s: %v", a, src, err)
		}
		var got rt.Init
		for _, elt := range e.(*ast.CompositeLit).Elts {
			kv := elt.(*ast.KeyValueExpr)
			val, sign := kv.Value, ""
			if u, ok := val.(*ast.UnaryExpr); ok {
				val, sign = u.X, u.Op.String()
			}
			lit := val.(*ast.BasicLit)
			if kv.Key.(*ast.Ident).Name == "Kind" {
				got.Kind, _ = strconv.Unquote(lit.Value)
				continue
			}
			x, err := strconv.ParseFloat(sign+lit.Value, 64)
			if err != nil {
				t.Fatalf("%v: %s: %v", a, src, err)
			}
			*map[string]*float64{"Value": &got.Value, "Mean": &got.Mean, "Std": &got.Std, "Low": &got.Low, "High": &got.High, "Gain": &got.Gain}[kv.Key.(*ast.Ident).Name] = x
		}
		if want := ir.InitSpec(a); got != want {
			t.Errorf("%v: codegen prints %s = %+v, want %+v", a, src, got, want)
		}
	}
}

// TestElemGrainMirrorsKernels: codegen chooses the loops it splits over the
// cores with its own copy of kernels.ElemGrain.
func TestElemGrainMirrorsKernels(t *testing.T) {
	if elemGrain != kernels.ElemGrain {
		t.Fatalf("codegen's elemGrain is %d, kernels.ElemGrain %d: keep them equal", elemGrain, kernels.ElemGrain)
	}
}
