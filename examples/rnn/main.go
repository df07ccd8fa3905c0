// Command rnn trains the recurrent network of Dive into Deep Learning
// §9.4–9.5 (models.RNN, generated into generated/rnn) to predict a noisy
// quasi-periodic sequence one step ahead, with truncated backprop through
// time: each training window of T steps starts from the hidden state the
// previous window ended in, and gradients stop at the window's start. The
// loop over the window is a dsl.Scan, so the generated code is one Go for
// loop, whatever T.
//
//	go run ./examples/rnn
//
// It prints the training and test mean squared errors by epoch, next to
// the error of predicting that the sequence stays where it is, and draws
// them to rnn.png.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/generated/rnn"
)

const (
	streams  = 16   // sequences trained side by side (the batch)
	length   = 1200 // steps of each sequence
	trainLen = 1000 // the first trainLen steps train, the rest test
)

// series returns streams sequences x_t = sin(0.07t + φ) + 0.5·sin(0.19t +
// ψ) + noise, with random phases.
func series(seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	s := make([][]float32, streams)
	for j := range s {
		phi, psi := 2*math.Pi*r.Float64(), 2*math.Pi*r.Float64()
		s[j] = make([]float32, length)
		for t := range s[j] {
			tt := float64(t)
			s[j][t] = float32(math.Sin(0.07*tt+phi) + 0.5*math.Sin(0.19*tt+psi) + 0.05*r.NormFloat64())
		}
	}
	return s
}

// window fills the inputs of steps [from, from+T) of every stream: xs[t]
// the values, next[t] the values one step later.
func window(s [][]float32, from, T int, xs, next []float32) {
	for t := range T {
		for j := range s {
			xs[t*streams+j] = s[j][from+t]
			next[t*streams+j] = s[j][from+t+1]
		}
	}
}

// result is the mean squared errors of one epoch.
type result struct{ train, test float64 }

// train runs epochs over the training steps in windows of T and returns
// each epoch's errors and the error of the "no change" prediction on the
// test steps.
func train(epochs, T int, lr float64) ([]result, float64, error) {
	s := series(1)
	m, err := rnn.New(rnn.Config{MaxT: T, MaxN: streams, Seed: 1, Optimizer: rnn.Optimizer{Kind: "adam", LR: lr}})
	if err != nil {
		return nil, 0, err
	}
	xs, next := make([]float32, T*streams), make([]float32, T*streams)
	h := make([]float32, streams*models.RNNHidden)
	var res []result
	for range epochs {
		clear(h)
		var sum float64
		var windows int
		for from := 0; from+T < trainLen; from += T {
			window(s, from, T, xs, next)
			loss, err := m.TrainStep(rnn.Inputs{Xs: xs, H0: h, Next: next, T: T, N: streams})
			if err != nil {
				return nil, 0, err
			}
			copy(h, m.Outputs().H) // truncated BPTT: the state carries on, its gradient does not
			sum += float64(loss)
			windows++
		}
		// Test: continue from the state the training steps end in.
		var test float64
		var tests int
		from := windows * T
		for ; from+T < length; from += T {
			window(s, from, T, xs, next)
			out, err := m.Evaluate(rnn.Inputs{Xs: xs, H0: h, Next: next, T: T, N: streams})
			if err != nil {
				return nil, 0, err
			}
			copy(h, out.H)
			if from >= trainLen {
				test += float64(out.Loss)
				tests++
			}
		}
		res = append(res, result{sum / float64(windows), test / float64(tests)})
	}
	// The "no change" baseline on the test steps: predict x_{t+1} = x_t.
	var base float64
	var n int
	for j := range s {
		for t := trainLen; t+1 < length; t++ {
			d := float64(s[j][t+1] - s[j][t])
			base += d * d
			n++
		}
	}
	return res, base / float64(n), nil
}

func main() {
	epochs := flag.Int("epochs", 30, "passes over the training steps")
	T := flag.Int("T", 25, "window length (steps of truncated backprop through time)")
	lr := flag.Float64("lr", 0.01, "Adam's learning rate")
	out := flag.String("out", here.Path("rnn.png"), "the plot to write")
	flag.Parse()
	log.SetFlags(0)
	res, base, err := train(*epochs, *T, *lr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("one-step-ahead mean squared error; predicting no change: %.4f on the test steps\n", base)
	fmt.Println("epoch  train    test")
	var tr, te plotter.XYs
	for i, r := range res {
		fmt.Printf("%5d  %.4f  %.4f\n", i+1, r.train, r.test)
		tr = append(tr, plotter.XY{X: float64(i + 1), Y: r.train})
		te = append(te, plotter.XY{X: float64(i + 1), Y: r.test})
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("RNN (hidden %d) with scan, truncated BPTT over %d steps", models.RNNHidden, *T)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "mean squared error"
	bl := plotter.XYs{{X: 1, Y: base}, {X: float64(len(res)), Y: base}}
	if err := plotutil.AddLines(p, "train", tr, "test", te, "test, predicting no change", bl); err != nil {
		log.Fatal(err)
	}
	p.Legend.Top = true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	p.Add(plotter.NewGrid())
	if err := p.Save(6*vg.Inch, 4*vg.Inch, *out); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out)
}
