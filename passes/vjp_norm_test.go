package passes_test

import (
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Gradient cases of the normalization ops (ir/ops_norm.go).

func init() {
	vjpCases["var"] = varCases()
	vjpCases["layer_norm"] = layerNormCases()
	vjpCases["batch_norm"] = batchNormCases()
}

func varCases() []vjpCase {
	r := func(name string, shape []int, axes []int, keep bool, corr int) vjpCase {
		return vjpCase{name: name, args: []argSpec{p(shape...)}, attrs: ir.Attrs{"axes": axes, "keepdims": keep, "correction": corr}}
	}
	return []vjpCase{
		r("[3,4]/axes=[0]/corr=1", []int{3, 4}, []int{0}, false, 1),
		r("[3,4]/axes=[1]/keepdims/corr=0", []int{3, 4}, []int{1}, true, 0),
		r("[3,4]/axes=[0,1]/corr=0", []int{3, 4}, []int{0, 1}, false, 0),
		r("[2,3,4]/axes=[0,2]/corr=1", []int{2, 3, 4}, []int{0, 2}, false, 1),
		r("[2,3,4]/axes=[1]/keepdims/corr=1", []int{2, 3, 4}, []int{1}, true, 1),
	}
}

// TestSimplifyReshapeKeepdimsVar: reshape(var(x, keepdims)) → var(x)
// keeps var's correction (the rule rebuilds the reduction from its
// attributes).
func TestSimplifyReshapeKeepdimsVar(t *testing.T) {
	b := ir.NewBuilder("t")
	x := b.Input("x", ir.T(ir.F64, ir.S(3, 4)))
	v := b.Apply(ir.OpVar, ir.Attrs{"axes": []int{1}, "keepdims": true, "correction": 1}, x)
	r := b.Reshape(v, ir.S(3))
	b.Graph().AddOutput("r", r)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Simplify(b.Graph())
	if err != nil {
		t.Fatal(err)
	}
	out := b.Graph().Output("r")
	if rep.Rules["reshape-keepdims"] != 1 || out.Op != ir.OpVar || out.Attrs.Int("correction") != 1 || out.Attrs.Bool("keepdims") {
		t.Errorf("simplified to %v (rules %v), want var [axes=[1], correction=1] without keepdims", out, rep.Rules)
	}
}

func layerNormCases() []vjpCase {
	ln := func(name string, x []int, norm []int, eps float64) vjpCase {
		return vjpCase{name: name, args: []argSpec{p(x...), pd(positive, norm...), p(norm...)}, attrs: ir.Attrs{"eps": eps}}
	}
	return []vjpCase{
		ln("[3,4]/norm=[4]", []int{3, 4}, []int{4}, 1e-5),
		ln("[2,3,4]/norm=[3,4]", []int{2, 3, 4}, []int{3, 4}, 0.1),
		ln("[5]/norm=[5]", []int{5}, []int{5}, 1e-5),
	}
}

func batchNormCases() []vjpCase {
	bn := func(name string, x []int, eps float64) vjpCase {
		c := x[1]
		running := func(v float64) argSpec {
			vals := make([]float64, c)
			for i := range vals {
				vals[i] = v + 0.25*float64(i)
			}
			return fixed(vals, c)
		}
		// x, gamma, beta; the running statistics get no gradient (and the
		// training-mode forward pass does not read them).
		return vjpCase{name: name, args: []argSpec{p(x...), pd(positive, c), p(c), running(0.1), running(1.5)}, attrs: ir.Attrs{"eps": eps}}
	}
	return []vjpCase{
		bn("[4,3]", []int{4, 3}, 1e-5),
		bn("[2,3,2,2]", []int{2, 3, 2, 2}, 0.1),
		bn("[3,2,5]", []int{3, 2, 5}, 1e-5),
	}
}
