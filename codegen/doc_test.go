package codegen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestGeneratedDocs checks that every exported name of the generated code
// (types, struct fields, functions, methods, constants and variables) has a
// doc comment, for the golden models with and without the passes.
func TestGeneratedDocs(t *testing.T) {
	for _, m := range goldenModels {
		for mode, files := range map[string]map[string][]byte{
			"passes=off": emitModel(t, m.name, m.source, m.fn, m.dtype, Options{}),
			"passes=on":  emitCompiled(t, m.name, m.source, m.fn, m.dtype, Options{}),
		} {
			for name, src := range files {
				fs := token.NewFileSet()
				f, err := parser.ParseFile(fs, name, src, parser.ParseComments)
				if err != nil {
					t.Fatalf("%s %s: %v", m.name, mode, err)
				}
				for _, what := range undocumented(f) {
					t.Errorf("%s %s: %s: exported %s has no doc comment", m.name, mode, name, what)
				}
			}
		}
	}
}

// undocumented lists the exported names of f without a doc comment.
func undocumented(f *ast.File) []string {
	var bad []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && d.Doc == nil {
				bad = append(bad, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
						bad = append(bad, s.Name.Name)
					}
					st, ok := s.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fl := range st.Fields.List {
						for _, n := range fl.Names {
							if n.IsExported() && fl.Doc == nil && fl.Comment == nil {
								bad = append(bad, s.Name.Name+"."+n.Name)
							}
						}
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
							bad = append(bad, n.Name)
						}
					}
				}
			}
		}
	}
	return bad
}
