// Command lenet trains LeNet-5 as in Dive into Deep Learning §7.6, with
// ReLU and max-pooling as its text suggests — conv 1→6 5×5 (padding 2),
// ReLU, 2×2 max-pool; conv 6→16 5×5, ReLU, 2×2 max-pool; flatten; dense
// 400→120→84→10 with ReLU — compiled by bpgen into generated/lenet
// (examples/models.LeNet), on the MNIST digits, with the data loading,
// progress bar and plots of examples/mnist. It trains with SGD, momentum
// 0.9 and a cosine learning-rate schedule, updating the model's
// ParamVector from its GradVector after Forward and Backward.
//
//	go run ./examples/lenet
//
// It prints the loss and test accuracy after each epoch, draws the curves
// to out/lenet_curves.png, saves the weights as safetensors, then reloads
// them into a fresh model for the final evaluation.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/examples/internal/progress"
	"github.com/bpgen/bpgen/generated/lenet"
	"github.com/bpgen/bpgen/runtime/data"
)

// options are the command's flags.
type options struct {
	epochs, batch int
	images        int // training images used (0: all 60000)
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
	seconds        []float64 // training time (without evaluation) at the end of each epoch
	reloaded       float64   // test accuracy of the model reloaded from the safetensors file
	weights, curve string    // files written
}

const pixels = 28 * 28

func main() {
	var o options
	flag.IntVar(&o.epochs, "epochs", 10, "passes over the training set")
	flag.IntVar(&o.batch, "batch", 128, "mini-batch size")
	flag.IntVar(&o.images, "images", 0, "train on the first `n` training images only (0: all)")
	flag.Float64Var(&o.lr, "lr", 0.05, "SGD learning rate at the start (annealed to 0 by a cosine)")
	flag.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights and the shuffling")
	flag.StringVar(&o.outDir, "out", here.Path("out"), "directory for the plot and the weights")
	flag.BoolVar(&o.quiet, "quiet", false, "no progress bar (there is none either when stderr is not a terminal)")
	flag.Parse()
	log.SetFlags(0)
	o.log = os.Stdout
	if _, err := train(o); err != nil {
		log.Fatalf("lenet: %v", err)
	}
}

func train(o options) (*result, error) {
	tr, te, dir, err := data.LoadMNISTSplits()
	if err != nil {
		return nil, err
	}
	trainX, trainY, nTrain := tr.Images, tr.Labels, tr.N
	testX, testY, nTest := te.Images, te.Labels, te.N
	if o.images > 0 && o.images < nTrain {
		nTrain = o.images
	}
	fmt.Fprintf(o.log, "MNIST: %d training and %d test images from %s\n", nTrain, nTest, dir)

	cfg := lenet.Config{MaxN: o.batch, Seed: o.seed}
	m, err := lenet.New(cfg)
	if err != nil {
		return nil, err
	}
	xb := make([]float32, o.batch*pixels)
	yb := make([]int32, o.batch)
	batches := data.NewBatcher(nTrain, o.batch, true, o.seed)
	sgd := newCosineSGD(m.ParamVector(), o.lr, o.momentum, o.epochs*batches.NumBatches())

	res := &result{}
	var lossPts, accPts plotter.XYs
	var trainTime time.Duration
	for epoch := 1; epoch <= o.epochs; epoch++ {
		bar := progress.NewBar(epoch, o.epochs, batches.NumBatches(), o.quiet)
		start := time.Now()
		sum, count := 0.0, 0
		for idx, ok := batches.Next(); ok; idx, ok = batches.Next() {
			n := len(idx)
			data.GatherRows(xb, trainX, pixels, idx) // [n,784] rows are [n,1,28,28] images
			data.GatherLabels(yb, trainY, idx)
			if _, err := m.Forward(lenet.Inputs{X: xb[:n*pixels], Y: yb[:n], N: n}); err != nil {
				return nil, err
			}
			if err := m.Backward(); err != nil {
				return nil, err
			}
			sgd.step(m.ParamVector(), m.GradVector())
			sum += float64(m.Outputs().Loss) * float64(n)
			count += n
			bar.Step()
		}
		trainTime += time.Since(start)
		batches.Reset()
		acc, err := accuracy(m, testX, testY, nTest, o.batch)
		if err != nil {
			return nil, err
		}
		loss := sum / float64(count)
		fmt.Fprintf(o.log, "epoch %2d  train loss %.4f  test accuracy %.2f%%  (training %.1fs)\n", epoch, loss, 100*acc, trainTime.Seconds())
		res.loss = append(res.loss, loss)
		res.accuracy = append(res.accuracy, acc)
		res.seconds = append(res.seconds, trainTime.Seconds())
		lossPts = append(lossPts, plotter.XY{X: float64(epoch), Y: loss})
		accPts = append(accPts, plotter.XY{X: float64(epoch), Y: acc})
	}

	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	res.weights = filepath.Join(o.outDir, "lenet.safetensors")
	if err := m.Save(res.weights); err != nil {
		return nil, fmt.Errorf("saving weights: %w", err)
	}
	fresh, err := lenet.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := fresh.Load(res.weights); err != nil {
		return nil, fmt.Errorf("reloading weights: %w", err)
	}
	if res.reloaded, err = accuracy(fresh, testX, testY, nTest, o.batch); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.log, "weights saved to %s; reloaded model's test accuracy: %.2f%%\n", res.weights, 100*res.reloaded)

	res.curve = filepath.Join(o.outDir, "lenet_curves.png")
	if err := progress.PlotCurves(res.curve, "LeNet-5 on MNIST (bpgen, D2L §7.6, ReLU and max-pooling)", lossPts, nil, accPts); err != nil {
		return nil, fmt.Errorf("plotting: %w", err)
	}
	fmt.Fprintf(o.log, "loss and accuracy curves written to %s\n", res.curve)
	return res, nil
}

// cosineSGD is SGD with momentum (PyTorch's: v = μ·v + g, p −= lr·v) whose
// learning rate follows a cosine from lr to 0 over steps steps (PyTorch's
// CosineAnnealingLR stepped per batch), applied to the model's ParamVector
// from its GradVector: the generated Apply has a fixed learning rate.
type cosineSGD struct {
	lr, momentum float64
	t, steps     int
	v            []float32
}

func newCosineSGD(params []float32, lr, momentum float64, steps int) *cosineSGD {
	return &cosineSGD{lr: lr, momentum: momentum, steps: steps, v: make([]float32, len(params))}
}

func (o *cosineSGD) step(params, grads []float32) {
	lr := float32(o.lr * 0.5 * (1 + math.Cos(math.Pi*float64(o.t)/float64(o.steps))))
	mu := float32(o.momentum)
	for i, g := range grads {
		o.v[i] = mu*o.v[i] + g
		params[i] -= lr * o.v[i]
	}
	o.t++
}

// accuracy is the fraction of test images whose largest logit is the label.
func accuracy(m *lenet.Model, xs []float32, ys []int32, n, batch int) (float64, error) {
	correct := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		out, err := m.Predict(lenet.Inputs{X: xs[lo*pixels : hi*pixels], N: hi - lo})
		if err != nil {
			return 0, err
		}
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
	return float64(correct) / float64(n), nil
}
