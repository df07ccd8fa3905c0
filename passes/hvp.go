package passes

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// HVPOutputName is the output name of the Hessian-vector product's block
// for the parameter name: (∇²J·v) restricted to name's entries, v bound
// as the inputs TangentName(p) of every param p.
func HVPOutputName(name string) string { return "hvp/" + name }

// HVP returns a graph computing the Hessian-vector product of g's
// objective J with respect to the params, ∇²J·v, by forward-over-reverse:
// the JVP of the gradient graph (Grad), along the direction v given as
// the inputs TangentName(p) (one per param p, of p's type). Its outputs
// are g's, the gradients (GradOutputName(p), marked Grad) and the product
// HVPOutputName(p) per param. Its cost is that of one gradient times a
// small constant (the tangent of every forward and adjoint value is one
// more pass of the same ops, about two to three times a gradient's work).
func HVP(g *ir.Graph) (*ir.Graph, error) {
	joint, _, err := Grad(g, GradOptions{})
	if err != nil {
		return nil, err
	}
	jg, err := JVP(joint, JVPOptions{})
	if err != nil {
		return nil, fmt.Errorf("hvp: %w", err)
	}
	grads := map[string]string{} // output name → param
	for _, o := range joint.Outputs {
		if o.Grad != "" {
			grads[TangentName(o.Name)] = o.Grad
		}
	}
	var outs []ir.Output
	for _, o := range jg.Outputs {
		if p, ok := grads[o.Name]; ok {
			outs = append(outs, ir.Output{Name: HVPOutputName(p), Value: o.Value})
			continue
		}
		if len(o.Name) > len("tangent.") && o.Name[:len("tangent.")] == "tangent." {
			continue // tangents of the other outputs and the objective
		}
		outs = append(outs, o)
	}
	jg.Outputs = outs
	if err := DCE(jg); err != nil {
		return nil, err
	}
	if err := ir.Verify(jg); err != nil {
		return nil, fmt.Errorf("hvp %s: internal error: %w", g.Name, err)
	}
	return jg, nil
}

// HVPReverse computes the same product as HVP by reverse-over-reverse:
// Grad of the gradient graph with the objective Σ_p ⟨∂J/∂p, v_p⟩, whose
// gradient with respect to the params is ∇²J·v. Same inputs and outputs
// (but the gradients are not marked Grad: they are ordinary outputs of
// the second differentiation).
func HVPReverse(g *ir.Graph) (*ir.Graph, error) {
	joint, dot, _, err := gradDotTangent(g)
	if err != nil {
		return nil, err
	}
	// Keep J as the objective of the result, through the second Grad.
	const keep = "hvp.objective"
	joint.AddOutput(keep, joint.Objective)
	joint.Objective = dot
	second, _, err := Grad(joint, GradOptions{Again: true})
	if err != nil {
		return nil, fmt.Errorf("hvp (reverse-over-reverse): %w", err)
	}
	outs := second.Outputs[:0]
	for _, o := range second.Outputs {
		switch {
		case o.Name == keep:
			second.Objective = o.Value
		case o.Grad != "":
			outs = append(outs, ir.Output{Name: HVPOutputName(o.Grad), Value: o.Value})
		default:
			outs = append(outs, o)
		}
	}
	second.Outputs = outs
	if err := DCE(second); err != nil {
		return nil, err
	}
	if err := ir.Verify(second); err != nil {
		return nil, fmt.Errorf("hvp %s: internal error: %w", g.Name, err)
	}
	return second, nil
}

// gradDotTangent differentiates g and appends dot = Σ_p ⟨∂J/∂p, v_p⟩,
// each direction v_p bound as the input TangentName(p). outs are the
// joint graph's outputs other than the gradients.
func gradDotTangent(g *ir.Graph) (joint *ir.Graph, dot *ir.Value, outs []ir.Output, err error) {
	joint, _, err = Grad(g, GradOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	b := ir.BuilderFor(joint)
	for _, o := range joint.Outputs {
		if o.Grad == "" {
			outs = append(outs, o)
			continue
		}
		p := joint.Lookup(o.Grad)
		b.Pos = p.Pos
		v := b.Input(TangentName(p.Name), p.Type)
		term := b.Sum(b.Mul(o.Value, v), axesUpTo(len(p.Type.Shape)), false)
		if dot == nil {
			dot = term
		} else {
			dot = b.Add(dot, term)
		}
	}
	if err := b.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("hvp %s: internal error: %w", g.Name, err)
	}
	if dot == nil {
		return nil, nil, nil, fmt.Errorf("hvp %s: the model has no params", g.Name)
	}
	return joint, dot, outs, nil
}

// HVPObjective returns the graph whose objective is Σ_p ⟨∂J/∂p, v_p⟩ (the
// gradient of g's objective J dotted with the direction v, bound as the
// inputs TangentName(p)), with g's outputs (but not the gradients). Its
// gradient with respect to the params is ∇²J·v: compiling it as a model
// (passes.CompileProgram, codegen) generates reverse-over-reverse HVP code
// whose Backward leaves ∇²J·v in the gradient vector.
func HVPObjective(g *ir.Graph) (*ir.Graph, error) {
	joint, dot, outs, err := gradDotTangent(g)
	if err != nil {
		return nil, err
	}
	joint.Outputs = outs
	joint.Objective = dot
	if err := DCE(joint); err != nil {
		return nil, err
	}
	if err := ir.Verify(joint); err != nil {
		return nil, fmt.Errorf("hvp %s: internal error: %w", g.Name, err)
	}
	return joint, nil
}

// HVPModel returns HVP(g) as a forward-only model (no objective, no
// gradient marks): its outputs are g's, the gradients GradOutputName(p)
// and the products HVPOutputName(p). Compiled (passes.CompileProgram
// skips the grad pass for it) and generated, it is forward-over-reverse
// HVP code: one Forward (or Evaluate) computes ∇J and ∇²J·v.
func HVPModel(g *ir.Graph) (*ir.Graph, error) {
	h, err := HVP(g)
	if err != nil {
		return nil, err
	}
	h.Objective = nil
	for i := range h.Outputs {
		h.Outputs[i].Grad = ""
	}
	if err := DCE(h); err != nil {
		return nil, err
	}
	if err := ir.Verify(h); err != nil {
		return nil, fmt.Errorf("hvp %s: internal error: %w", g.Name, err)
	}
	return h, nil
}
