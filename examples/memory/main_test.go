package main

import "testing"

// TestSavedBytes checks the example's claims exactly: without remat each
// hidden layer saves z and h (2·width·batch·4 B), with remat only h; the
// rest (the output layer's softmax input) does not depend on depth; and
// checkpoints save less than remat.
func TestSavedBytes(t *testing.T) {
	for _, batch := range []int{32, 128} {
		perValue := int64(width * batch * 4) // one hidden value of the batch
		rest := saved(1, batch, "none") - 2*perValue
		for _, depth := range []int{1, 2, 4, 8} {
			d := int64(depth)
			if got, want := saved(depth, batch, "none"), 2*d*perValue+rest; got != want {
				t.Errorf("depth %d batch %d: no remat saves %d B, want 2·%d·%d + %d = %d", depth, batch, got, depth, perValue, rest, want)
			}
			remat := saved(depth, batch, "remat")
			if want := d*perValue + rest; remat != want {
				t.Errorf("depth %d batch %d: remat saves %d B, want %d·%d + %d = %d", depth, batch, remat, depth, perValue, rest, want)
			}
			if ckpt := saved(depth, batch, "checkpoint"); depth >= 2 && ckpt >= remat {
				t.Errorf("depth %d batch %d: checkpoints save %d B, not less than remat's %d B", depth, batch, ckpt, remat)
			}
		}
	}
}
