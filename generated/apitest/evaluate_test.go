package apitest

import (
	"slices"
	"testing"

	"github.com/bpgen/bpgen/generated/mlp"
)

// TestEvaluate checks that Evaluate computes the target-dependent outputs
// (the loss) that Predict leaves zero, equal to those of Forward (mlp has
// no dropout), and that an Evaluate between Forward and Backward changes
// neither Outputs, nor the gradients, nor the params.
func TestEvaluate(t *testing.T) {
	m, ref := newMLP(t, 1), newMLP(t, 1)
	train, val := batch(8, 1), batch(5, 2)
	if _, err := m.Forward(train); err != nil {
		t.Fatal(err)
	}
	ev, err := m.Evaluate(val)
	if err != nil {
		t.Fatal(err)
	}
	evLoss, evLogits := ev.Loss, slices.Clone(ev.Logits)
	if err := m.Backward(); err != nil {
		t.Fatalf("Backward after Evaluate: %v", err)
	}
	if _, err := ref.Forward(train); err != nil {
		t.Fatal(err)
	}
	if err := ref.Backward(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bits(m.GradVector()), bits(ref.GradVector())) || m.Outputs().Loss != ref.Outputs().Loss {
		t.Error("Evaluate between Forward and Backward changed the gradients or Outputs")
	}
	// Evaluate's loss is Forward's on the same batch.
	if _, err := ref.Forward(val); err != nil {
		t.Fatal(err)
	}
	if evLoss == 0 || evLoss != ref.Outputs().Loss || !slices.Equal(evLogits, ref.Outputs().Logits) {
		t.Errorf("Evaluate's loss %v, Forward's %v (or the logits differ)", evLoss, ref.Outputs().Loss)
	}
	pred, err := m.Predict(mlp.Inputs{N: val.N, X: val.X})
	if err != nil {
		t.Fatal(err)
	}
	if pred.Loss != 0 || !slices.Equal(pred.Logits, evLogits) {
		t.Errorf("Predict: loss %v (want 0), logits equal to Evaluate's: %v", pred.Loss, slices.Equal(pred.Logits, evLogits))
	}
	// It needs the targets.
	if _, err := m.Evaluate(mlp.Inputs{N: val.N, X: val.X}); err == nil {
		t.Error("Evaluate without targets: no error")
	}
	if a := testing.AllocsPerRun(10, func() { m.Evaluate(val) }); a != 0 {
		t.Errorf("Evaluate allocates %v times per call, want 0", a)
	}
}
