package passes

import (
	"fmt"
	"slices"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
)

// TestArenaFormula checks the report's arena-vs-batch line against plans
// made directly at other batch sizes.
func TestArenaFormula(t *testing.T) {
	for _, m := range []struct {
		name string
		fn   func(*dsl.Graph)
	}{{"SoftmaxRegression", models.SoftmaxRegression}, {"MLP", models.MLP}} {
		g, err := dsl.Build("models."+m.name, m.fn)
		if err != nil {
			t.Fatal(err)
		}
		p, err := CompileProgram(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		st := p.Report.Program
		timeline := append(slices.Clone(p.Forward), p.Backward...)
		at := func(n int) int64 { return planBuffers(p.Graph, timeline, map[string]int{"n": n}, true).ArenaBytes }
		if st.ArenaFormula != "" {
			var a, b int64
			if _, err := fmt.Sscanf(st.ArenaFormula, "%d·n + %d", &a, &b); err != nil {
				t.Fatalf("%s: formula %q: %v", m.name, st.ArenaFormula, err)
			}
			for _, n := range []int{256, 512, 1024} {
				if got := at(n); got != a*int64(n)+b {
					t.Errorf("%s: arena at n=%d is %d B, the formula %s says %d", m.name, n, got, st.ArenaFormula, a*int64(n)+b)
				}
			}
			continue
		}
		if len(st.ArenaBySize) == 0 {
			t.Fatalf("%s: the report has neither an arena formula nor a table", m.name)
		}
		for _, e := range st.ArenaBySize {
			if got := at(int(e[0])); got != e[1] {
				t.Errorf("%s: arena at n=%d is %d B, the report says %d", m.name, e[0], got, e[1])
			}
		}
	}
}
