package kernels

import "testing"

// TestUnpackedK: the pieces UnpackedK allows take the small path, and one
// element more does not.
func TestUnpackedK(t *testing.T) {
	for _, c := range []struct{ m, n int }{{6, 25}, {1, 1}, {16, 150}, {200, 200}} {
		k := UnpackedK(c.m, c.n)
		if k > 0 && !useSmall(c.m, c.n, k, false) {
			t.Errorf("UnpackedK(%d, %d) = %d, but that product is packed", c.m, c.n, k)
		}
		if useSmall(c.m, c.n, k+1, false) {
			t.Errorf("UnpackedK(%d, %d) = %d, but k = %d is unpacked too", c.m, c.n, k, k+1)
		}
	}
	if k := UnpackedK(0, 5); k != 0 {
		t.Errorf("UnpackedK(0, 5) = %d, want 0", k)
	}
}
