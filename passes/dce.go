package passes

import "github.com/bpgen/bpgen/ir"

// DCE removes values that no output, objective or later value uses. Inputs
// and params are kept: they are the model's interface.
func DCE(g *ir.Graph) error {
	live := make([]bool, len(g.Values))
	for _, o := range g.Outputs {
		live[o.Value.ID] = true
	}
	if g.Objective != nil {
		live[g.Objective.ID] = true
	}
	for i := len(g.Values) - 1; i >= 0; i-- {
		v := g.Values[i]
		if v.Op.Name == "input" || v.Op.Name == "param" {
			live[i] = true
		}
		if !live[i] {
			continue
		}
		for _, a := range v.Args {
			live[a.ID] = true
		}
	}
	kept := g.Values[:0]
	for i, v := range g.Values {
		if live[i] {
			kept = append(kept, v)
		}
	}
	for i := len(kept); i < len(g.Values); i++ {
		g.Values[i] = nil
	}
	g.Values = kept
	g.Renumber()
	return nil
}
