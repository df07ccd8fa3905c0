package codegen

import (
	"math"
	"testing"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/runtime/rt"
)

// runtime/rt carries a copy of ir's counter-based generator (generated code
// must not import ir); these tests hold the two to the same bits.

func TestRandAgrees(t *testing.T) {
	names := []string{"", "W1", "b1", "a much longer parameter name/with.dots", "é"}
	for _, seed := range []uint64{0, 1, 42, math.MaxUint64} {
		for _, name := range names {
			if a, b := rt.StreamKey(seed, name), ir.StreamKey(seed, name); a != b {
				t.Fatalf("StreamKey(%d, %q): rt %x, ir %x", seed, name, a, b)
			}
			key := ir.StreamKey(seed, name)
			for i := uint64(0); i < 1000; i++ {
				if a, b := rt.Uniform01(key, i), ir.Uniform01(key, i); a != b {
					t.Fatalf("Uniform01(%x, %d): rt %v, ir %v", key, i, a, b)
				}
				if a, b := rt.Normal01(key, i), ir.Normal01(key, i); a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
					t.Fatalf("Normal01(%x, %d): rt %v, ir %v", key, i, a, b)
				}
			}
		}
		for step := uint64(0); step < 5; step++ {
			for i := 0; i < 1000; i++ {
				for _, p := range []float64{0, 0.1, 0.5, 0.9} {
					if a, b := rt.DropoutKeep(seed, step, i, p), ir.DropoutKeep(seed, step, i, p); a != b {
						t.Fatalf("DropoutKeep(%d, %d, %d, %v): rt %v, ir %v", seed, step, i, p, a, b)
					}
				}
			}
		}
	}
	if a, b := rt.SplitMix64(12345), ir.SplitMix64(12345); a != b {
		t.Fatalf("SplitMix64: rt %x, ir %x", a, b)
	}
}

// TestInitAgrees checks rt.InitParam, fed the initializer codegen emits,
// against ir.InitValues for every initializer, in both float types.
func TestInitAgrees(t *testing.T) {
	specs := []ir.Attrs{
		{"init": "zeros"}, {"init": "constant", "value": 0.3},
		{"init": "normal"}, {"init": "normal", "mean": 1.5, "std": 0.2},
		{"init": "uniform"}, {"init": "uniform", "low": -2.0, "high": 3.0},
		{"init": "xavier_uniform"}, {"init": "xavier_uniform", "gain": 2.0},
		{"init": "xavier_normal"}, {"init": "he_normal"}, {"init": "he_normal", "gain": 0.5},
		{"init": "he_uniform"}, {"init": "he_uniform", "gain": 3.0},
	}
	for _, shape := range [][]int{{}, {7}, {5, 3}, {2, 3, 4}} {
		for _, a := range specs {
			want, err := ir.InitValues("p", shape, a, 99)
			if err != nil {
				t.Fatal(err)
			}
			in := rtInit(a)
			got64 := make([]float64, len(want))
			got32 := make([]float32, len(want))
			if err := rt.InitParam(got64, "p", shape, in, 99); err != nil {
				t.Fatal(err)
			}
			if err := rt.InitParam(got32, "p", shape, in, 99); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got64[i] != want[i] || got32[i] != float32(want[i]) {
					t.Fatalf("%v %v: element %d: rt %v / %v, ir %v", a, shape, i, got64[i], got32[i], want[i])
				}
			}
		}
	}
}

// rtInit evaluates the rt.Init literal codegen emits for a param's attrs.
func rtInit(a ir.Attrs) rt.Init {
	v := &ir.Value{Attrs: a}
	lit := initSpecValues(v)
	return rt.Init{Kind: a.Str("init"), Value: lit["Value"], Mean: lit["Mean"], Std: lit["Std"], Low: lit["Low"], High: lit["High"], Gain: lit["Gain"]}
}
