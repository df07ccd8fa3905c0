package tensorio

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	st "github.com/nlpodyssey/safetensors"
)

// TestIndependentReaderReadsOurOutput checks that an independent Go port of
// the reference implementation, which enforces the same no-gap/no-overlap
// rules as PyTorch's safetensors, accepts our files and sees the same values.
func TestIndependentReaderReadsOurOutput(t *testing.T) {
	file := save(t, sampleTensors(), map[string]string{"format": "pt"})
	ref, err := st.Deserialize(file)
	if err != nil {
		t.Fatalf("independent reader rejected our file: %v", err)
	}
	for _, want := range sampleTensors() {
		v, ok := ref.Tensor(want.Name)
		if !ok {
			t.Fatalf("independent reader does not see tensor %q", want.Name)
		}
		shape := make([]int, len(v.Shape()))
		for i, d := range v.Shape() {
			shape[i] = int(d)
		}
		if !reflect.DeepEqual(shape, want.Shape) {
			t.Errorf("%s: independent reader sees shape %v, expected %v", want.Name, shape, want.Shape)
		}
		raw := v.Data()
		switch d := want.Data.(type) {
		case []float32:
			if v.DType() != st.F32 {
				t.Errorf("%s: dtype %v, expected F32", want.Name, v.DType())
			}
			for i, x := range d {
				if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != x {
					t.Errorf("%s[%d] = %v, expected %v", want.Name, i, got, x)
				}
			}
		case []float64:
			if v.DType() != st.F64 {
				t.Errorf("%s: dtype %v, expected F64", want.Name, v.DType())
			}
			for i, x := range d {
				if got := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])); got != x {
					t.Errorf("%s[%d] = %v, expected %v", want.Name, i, got, x)
				}
			}
		case []int32:
			if v.DType() != st.I32 {
				t.Errorf("%s: dtype %v, expected I32", want.Name, v.DType())
			}
			for i, x := range d {
				if got := int32(binary.LittleEndian.Uint32(raw[4*i:])); got != x {
					t.Errorf("%s[%d] = %v, expected %v", want.Name, i, got, x)
				}
			}
		}
	}
}

// TestWeReadIndependentWriterOutput loads a file written by the independent
// implementation.
func TestWeReadIndependentWriterOutput(t *testing.T) {
	f32 := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0} // 1, -2
	f64 := binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.5))
	v1, err := st.NewTensorView(st.F32, []uint64{2, 1}, f32)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := st.NewTensorView(st.F64, []uint64{1}, f64)
	if err != nil {
		t.Fatal(err)
	}
	file, err := st.Serialize(map[string]st.TensorView{"x": v1, "y": v2}, map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := Load(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("we rejected the independent writer's file: %v", err)
	}
	if meta["a"] != "b" {
		t.Errorf("metadata = %v", meta)
	}
	if x := got["x"]; !reflect.DeepEqual(x.Data, []float32{1, -2}) || !reflect.DeepEqual(x.Shape, []int{2, 1}) {
		t.Errorf("x = %+v", x)
	}
	if y := got["y"]; !reflect.DeepEqual(y.Data, []float64{0.5}) {
		t.Errorf("y = %+v", y)
	}
}
