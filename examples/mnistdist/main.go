// Command mnistdist trains the MLP of examples/mnist (generated/mlp) on
// MNIST data-parallel: every rank (process) holds the whole model, takes
// its share of each global batch, and the gradients are averaged over the
// ranks by an all-reduce between Backward and Apply (runtime/dist, on Open
// MPI). On one machine, with two ranks:
//
//	go build -tags mpi -o mnistdist ./examples/mnistdist
//	mpirun -np 2 ./mnistdist
//
// Without mpirun (or built without -tags mpi) it trains in one process,
// the same algorithm with one rank. Rank 0 prints the loss (averaged over
// all ranks) and the test accuracy after each epoch and saves the weights.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/generated/mlp"
	"github.com/bpgen/bpgen/runtime/data"
	"github.com/bpgen/bpgen/runtime/dist"
)

// options are the command's flags.
type options struct {
	epochs, batch, maxSteps int
	lr, momentum            float64
	seed                    uint64
	outDir                  string
	log                     io.Writer // rank 0's; the other ranks are quiet
}

// result is what a training run ends with, on every rank.
type result struct {
	rank, size int
	steps      int       // optimizer steps taken
	loss       []float64 // mean training loss of each epoch over all ranks
	accuracy   []float64 // test accuracy after each epoch
	weights    string    // the file rank 0 saved
	params     []float32 // the final parameters (ParamVector)
}

func main() {
	var o options
	flag.IntVar(&o.epochs, "epochs", 10, "passes over the training set")
	flag.IntVar(&o.batch, "batch", 128, "global mini-batch size: each of the p ranks trains on batch/p examples of it")
	flag.IntVar(&o.maxSteps, "max-steps", 0, "stop after this many optimizer steps (0: no limit)")
	flag.Float64Var(&o.lr, "lr", 0.1, "SGD learning rate")
	flag.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights (rank 0's are broadcast) and the shuffling")
	flag.StringVar(&o.outDir, "out", here.Path("out"), "directory for the weights (rank 0)")
	flag.Parse()
	log.SetFlags(0)
	comm, err := dist.Open()
	if err != nil {
		log.Fatalf("mnistdist: %v", err)
	}
	o.log = io.Discard
	if comm.Rank() == 0 {
		o.log = os.Stdout
	}
	if _, err := train(comm, o); err != nil {
		log.Fatalf("mnistdist: rank %d: %v", comm.Rank(), err)
	}
	if err := comm.Close(); err != nil {
		log.Fatalf("mnistdist: %v", err)
	}
}

func train(comm dist.Comm, o options) (*result, error) {
	p, rank := comm.Size(), comm.Rank()
	if o.batch%p != 0 {
		return nil, fmt.Errorf("the global batch %d is not a multiple of the %d ranks: each rank must get an equal share", o.batch, p)
	}
	share := o.batch / p
	tr, te, _, err := data.LoadMNISTSplits()
	if err != nil {
		return nil, err
	}
	trainX, trainY, nTrain := tr.Images, tr.Labels, tr.N
	testX, testY, nTest := te.Images, te.Labels, te.N
	fmt.Fprintf(o.log, "MNIST: %d training and %d test images; %d rank(s), global batch %d, %d per rank\n", nTrain, nTest, p, o.batch, share)

	opt := mlp.Optimizer{Kind: "sgd", LR: o.lr, Momentum: o.momentum}
	m, err := mlp.New(mlp.Config{MaxN: share, Seed: o.seed, Optimizer: opt})
	if err != nil {
		return nil, err
	}
	var specs []dist.ParamSpec
	for _, t := range m.Tensors() {
		specs = append(specs, dist.ParamSpec{Name: t.Name, Shape: t.Shape})
	}
	// Every rank must run this model with this optimizer (checked), and
	// starts from rank 0's parameters (broadcast).
	dp, err := dist.NewDataParallel(comm, m.ParamVector(), m.GradVector(), specs, mlp.Source+" "+fmt.Sprint(opt))
	if err != nil {
		return nil, err
	}

	// Every rank draws the same permutation (same seed) and takes its
	// share of each global batch; DropLast keeps every share full.
	batches := data.NewBatcher(nTrain, o.batch, true, o.seed)
	batches.DropLast = true
	xb := make([]float32, share*784)
	yb := make([]int32, share)
	res := &result{rank: rank, size: p}
	lossSum := make([]float64, 2) // Σ loss·n and Σ n over the epoch, then over the ranks
	start := time.Now()
	for epoch := 1; epoch <= o.epochs; epoch++ {
		clear(lossSum)
		for idx, ok := batches.Next(); ok; idx, ok = batches.Next() {
			if o.maxSteps > 0 && res.steps == o.maxSteps {
				break
			}
			mine := idx[rank*share : (rank+1)*share]
			data.GatherRows(xb, trainX, 784, mine)
			data.GatherLabels(yb, trainY, mine)
			if _, err := m.Forward(mlp.Inputs{X: xb, Y: yb, N: share}); err != nil {
				return nil, err
			}
			if err := m.Backward(); err != nil {
				return nil, err
			}
			if err := dp.AllReduceGrads(); err != nil { // mean over the ranks
				return nil, err
			}
			if err := m.Apply(); err != nil {
				return nil, err
			}
			res.steps++
			lossSum[0] += float64(m.Outputs().Loss) * float64(share)
			lossSum[1] += float64(share)
		}
		batches.Reset()
		if err := dist.AllReduceSum(comm, lossSum); err != nil {
			return nil, err
		}
		if err := dp.InSync(); err != nil { // the ranks' weights are bit-identical
			return nil, err
		}
		acc, err := accuracy(m, testX, testY, nTest, share)
		if err != nil {
			return nil, err
		}
		loss := lossSum[0] / max(lossSum[1], 1)
		fmt.Fprintf(o.log, "epoch %2d  train loss %.4f  test accuracy %.2f%%  (%d steps, %.1fs)\n", epoch, loss, 100*acc, res.steps, time.Since(start).Seconds())
		res.loss = append(res.loss, loss)
		res.accuracy = append(res.accuracy, acc)
		if o.maxSteps > 0 && res.steps == o.maxSteps {
			break
		}
	}
	res.params = m.ParamVector()
	if rank == 0 {
		if err := os.MkdirAll(o.outDir, 0o755); err != nil {
			return nil, err
		}
		res.weights = filepath.Join(o.outDir, "mlp.safetensors")
		if err := m.Save(res.weights); err != nil {
			return nil, fmt.Errorf("saving weights: %w", err)
		}
		fmt.Fprintf(o.log, "weights saved to %s\n", res.weights)
	}
	return res, nil
}

// accuracy is the fraction of test images whose largest logit is the label.
func accuracy(m *mlp.Model, xs []float32, ys []int32, n, batch int) (float64, error) {
	correct := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		out, err := m.Predict(mlp.Inputs{X: xs[lo*784 : hi*784], N: hi - lo})
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
