package passes

import (
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// TestPlanText runs the text tests in testdata/plan: an input joint graph
// and the buffer plan of its lowered program at capacity n=256.
func TestPlanText(t *testing.T) {
	runTxtar(t, "plan", "plan", func(t *testing.T, g *ir.Graph, _ string) string {
		p, err := Lower(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkProgram(t, g, p, map[string]int{"n": 3}, 1)
		return "forward+backward:\n" + p.Plan.String() + "predict:\n" + p.PredictPlan.String()
	})
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		shape ir.Shape
		str   string
		at    int64
	}{
		{ir.S(), "1", 1},
		{ir.S("n", 512), "512·n", 512 * 128},
		{ir.S("n", "m", 3), "3·m·n", 3 * 128 * 256},
		{ir.S(4, 0, "n"), "0", 0},
	} {
		s := ShapeSize(c.shape)
		if s.String() != c.str {
			t.Errorf("ShapeSize(%v) = %s, want %s", c.shape, s, c.str)
		}
		if got := s.Eval(map[string]int{"n": 128}); got != c.at {
			t.Errorf("ShapeSize(%v).Eval(n=128, m=default) = %d, want %d", c.shape, got, c.at)
		}
	}
	s := ShapeSize(ir.S("n", 4)).Add(ShapeSize(ir.S(10))).Scale(4)
	if s.String() != "16·n + 40" {
		t.Errorf("got %s, want 16·n + 40", s)
	}
	if got := s.Add(s.Scale(-1)).String(); got != "0" {
		t.Errorf("s − s = %s", got)
	}
}

// TestPlanDisabled checks that without the plan pass every buffer has
// its own region, and with it the arena is smaller and still correct.
func TestPlanDisabled(t *testing.T) {
	for _, m := range optModels {
		g := buildModel(t, m.name, m.fn)
		packed, err := CompileProgram(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		flat, err := CompileProgram(g, Options{Disable: []string{"plan"}})
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, b := range flat.Plan.Buffers {
			sum += alignUp(b.Elems) * int64(b.DType.Size())
		}
		if flat.Plan.ArenaBytes > sum || flat.Plan.InPlace != 0 {
			t.Errorf("%s: unpacked arena %d B, %d in place; want the sum of its buffers %d B, none in place", m.name, flat.Plan.ArenaBytes, flat.Plan.InPlace, sum)
		}
		if packed.Plan.ArenaBytes > flat.Plan.ArenaBytes {
			t.Errorf("%s: packed arena %d B > unpacked %d B", m.name, packed.Plan.ArenaBytes, flat.Plan.ArenaBytes)
		}
		t.Logf("%s: arena %d B packed, %d B unpacked, %d B one per value", m.name, packed.Plan.ArenaBytes, flat.Plan.ArenaBytes, packed.Plan.NaiveBytes)
	}
}
