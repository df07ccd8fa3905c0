package models

import "testing"

// TestLayerNames: names stay distinct and readable past nine layers
// (they were built from a single digit rune).
func TestLayerNames(t *testing.T) {
	for i, want := range map[int]string{1: "W1", 9: "W9", 10: "W10", 123: "W123"} {
		if got := layerName("W", i); got != want {
			t.Errorf("layerName(W, %d) = %q, want %q", i, got, want)
		}
	}
}
