package main

import "testing"

// TestLearns: a few epochs of truncated BPTT through the generated scan
// beat predicting no change on the test steps by a wide margin, and
// training lowers the training error.
func TestLearns(t *testing.T) {
	res, base, err := train(5, 25, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	last := res[len(res)-1]
	if !(last.test < 0.75*base) {
		t.Errorf("test error %.4f after 5 epochs, predicting no change %.4f", last.test, base)
	}
	if !(last.train < res[0].train/2) {
		t.Errorf("training error %.4f after 5 epochs, %.4f after the first", last.train, res[0].train)
	}
}
