package apitest

import (
	"slices"
	"sync"
	"testing"

	"github.com/bpgen/bpgen/generated/mlp"
)

// TestPredictorConcurrent serves one model's weights from 8 goroutines,
// each with its own Predictor, and checks every result against serial
// Predict bit for bit (run it with -race: the goroutines share the
// params), then that Predictor.Predict allocates nothing and sees the
// params change.
func TestPredictorConcurrent(t *testing.T) {
	// Batches up to 256: large enough that the GEMMs split across the
	// kernels' worker goroutines, which the Predictors share.
	m, err := mlp.New(mlp.Config{MaxN: 256, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.TrainStep(batch(8, 9)); err != nil { // not the initial weights
		t.Fatal(err)
	}
	const goroutines, calls = 8, 20
	var ins []mlp.Inputs
	var want [][]uint32
	for i := range calls {
		in := batch(1+(i*53)%256, uint64(100+i))
		in.Y = nil // inference needs no targets
		out, err := m.Predict(in)
		if err != nil {
			t.Fatal(err)
		}
		ins, want = append(ins, in), append(want, bits(out.Logits))
	}
	var wg sync.WaitGroup
	errs := make(chan string, goroutines*calls)
	for g := range goroutines {
		pr, err := m.NewPredictor()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range calls {
				i := (k + g) % calls // each goroutine in another order
				out, err := pr.Predict(ins[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				if !slices.Equal(bits(out.Logits), want[i]) {
					errs <- "a Predictor's logits differ from Predict's"
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	pr, err := m.NewPredictor()
	if err != nil {
		t.Fatal(err)
	}
	pr.Predict(ins[3]) // warm the kernels' workers up
	if a := testing.AllocsPerRun(20, func() { pr.Predict(ins[3]) }); a != 0 {
		t.Errorf("Predictor.Predict allocates %v times per call, want 0", a)
	}
	// It reads the model's params in place: a training step shows.
	if _, err := m.TrainStep(batch(8, 10)); err != nil {
		t.Fatal(err)
	}
	got, err := pr.Predict(ins[0])
	if err != nil {
		t.Fatal(err)
	}
	now, err := m.Predict(ins[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bits(got.Logits), bits(now.Logits)) || slices.Equal(bits(got.Logits), want[0]) {
		t.Error("after a training step, the Predictor does not give the model's new predictions")
	}
}
