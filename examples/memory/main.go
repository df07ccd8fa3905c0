// Command memory puts a number on a point of Dive into Deep Learning §4.7:
// training keeps the forward pass's intermediates for the backward pass, so
// the memory grows with depth × batch. For ReLU MLPs of width 512 it prints
// the bytes the forward pass saves for the backward pass — as bpgen's
// compiler plans them — by default (one activation per layer: ReLU's
// backward reads its output, which the next weight gradient needs anyway),
// with checkpoints on every other layer (dsl's Tensor.Checkpoint), and
// under a memory budget of a quarter of the default (passes.Options'
// MemoryBudget, bpgen -budget), and draws them against depth.
//
//	go run ./examples/memory
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/passes"
)

const width = 512

// mlp returns a model with depth hidden ReLU layers; with checkpoints, the
// output of every other layer is marked to be saved.
func mlp(depth int, checkpoints bool) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, width)
		y := g.Labels("y", n)
		h := x
		for i := 1; i <= depth; i++ {
			W := g.Param("W"+strconv.Itoa(i), width, width, dsl.HeNormal())
			b := g.Param("b"+strconv.Itoa(i), width)
			h = dsl.ReLU(h.MatMul(W).Add(b)).Named("h" + strconv.Itoa(i))
			if checkpoints && i%2 == 0 {
				h.Checkpoint()
			}
		}
		W := g.Param("Wout", width, 10)
		o := h.MatMul(W).Named("o")
		g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean())
	}
}

// saved is the bytes the forward pass keeps for the backward pass alone.
func saved(depth, batch int, mode string) int64 {
	g, err := dsl.Build("memory.MLP", mlp(depth, mode == "checkpoint"))
	if err != nil {
		log.Fatal(err)
	}
	opts := passes.Options{Capacity: map[string]int{"n": batch}}
	if mode == "budget" {
		opts.MemoryBudget = saved(depth, batch, "default") / 4
	}
	p, err := passes.CompileProgram(g, opts)
	if err != nil {
		log.Fatal(err)
	}
	return p.Report.Program.Residuals.Saved.Eval(map[string]int{"n": batch})
}

func mib(b int64) string { return fmt.Sprintf("%.2f", float64(b)/(1<<20)) }

func main() {
	out := flag.String("out", here.Path("memory.png"), "the plot to write")
	flag.Parse()
	log.SetFlags(0)

	depths := []int{1, 2, 4, 8, 16}
	batches := []int{32, 128, 512}
	modes := []string{"default", "checkpoint", "budget"}
	tw := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "depth\tbatch\tdefault (MiB)\tcheckpoints (MiB)\tbudget ¼ (MiB)\t")
	curves := map[string]plotter.XYs{}
	for _, batch := range batches {
		for _, d := range depths {
			row := []any{d, batch}
			for _, m := range modes {
				b := saved(d, batch, m)
				row = append(row, mib(b))
				if batch == 128 {
					curves[m] = append(curves[m], plotter.XY{X: float64(d), Y: float64(b) / (1 << 20)})
				}
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t\n", row...)
		}
	}
	tw.Flush()
	fmt.Println("\nSaved bytes grow linearly in depth and in batch: width·batch·4 B per stored value per layer.")
	fmt.Println("By default each layer keeps h = relu(z) only (the ReLU mask is read from h, which dW needs anyway);")
	fmt.Println("checkpoints keep every other h and recompute the rest in the backward pass; a memory budget")
	fmt.Println("recomputes whole layers, largest saving first, until the rest fits.")

	p := plot.New()
	p.Title.Text = "Saved for the backward pass, width 512, batch 128"
	p.X.Label.Text = "hidden layers"
	p.Y.Label.Text = "MiB"
	if err := plotutil.AddLinePoints(p, "default", curves["default"], "checkpoints", curves["checkpoint"], "budget: ¼ of default", curves["budget"]); err != nil {
		log.Fatal(err)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	if err := p.Save(6*vg.Inch, 4*vg.Inch, *out); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out)
}
