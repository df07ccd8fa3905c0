package main

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// OpReference renders the op table as Markdown for the README (bpgen -ops),
// so the reference cannot go stale: a test compares it with README.md.
func OpReference() string {
	var b strings.Builder
	b.WriteString("| op | class | args | attributes | gradient | what it computes |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, op := range ir.Ops() {
		var attrs []string
		for _, a := range op.Attrs {
			s := a.Name + " " + a.Kind.String()
			if a.Optional || a.Kind == ir.AttrBool {
				s += "?"
			}
			attrs = append(attrs, s)
		}
		arity := fmt.Sprint(op.Arity)
		if op.Arity < 0 {
			arity = "1+"
		}
		grad := "VJP"
		if op.NonDiff {
			grad = "none"
		}
		doc := op.Doc
		if op.Formula != "" {
			doc += " — `" + op.Formula + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", op.Name, op.Class, arity, strings.Join(attrs, ", "), grad, strings.ReplaceAll(doc, "|", "\\|"))
	}
	return b.String()
}
