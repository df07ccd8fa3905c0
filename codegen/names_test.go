package codegen

import (
	"go/token"
	"regexp"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/passes"
)

var kernelMethodRE = regexp.MustCompile(`(?m)^func \(s \*state\) (compute\w*)\(`)

// kernelNames generates a model and returns its kernel methods' names.
func kernelNames(t *testing.T, model func(g *dsl.Graph)) []string {
	t.Helper()
	g, err := dsl.Build("names.Model", model)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := passes.CompileProgram(g, passes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := EmitProgram(prog, Options{Package: "names"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range kernelMethodRE.FindAllStringSubmatch(string(files["kernels.go"]), -1) {
		names = append(names, m[1])
	}
	return names
}

// TestKernelNames checks that kernels are named after what they store or
// their ops and operands, without value IDs: valid, unique identifiers
// that an unrelated edit earlier in the model (a new output, which
// renumbers every value after it) leaves as they are.
func TestKernelNames(t *testing.T) {
	base := kernelNames(t, deepNarrow(3))
	edited := kernelNames(t, func(g *dsl.Graph) {
		aux := g.Param("aux", 8, 8)
		g.Output("auxNorm", aux.Square().Sum())
		deepNarrow(3)(g)
	})
	for _, names := range [][]string{base, edited} {
		seen := map[string]bool{}
		for _, n := range names {
			if !token.IsIdentifier(n) || seen[n] {
				t.Errorf("kernel name %q is not a unique identifier (%v)", n, names)
			}
			seen[n] = true
			if regexp.MustCompile(`[vV][0-9]`).MatchString(n) {
				t.Errorf("kernel name %q carries a value ID", n)
			}
		}
	}
	for _, n := range base {
		if !slices.Contains(edited, n) {
			t.Errorf("kernel %s renamed by an unrelated edit: before %v, after %v", n, base, edited)
		}
	}
	if !slices.Contains(edited, "computeSquareSumAux") {
		t.Errorf("the new kernel is not named after its ops and operand: %v", edited)
	}
}
