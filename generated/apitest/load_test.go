// Package apitest tests the API of the generated packages under
// generated/ (the behavior every package bpgen generates shares), on
// generated/mlp and its siblings.
package apitest

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/tensorio"
)

// bits returns the bit patterns of xs (so that NaNs compare too).
func bits(xs []float32) []uint32 {
	r := make([]uint32, len(xs))
	for i, x := range xs {
		r[i] = math.Float32bits(x)
	}
	return r
}

func newMLP(t testing.TB, seed uint64) *mlp.Model {
	t.Helper()
	m, err := mlp.New(mlp.Config{MaxN: 8, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoadAllOrNothing writes files that fail to load in each way (a
// tensor of the wrong shape, one of the wrong dtype, a missing tensor,
// truncated data, a bad header) and whose other tensors are valid and
// differ from the model's, and checks that Load fails and leaves every
// param bit-identical.
func TestLoadAllOrNothing(t *testing.T) {
	src := newMLP(t, 2) // the file's values: not the model's
	valid := func() []tensorio.Tensor {
		var ts []tensorio.Tensor
		for _, x := range src.Tensors() {
			ts = append(ts, tensorio.Tensor{Name: x.Name, DType: "F32", Shape: x.Shape, Data: x.Data})
		}
		return ts
	}
	save := func(t *testing.T, ts []tensorio.Tensor) string {
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := tensorio.SaveFile(path, ts, nil); err != nil {
			t.Fatal(err)
		}
		return path
	}
	replace := func(ts []tensorio.Tensor, name string, x tensorio.Tensor) []tensorio.Tensor {
		i := slices.IndexFunc(ts, func(t tensorio.Tensor) bool { return t.Name == name })
		ts[i] = x
		return ts
	}
	cases := []struct {
		name string
		file func(t *testing.T) string
		want string // in the error
	}{
		{"shape", func(t *testing.T) string {
			// b2 sorts last in the file: every other tensor would be copied first.
			return save(t, replace(valid(), "b2", tensorio.Tensor{Name: "b2", DType: "F32", Shape: []int{2, 5}, Data: make([]float32, 10)}))
		}, "b2: file has F32[2 5], model expects F32[10]"},
		{"dtype", func(t *testing.T) string {
			return save(t, replace(valid(), "b2", tensorio.Tensor{Name: "b2", DType: "F64", Shape: []int{10}, Data: make([]float64, 10)}))
		}, "b2: file has F64[10]"},
		{"missing", func(t *testing.T) string {
			ts := valid()
			return save(t, slices.DeleteFunc(ts, func(t tensorio.Tensor) bool { return t.Name == "b2" }))
		}, "b2: not in file"},
		{"truncated", func(t *testing.T) string {
			path := save(t, valid())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b[:len(b)-7], 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, "data section"},
		{"header", func(t *testing.T) string {
			path := save(t, valid())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			copy(b[8:], `{"W1": [`) // the header's JSON is cut short
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, "header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMLP(t, 1)
			before := bits(m.ParamVector())
			if slices.Equal(before, bits(src.ParamVector())) {
				t.Fatal("the file's values equal the model's: the test cannot fail")
			}
			err := m.Load(c.file(t))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if !slices.Equal(before, bits(m.ParamVector())) {
				t.Errorf("a failed Load changed the params")
			}
		})
	}
	// And the valid file loads.
	m := newMLP(t, 1)
	path := save(t, valid())
	if err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bits(m.ParamVector()), bits(src.ParamVector())) {
		t.Error("Load of a valid file did not set the params")
	}
}
