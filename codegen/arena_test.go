package codegen

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/bpgen/bpgen/runtime/rt"
)

// TestLayoutAgreesWithPlan checks that rt.Layout, which New calls to lay
// out an arena again when the model's capacity exceeds the plan's, places
// the buffers of every harness model's plans exactly as passes' buffer
// plan does at the plan's capacity.
func TestLayoutAgreesWithPlan(t *testing.T) {
	for _, m := range harnessModels() {
		if m.noGrad {
			continue
		}
		prog, err := passes.CompileProgram(forwardGraph(t, m), passes.Options{Wrt: m.wrt})
		if err != nil {
			t.Fatal(err)
		}
		for _, bp := range []*passes.BufferPlan{prog.Plan, prog.PredictPlan} {
			for _, d := range []ir.DType{ir.F32, ir.F64, ir.I32} {
				var rs []rt.Region
				var want []int64
				for _, b := range bp.Buffers {
					if b.DType == d {
						rs = append(rs, rt.Region{Offset: -1, Elems: int(b.Elems), Start: b.Start, End: b.End})
						want = append(want, b.Offset)
					}
				}
				n := rt.Layout(rs, passes.ArenaAlign)
				if int64(n) != bp.ArenaElems[d] {
					t.Errorf("%s %v: rt.Layout's arena has %d elements, the plan's %d", m.name, d, n, bp.ArenaElems[d])
				}
				for i, r := range rs {
					if int64(r.Offset) != want[i] {
						t.Errorf("%s %v: buffer %d at %d, planned at %d", m.name, d, i, r.Offset, want[i])
					}
				}
			}
		}
	}
}

func forwardGraph(t *testing.T, m *testModel) *ir.Graph {
	t.Helper()
	g, err := dsl.Build("test."+m.name, m.fn)
	if err != nil {
		t.Fatal(err)
	}
	return passes.Retarget(g, m.dtype)
}
