package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// IDX is a decoded IDX file (the format of the MNIST distribution files):
// an n-dimensional array of unsigned bytes stored row-major.
type IDX struct {
	Dims []int  // size of each dimension, outermost first, e.g. [60000 28 28]
	Data []byte // the elements, row-major; len(Data) is the product of Dims
}

// idxTypeNames names the element type codes defined by the IDX format.
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// maxIDXBytes bounds the element count a header may announce (4 GiB), so a
// corrupted header is reported instead of attempting a huge read.
const maxIDXBytes = 1 << 32

// ReadIDX decodes an IDX stream. If the stream starts with the gzip magic
// bytes (0x1f 0x8b) it is gunzipped transparently. Only the unsigned-byte
// element type (0x08) is supported; other type codes are reported as an
// error. The stream must end right after the last element.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: stream starts with the gzip magic but is not valid gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("idx: expected a 4-byte magic number, stream ended early: %w", err)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("idx: expected magic number starting with 0x00 0x00, found % x (not an IDX file?)", head[:])
	}
	typ, ndims := head[2], int(head[3])
	if typ != 0x08 {
		name, known := idxTypeNames[typ]
		if !known {
			return nil, fmt.Errorf("idx: unknown element type code 0x%02X; expected 0x08 (unsigned byte)", typ)
		}
		return nil, fmt.Errorf("idx: element type 0x%02X (%s) is not supported; expected 0x08 (unsigned byte)", typ, name)
	}
	if ndims == 0 {
		return nil, errors.New("idx: header declares 0 dimensions; expected at least 1")
	}
	dims := make([]int, ndims)
	size := uint64(1)
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("idx: header declares %d dimensions but stream ended while reading dimension %d: %w", ndims, i, err)
		}
		d := binary.BigEndian.Uint32(b[:])
		dims[i] = int(d)
		size *= uint64(d)
		if size > maxIDXBytes {
			return nil, fmt.Errorf("idx: dimensions %v describe more than %d elements; corrupted header?", dims[:i+1], uint64(maxIDXBytes))
		}
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size, 1<<26)))
	got, err := buf.ReadFrom(io.LimitReader(br, int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("idx: reading %s = %d bytes of data: %w", shapeString(dims), size, err)
	}
	if uint64(got) < size {
		return nil, fmt.Errorf("idx: truncated: header declares %s = %d bytes of data, found only %d", shapeString(dims), size, got)
	}
	if uint64(got) > size {
		return nil, fmt.Errorf("idx: trailing data: header declares %s = %d bytes of data, but the stream continues after them", shapeString(dims), size)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

// ReadIDXFile opens path and decodes it with ReadIDX.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

func shapeString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, "×")
}

// Float is the set of element types the generic helpers produce.
type Float interface{ ~float32 | ~float64 }

// ScaleBytes writes src[i]/255 into dst[i], mapping bytes to [0,1]. It panics
// if dst is shorter than src.
func ScaleBytes[T Float](dst []T, src []byte) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("data.ScaleBytes: dst has %d elements, expected at least %d (len(src))", len(dst), len(src)))
	}
	for i, b := range src {
		dst[i] = T(b) / 255
	}
}

// LoadMNIST reads an MNIST-style image file (IDX, shape [n rows cols]) and
// label file (IDX, shape [n], values 0–9), gzipped or not. It returns the
// images scaled to [0,1] as a row-major n×(rows·cols) matrix (n×784 for
// MNIST), the labels as class ids, and n.
func LoadMNIST(imagesPath, labelsPath string) (images []float32, labels []int32, n int, err error) {
	return LoadMNISTAs[float32](imagesPath, labelsPath)
}

// LoadMNIST64 is LoadMNIST with float64 images.
func LoadMNIST64(imagesPath, labelsPath string) (images []float64, labels []int32, n int, err error) {
	return LoadMNISTAs[float64](imagesPath, labelsPath)
}

// LoadMNISTAs is LoadMNIST for any float element type T.
func LoadMNISTAs[T Float](imagesPath, labelsPath string) (images []T, labels []int32, n int, err error) {
	img, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(img.Dims) != 3 {
		return nil, nil, 0, fmt.Errorf("%s: expected images of shape [n rows cols], found %d dimensions %v", imagesPath, len(img.Dims), img.Dims)
	}
	lab, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(lab.Dims) != 1 {
		return nil, nil, 0, fmt.Errorf("%s: expected labels of shape [n], found %d dimensions %v", labelsPath, len(lab.Dims), lab.Dims)
	}
	n = img.Dims[0]
	if lab.Dims[0] != n {
		return nil, nil, 0, fmt.Errorf("MNIST: %s has %d images but %s has %d labels; expected the same count", imagesPath, n, labelsPath, lab.Dims[0])
	}
	labels = make([]int32, n)
	for i, b := range lab.Data {
		if b > 9 {
			return nil, nil, 0, fmt.Errorf("%s: label %d is %d; expected a digit class 0–9", labelsPath, i, b)
		}
		labels[i] = int32(b)
	}
	images = make([]T, len(img.Data))
	ScaleBytes(images, img.Data)
	return images, labels, n, nil
}
