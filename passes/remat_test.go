package passes

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// TestRematText runs the text tests in testdata/remat: the input joint
// graph, the graph Remat makes of it and its report. The archive comment
// may set options: "checkpoint: a b", "budget: BYTES", "capacity: n=4".
func TestRematText(t *testing.T) {
	runTxtar(t, "remat", "output", func(t *testing.T, g *ir.Graph, comment string) string {
		opts := RematOptions{Capacity: map[string]int{}}
		for _, line := range strings.Split(comment, "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch k {
			case "checkpoint":
				opts.Checkpoint = strings.Fields(v)
			case "budget":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				opts.MemoryBudget = n
			case "capacity":
				for _, kv := range strings.Fields(v) {
					d, x, _ := strings.Cut(kv, "=")
					n, err := strconv.Atoi(x)
					if err != nil {
						t.Fatal(err)
					}
					opts.Capacity[d] = n
				}
			}
		}
		before := g.Clone()
		rep, err := Remat(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := ir.Verify(g); err != nil {
			t.Fatal(err)
		}
		checkSameSemantics(t, before, g, map[string]int{"n": 3}, 1)
		return ir.Print(g) + rep.String()
	})
}

// TestRematModels checks Remat on every test model after Simplify: the
// residual bytes never grow and the semantics are kept.
func TestRematModels(t *testing.T) {
	for _, m := range optModels {
		t.Run(m.name, func(t *testing.T) {
			joint, _, err := Grad(buildModel(t, m.name, m.fn), GradOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Simplify(joint); err != nil {
				t.Fatal(err)
			}
			g := joint.Clone()
			rep, err := Remat(g, RematOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			if b, a := rep.Before.Bytes.Eval(nil), rep.After.Bytes.Eval(nil); a > b {
				t.Errorf("remat grew the residuals from %d to %d B:\n%s", b, a, rep)
			}
			checkSameSemantics(t, joint, g, map[string]int{"n": 3}, 5)
		})
	}
}

// TestRematNeverRecomputesDropout checks a dropout mask is saved, not
// drawn again, even when every residual may be recomputed.
func TestRematNeverRecomputesDropout(t *testing.T) {
	joint, _, err := Grad(buildModel(t, "Dropout", dropoutModel), GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := joint.Clone()
	if _, err := Remat(g, RematOptions{MemoryBudget: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := countOps(g, ir.OpDropoutMask), countOps(joint, ir.OpDropoutMask); got != want {
		t.Errorf("%d dropout masks after remat, want %d:\n%s", got, want, g)
	}
	checkSameSemantics(t, joint, g, map[string]int{"n": 3}, 5)
}
