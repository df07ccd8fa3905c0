package main

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// Dot draws g as a Graphviz digraph: the forward pass (what the objective
// and the model's outputs need, as passes.PartitionGraph finds it) in one
// cluster, the adjoint values in another, outputs as boxes.
func Dot(g *ir.Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=TB;\n  node [shape=ellipse, fontname=\"Helvetica\", fontsize=10];\n", g.Name)
	forward := passes.PartitionGraph(g).Forward
	for _, part := range []struct {
		name, label, color string
		fwd                bool
	}{{"cluster_forward", "forward", "lightblue", true}, {"cluster_backward", "backward (adjoint)", "mistyrose", false}} {
		fmt.Fprintf(&b, "  subgraph %s {\n    label=%q; style=filled; color=%q;\n", part.name, part.label, part.color)
		for _, v := range g.Values {
			if forward[v.ID] != part.fwd {
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
