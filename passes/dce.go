package passes

import "github.com/bpgen/bpgen/ir"

// DCE removes values that no output, objective or later value uses. Inputs
// and params are kept: they are the model's interface.
func DCE(g *ir.Graph) error {
	roots := append(g.Inputs(), g.Params()...)
	for _, o := range g.Outputs {
		roots = append(roots, o.Value)
	}
	if g.Objective != nil {
		roots = append(roots, g.Objective)
	}
	live := Ancestors(g, roots)
	kept := g.Values[:0]
	for i, v := range g.Values {
		if live[i] {
			kept = append(kept, v)
		}
	}
	clear(g.Values[len(kept):])
	g.Values = kept
	g.Renumber()
	return nil
}
