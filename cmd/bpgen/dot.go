package main

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// Dot draws g as a Graphviz digraph: the forward pass (what the objective
// and the model's outputs need) in one cluster, the adjoint values in
// another, outputs as boxes.
func Dot(g *ir.Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=TB;\n  node [shape=ellipse, fontname=\"Helvetica\", fontsize=10];\n", g.Name)
	forward := ForwardSet(g)
	for _, part := range []struct {
		name, label, color string
		fwd                bool
	}{{"cluster_forward", "forward", "lightblue", true}, {"cluster_backward", "backward (adjoint)", "mistyrose", false}} {
		fmt.Fprintf(&b, "  subgraph %s {\n    label=%q; style=filled; color=%q;\n", part.name, part.label, part.color)
		for _, v := range g.Values {
			if forward[v] != part.fwd {
				continue
			}
			label := v.Op.Name
			if v.Name != "" {
				label = v.Name + " = " + label
			}
			label += "\\n" + v.Type.String()
			fmt.Fprintf(&b, "    %s [label=%q];\n", v.Ref(), label)
		}
		b.WriteString("  }\n")
	}
	for _, v := range g.Values {
		for _, a := range v.Args {
			fmt.Fprintf(&b, "  %s -> %s;\n", a.Ref(), v.Ref())
		}
	}
	for i, o := range g.Outputs {
		fmt.Fprintf(&b, "  out%d [shape=box, label=%q];\n  %s -> out%d;\n", i, o.Name, o.Value.Ref(), i)
	}
	b.WriteString("}\n")
	return b.String()
}

// ForwardSet is the set of values the objective and the non-gradient
// outputs depend on: the forward pass.
func ForwardSet(g *ir.Graph) map[*ir.Value]bool {
	set := map[*ir.Value]bool{}
	var visit func(v *ir.Value)
	visit = func(v *ir.Value) {
		if set[v] {
			return
		}
		set[v] = true
		for _, a := range v.Args {
			visit(a)
		}
	}
	if g.Objective != nil {
		visit(g.Objective)
	}
	for _, o := range g.Outputs {
		if o.Grad == "" {
			visit(o.Value)
		}
	}
	return set
}
