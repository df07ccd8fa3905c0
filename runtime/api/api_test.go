package api

import (
	"slices"
	"strings"
	"testing"
)

func TestTensorAndSpecs(t *testing.T) {
	if got := (Shape{{Dim: "n"}, {N: 784}}).String(); got != "[n,784]" {
		t.Errorf("Shape.String() = %q", got)
	}
	specs := []Spec{{Name: "x", Field: "X"}, {Name: "X", Field: "X_2"}}
	if s, ok := Lookup(specs, "X"); !ok || s.Field != "X_2" {
		t.Errorf("Lookup(X) = %+v, %v", s, ok)
	}
	if _, ok := Lookup(specs, "y"); ok {
		t.Error("Lookup(y) found a spec")
	}
	for _, c := range []struct {
		t    Tensor
		want []float64
	}{
		{Tensor{DType: F32, F32: []float32{1.5, -2}}, []float64{1.5, -2}},
		{Tensor{DType: F64, F64: []float64{3}}, []float64{3}},
		{Tensor{DType: I32, I32: []int32{4, 5, 6}}, []float64{4, 5, 6}},
	} {
		if c.t.Len() != len(c.want) || !slices.Equal(c.t.Floats(), c.want) {
			t.Errorf("%s: Len %d, Floats %v, want %v", c.t.DType, c.t.Len(), c.t.Floats(), c.want)
		}
	}
	x := Tensor{Name: "x", DType: F64}
	for _, c := range []struct {
		ok, required bool
		d            DType
		want         string
	}{
		{true, true, F64, ""},
		{false, false, F32, ""},
		{false, true, F32, `m: the feed has no input "x"`},
		{true, false, F32, `m: input "x" is f64 in the feed; the model takes f32`},
	} {
		err := CheckInput(x, c.ok, "m", "x", c.d, c.required)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckInput(ok %v, required %v, %s) = %v, want %q", c.ok, c.required, c.d, err, c.want)
		}
	}
}
