package ir

import (
	"fmt"
	"slices"
	"strings"
)

// Verify checks every invariant of g: IDs are dense, every argument is
// defined before its use, every op is registered and applied with the right
// arity and attributes, every type agrees with the op's type rule, symbolic
// dims are declared, input and param names are present and unique, and
// outputs and the objective are values of g (the objective a float scalar),
// checkpoints name values, and g's funcs (custom VJP backwards) verify too.
// The error shows the bad value in full and the IR around it.
func Verify(g *Graph) error {
	return verify(g, g)
}

func verify(g, main *Graph) error {
	names := map[string]*Value{}
	index := make(map[*Value]int, len(g.Values))
	for i, v := range g.Values {
		fail := func(format string, args ...any) error { return verifyError(g, i, fmt.Sprintf(format, args...)) }
		if v == nil {
			return fail("nil value")
		}
		if v.ID != i {
			return fail("value has ID %d at index %d", v.ID, i)
		}
		if v.Op == nil || registry[v.Op.Name] != v.Op {
			return fail("op is not registered")
		}
		types := make([]Type, len(v.Args))
		for j, a := range v.Args {
			k, ok := index[a]
			if a == nil || !ok || k >= i {
				return fail("argument %d is not defined before its use", j+1)
			}
			types[j] = a.Type
		}
		t, err := InferType(v.Op, types, v.Attrs, v.Type)
		if err != nil {
			return fail("%s%s: %v", v.Op.Name, typesString(types), err)
		}
		if !t.Equal(v.Type) {
			return fail("type is %v, but %s%s gives %v", v.Type, v.Op.Name, typesString(types), t)
		}
		syms := v.Type.Shape.Syms()
		for _, a := range v.Attrs { // shape attributes (numel's) name dims too
			if s, ok := a.(Shape); ok {
				syms = append(syms, s.Syms()...)
			}
		}
		for _, s := range syms {
			if !g.HasDim(s) {
				return fail("dim %q is not declared in func %s(%s)", s, g.Name, strings.Join(g.Dims, ", "))
			}
		}
		if v.Op.CheckGraph != nil {
			if err := v.Op.CheckGraph(main, v); err != nil {
				return fail("%v", err)
			}
		}
		if v.Op.Storage == Bound {
			if v.Name == "" {
				return fail("%s has no name", v.Op.Name)
			}
			if prev := names[v.Name]; prev != nil {
				return fail("name %q is already used by %s", v.Name, prev.Ref())
			}
			names[v.Name] = v
		}
		index[v] = i
	}
	outs := map[string]bool{}
	for _, o := range g.Outputs {
		if _, ok := index[o.Value]; !ok || o.Value == nil {
			return fmt.Errorf("verify %s: output %q is not a value of the graph", g.Name, o.Name)
		}
		if outs[o.Name] {
			return fmt.Errorf("verify %s: output name %q is used twice", g.Name, o.Name)
		}
		if o.Name == "" {
			return fmt.Errorf("verify %s: output without a name", g.Name)
		}
		outs[o.Name] = true
	}
	if err := verifyStateUpdates(g); err != nil {
		return err
	}
	if o := g.Objective; o != nil {
		i, ok := index[o]
		if !ok {
			return fmt.Errorf("verify %s: the objective is not a value of the graph", g.Name)
		}
		if len(o.Type.Shape) != 0 || !o.Type.DType.IsFloat() {
			return verifyError(g, i, fmt.Sprintf("the objective must be a float scalar, not %v", o.Type))
		}
	}
	for i, c := range g.Checkpoints {
		if !slices.ContainsFunc(g.Values, func(v *Value) bool { return v.Name == c }) {
			return fmt.Errorf("verify %s: checkpoint %q names no value", g.Name, c)
		}
		if slices.Contains(g.Checkpoints[:i], c) {
			return fmt.Errorf("verify %s: checkpoint %q is listed twice", g.Name, c)
		}
	}
	funcs := map[string]bool{}
	for _, f := range g.Funcs {
		if funcs[f.Name] {
			return fmt.Errorf("verify %s: func %s is defined twice", g.Name, f.Name)
		}
		funcs[f.Name] = true
		if len(f.Funcs) > 0 {
			return fmt.Errorf("verify %s: func %s has nested funcs", g.Name, f.Name)
		}
		if err := verify(f, main); err != nil {
			return err
		}
	}
	return nil
}

// verifyError formats a verification failure at value i with the IR
// around it.
func verifyError(g *Graph, i int, msg string) error {
	var b strings.Builder
	v := g.Values[i]
	if v != nil {
		fmt.Fprintf(&b, "verify %s: %s: %s\n", g.Name, v.Pos, msg)
	} else {
		fmt.Fprintf(&b, "verify %s: %s\n", g.Name, msg)
	}
	for j := max(0, i-3); j < min(len(g.Values), i+4); j++ {
		mark := "   "
		if j == i {
			mark = ">> "
		}
		line := "<nil>"
		if g.Values[j] != nil {
			line = formatValue(g.Values[j])
		}
		fmt.Fprintf(&b, "\t%s%s\n", mark, line)
	}
	return fmt.Errorf("%s", strings.TrimRight(b.String(), "\n"))
}
