package passes_test

import (
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// TestAttentionBlock (issue 12, acceptance 5): the attention block built
// directly in the DSL — q, k, v projections [n,s,d]·[d,d], heads by
// reshape and transpose, softmax(q·kᵀ/√d_k + causal mask)·v, the heads
// merged into [n·s,d] rows for the output projection — has gradients (of
// the params and of x) that agree with finite differences in float64, and
// is causal: changing the last position of x leaves the outputs at the
// earlier positions unchanged.
func TestAttentionBlock(t *testing.T) {
	g, err := dsl.Build("models.AttentionBlock", models.AttentionBlock)
	if err != nil {
		t.Fatal(err)
	}
	g = toFloat64(g)
	// Built directly: [n,s,d]·[d,d] products and an [n·s,d] reshape, no
	// weight broadcast to [n,d,d].
	var direct, flat bool
	for _, v := range g.Values {
		switch v.Op {
		case ir.OpMatMul:
			direct = direct || v.Args[0].Type.Shape.String() == "[n,s,8]" && v.Args[1].Type.Shape.String() == "[8,8]"
		case ir.OpReshape:
			flat = flat || v.Type.Shape.String() == "[n*s,8]"
		case ir.OpBroadcastTo:
			t.Errorf("the block broadcasts %v", v)
		}
	}
	if !direct || !flat {
		t.Errorf("the block has no [n,s,8]·[8,8] product (%v) or no [n*s,8] reshape (%v):\n%s", direct, flat, ir.Print(g))
	}
	const n, s = 2, 3
	dims := map[string]int{"n": n, "s": s}
	env := envAt(t, g, dims, rand.New(rand.NewPCG(5, 6)))
	env["mask"] = ir.FromFloats(ir.F64, models.CausalMask(s), s, s)
	p, err := newGradProblem(g, []string{"x"}, env, dims)
	if err != nil {
		t.Fatal(err)
	}
	// The block is some 40 ops deep, so the objective's round-off is tens
	// of ε·|f| and central differences at gradcheck's default step (1e-6)
	// carry ~3e-9 of noise (measured), too much for the smallest entries
	// of ∂J/∂Wk (~4e-4) at gradTol. A step of attentionStep balances that
	// round-off (~3e-10) against the truncation error h²·|f”'|/6 (~1e-11
	// here), so every entry is held to gradTol unchanged.
	const attentionStep = 1e-5
	rep, err := gradcheck.Check(p.Func(), gradcheck.Options{Seed: 1, Step: attentionStep})
	if err == nil {
		err = rep.Err(gradTol)
	}
	if err != nil {
		t.Errorf("%v\n%s\njoint graph:\n%s", err, rep, ir.Print(p.joint))
	}
	t.Logf("gradient check at step %g:\n%s", attentionStep, rep)

	run := func(env map[string]*ir.Tensor) []float64 {
		res, err := ir.Interp(g, ir.Env{Dims: dims, Inputs: env})
		if err != nil {
			t.Fatal(err)
		}
		return res.Outputs["h"].F
	}
	before := run(env)
	x2 := env["x"].Clone()
	const d = 8
	for b := range n {
		for c := range d {
			x2.F[(b*s+s-1)*d+c] += 0.5
		}
	}
	env2 := map[string]*ir.Tensor{}
	for k, v := range env {
		env2[k] = v
	}
	env2["x"] = x2
	after := run(env2)
	changed := false
	for b := range n {
		for i := range s {
			for c := range d {
				at := (b*s+i)*d + c
				if i < s-1 && after[at] != before[at] {
					t.Errorf("h[%d,%d,%d] changed from %v to %v when only position %d of x did: the mask is not causal", b, i, c, before[at], after[at], s-1)
				}
				changed = changed || (i == s-1 && after[at] != before[at])
			}
		}
	}
	if !changed {
		t.Errorf("changing the last position of x changed no output")
	}
}
