package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// minAccuracy is the bar for LeNet-5 on MNIST.
const minAccuracy = 0.988

// TestLeNet runs the example as the README's command does (10 epochs,
// seed 1) and checks the accuracy, the files it writes, and that the
// reloaded weights give the same accuracy.
func TestLeNet(t *testing.T) {
	if testing.Short() {
		t.Skip("trains LeNet for 10 epochs on MNIST; skipped with -short")
	}
	out := t.TempDir()
	res, err := train(options{epochs: 10, batch: 128, lr: 0.05, momentum: 0.9, seed: 1, outDir: out, quiet: true, log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	final := res.accuracy[len(res.accuracy)-1]
	t.Logf("test accuracy by epoch: %.4f; training time %.1fs", res.accuracy, res.seconds[len(res.seconds)-1])
	if final < minAccuracy {
		t.Errorf("test accuracy %.4f < %.4f", final, minAccuracy)
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

// TestLeNetDeterministic trains on a few batches twice with the same seed
// and expects identical losses and accuracies.
func TestLeNetDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST; skipped with -short")
	}
	var runs [2]*result
	for i := range runs {
		res, err := train(options{epochs: 1, batch: 128, images: 2048, lr: 0.05, momentum: 0.9, seed: 7, outDir: t.TempDir(), quiet: true, log: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = res
	}
	if runs[0].loss[0] != runs[1].loss[0] || runs[0].accuracy[0] != runs[1].accuracy[0] {
		t.Errorf("same seed, different results: loss %v vs %v, accuracy %v vs %v", runs[0].loss, runs[1].loss, runs[0].accuracy, runs[1].accuracy)
	}
}
