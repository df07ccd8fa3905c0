package passes

import (
	"fmt"
	"slices"

	"github.com/bpgen/bpgen/ir"
)

// Forward mode: the JVP pass, and Hessian-vector products built from it
// (forward-over-reverse) or from Grad applied twice (reverse-over-reverse).

// JVPOptions configures the JVP pass.
type JVPOptions struct {
	// Wrt names the params and inputs that get a tangent input; empty
	// means every param.
	Wrt []string
}

// TangentName is the name of the tangent input of the param or input
// name, and of the tangent output of the output name.
func TangentName(name string) string { return "tangent." + name }

// ObjectiveTangent is the name of the output the JVP pass gives the
// objective's tangent (its directional derivative).
const ObjectiveTangent = "tangent.objective"

// JVP appends to a copy of g the forward-mode tangent computation: an
// input TangentName(x) of x's type for every param (or Wrt param or
// input) x, and for every output o (but state updates) an output
// TangentName(o) holding the directional derivative of o along those
// tangents, plus ObjectiveTangent when g has an objective. The tangents
// are ordinary IR, built by the ops' JVP rules with the builder the DSL
// uses; a zero tangent is not computed (its output is a zero constant).
// An op whose derivative is known only in reverse (custom_vjp, extern, and
// extern's backward) on the path from a tangent to an output is an error.
// Ops in training mode follow the training forward pass (batch_norm uses
// the batch statistics), as the VJP rules do.
func JVP(g *ir.Graph, opts JVPOptions) (out *ir.Graph, err error) {
	out = g.Clone()
	nfwd := len(out.Values)
	b := ir.BuilderFor(out)

	var leaves []*ir.Value
	if len(opts.Wrt) == 0 {
		leaves = out.Params()
	}
	for _, name := range opts.Wrt {
		v := out.Lookup(name)
		if v == nil || (v.Op != ir.OpInput && v.Op != ir.OpParam) {
			return nil, fmt.Errorf("jvp %s: Wrt names %q, which is not a param or an input of the model", g.Name, name)
		}
		if !v.Type.DType.IsFloat() {
			return nil, fmt.Errorf("jvp %s: %q is %v; only float values have tangents", g.Name, name, v.Type)
		}
		if !slices.Contains(leaves, v) {
			leaves = append(leaves, v)
		}
	}
	if len(leaves) == 0 {
		return nil, fmt.Errorf("jvp %s: nothing to differentiate with respect to (no params, no Wrt)", g.Name)
	}

	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("jvp %s: internal error: %v", g.Name, r)
		}
	}()
	tan := make([]*ir.Value, nfwd)
	for _, l := range leaves {
		if out.Lookup(TangentName(l.Name)) != nil {
			return nil, fmt.Errorf("jvp %s: the name %q is already used", g.Name, TangentName(l.Name))
		}
		b.Pos = l.Pos
		tan[l.ID] = b.Input(TangentName(l.Name), l.Type)
	}
	for i := 0; i < nfwd; i++ {
		v := out.Values[i]
		if tan[i] != nil || !v.Type.DType.IsFloat() {
			continue
		}
		ts := make([]*ir.Value, len(v.Args))
		any := false
		for j, a := range v.Args {
			ts[j] = tan[a.ID]
			any = any || ts[j] != nil
		}
		if !any {
			continue
		}
		if v.Op == ir.OpExternVJP {
			return nil, fmt.Errorf("jvp %s: %s: extern_vjp has no JVP rule: a derivative of an extern's Go backward function is not known, so forward mode and second-order derivatives through it are not available\n\t%s", g.Name, v.Pos, v)
		}
		if v.Op.JVP == nil { // NonDiff: a zero tangent
			continue
		}
		b.Pos = v.Pos
		before := len(b.Errors())
		t := v.Op.JVP(b, v, ts)
		if len(b.Errors()) > before {
			return nil, fmt.Errorf("jvp %s: %w", g.Name, b.Errors()[before])
		}
		if t != nil && !t.Type.Equal(v.Type) {
			return nil, fmt.Errorf("jvp %s: internal error: the JVP rule of %s gave a tangent of type %v for a value of type %v\n\t%s", g.Name, v.Op.Name, t.Type, v.Type, v)
		}
		if t != nil && t.Name == "" && v.Name != "" {
			t.Name = "t_" + v.Name
		}
		tan[i] = t
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("jvp %s: internal error: %w", g.Name, err)
	}

	used := map[string]bool{}
	for _, o := range out.Outputs {
		used[o.Name] = true
	}
	tangentOf := func(v *ir.Value) *ir.Value {
		if t := tan[v.ID]; t != nil {
			return t
		}
		b.Pos = v.Pos
		return b.ZerosLike(v)
	}
	outs := out.Outputs
	for _, o := range outs {
		if o.State != "" || !o.Value.Type.DType.IsFloat() {
			continue
		}
		name := TangentName(o.Name)
		if used[name] {
			return nil, fmt.Errorf("jvp %s: output name %q is already used", g.Name, name)
		}
		used[name] = true
		out.AddOutput(name, tangentOf(o.Value))
	}
	if out.Objective != nil {
		if used[ObjectiveTangent] {
			return nil, fmt.Errorf("jvp %s: output name %q is already used", g.Name, ObjectiveTangent)
		}
		out.AddOutput(ObjectiveTangent, tangentOf(out.Objective))
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("jvp %s: internal error: %w", g.Name, err)
	}
	// DiagJVP builds every argument's VJP part; drop what no tangent uses.
	if err := DCE(out); err != nil {
		return nil, err
	}
	if err := ir.Verify(out); err != nil {
		return nil, fmt.Errorf("jvp %s: internal error: %w", g.Name, err)
	}
	return out, nil
}

// JVPModel returns JVP(g, opts) as a forward-only model (no objective):
// its outputs are g's and their tangents (TangentName), with the
// objective's as ObjectiveTangent. Generated (bpgen -jvp), one Forward
// computes the outputs and their directional derivatives along the
// tangent inputs.
func JVPModel(g *ir.Graph, opts JVPOptions) (*ir.Graph, error) {
	j, err := JVP(g, opts)
	if err != nil {
		return nil, err
	}
	if g.Objective != nil && j.Output("objective") == nil {
		j.AddOutput("objective", j.Objective)
	}
	j.Objective = nil
	for i := range j.Outputs {
		j.Outputs[i].Grad = ""
	}
	if err := DCE(j); err != nil {
		return nil, err
	}
	if err := ir.Verify(j); err != nil {
		return nil, fmt.Errorf("jvp %s: internal error: %w", g.Name, err)
	}
	return j, nil
}
