// Command custom shows a model using a function bpgen cannot see into: the
// "third-party" GELU of package thirdparty (exact, with math.Erf), used as an
// extern op with its own Go backward. bpgen's generated package
// (generated/gelunet) calls thirdparty.GELU in the forward pass and
// thirdparty.GELUVJP in the backward pass, directly.
//
//	go run ./examples/custom
//
// It first checks the hand-written backward against finite differences
// (runtime/gradcheck), then trains the network on MNIST for a few epochs.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/bpgen/bpgen/examples/custom/thirdparty"
	"github.com/bpgen/bpgen/generated/gelunet"
	"github.com/bpgen/bpgen/runtime/data"
	"github.com/bpgen/bpgen/runtime/gradcheck"
)

// maxRelErr is the bound for the custom backward against central
// differences: float64 central differences with step 1e-6 are accurate to
// about 1e-9 relative for a smooth function like GELU.
const maxRelErr = 1e-6

func main() {
	epochs := flag.Int("epochs", 2, "passes over the training set")
	batch := flag.Int("batch", 128, "mini-batch size")
	flag.Parse()
	log.SetFlags(0)

	// 1. Is the third-party backward right?
	rep, err := checkBackward(thirdparty.GELUVJP[float64])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print("thirdparty.GELUVJP against central differences:\n", rep)
	if err := rep.Err(maxRelErr); err != nil {
		log.Fatal(err)
	}
	train(*epochs, *batch)
}

// checkBackward compares a GELU backward (thirdparty.GELUVJP) with central
// differences of thirdparty.GELU at 50 points in [-2, 2).
func checkBackward(vjp func(grad []float64, arg int, gout []float64, args ...[]float64)) (gradcheck.Report, error) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 50)
	for i := range x {
		x[i] = 4*r.Float64() - 2
	}
	return gradcheck.Check(gradcheck.Func{
		Inputs: []gradcheck.Input{{Name: "x", Shape: []int{len(x)}, Value: x}},
		Eval: func(in [][]float64) []float64 {
			out := make([]float64, len(in[0]))
			thirdparty.GELU(out, in[0])
			return out
		},
		VJP: func(in [][]float64, u []float64) [][]float64 {
			g := make([]float64, len(in[0]))
			vjp(g, 0, u, in[0])
			return [][]float64{g}
		},
	}, gradcheck.Options{})
}

// train fits the network that uses the third-party GELU.
func train(epochs, batch int) {
	tr, te, _, err := data.LoadMNISTSplits()
	if err != nil {
		log.Fatal(err)
	}
	trainX, trainY, nTrain := tr.Images, tr.Labels, tr.N
	testX, testY, nTest := te.Images, te.Labels, te.N
	m, err := gelunet.New(gelunet.Config{MaxN: batch, Seed: 1, Optimizer: gelunet.Optimizer{Kind: "adam", LR: 1e-3}})
	if err != nil {
		log.Fatal(err)
	}
	xb, yb := make([]float32, batch*784), make([]int32, batch)
	batches := data.NewBatcher(nTrain, batch, true, 1)
	for epoch := 1; epoch <= epochs; epoch++ {
		sum := 0.0
		for idx, ok := batches.Next(); ok; idx, ok = batches.Next() {
			n := len(idx)
			data.GatherRows(xb, trainX, 784, idx)
			data.GatherLabels(yb, trainY, idx)
			loss, err := m.TrainStep(gelunet.Inputs{X: xb[:n*784], Y: yb[:n], N: n})
			if err != nil {
				log.Fatal(err)
			}
			sum += float64(loss) * float64(n)
		}
		batches.Reset()
		correct := 0
		for lo := 0; lo < nTest; lo += batch {
			hi := min(lo+batch, nTest)
			out, err := m.Predict(gelunet.Inputs{X: testX[lo*784 : hi*784], N: hi - lo})
			if err != nil {
				log.Fatal(err)
			}
			for i := range hi - lo {
				row, best := out.Logits[i*10:i*10+10], 0
				for j := range row {
					if row[j] > row[best] {
						best = j
					}
				}
				if int32(best) == testY[lo+i] {
					correct++
				}
			}
		}
		fmt.Printf("epoch %d  train loss %.4f  test accuracy %.2f%%\n", epoch, sum/float64(nTrain), 100*float64(correct)/float64(nTest))
	}
}
