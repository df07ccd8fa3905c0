package main

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/testdata/bench/l"
	"github.com/bpgen/bpgen/codegen/testdata/bench/m"
)

// TestGradElems: the scaling model's gradient sizes are the generated
// models' GradVector lengths.
func TestGradElems(t *testing.T) {
	mm, err := m.New(m.Config{MaxN: 1})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := l.New(l.Config{MaxN: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"m": len(mm.GradVector()), "l": len(lm.GradVector())}
	for _, s := range benchmodels.Specs {
		if w, ok := want[s.Name]; ok && GradElems(s) != w {
			t.Errorf("%s: GradElems %d, GradVector has %d", s.Name, GradElems(s), w)
		}
	}
}

// TestRingBytes: p = 2 sends the vector once; the traffic tends to twice
// the vector as p grows.
func TestRingBytes(t *testing.T) {
	if RingBytes(2, 1000) != 1000 || RingBytes(4, 1000) != 1500 || math.Abs(RingBytes(1<<20, 1000)-2000) > 0.01 {
		t.Errorf("RingBytes: %v %v %v", RingBytes(2, 1000), RingBytes(4, 1000), RingBytes(1<<20, 1000))
	}
	// One worker at 1 GFLOP/s, 1 GB/s: 6·B·P flops = 8·P bytes at B = 4/3.
	if b := BreakEvenBatch(1e9, 1e9); math.Abs(b-4.0/3) > 1e-12 {
		t.Errorf("BreakEvenBatch(1e9, 1e9) = %v, want 4/3", b)
	}
}

// TestReadmeScaling: README's scaling table is this program's output
// (go run -C codegen/testdata/bench ./distbench -scaling), not numbers by hand.
func TestReadmeScaling(t *testing.T) {
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := ScalingTable(ReadmeStepTimes)
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md does not contain the scaling model as `go run -C codegen/testdata/bench ./distbench -scaling` prints it:\n%s", table)
	}
}
