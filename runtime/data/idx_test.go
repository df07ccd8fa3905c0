package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes builds an IDX stream with element type typ.
func idxBytes(typ byte, dims []int, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typ, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func seq(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 20)
	}
	return p
}

func TestReadIDX(t *testing.T) {
	raw := idxBytes(0x08, []int{2, 2, 3}, seq(12))
	for name, stream := range map[string][]byte{"plain": raw, "gzip": gz(t, raw)} {
		t.Run(name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(stream))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x.Dims, []int{2, 2, 3}) {
				t.Errorf("Dims = %v, expected [2 2 3]", x.Dims)
			}
			if !bytes.Equal(x.Data, seq(12)) {
				t.Errorf("Data = %v, expected %v", x.Data, seq(12))
			}
		})
	}
}

func TestReadIDXErrors(t *testing.T) {
	cases := []struct {
		name, want string
		stream     []byte
	}{
		{"float type", "0x0D (float32) is not supported", idxBytes(0x0D, []int{2}, make([]byte, 8))},
		{"unknown type", "unknown element type code 0x42", idxBytes(0x42, []int{2}, nil)},
		{"bad magic", "not an IDX file", []byte{1, 2, 3, 4, 5}},
		{"short header", "stream ended early", []byte{0, 0}},
		{"truncated", "declares 2×3 = 6 bytes of data, found only 4", idxBytes(0x08, []int{2, 3}, seq(4))},
		{"trailing", "the stream continues", idxBytes(0x08, []int{2}, seq(3))},
		{"missing dims", "ended while reading dimension 1", idxBytes(0x08, []int{2, 3}, nil)[:8]},
		{"huge", "corrupted header", idxBytes(0x08, []int{1 << 20, 1 << 20, 1 << 20}, nil)},
		{"bad gzip", "not valid gzip", []byte{0x1f, 0x8b, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(c.stream))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, expected one containing %q", err, c.want)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMNISTSynthetic(t *testing.T) {
	dir := t.TempDir()
	pix := []byte{0, 255, 51, 102, 0, 0, 0, 255} // 2 images of 2×2
	imgs := writeFile(t, dir, "img.gz", gz(t, idxBytes(0x08, []int{2, 2, 2}, pix)))
	labs := writeFile(t, dir, "lab", idxBytes(0x08, []int{2}, []byte{7, 3}))
	images, labels, n, err := LoadMNIST(imgs, labs)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || !slices.Equal(labels, []int32{7, 3}) {
		t.Fatalf("n = %d, labels = %v; expected 2, [7 3]", n, labels)
	}
	want := []float32{0, 1, 0.2, 0.4, 0, 0, 0, 1}
	if !slices.Equal(images, want) {
		t.Fatalf("images = %v, expected %v", images, want)
	}
	images64, _, _, err := LoadMNIST64(imgs, labs)
	if err != nil || images64[2] != 0.2 {
		t.Fatalf("LoadMNIST64: images[2] = %v, err = %v; expected 0.2, nil", images64[2], err)
	}

	bad := writeFile(t, dir, "bad", idxBytes(0x08, []int{3}, []byte{1, 2, 3}))
	if _, _, _, err := LoadMNIST(imgs, bad); err == nil || !strings.Contains(err.Error(), "has 2 images but") {
		t.Errorf("count mismatch: error = %v", err)
	}
	badLab := writeFile(t, dir, "badlab", idxBytes(0x08, []int{2}, []byte{1, 12}))
	if _, _, _, err := LoadMNIST(imgs, badLab); err == nil || !strings.Contains(err.Error(), "label 1 is 12") {
		t.Errorf("label range: error = %v", err)
	}
	if _, _, _, err := LoadMNIST(labs, labs); err == nil || !strings.Contains(err.Error(), "expected images of shape [n rows cols]") {
		t.Errorf("image rank: error = %v", err)
	}
	if _, _, _, err := LoadMNIST(filepath.Join(dir, "missing"), labs); err == nil {
		t.Error("missing file: expected an error")
	}
}

// cachedMNISTDir returns the GoMNIST data folder if the module is already in
// the module cache, without downloading anything.
func cachedMNISTDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("loading real MNIST skipped in -short mode")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE failed: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	if _, err := os.Stat(filepath.Join(dir, MNISTTrainImages)); err != nil {
		t.Skipf("GoMNIST module not in the module cache (%v); run `go mod download %s` to enable this test", err, MNISTModule)
	}
	return dir
}

func TestRealMNIST(t *testing.T) {
	dir := cachedMNISTDir(t)
	// The module is cached, so MNISTDir must find it without network access.
	got, err := MNISTDir()
	if err != nil {
		t.Fatalf("MNISTDir: %v", err)
	}
	if got != dir {
		t.Errorf("MNISTDir = %q, expected %q", got, dir)
	}
	for _, c := range []struct {
		img, lab string
		n        int
	}{{MNISTTrainImages, MNISTTrainLabels, 60000}, {MNISTTestImages, MNISTTestLabels, 10000}} {
		images, labels, n, err := LoadMNIST(filepath.Join(dir, c.img), filepath.Join(dir, c.lab))
		if err != nil {
			t.Fatal(err)
		}
		if n != c.n || len(labels) != c.n || len(images) != c.n*784 {
			t.Fatalf("%s: n = %d, %d labels, %d pixels; expected %d, %d, %d", c.img, n, len(labels), len(images), c.n, c.n, c.n*784)
		}
		var seen [10]int
		for _, l := range labels {
			if l < 0 || l > 9 {
				t.Fatalf("%s: label %d out of range 0–9", c.lab, l)
			}
			seen[l]++
		}
		for d, k := range seen {
			if k == 0 {
				t.Errorf("%s: digit %d never occurs", c.lab, d)
			}
		}
		lo, hi := slices.Min(images), slices.Max(images)
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixel range [%g, %g], expected [0, 1]", c.img, lo, hi)
		}
	}
}
