package main

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The example's stated bar: sorting 8 digits, ≥ 99% of the held-out
// sequences decoded without a mistake, within the default 3000 steps and
// 3 minutes on two cores (it takes some 500 steps and 20 s).
const (
	minAccuracy = 0.99
	maxTime     = 3 * time.Minute
)

// TestTransformer runs the example as the README's command does and
// checks the bar, for both tasks, and the files written.
func TestTransformer(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a transformer; skipped with -short")
	}
	for _, task := range []string{"sort", "reverse"} {
		out := t.TempDir()
		res, err := train(options{task: task, steps: 3000, batch: 64, evalEvery: 100, testSize: 1000, lr: 2e-3, target: minAccuracy, seed: 1, outDir: out, quiet: true, log: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		final := res.accuracy[len(res.accuracy)-1]
		t.Logf("%s: held-out sequence accuracy %.4f after %d steps in %v (by evaluation: %.3f)", task, final, res.steps, res.elapsed, res.accuracy)
		if final < minAccuracy || res.elapsed > maxTime {
			t.Errorf("%s: accuracy %.4f after %v, want ≥ %.2f within %v", task, final, res.elapsed, minAccuracy, maxTime)
		}
		for _, f := range []string{res.weights, res.curve} {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				t.Errorf("%s not written: %v", filepath.Base(f), err)
			}
		}
	}
}

// TestTasks checks the data: y is x sorted (or reversed), and the tokens
// after SEP are y shifted by one.
func TestTasks(t *testing.T) {
	x := []int32{3, 1, 4, 1, 5, 9, 2, 6}
	want := map[string][]int32{"sort": {1, 1, 2, 3, 4, 5, 6, 9}, "reverse": {6, 2, 9, 5, 1, 4, 1, 3}}
	for name, w := range want {
		y := make([]int32, L)
		tasks[name](y, x)
		for i := range y {
			if y[i] != w[i] {
				t.Fatalf("%s(%v) = %v, want %v", name, x, y, w)
			}
		}
	}
	tokens, labels := make([]int32, 2*S), make([]int32, 2*L)
	sample(tasks["reverse"], rand.New(rand.NewPCG(1, 2)), tokens, labels, 2)
	for i := range 2 {
		tk, y := tokens[i*S:][:S], labels[i*L:][:L]
		if tk[L] != sep {
			t.Errorf("sequence %d: token %d is %d, want SEP", i, L, tk[L])
		}
		for j := range L {
			if y[j] != tk[L-1-j] || j < L-1 && tk[L+1+j] != y[j] {
				t.Fatalf("sequence %d: tokens %v, labels %v", i, tk, y)
			}
		}
	}
}
