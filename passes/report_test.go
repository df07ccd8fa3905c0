package passes

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
)

// TestSymbolicLayout checks the layout behind the report's "arena for any
// batch" line: at many batch sizes, no two buffers alive at the same time
// overlap, and every buffer fits in the reported a·n + b bytes.
func TestSymbolicLayout(t *testing.T) {
	for _, m := range []struct {
		name string
		fn   func(*dsl.Graph)
	}{{"SoftmaxRegression", models.SoftmaxRegression}, {"MLP", models.MLP}, {"DeepMLP", models.DeepMLP}, {"GELUNet", models.GELUNet}} {
		g, err := dsl.Build("models."+m.name, m.fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, capacity := range []map[string]int{nil, {"n": 8}} {
			p, err := CompileProgram(g, Options{Capacity: capacity})
			if err != nil {
				t.Fatal(err)
			}
			checkSymbolicLayout(t, m.name, p)
		}
	}
}

// checkSymbolicLayout checks p's symbolic layout at many n, each offset
// rounded up to the arena alignment as the layout allows.
func checkSymbolicLayout(t *testing.T, name string, p *Program) {
	t.Helper()
	formula, offsets, bytesAt, ok := SymbolicLayout(p)
	if !ok || p.Report.Program.ArenaFormula != formula {
		t.Fatalf("%s: no symbolic layout (%q, report %q)", name, formula, p.Report.Program.ArenaFormula)
	}
	t.Logf("%s: training arena %s bytes for any n; %d B at capacity %v with the capacity's own plan", name, formula, p.Plan.ArenaBytes, p.Report.Program.Capacity)
	for _, n := range []int{1, 7, 64, 256, 1000, 4096} {
		dims := map[string]int{"n": n}
		end := map[ir.DType]int64{}
		for _, b := range p.Plan.Buffers {
			off, size := alignUp(offsets[b].at(int64(n))), b.Size.Eval(dims)
			end[b.DType] = max(end[b.DType], off+size)
			for _, q := range p.Plan.Buffers {
				if q == b || q.DType != b.DType || q.End < b.Start || b.End < q.Start {
					continue
				}
				qo, qs := alignUp(offsets[q].at(int64(n))), q.Size.Eval(dims)
				if off < qo+qs && qo < off+size {
					t.Fatalf("%s, n=%d: buffers of %s [%d,%d) and %s [%d,%d) overlap while both are alive",
						name, n, b.Values[0].Label(), off, off+size, q.Values[0].Label(), qo, qo+qs)
				}
			}
		}
		var total int64
		for d, e := range end {
			total += e * int64(d.Size())
		}
		if total > bytesAt(int64(n)) {
			t.Errorf("%s, n=%d: buffers reach %d B, beyond the reported %s = %d B", name, n, total, formula, bytesAt(int64(n)))
		}
	}
}
