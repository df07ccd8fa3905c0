// Command transformer trains a small decoder-only transformer — token and
// learned positional embeddings, two pre-LN blocks of causal multi-head
// self-attention and a ReLU MLP with residual connections, compiled by
// bpgen from examples/models.Transformer into generated/transformer — to
// sort sequences of 8 random digits (or, with -task reverse, to reverse
// them), a task it generates itself.
//
//	go run ./examples/transformer
//	go run ./examples/transformer -task reverse
//
// Each training step draws a fresh batch of random sequences; every
// evaluation decodes a fixed held-out set greedily (the model sees only
// the digits and its own earlier predictions) and reports the fraction of
// sequences reversed without a mistake. Training stops when that reaches
// -target (default 99%) or after -steps steps. It prints progress, draws
// the curves to out/transformer_curves.png and saves the weights as
// safetensors.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/bpgen/bpgen/examples/internal/here"
	"github.com/bpgen/bpgen/examples/internal/progress"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/generated/transformer"
)

const (
	L   = models.DigitsLen
	S   = models.DigitsSeq
	sep = models.DigitsSep
)

// tasks are the outputs y the model learns to compute from the digits x.
var tasks = map[string]func(y, x []int32){
	"sort": func(y, x []int32) { copy(y, x); slices.Sort(y) },
	"reverse": func(y, x []int32) {
		for j := range x {
			y[j] = x[len(x)-1-j]
		}
	},
}

// options are the command's flags.
type options struct {
	task                              string
	steps, batch, evalEvery, testSize int
	lr, target                        float64
	seed                              uint64
	outDir                            string
	quiet                             bool
	log                               io.Writer
}

// result is what a training run ends with.
type result struct {
	steps    int       // steps trained
	accuracy []float64 // held-out sequence accuracy at each evaluation
	loss     []float64 // mean training loss since the previous evaluation
	elapsed  time.Duration
	weights  string // files written
	curve    string
}

func main() {
	var o options
	flag.StringVar(&o.task, "task", "sort", "what to learn: sort or reverse the digits")
	flag.IntVar(&o.steps, "steps", 3000, "the most training steps")
	flag.IntVar(&o.batch, "batch", 64, "sequences per step")
	flag.IntVar(&o.evalEvery, "eval", 100, "steps between evaluations")
	flag.IntVar(&o.testSize, "test", 1000, "held-out sequences")
	flag.Float64Var(&o.lr, "lr", 2e-3, "Adam learning rate")
	flag.Float64Var(&o.target, "target", 0.99, "stop when the held-out sequence accuracy reaches this")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights and the data")
	flag.StringVar(&o.outDir, "out", here.Path("out"), "directory for the plot and the weights")
	flag.BoolVar(&o.quiet, "quiet", false, "no progress bar (there is none either when stderr is not a terminal)")
	flag.Parse()
	log.SetFlags(0)
	o.log = os.Stdout
	if _, err := train(o); err != nil {
		log.Fatalf("transformer: %v", err)
	}
}

// sample writes n random digit sequences as model inputs: tokens
// (x₁…x_L, SEP, y₁…y_{L−1}, with y = task(x)) and labels y₁…y_L.
func sample(task func(y, x []int32), r *rand.Rand, tokens, labels []int32, n int) {
	for i := range n {
		t, y := tokens[i*S:][:S], labels[i*L:][:L]
		for j := range L {
			t[j] = int32(r.IntN(10))
		}
		t[L] = sep
		task(y, t[:L])
		copy(t[L+1:], y[:L-1])
	}
}

func train(o options) (*result, error) {
	task := tasks[o.task]
	if task == nil {
		return nil, fmt.Errorf("unknown task %q (want sort or reverse)", o.task)
	}
	cfg := transformer.Config{MaxN: max(o.batch, o.testSize), Seed: o.seed, Optimizer: transformer.Optimizer{Kind: "adam", LR: o.lr}}
	m, err := transformer.New(cfg)
	if err != nil {
		return nil, err
	}
	mask := make([]float32, S*S)
	for i, v := range models.CausalMask(S) {
		mask[i] = float32(v)
	}
	// The held-out set and the training stream come from different
	// generators (one in 10⁸ training sequences repeats a given test one).
	test := rand.New(rand.NewPCG(o.seed, 1))
	testTokens, testLabels := make([]int32, o.testSize*S), make([]int32, o.testSize*L)
	sample(task, test, testTokens, testLabels, o.testSize)
	r := rand.New(rand.NewPCG(o.seed, 2))
	tokens, labels := make([]int32, o.batch*S), make([]int32, o.batch*L)
	fmt.Fprintf(o.log, "task: %s %d digits; %d params, batch %d, Adam lr %g; held out: %d sequences, decoded greedily\n",
		o.task, L, len(m.ParamVector()), o.batch, o.lr, o.testSize)

	var bar *progressbar.ProgressBar
	if !o.quiet && progress.IsTerminal(os.Stderr) {
		bar = progressbar.NewOptions(o.steps, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetDescription("training"), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
	}
	res := &result{}
	var lossPts, errPts plotter.XYs
	start := time.Now()
	sum, count := 0.0, 0
	for step := 1; step <= o.steps; step++ {
		sample(task, r, tokens, labels, o.batch)
		loss, err := m.TrainStep(transformer.Inputs{Tokens: tokens, Mask: mask, Y: labels, N: o.batch})
		if err != nil {
			return nil, err
		}
		sum += float64(loss)
		count++
		if bar != nil {
			bar.Add(1)
		}
		if step%o.evalEvery != 0 && step != o.steps {
			continue
		}
		seqAcc, tokAcc, err := evaluate(m, testTokens, testLabels, mask, o.testSize)
		if err != nil {
			return nil, err
		}
		if bar != nil {
			bar.Clear()
		}
		fmt.Fprintf(o.log, "step %4d  train loss %.4f  held-out: %.2f%% of sequences, %.2f%% of digits  (%.1fs)\n",
			step, sum/float64(count), 100*seqAcc, 100*tokAcc, time.Since(start).Seconds())
		res.loss = append(res.loss, sum/float64(count))
		res.accuracy = append(res.accuracy, seqAcc)
		lossPts = append(lossPts, plotter.XY{X: float64(step), Y: sum / float64(count)})
		errPts = append(errPts, plotter.XY{X: float64(step), Y: max(1-seqAcc, 1e-4)})
		sum, count = 0, 0
		res.steps = step
		if seqAcc >= o.target {
			break
		}
	}
	if bar != nil {
		bar.Finish()
	}
	res.elapsed = time.Since(start)
	final := res.accuracy[len(res.accuracy)-1]
	fmt.Fprintf(o.log, "%.2f%% of held-out sequences right (%s) after %d steps in %.1fs\n", 100*final, o.task, res.steps, res.elapsed.Seconds())

	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, err
	}
	res.weights = filepath.Join(o.outDir, "transformer.safetensors")
	if err := m.Save(res.weights); err != nil {
		return nil, fmt.Errorf("saving weights: %w", err)
	}
	fmt.Fprintf(o.log, "weights saved to %s\n", res.weights)
	res.curve = filepath.Join(o.outDir, "transformer_curves.png")
	if err := plotCurves(res.curve, o.task, lossPts, errPts); err != nil {
		return nil, fmt.Errorf("plotting: %w", err)
	}
	fmt.Fprintf(o.log, "loss and error curves written to %s\n", res.curve)
	return res, nil
}

// evaluate decodes the held-out sequences greedily: the tokens after SEP
// start unknown, and each prediction is fed back as the next input (the
// causal mask keeps later, not yet decoded, positions from mattering). It
// returns the fraction of sequences and of digits right.
func evaluate(m *transformer.Model, tokens, labels []int32, mask []float32, n int) (seqAcc, tokAcc float64, err error) {
	in := make([]int32, len(tokens))
	copy(in, tokens)
	for i := range n {
		clear(in[i*S+L+1 : (i+1)*S])
	}
	pred := make([]int32, n*L)
	for k := range L {
		out, err := m.Predict(transformer.Inputs{Tokens: in, Mask: mask, N: n})
		if err != nil {
			return 0, 0, err
		}
		for i := range n {
			row := out.Logits[(i*L+k)*models.DigitsVocab:][:models.DigitsVocab]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			pred[i*L+k] = int32(best)
			if k+1 < L {
				in[i*S+L+1+k] = int32(best)
			}
		}
	}
	seqs, digits := 0, 0
	for i := range n {
		ok := true
		for k := range L {
			if pred[i*L+k] == labels[i*L+k] {
				digits++
			} else {
				ok = false
			}
		}
		if ok {
			seqs++
		}
	}
	return float64(seqs) / float64(n), float64(digits) / float64(n*L), nil
}

func plotCurves(path, task string, loss, errs plotter.XYs) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("transformer: %s %d digits (bpgen)", task, L)
	p.X.Label.Text = "step"
	p.Y.Label.Text = "train loss / held-out sequence error"
	l1, err := plotter.NewLine(loss)
	if err != nil {
		return err
	}
	l1.Color = plotter.DefaultLineStyle.Color
	l2, err := plotter.NewLine(errs)
	if err != nil {
		return err
	}
	l2.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l1, l2, plotter.NewGrid())
	p.Legend.Add("train loss", l1)
	p.Legend.Add("held-out sequence error (1 − accuracy)", l2)
	p.Legend.Top = true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
