// Package tensorio saves and loads named parameter tensors in the
// safetensors format (https://github.com/huggingface/safetensors), so
// weights trained by a bpgen program can be checkpointed, reloaded, and
// exchanged with PyTorch, JAX or any other safetensors reader.
//
// User programs import this package to checkpoint their parameters;
// generated code does not import it. Only the F32, F64 and I32 dtypes are
// supported. Files are written the way the reference implementation writes
// them (tensors in sorted name order, contiguous, header padded with spaces
// to a multiple of 8 bytes), and loading validates the file strictly: a
// corrupted or truncated file gives an error, never a panic.
//
// The smallest use:
//
//	err := tensorio.SaveFile("model.safetensors", []tensorio.Tensor{
//		{Name: "W1", DType: "F32", Shape: []int{784, 128}, Data: w1},
//	}, nil)
//	// later, into the same preallocated slices:
//	err = tensorio.LoadInto("model.safetensors", map[string]any{"W1": w1})
package tensorio

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tensor is one named tensor: a dtype, a shape, and the elements in
// row-major order.
type Tensor struct {
	Name  string
	DType string // "F32", "F64" or "I32"; Save infers it from Data when empty
	Shape []int  // dimensions, outermost first; empty for a scalar
	Data  any    // []float32 for F32, []float64 for F64, []int32 for I32
}

// metadataKey is the reserved header key holding the string metadata.
const metadataKey = "__metadata__"

// MaxHeaderSize is the largest JSON header Load accepts (100 MB, the limit
// of the reference implementation); a larger declared size means a
// corrupted file.
const MaxHeaderSize = 100_000_000

func dtypeSize(dtype string) int {
	switch dtype {
	case "F32", "I32":
		return 4
	case "F64":
		return 8
	}
	return 0
}

func dtypeOf(data any) string {
	switch data.(type) {
	case []float32:
		return "F32"
	case []float64:
		return "F64"
	case []int32:
		return "I32"
	}
	return ""
}

func dataLen(data any) int {
	switch d := data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int32:
		return len(d)
	}
	return -1
}

// maxElements bounds the element count of one tensor (2^50) so that byte
// sizes computed from a corrupted shape cannot overflow int64.
const maxElements = 1 << 50

// numElements returns the product of shape, or an error if a dimension is
// negative or the product overflows.
func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// shapeString formats a shape as "[784 256]".
func shapeString(shape []int) string { return fmt.Sprint(shape) }

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Save writes tensors and optional string metadata to w in the safetensors
// format. Names must be unique and non-empty, and each tensor's Data must
// match its DType and hold exactly the product of Shape elements.
func Save(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	header := map[string]any{}
	if len(metadata) > 0 {
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return fmt.Errorf("tensorio.Save: metadata %q: expected UTF-8 key and value", k)
			}
		}
		header[metadataKey] = metadata
	}
	var offset int64
	for i := range sorted {
		t := &sorted[i]
		switch {
		case t.Name == "":
			return errors.New("tensorio.Save: a tensor has an empty name; expected a non-empty unique name")
		case t.Name == metadataKey:
			return fmt.Errorf("tensorio.Save: tensor name %q is reserved for metadata", metadataKey)
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("tensorio.Save: tensor name %q is not valid UTF-8", t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return fmt.Errorf("tensorio.Save: tensor name %q appears twice; expected unique names", t.Name)
		}
		dt := dtypeOf(t.Data)
		if dt == "" {
			return fmt.Errorf("tensorio.Save: %s: Data is %T; expected []float32, []float64 or []int32", t.Name, t.Data)
		}
		if t.DType != "" && t.DType != dt {
			return fmt.Errorf("tensorio.Save: %s: DType is %q but Data is %T (%s)", t.Name, t.DType, t.Data, dt)
		}
		n, err := numElements(t.Shape)
		if err != nil {
			return fmt.Errorf("tensorio.Save: %s: %v", t.Name, err)
		}
		if got := dataLen(t.Data); got != n {
			return fmt.Errorf("tensorio.Save: %s: shape %v needs %d elements, Data has %d", t.Name, shapeString(t.Shape), n, got)
		}
		size := int64(n) * int64(dtypeSize(dt))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{DType: dt, Shape: shape, DataOffsets: []int64{offset, offset + size}}
		offset += size
	}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header); err != nil {
		return fmt.Errorf("tensorio.Save: encoding header: %w", err)
	}
	js := bytes.TrimSuffix(hb.Bytes(), []byte("\n"))
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var n8 [8]byte
	binary.LittleEndian.PutUint64(n8[:], uint64(len(js)))
	bw.Write(n8[:])
	bw.Write(js)
	var buf [8]byte
	for _, t := range sorted {
		switch d := t.Data.(type) {
		case []float32:
			for _, v := range d {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				bw.Write(buf[:4])
			}
		case []float64:
			for _, v := range d {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
				bw.Write(buf[:8])
			}
		case []int32:
			for _, v := range d {
				binary.LittleEndian.PutUint32(buf[:], uint32(v))
				bw.Write(buf[:4])
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("tensorio.Save: %w", err)
	}
	return nil
}

// SaveFile writes tensors and metadata to path with Save, atomically: it
// writes a temporary file in the same directory and renames it over path,
// so a crash never leaves a half-written checkpoint behind.
func SaveFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("tensorio.SaveFile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Save(f, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tensorio.SaveFile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tensorio.SaveFile: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("tensorio.SaveFile: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tensorio.SaveFile: %w", err)
	}
	return nil
}

// Load reads a safetensors stream and returns its tensors by name and its
// metadata (nil if the file has none). Tensor data is decoded into
// []float32, []float64 or []int32 per dtype. The file is validated
// strictly: the header must be a JSON object with well-formed entries,
// every dtype must be F32, F64 or I32, each byte range must match its
// shape, and the ranges must cover the data section exactly, without gaps
// or overlaps.
func Load(r io.Reader) (map[string]Tensor, map[string]string, error) {
	var n8 [8]byte
	if _, err := io.ReadFull(r, n8[:]); err != nil {
		return nil, nil, fmt.Errorf("safetensors: expected an 8-byte header size, stream ended early: %w", err)
	}
	hsize := binary.LittleEndian.Uint64(n8[:])
	if hsize > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header size %d exceeds the %d-byte limit (not a safetensors file?)", hsize, MaxHeaderSize)
	}
	hbuf, err := io.ReadAll(io.LimitReader(r, int64(hsize)))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	if uint64(len(hbuf)) != hsize {
		return nil, nil, fmt.Errorf("safetensors: truncated: header size is %d bytes but only %d follow", hsize, len(hbuf))
	}
	entries, order, metadata, err := parseHeader(hbuf)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading data: %w", err)
	}
	if err := checkLayout(entries, order, int64(len(body))); err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]Tensor, len(entries))
	for _, name := range order {
		e := entries[name]
		raw := body[e.DataOffsets[0]:e.DataOffsets[1]]
		t := Tensor{Name: name, DType: e.DType, Shape: e.Shape}
		switch e.DType {
		case "F32":
			t.Data = make([]float32, len(raw)/4)
		case "F64":
			t.Data = make([]float64, len(raw)/8)
		case "I32":
			t.Data = make([]int32, len(raw)/4)
		}
		// checkLayout made len(raw) exactly the byte size of t.Data.
		if _, err := binary.Decode(raw, binary.LittleEndian, t.Data); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		tensors[name] = t
	}
	return tensors, metadata, nil
}

// parseHeader decodes the JSON header, rejecting duplicate keys, unknown
// fields and malformed entries. order lists tensor names as they appear.
func parseHeader(h []byte) (map[string]headerEntry, []string, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, nil, errors.New("safetensors: header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	bad := func(err error) error { return fmt.Errorf("safetensors: header is not a valid JSON object: %w", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, nil, fmt.Errorf("safetensors: expected the header to be a JSON object, found %v", tok)
	}
	entries := map[string]headerEntry{}
	var order []string
	var metadata map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, bad(err)
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, nil, nil, fmt.Errorf("safetensors: header has key %q twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, nil, bad(err)
		}
		if key == metadataKey {
			if err := json.Unmarshal(raw, &metadata); err != nil || metadata == nil {
				return nil, nil, nil, fmt.Errorf("safetensors: expected %s to be an object of strings, found %s", metadataKey, truncate(raw))
			}
			continue
		}
		e, ok := parseEntry(raw)
		if !ok {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: expected {\"dtype\": string, \"shape\": [int...], \"data_offsets\": [int, int]}, found %s", key, truncate(raw))
		}
		if dtypeSize(e.DType) == 0 {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: dtype %s is not supported; expected F32, F64 or I32", key, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: expected data_offsets [begin, end], found %d numbers", key, len(e.DataOffsets))
		}
		entries[key] = e
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, nil, nil, bad(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, fmt.Errorf("safetensors: unexpected content after the header object: %v %v", tok, err)
	}
	return entries, order, metadata, nil
}

// parseEntry decodes one tensor entry, requiring exactly the three fields
// with their exact (case-sensitive) names.
func parseEntry(raw []byte) (headerEntry, bool) {
	var fields map[string]json.RawMessage
	var e headerEntry
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) != 3 {
		return e, false
	}
	dt, ok1 := fields["dtype"]
	sh, ok2 := fields["shape"]
	of, ok3 := fields["data_offsets"]
	if !ok1 || !ok2 || !ok3 ||
		json.Unmarshal(dt, &e.DType) != nil || json.Unmarshal(sh, &e.Shape) != nil || json.Unmarshal(of, &e.DataOffsets) != nil ||
		e.DType == "" || e.Shape == nil || e.DataOffsets == nil {
		return e, false
	}
	return e, true
}

func truncate(raw []byte) string {
	const limit = 80
	if len(raw) > limit {
		return string(raw[:limit]) + "…"
	}
	return string(raw)
}

// checkLayout verifies shapes against byte ranges and that the ranges tile
// [0, dataLen) exactly.
func checkLayout(entries map[string]headerEntry, order []string, dataLen int64) error {
	byStart := slices.Clone(order)
	for _, name := range order {
		e := entries[name]
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end < b {
			return fmt.Errorf("safetensors: tensor %q: invalid data_offsets [%d, %d]", name, b, end)
		}
		n, err := numElements(e.Shape)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %v", name, err)
		}
		if want := int64(n) * int64(dtypeSize(e.DType)); end-b != want {
			return fmt.Errorf("safetensors: tensor %q: %s%s needs %d bytes, data_offsets [%d, %d] span %d", name, e.DType, shapeString(e.Shape), want, b, end, end-b)
		}
	}
	slices.SortStableFunc(byStart, func(a, b string) int {
		ea, eb := entries[a].DataOffsets, entries[b].DataOffsets
		return cmp.Or(cmp.Compare(ea[0], eb[0]), cmp.Compare(ea[1], eb[1]))
	})
	var pos int64
	for _, name := range byStart {
		o := entries[name].DataOffsets
		if o[0] != pos {
			if o[0] > pos {
				return fmt.Errorf("safetensors: gap in data: tensor %q starts at byte %d, expected %d", name, o[0], pos)
			}
			return fmt.Errorf("safetensors: tensor %q at bytes [%d, %d] overlaps the previous tensor, which ends at %d", name, o[0], o[1], pos)
		}
		pos = o[1]
	}
	if pos != dataLen {
		return fmt.Errorf("safetensors: tensors cover %d data bytes but the data section has %d", pos, dataLen)
	}
	return nil
}

// LoadFile opens path and reads it with Load.
func LoadFile(path string) (map[string]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	t, m, err := Load(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, m, nil
}

// LoadInto loads the safetensors file at path and copies each tensor named
// in dst into the existing slice dst[name], which must be a []float32,
// []float64 or []int32 with the file's dtype and element count, or a
// Tensor / *Tensor whose Data is such a slice and whose Shape must then
// equal the file's shape. Tensors in the file that dst does not name are
// ignored. All problems are reported together, one per line, e.g.
// "W1: file has F32[784 256], model expects F32[784 128]".
//
// LoadInto is all-or-nothing: it reads and checks the whole file and every
// destination before it copies anything, so on any error (a bad header,
// truncated data, a missing tensor, a wrong dtype or shape) every
// destination slice is left exactly as it was.
func LoadInto(path string, dst map[string]any) error {
	tensors, _, err := LoadFile(path)
	if err != nil {
		return err
	}
	var errs []error
	type pending struct {
		dst, src any
	}
	var copies []pending
	for _, name := range slices.Sorted(maps.Keys(dst)) {
		target := dst[name]
		var wantShape []int
		if p, ok := target.(*Tensor); ok && p != nil {
			target = *p
		}
		if t, ok := target.(Tensor); ok {
			target, wantShape = t.Data, t.Shape
			if wantShape == nil {
				wantShape = []int{}
			}
		}
		wantDT, wantN := dtypeOf(target), dataLen(target)
		if wantDT == "" {
			errs = append(errs, fmt.Errorf("%s: destination is %T; expected []float32, []float64, []int32 or a Tensor holding one", name, target))
			continue
		}
		ft, ok := tensors[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: not in file %s (it has %d tensors: %s)", name, path, len(tensors), summarizeNames(tensors)))
			continue
		}
		model := fmt.Sprintf("%s with %d elements", wantDT, wantN)
		if wantShape != nil {
			model = wantDT + shapeString(wantShape)
		}
		file := ft.DType + shapeString(ft.Shape)
		if ft.DType != wantDT || dataLen(ft.Data) != wantN || (wantShape != nil && !slices.Equal(wantShape, ft.Shape)) {
			if wantShape == nil {
				file = fmt.Sprintf("%s (%d elements)", file, dataLen(ft.Data))
			}
			errs = append(errs, fmt.Errorf("%s: file has %s, model expects %s", name, file, model))
			continue
		}
		copies = append(copies, pending{target, ft.Data})
	}
	if len(errs) > 0 {
		return fmt.Errorf("tensorio.LoadInto %s: %w", path, errors.Join(errs...))
	}
	for _, c := range copies {
		switch d := c.dst.(type) {
		case []float32:
			copy(d, c.src.([]float32))
		case []float64:
			copy(d, c.src.([]float64))
		case []int32:
			copy(d, c.src.([]int32))
		}
	}
	return nil
}

func summarizeNames(tensors map[string]Tensor) string {
	names := slices.Sorted(maps.Keys(tensors))
	const show = 10
	if len(names) > show {
		return strings.Join(names[:show], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}
