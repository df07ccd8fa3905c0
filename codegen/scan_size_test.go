package codegen

import (
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/passes"
)

// scanRNN is issue 17's RNN, h ← tanh(W·h + U·x_t + b) with hidden size
// 16 in float64, over a static length T, as a scan.
func scanRNN(T int) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		g.SetFloat(dsl.Float64)
		n := g.Dim("n")
		xs := g.Input("xs", dsl.Float64, T, n, 4)
		h0 := g.Input("h0", dsl.Float64, n, 16)
		W, U, b := g.Param("W", 16, 16), g.Param("U", 4, 16), g.Param("b", 16)
		h, hs := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
			h = dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)).Add(b))
			return h, h
		})
		g.Minimize(hs.Square().Mean().Add(h.Sum()))
	}
}

// TestScanCodeSize: the generated source of the scan RNN does not grow
// with T (issue 17, acceptance 2: within 10% from T = 100 to T = 2000;
// unrolled, T = 100 was 632 KB and T = 500 3.16 MB). Only the loop's
// length and the sequences' sizes differ, a few digits each.
func TestScanCodeSize(t *testing.T) {
	size := map[int]int{}
	for _, T := range []int{100, 2000} {
		g, err := dsl.Build("rnn.RNN", scanRNN(T))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := passes.CompileProgram(g, passes.Options{})
		if err != nil {
			t.Fatal(err)
		}
		files, err := EmitProgram(prog, Options{Package: "rnn"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			size[T] += len(f)
		}
	}
	t.Logf("generated source: %d bytes at T = 100, %d at T = 2000", size[100], size[2000])
	if d := size[2000] - size[100]; 10*max(d, -d) > size[100] {
		t.Errorf("generated source is %d bytes at T = 100 and %d at T = 2000: not independent of T within 10%%", size[100], size[2000])
	}
}
