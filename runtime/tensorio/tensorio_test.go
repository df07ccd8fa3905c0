package tensorio

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleTensors() []Tensor {
	return []Tensor{
		{Name: "w", DType: "F32", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}},
		{Name: "b", DType: "F64", Shape: []int{3}, Data: []float64{math.Pi, -1e300, 5e-324}},
		{Name: "ids", Shape: []int{2, 2}, Data: []int32{1, -1, math.MaxInt32, math.MinInt32}}, // DType inferred
		{Name: "scalar", DType: "F64", Shape: []int{}, Data: []float64{42}},
		{Name: "empty", DType: "F32", Shape: []int{0, 5}, Data: []float32{}},
		{Name: "a<b>&c", DType: "F32", Shape: []int{1}, Data: []float32{7}},
	}
}

func save(t *testing.T, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Save(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	in := sampleTensors()
	meta := map[string]string{"format": "pt", "epoch": "3"}
	file := save(t, in, meta)
	hsize := binary.LittleEndian.Uint64(file)
	if hsize%8 != 0 {
		t.Errorf("header size %d is not a multiple of 8", hsize)
	}
	got, gotMeta, err := Load(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata = %v, expected %v", gotMeta, meta)
	}
	if len(got) != len(in) {
		t.Fatalf("loaded %d tensors, expected %d", len(got), len(in))
	}
	for _, want := range in {
		g, ok := got[want.Name]
		if !ok {
			t.Fatalf("tensor %q missing after round trip", want.Name)
		}
		if want.DType == "" {
			want.DType = "I32"
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("tensor %q = %+v, expected %+v", want.Name, g, want)
		}
	}
	// No metadata: Load returns nil metadata.
	_, m, err := Load(bytes.NewReader(save(t, in[:1], nil)))
	if err != nil || m != nil {
		t.Errorf("no-metadata file: metadata %v, err %v; expected nil, nil", m, err)
	}
}

// TestExactBytes checks the full byte layout of a tiny file against a
// hand-written expectation, independent of any other implementation.
func TestExactBytes(t *testing.T) {
	file := save(t, []Tensor{
		{Name: "z", DType: "I32", Shape: []int{1}, Data: []int32{-2}},
		{Name: "a", DType: "F32", Shape: []int{2}, Data: []float32{1, 2}},
	}, nil)
	// 70 bytes of JSON, padded with 2 spaces to 72. Tensors sorted by name.
	header := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := []byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0}
	want = append(want, header...)
	want = append(want,
		0x00, 0x00, 0x80, 0x3f, // 1.0f
		0x00, 0x00, 0x00, 0x40, // 2.0f
		0xfe, 0xff, 0xff, 0xff, // int32 -2
	)
	if !bytes.Equal(file, want) {
		t.Fatalf("file bytes\n%q\nexpected\n%q", file, want)
	}
}

func TestSaveErrors(t *testing.T) {
	cases := []struct {
		name, want string
		ts         []Tensor
	}{
		{"size", "shape [2 2] needs 4 elements, Data has 3", []Tensor{{Name: "x", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}},
		{"dtype", `DType is "F64" but Data is []float32`, []Tensor{{Name: "x", DType: "F64", Shape: []int{1}, Data: []float32{1}}}},
		{"type", "Data is []int; expected", []Tensor{{Name: "x", Shape: []int{1}, Data: []int{1}}}},
		{"dup", `"x" appears twice`, []Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1}}, {Name: "x", Shape: []int{1}, Data: []float32{1}}}},
		{"empty name", "empty name", []Tensor{{Shape: []int{1}, Data: []float32{1}}}},
		{"reserved", "reserved", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}},
		{"negative", "negative dimension", []Tensor{{Name: "x", Shape: []int{-1}, Data: []float32{}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Save(&bytes.Buffer{}, c.ts, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, expected one containing %q", err, c.want)
			}
		})
	}
}

// rawFile assembles a safetensors file from a literal header and data.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestLoadRejectsCorruption(t *testing.T) {
	e := func(dtype, shape, offs string) string {
		return `"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offs
	}
	d8 := make([]byte, 8)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "8-byte header size", nil},
		{"huge header", "exceeds", binary.LittleEndian.AppendUint64(nil, 1<<40)},
		{"short header", "only 2 follow", append(binary.LittleEndian.AppendUint64(nil, 10), "{}"...)},
		{"not json", "not a valid JSON object", rawFile(`{"a":`, nil)},
		{"not object", "expected the header to be a JSON object", rawFile(`[1]`, nil)},
		{"trailing", "after the header object", rawFile(`{} {}`, nil)},
		{"dup key", `key "a" twice`, rawFile(`{"a":{`+e("F32", "[2]", "[0,8]")+`},"a":{`+e("F32", "[2]", "[0,8]")+`}}`, d8)},
		{"dtype", "dtype BF16 is not supported", rawFile(`{"a":{`+e("BF16", "[4]", "[0,8]")+`}}`, d8)},
		{"case", `tensor "a": expected`, rawFile(`{"a":{"dType":"F32","shape":[2],"data_offsets":[0,8]}}`, d8)},
		{"unknown field", `tensor "a": expected`, rawFile(`{"a":{`+e("F32", "[2]", "[0,8]")+`,"x":1}}`, d8)},
		{"missing field", `tensor "a": expected`, rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, d8)},
		{"three offsets", "found 3 numbers", rawFile(`{"a":{`+e("F32", "[2]", "[0,8,9]")+`}}`, d8)},
		{"size mismatch", "F32[3] needs 12 bytes, data_offsets [0, 8] span 8", rawFile(`{"a":{`+e("F32", "[3]", "[0,8]")+`}}`, d8)},
		{"reversed", "invalid data_offsets [8, 0]", rawFile(`{"a":{`+e("F32", "[0]", "[8,0]")+`}}`, d8)},
		{"gap", "gap in data", rawFile(`{"a":{`+e("F32", "[1]", "[4,8]")+`}}`, d8)},
		{"overlap", "overlaps", rawFile(`{"a":{`+e("F32", "[2]", "[0,8]")+`},"b":{`+e("F32", "[1]", "[4,8]")+`}}`, d8)},
		{"short data", "the data section has 8", rawFile(`{"a":{`+e("F64", "[2]", "[0,16]")+`}}`, d8)},
		{"extra data", "tensors cover 4 data bytes but the data section has 8", rawFile(`{"a":{`+e("I32", "[1]", "[0,4]")+`}}`, d8)},
		{"bad metadata", "object of strings", rawFile(`{"__metadata__":{"a":1}}`, nil)},
		{"huge shape", "too many elements", rawFile(`{"a":{`+e("F32", "[1099511627776,1099511627776]", "[0,8]")+`}}`, d8)},
		{"float shape", `tensor "a": expected`, rawFile(`{"a":{`+e("F32", "[1.5]", "[0,8]")+`}}`, d8)},
		{"bad utf8", "not valid UTF-8", rawFile("{\"\xff\":1}", nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load(bytes.NewReader(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, expected one containing %q", err, c.want)
			}
		})
	}
}

func TestSaveFileLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveFile(path, sampleTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after SaveFile, expected only the target (temp file left behind?)", len(entries))
	}
	got, meta, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sampleTensors()) || meta["k"] != "v" {
		t.Errorf("LoadFile: %d tensors, metadata %v", len(got), meta)
	}
	// A failing Save leaves the previous file intact and no temp file.
	if err := SaveFile(path, []Tensor{{Name: "x", Shape: []int{2}, Data: []float32{1}}}, nil); err == nil {
		t.Fatal("expected an error for a bad tensor")
	}
	entries, _ = os.ReadDir(dir)
	if _, _, err := LoadFile(path); err != nil || len(entries) != 1 {
		t.Errorf("after a failed SaveFile: load err %v, %d directory entries; expected the old file intact and alone", err, len(entries))
	}
	if err := SaveFile(filepath.Join(dir, "no", "such", "dir", "m.safetensors"), nil, nil); err == nil {
		t.Error("SaveFile into a missing directory: expected an error")
	}
	if _, _, err := LoadFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadFile of a missing file: expected an error")
	}
}

func TestLoadInto(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	w1 := make([]float32, 784*256)
	for i := range w1 {
		w1[i] = float32(i)
	}
	b1 := []float64{1, 2, 3}
	if err := SaveFile(path, []Tensor{
		{Name: "W1", DType: "F32", Shape: []int{784, 256}, Data: w1},
		{Name: "b1", DType: "F64", Shape: []int{3}, Data: b1},
		{Name: "extra", DType: "I32", Shape: []int{1}, Data: []int32{9}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	dw, db := make([]float32, len(w1)), make([]float64, 3)
	if err := LoadInto(path, map[string]any{"W1": dw, "b1": Tensor{Shape: []int{3}, Data: db}}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dw, w1) || !reflect.DeepEqual(db, b1) {
		t.Fatal("LoadInto did not copy the file's values")
	}
	err := LoadInto(path, map[string]any{
		"W1":   &Tensor{Shape: []int{784, 128}, Data: make([]float32, 784*128)},
		"b1":   make([]float32, 3),
		"b2":   make([]float32, 3),
		"bad":  []int{1},
		"flat": nil,
	})
	if err == nil {
		t.Fatal("expected mismatch errors")
	}
	msg := err.Error()
	for _, want := range []string{
		"W1: file has F32[784 256], model expects F32[784 128]",
		"b1: file has F64[3] (3 elements), model expects F32 with 3 elements",
		"b2: not in file",
		"bad: destination is []int",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error\n%s\ndoes not contain %q", msg, want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	var b bytes.Buffer
	if err := Save(&b, sampleTensors(), map[string]string{"m": "x"}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(rawFile(`{}`, nil))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}))
	f.Add(b.Bytes()[:len(b.Bytes())/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		ts, meta, err := Load(bytes.NewReader(file))
		if err != nil {
			return
		}
		// Whatever loads must save, and saving what loads back must give
		// the same bytes (compared as bytes so NaN payloads count too).
		resave := func(ts map[string]Tensor, meta map[string]string) []byte {
			list := make([]Tensor, 0, len(ts))
			for _, x := range ts {
				list = append(list, x)
			}
			var out bytes.Buffer
			if err := Save(&out, list, meta); err != nil {
				t.Fatalf("re-saving a loaded file failed: %v", err)
			}
			return out.Bytes()
		}
		once := resave(ts, meta)
		ts2, meta2, err := Load(bytes.NewReader(once))
		if err != nil {
			t.Fatalf("re-loading a re-saved file failed: %v", err)
		}
		if twice := resave(ts2, meta2); !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the contents")
		}
	})
}
