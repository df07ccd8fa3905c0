package passes

import (
	"slices"
	"testing"

	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
)

func labels(vs []*ir.Value) []string {
	var r []string
	for _, v := range vs {
		r = append(r, v.Label())
	}
	return r
}

// TestPartitionMLP checks the three programs of the MLP's optimized joint
// graph: the residuals are h and the logits, the backward pass recomputes
// nothing of the forward pass, and predict never touches the labels.
func TestPartitionMLP(t *testing.T) {
	p, err := CompileProgram(buildModel(t, "MLP", models.MLP), Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := p.Graph
	part := PartitionGraph(g)
	if got, want := labels(part.Residuals), []string{"h", "o"}; !slices.Equal(got, want) {
		t.Errorf("residuals %v, want %v", got, want)
	}
	for _, v := range g.Values {
		if part.Forward[v.ID] && part.Backward[v.ID] {
			t.Errorf("%s is in both forward and backward", v)
		}
		if part.Predict[v.ID] && !part.Forward[v.ID] {
			t.Errorf("%s is in predict but not forward", v)
		}
		if part.Predict[v.ID] && v.Op == ir.OpInput && v.Attrs.Bool("target") {
			t.Errorf("predict reads the target %s", v.Name)
		}
	}
	for _, o := range g.Outputs {
		switch {
		case o.Grad != "" && !part.Backward[o.Value.ID] && !part.Forward[o.Value.ID]:
			t.Errorf("gradient %s is computed by no program", o.Name)
		case o.Name == "logits" && !part.Predict[o.Value.ID]:
			t.Errorf("predict does not compute the logits")
		case o.Name == "loss" && part.Predict[o.Value.ID]:
			t.Errorf("predict computes the loss, which needs the labels")
		}
	}
	st := residualStats(g, part)
	if got, want := st.Bytes.String(), "1064·n"; got != want { // h: 256·n f32, o: 10·n f32
		t.Errorf("residual bytes %s, want %s", got, want)
	}
	if got, want := st.Saved.String(), "1024·n"; got != want { // o is an output
		t.Errorf("saved bytes %s, want %s", got, want)
	}
}

// TestPartitionDropout checks predict runs with dropout off: its outputs
// equal the training step's with Training false, and the mask is saved
// for the backward pass, not drawn again.
func TestPartitionDropout(t *testing.T) {
	g := buildModel(t, "Dropout", dropoutModel)
	p, err := CompileProgram(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	masks := 0
	for _, r := range p.Residuals {
		if r.Op == ir.OpDropoutMask {
			masks++
		}
	}
	if masks != 2 {
		t.Errorf("%d dropout masks among the residuals %v, want both of the model's", masks, labels(p.Residuals))
	}
	for _, k := range p.Backward {
		for _, v := range k.Values {
			if v.Op == ir.OpDropoutMask {
				t.Errorf("the backward pass draws a dropout mask: %s", v)
			}
		}
	}
	ref, _, err := Grad(g, GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkProgram(t, ref, p, map[string]int{"n": 3}, 4)
	t.Logf("residuals: %v (%d masks)", labels(p.Residuals), masks)
}
