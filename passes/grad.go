// Package passes holds bpgen's transformations of the IR: the grad pass
// (reverse-mode automatic differentiation) and the optimization pipeline.
// Each pass is a function from IR to IR; the driver verifies the IR after
// every pass.
//
//	g, _ := dsl.Build("models.MLP", models.MLP)
//	joint, report, err := passes.Grad(g, passes.GradOptions{})
//	// joint holds the forward values, then the adjoint ones, and an output
//	// "grad/W1" (Grad: "W1") per parameter.
package passes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// GradOptions configures the grad pass.
type GradOptions struct {
	// Wrt names inputs to differentiate with respect to, besides every
	// parameter (which always get a gradient).
	Wrt []string
	// Again differentiates a graph that already contains gradients
	// (reverse-over-reverse): its gradient outputs stay, as ordinary
	// outputs (their Grad mark cleared), and each new gradient output is
	// named GradOutputName of the first free name ("grad/grad/W1" when
	// "grad/W1" is taken).
	Again bool
}

// GradReport says what the grad pass did.
type GradReport struct {
	Forward, Backward int      // values before and added
	Unused            []string // parameters (and Wrt inputs) the objective does not depend on: their gradient is zero
}

// GradOutputName is the output name of the gradient of the parameter or
// input name.
func GradOutputName(name string) string { return "grad/" + name }

// Grad appends to a copy of g the reverse-mode adjoint computation of the
// objective and names the gradient of every parameter (and Wrt input) as
// an output with Output.Grad set. The adjoint computation is ordinary IR,
// built by the ops' VJP rules with the same builder the DSL uses.
//
// Adjoints of a value used more than once are summed; cotangents whose
// shape is a broadcast of the argument's are summed back over the
// broadcast axes here, once, for every rule; int32 values and ops marked
// NonDiff (stop_gradient, comparisons, one-hot, argmax) stop the flow. A
// parameter the objective does not depend on gets a zero gradient and is
// listed in the report, as JAX does, rather than being an error.
func Grad(g *ir.Graph, opts GradOptions) (joint *ir.Graph, report *GradReport, err error) {
	if g.Objective == nil {
		return nil, nil, fmt.Errorf("grad %s: the graph has no objective (call Minimize in the model)", g.Name)
	}
	for _, o := range g.Outputs {
		if o.Grad != "" && !opts.Again {
			return nil, nil, fmt.Errorf("grad %s: the graph already has gradient outputs (grad applied twice? GradOptions.Again differentiates it again)", g.Name)
		}
	}
	joint = g.Clone()
	for i := range joint.Outputs {
		joint.Outputs[i].Grad = ""
	}
	nfwd := len(joint.Values)
	report = &GradReport{}

	// The values to differentiate with respect to.
	leaves := joint.Params()
	for _, name := range opts.Wrt {
		v := joint.Lookup(name)
		if v == nil || v.Op != ir.OpInput {
			return nil, nil, fmt.Errorf("grad %s: Wrt names %q, which is not an input of the model", g.Name, name)
		}
		if !v.Type.DType.IsFloat() {
			return nil, nil, fmt.Errorf("grad %s: input %q is %v; only float inputs have gradients", g.Name, name, v.Type)
		}
		if !slices.Contains(leaves, v) {
			leaves = append(leaves, v)
		}
	}

	// active: depends on a leaf through differentiable float edges.
	active := make([]bool, nfwd)
	for _, l := range leaves {
		active[l.ID] = true
	}
	for _, v := range joint.Values {
		// extern_vjp is marked active to be refused below if a cotangent
		// reaches it: its own derivative is unknown.
		if active[v.ID] || !v.Type.DType.IsFloat() || !v.Op.Differentiable() && v.Op != ir.OpExternVJP {
			continue
		}
		for _, a := range v.Args {
			if active[a.ID] {
				active[v.ID] = true
				break
			}
		}
	}

	b := ir.BuilderFor(joint)
	adj := make([]*ir.Value, nfwd)
	obj := joint.Objective
	if active[obj.ID] {
		b.Pos = obj.Pos
		adj[obj.ID] = b.Const(1, obj.Type)
	}

	defer func() {
		// A VJP rule that builds an ill-typed value is a bug in bpgen, not
		// the user's mistake: report it as such, with the rule's op.
		if r := recover(); r != nil {
			joint, report, err = nil, nil, fmt.Errorf("grad %s: internal error: %v", g.Name, r)
		}
	}()
	for i := nfwd - 1; i >= 0; i-- {
		v := joint.Values[i]
		ct := adj[i]
		if ct == nil || !active[i] {
			continue
		}
		if v.Op == ir.OpExternVJP {
			return nil, nil, fmt.Errorf("grad %s: %s: extern_vjp has no VJP rule: the derivative of an extern's Go backward function is not known, so second-order derivatives through it are not available\n\t%s", g.Name, v.Pos, v)
		}
		if v.Op.VJP == nil {
			continue
		}
		b.Pos = v.Pos
		before := len(b.Errors())
		cts := v.Op.VJP(b, v, ct)
		if len(b.Errors()) > before {
			return nil, nil, fmt.Errorf("grad %s: internal error in the VJP rule of %s: %w\n\t%s", g.Name, v.Op.Name, b.Errors()[before], v)
		}
		if len(cts) != len(v.Args) {
			return nil, nil, fmt.Errorf("grad %s: internal error: the VJP rule of %s returned %d cotangents for %d arguments", g.Name, v.Op.Name, len(cts), len(v.Args))
		}
		for j, a := range v.Args {
			c := cts[j]
			if c == nil || !active[a.ID] {
				continue
			}
			c, err := unbroadcast(b, c, a.Type)
			if err != nil {
				return nil, nil, fmt.Errorf("grad %s: internal error in the VJP rule of %s, argument %d: %v\n\t%s", g.Name, v.Op.Name, j+1, err, v)
			}
			if adj[a.ID] == nil {
				adj[a.ID] = c
			} else {
				b.Pos = a.Pos
				adj[a.ID] = b.Add(adj[a.ID], c)
			}
		}
		if err := b.Err(); err != nil {
			return nil, nil, fmt.Errorf("grad %s: internal error: %w", g.Name, err)
		}
	}

	// Name adjoints after their primal values, for readable generated code.
	for i := nfwd - 1; i >= 0; i-- {
		if a := adj[i]; a != nil && a.ID >= nfwd && a.Name == "" && joint.Values[i].Name != "" {
			a.Name = "d" + joint.Values[i].Name
		}
	}

	used := map[string]bool{}
	for _, o := range joint.Outputs {
		used[o.Name] = true
	}
	for _, l := range leaves {
		gv := adj[l.ID]
		if gv == nil {
			report.Unused = append(report.Unused, l.Name)
			b.Pos = l.Pos
			gv = b.ZerosLike(l)
		}
		name := GradOutputName(l.Name)
		for opts.Again && used[name] {
			name = GradOutputName(name)
		}
		if used[name] {
			return nil, nil, fmt.Errorf("grad %s: output name %q is already used", g.Name, name)
		}
		joint.Outputs = append(joint.Outputs, ir.Output{Name: name, Value: gv, Grad: l.Name})
	}
	if err := b.Err(); err != nil {
		return nil, nil, fmt.Errorf("grad %s: internal error: %w", g.Name, err)
	}
	// VJP rules compute every argument's cotangent; drop those nobody needs
	// (such as the gradient of the input x).
	fwd := map[*ir.Value]bool{}
	for _, v := range joint.Values[:nfwd] {
		fwd[v] = true
	}
	if err := DCE(joint); err != nil {
		return nil, nil, err
	}
	for _, v := range joint.Values {
		if fwd[v] {
			report.Forward++
		} else {
			report.Backward++
		}
	}
	if err := ir.Verify(joint); err != nil {
		return nil, nil, fmt.Errorf("grad %s: internal error: %w", g.Name, err)
	}
	return joint, report, nil
}

// unbroadcast sums a cotangent over the axes along which the argument of
// type t was broadcast, and reshapes it to t.
func unbroadcast(b *ir.Builder, c *ir.Value, t ir.Type) (*ir.Value, error) {
	if c.Type.DType != t.DType {
		return nil, fmt.Errorf("cotangent is %v, argument is %v", c.Type, t)
	}
	cs, ts := c.Type.Shape, t.Shape
	if cs.Equal(ts) {
		return c, nil
	}
	if ir.BroadcastsTo(cs, ts) { // e.g. a scalar cotangent for a tensor argument
		return b.BroadcastTo(c, ts), nil
	}
	if !ir.BroadcastsTo(ts, cs) {
		return nil, fmt.Errorf("cotangent shape %v is not a broadcast of the argument's %v", cs, ts)
	}
	lead := len(cs) - len(ts)
	var axes []int
	for i := range cs {
		if i < lead || (ts[i-lead] == ir.Static(1) && cs[i] != ir.Static(1)) {
			axes = append(axes, i)
		}
	}
	s := b.Sum(c, axes, true)
	return b.Reshape(s, ts), nil
}

// String summarizes the report in one line.
func (r *GradReport) String() string {
	s := fmt.Sprintf("grad: %d forward values, %d adjoint values", r.Forward, r.Backward)
	if len(r.Unused) > 0 {
		s += fmt.Sprintf("; zero gradient (objective does not depend on them): %s", strings.Join(r.Unused, ", "))
	}
	return s
}
