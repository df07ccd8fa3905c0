package rt

import "testing"

func TestParamSum(t *testing.T) {
	x := []float64{1, 2, 3}
	h := ParamSum(x)
	if ParamSum([]float64{1, 2, 3}) != h {
		t.Error("equal vectors hash differently")
	}
	for i := range x {
		y := append([]float64(nil), x...)
		y[i] += 1e-12
		if ParamSum(y) == h {
			t.Errorf("changing element %d does not change the hash", i)
		}
	}
	if ParamSum([]float64{2, 1, 3}) == h {
		t.Error("a permutation does not change the hash")
	}
	f := []float32{1, 2}
	g := []float32{1, 2.0000002}
	if ParamSum(f) == ParamSum(g) {
		t.Error("float32: a change of one ulp does not change the hash")
	}
	if n := testing.AllocsPerRun(10, func() { ParamSum(x) }); n != 0 {
		t.Errorf("ParamSum allocates %v times", n)
	}
}
