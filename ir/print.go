package ir

import (
	"strconv"
	"strings"
	"unicode"
)

// Print returns g as IR text:
//
//	func models.MLP(n) {
//	  v0:f32[n,784] = input  # mlp.go:12 x
//	  v3:f32[n,256] = matmul v0 v2  # mlp.go:16 h
//	  out loss = v7
//	  out dW1 = v23 grad W1
//	  minimize v9
//	}
//
// Values print as "ref:type = op args [attrs]", attributes sorted by name,
// then the source position and user name as a comment. Parse reads it back.
func Print(g *Graph) string {
	var b strings.Builder
	b.WriteString("func ")
	b.WriteString(g.Name)
	b.WriteByte('(')
	b.WriteString(strings.Join(g.Dims, ", "))
	b.WriteString(") {\n")
	for _, v := range g.Values {
		b.WriteString("  ")
		b.WriteString(formatValue(v))
		b.WriteByte('\n')
	}
	for _, o := range g.Outputs {
		b.WriteString("  out ")
		b.WriteString(o.Name)
		b.WriteString(" = ")
		b.WriteString(o.Value.Ref())
		if o.Grad != "" {
			b.WriteString(" grad ")
			b.WriteString(o.Grad)
		}
		if o.State != "" {
			b.WriteString(" state ")
			b.WriteString(o.State)
		}
		b.WriteByte('\n')
	}
	for _, c := range g.Checkpoints {
		b.WriteString("  checkpoint ")
		b.WriteString(c)
		b.WriteByte('\n')
	}
	if g.Objective != nil {
		b.WriteString("  minimize ")
		b.WriteString(g.Objective.Ref())
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	for _, f := range g.Funcs {
		b.WriteString(Print(f))
	}
	return b.String()
}

func formatValue(v *Value) string {
	var b strings.Builder
	b.WriteString(v.Ref())
	b.WriteByte(':')
	b.WriteString(v.Type.String())
	b.WriteString(" = ")
	if v.Op == nil {
		b.WriteString("<nil op>")
	} else {
		b.WriteString(v.Op.Name)
	}
	for _, a := range v.Args {
		b.WriteByte(' ')
		if a == nil {
			b.WriteString("<nil>")
		} else {
			b.WriteString(a.Ref())
		}
	}
	if s := v.Attrs.String(); s != "" {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	if v.Pos.IsKnown() || v.Name != "" {
		b.WriteString("  # ")
		b.WriteString(printPos(v.Pos))
		if v.Name != "" {
			b.WriteByte(' ')
			b.WriteString(v.Name)
		}
	}
	return b.String()
}

// printPos prints a position for a comment: file:line, "-" when unknown,
// and the file quoted ("my model.go":12) when it would not read back as one
// field.
func printPos(p Pos) string {
	if p.File != "" && (p.File == "-" || p.File[0] == '"' || strings.ContainsFunc(p.File, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	})) {
		return strconv.Quote(p.File) + ":" + strconv.Itoa(p.Line)
	}
	return p.String()
}
