package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// minAccuracy is the bar for the D2L MLP on MNIST after 10 epochs.
const minAccuracy = 0.975

// TestMNIST runs the example as the README's first command does (10 epochs,
// seed 1) and checks the accuracy, the files it writes, and that the
// reloaded weights give the same accuracy.
func TestMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for 10 epochs on MNIST; skipped with -short")
	}
	out := t.TempDir()
	res, err := train(options{epochs: 10, batch: 128, lr: 0.1, momentum: 0.9, seed: 1, outDir: out, quiet: true, log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	final := res.accuracy[len(res.accuracy)-1]
	t.Logf("test accuracy by epoch: %.4f", res.accuracy)
	if final < minAccuracy {
		t.Errorf("test accuracy %.4f < %.4f", final, minAccuracy)
	}
	// The validation loss, from Evaluate, is finite, positive and falls
	// over the run (it may rise late, from overfitting: first and best are
	// compared).
	best := res.valLoss[0]
	for _, l := range res.valLoss {
		if !(l > 0 && l < 10) {
			t.Fatalf("validation losses %.4f: not all finite and positive", res.valLoss)
		}
		best = min(best, l)
	}
	if !(best < res.valLoss[0]) {
		t.Errorf("validation losses %.4f never fall below the first epoch's", res.valLoss)
	}
	if res.reloaded != final {
		t.Errorf("reloaded model's accuracy %.4f differs from the trained model's %.4f", res.reloaded, final)
	}
	for _, f := range []string{res.weights, res.curve} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", filepath.Base(f), err)
		}
	}
}

// TestMNISTDeterministic trains one epoch twice with the same seed and
// expects identical losses and accuracies.
func TestMNISTDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST; skipped with -short")
	}
	var runs [2]*result
	for i := range runs {
		res, err := train(options{epochs: 1, batch: 128, lr: 0.1, momentum: 0.9, seed: 7, outDir: t.TempDir(), quiet: true, log: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = res
	}
	if runs[0].loss[0] != runs[1].loss[0] || runs[0].accuracy[0] != runs[1].accuracy[0] {
		t.Errorf("same seed, different results: loss %v vs %v, accuracy %v vs %v", runs[0].loss, runs[1].loss, runs[0].accuracy, runs[1].accuracy)
	}
}
