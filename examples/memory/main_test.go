package main

import "testing"

// TestSavedBytes checks the example's claims exactly: by default each
// hidden layer saves h alone (width·batch·4 B), the rest (the output
// layer's softmax input) does not depend on depth; checkpoints save less
// than the default, and a budget of a quarter of the default is met.
func TestSavedBytes(t *testing.T) {
	for _, batch := range []int{32, 128} {
		perValue := int64(width * batch * 4) // one hidden value of the batch
		rest := saved(1, batch, "default") - perValue
		for _, depth := range []int{1, 2, 4, 8} {
			d := int64(depth)
			def := saved(depth, batch, "default")
			if want := d*perValue + rest; def != want {
				t.Errorf("depth %d batch %d: saves %d B, want %d·%d + %d = %d", depth, batch, def, depth, perValue, rest, want)
			}
			if ckpt := saved(depth, batch, "checkpoint"); depth >= 2 && ckpt >= def {
				t.Errorf("depth %d batch %d: checkpoints save %d B, not less than the default %d B", depth, batch, ckpt, def)
			}
			if b := saved(depth, batch, "budget"); depth >= 4 && b > def/4 {
				t.Errorf("depth %d batch %d: under a budget of %d B, %d B are saved", depth, batch, def/4, b)
			}
		}
	}
}
