package passes_test

import (
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Gradient cases of the convolution ops, added to vjpCases: each op in
// geometries covering stride, padding, dilation and groups, with unequal
// height and width parameters. Every argument is a param, so both
// arguments' gradients (built from the other two convolution ops) are
// checked against finite differences.

func init() {
	type geom struct {
		name    string
		n, c, h int
		w, o    int
		kh, kw  int
		p       ir.ConvParams
		ho, wo  int // output size
	}
	cp := func(sh, sw, ph, pw, dh, dw, groups int) ir.ConvParams {
		return ir.ConvParams{Stride: [2]int{sh, sw}, Padding: [2]int{ph, pw}, Dilation: [2]int{dh, dw}, Groups: groups}
	}
	geoms := []geom{
		{name: "plain", n: 2, c: 2, h: 4, w: 5, o: 3, kh: 3, kw: 2, p: cp(1, 1, 0, 0, 1, 1, 1), ho: 2, wo: 4},
		{name: "stride-padding", n: 2, c: 2, h: 5, w: 4, o: 2, kh: 3, kw: 3, p: cp(2, 1, 1, 2, 1, 1, 1), ho: 3, wo: 6},
		{name: "dilation", n: 1, c: 2, h: 6, w: 5, o: 2, kh: 2, kw: 2, p: cp(1, 1, 1, 0, 2, 3, 1), ho: 6, wo: 2},
		{name: "groups", n: 2, c: 4, h: 4, w: 4, o: 4, kh: 2, kw: 3, p: cp(2, 1, 1, 1, 1, 1, 2), ho: 3, wo: 4},
		{name: "depthwise-stride-dilation", n: 1, c: 3, h: 6, w: 5, o: 3, kh: 2, kw: 2, p: cp(2, 2, 1, 0, 2, 1, 3), ho: 3, wo: 2},
	}
	for _, g := range geoms {
		a := g.p.Attrs()
		vjpCases["conv2d"] = append(vjpCases["conv2d"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.c, g.h, g.w), p(g.o, g.c/g.p.Groups, g.kh, g.kw)}, attrs: a})
		ai := g.p.Attrs()
		ai["input"] = []int{g.h, g.w}
		vjpCases["conv2d_input_grad"] = append(vjpCases["conv2d_input_grad"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.o, g.ho, g.wo), p(g.o, g.c/g.p.Groups, g.kh, g.kw)}, attrs: ai})
		aw := g.p.Attrs()
		aw["kernel"] = []int{g.kh, g.kw}
		vjpCases["conv2d_weight_grad"] = append(vjpCases["conv2d_weight_grad"], vjpCase{name: g.name,
			args: []argSpec{p(g.n, g.c, g.h, g.w), p(g.n, g.o, g.ho, g.wo)}, attrs: aw})
	}
}

// TestConvSecondOrder differentiates a gradient: J = Σ r ⊙ conv(x, w)²
// has gradients built of conv2d_input_grad and conv2d_weight_grad; the
// gradient of J2 = Σ u ⊙ ∂J/∂x + Σ v ⊙ ∂J/∂w then runs through the VJPs of
// those two ops (and conv2d's again), checked against finite differences
// of J2.
func TestConvSecondOrder(t *testing.T) {
	c := ir.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 2}, Dilation: [2]int{1, 2}, Groups: 2}
	b := ir.NewBuilder("conv.second")
	x := b.Param("x", ir.T(ir.F64, ir.S(2, 4, 5, 4)), ir.Attrs{"init": "zeros"})
	w := b.Param("w", ir.T(ir.F64, ir.S(4, 2, 3, 2)), ir.Attrs{"init": "zeros"})
	y := b.Conv2D(x, w, c)
	b.Graph().Objective = weightedSum(b, b.Mul(y, y), "r")
	g := mustBuild(t, b)
	joint, _, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// J2 from the first gradients, as a graph of its own.
	g2 := joint.Clone()
	grads := map[string]*ir.Value{}
	var outs []ir.Output
	for _, o := range g2.Outputs {
		if o.Grad != "" {
			grads[o.Grad] = o.Value
			continue
		}
		outs = append(outs, o)
	}
	g2.Outputs = outs
	b2 := ir.BuilderFor(g2)
	g2.Objective = b2.Add(weightedSum(b2, grads["x"], "u"), weightedSum(b2, grads["w"], "v"))
	if err := b2.Err(); err != nil {
		t.Fatal(err)
	}
	ops := map[*ir.OpDef]bool{}
	for _, v := range g2.Values {
		ops[v.Op] = true
	}
	if !ops[ir.OpConv2DInputGrad] || !ops[ir.OpConv2DWeightGrad] {
		t.Fatalf("the first gradients do not use both gradient ops:\n%s", ir.Print(g2))
	}
	rng := rand.New(rand.NewPCG(5, 5))
	env := map[string]*ir.Tensor{
		"x": randTensor(rng, -1, 1, 2, 4, 5, 4), "w": randTensor(rng, -1, 1, 4, 2, 3, 2),
		"r": signedWeights(rng, shapeInts(y.Type.Shape)...),
		"u": signedWeights(rng, 2, 4, 5, 4), "v": signedWeights(rng, 4, 2, 3, 2),
	}
	prob, err := newGradProblem(g2, nil, env, nil)
	if err != nil {
		t.Fatalf("second grad: %v", err)
	}
	rep, err := prob.check(1)
	if err != nil {
		t.Errorf("%v\n%s", err, rep)
	}
}
