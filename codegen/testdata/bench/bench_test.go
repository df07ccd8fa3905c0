package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bpgen/bpgen/codegen/internal/benchmodels"
	"github.com/bpgen/bpgen/codegen/testdata/bench/l"
	"github.com/bpgen/bpgen/codegen/testdata/bench/l0"
	"github.com/bpgen/bpgen/codegen/testdata/bench/la"
	"github.com/bpgen/bpgen/codegen/testdata/bench/lg"
	"github.com/bpgen/bpgen/codegen/testdata/bench/m"
	"github.com/bpgen/bpgen/codegen/testdata/bench/m0"
	"github.com/bpgen/bpgen/codegen/testdata/bench/ma"
	"github.com/bpgen/bpgen/codegen/testdata/bench/mg"
	"github.com/bpgen/bpgen/codegen/testdata/bench/s"
	"github.com/bpgen/bpgen/codegen/testdata/bench/s0"
	"github.com/bpgen/bpgen/codegen/testdata/bench/sg"
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/runtime/rt"
)

// BenchmarkTrainStep times one training step (forward, backward, SGD
// update) of the benchmark models: generated with every pass on
// ("passes=on": fused kernels, a packed arena) and with every optional
// pass off ("passes=off": one kernel and one buffer per value), and
// written by hand over gonum's BLAS ("passes=gonum": the same computation
// with gonum's Gemm, through rt.GonumSgemm and rt.GonumDgemm, and plain
// loops). Compare with
//
//	go test -C codegen/testdata/bench -run='^$' -bench=TrainStep -benchmem -count=6 . > bench.txt
//	benchstat -col /passes bench.txt
func BenchmarkTrainStep(b *testing.B) {
	for _, spec := range benchmodels.Specs {
		x32, x64, y := benchBatch(spec)
		name := strings.ToUpper(spec.Name)
		for _, on := range []string{"on", "off"} {
			pkg := spec.Name
			if on == "off" {
				pkg += "0"
			}
			b.Run(name+"/passes="+on, func(b *testing.B) { benchGenerated(b, pkg, spec.Batch, x32, x64, y) })
		}
		b.Run(name+"/passes=gonum", func(b *testing.B) {
			var step func() float64
			if spec.DType == dsl.Float64 {
				bl := newBaseline(spec.Layers, spec.Batch, rt.GonumDgemm, 1)
				step = func() float64 { return bl.step(x64, y, 0.1) }
			} else {
				bl := newBaseline(spec.Layers, spec.Batch, rt.GonumSgemm, 1)
				step = func() float64 { return bl.step(x32, y, 0.1) }
			}
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
		})
	}
}

// BenchmarkTrainStepGemm compares the generated train step (every pass on)
// with runtime/kernels' GEMM and with gonum's, in one run:
//
//	go test -C codegen/testdata/bench -run='^$' -bench=TrainStepGemm -count=6 . | benchstat -col /gemm -
func BenchmarkTrainStepGemm(b *testing.B) {
	for _, spec := range benchmodels.Specs {
		x32, x64, y := benchBatch(spec)
		name := strings.ToUpper(spec.Name)
		for _, gemm := range []string{"gonum", "bpgen"} {
			pkg := spec.Name
			if gemm == "gonum" {
				pkg += "g"
			}
			b.Run(name+"/gemm="+gemm, func(b *testing.B) { benchGenerated(b, pkg, spec.Batch, x32, x64, y) })
		}
	}
}

// BenchmarkTrainStepAccumulate compares the float32 train steps (every
// pass on) generated with float32 and with float64 accumulation
// (Options.Accumulate), in one run:
//
//	go test -C codegen/testdata/bench -run='^$' -bench=TrainStepAccumulate -count=6 . | benchstat -col /acc -
func BenchmarkTrainStepAccumulate(b *testing.B) {
	for _, spec := range benchmodels.Specs {
		if spec.DType != dsl.Float32 {
			continue
		}
		x32, x64, y := benchBatch(spec)
		name := strings.ToUpper(spec.Name)
		for _, acc := range []string{"f32", "f64"} {
			pkg := spec.Name
			if acc == "f64" {
				pkg += "a"
			}
			b.Run(name+"/acc="+acc, func(b *testing.B) { benchGenerated(b, pkg, spec.Batch, x32, x64, y) })
		}
	}
}

// benchGenerated times the train step of the generated benchmark package
// pkg on a batch of n, and reports the fastest step too (min-ns/op: the
// time when nothing else held the cores, the measure for 1 vs 2 threads
// on a loaded machine).
func benchGenerated(b *testing.B, pkg string, n int, x32 []float32, x64 []float64, y []int32) {
	step := generatedStep(b, pkg, n, x32, x64, y)
	step() // grows the GEMM's workspaces
	b.ReportAllocs()
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		t0 := time.Now()
		step()
		best = min(best, time.Since(t0))
	}
	b.ReportMetric(float64(best.Nanoseconds()), "min-ns/op")
}

// benchBatch is a seeded random batch for a benchmark model: inputs in
// both float types and labels.
func benchBatch(spec benchmodels.Spec) ([]float32, []float64, []int32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x64 := make([]float64, spec.Batch*spec.Layers[0])
	for i := range x64 {
		x64[i] = rng.Float64()
	}
	y := make([]int32, spec.Batch)
	for i := range y {
		y[i] = int32(rng.IntN(spec.Layers[len(spec.Layers)-1]))
	}
	x32 := make([]float32, len(x64))
	for i, v := range x64 {
		x32[i] = float32(v)
	}
	return x32, x64, y
}

// generatedStep returns one training step of the generated benchmark
// package name on a batch of n.
func generatedStep(b *testing.B, name string, n int, x32 []float32, x64 []float64, y []int32) func() {
	switch name {
	case "s":
		mdl, err := s.New(s.Config{MaxN: n, Seed: 1, Optimizer: s.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, s.Inputs{X: x64, Y: y, N: n})
	case "s0":
		mdl, err := s0.New(s0.Config{MaxN: n, Seed: 1, Optimizer: s0.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, s0.Inputs{X: x64, Y: y, N: n})
	case "sg":
		mdl, err := sg.New(sg.Config{MaxN: n, Seed: 1, Optimizer: sg.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, sg.Inputs{X: x64, Y: y, N: n})
	case "m":
		mdl, err := m.New(m.Config{MaxN: n, Seed: 1, Optimizer: m.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, m.Inputs{X: x32, Y: y, N: n})
	case "m0":
		mdl, err := m0.New(m0.Config{MaxN: n, Seed: 1, Optimizer: m0.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, m0.Inputs{X: x32, Y: y, N: n})
	case "mg":
		mdl, err := mg.New(mg.Config{MaxN: n, Seed: 1, Optimizer: mg.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, mg.Inputs{X: x32, Y: y, N: n})
	case "l":
		mdl, err := l.New(l.Config{MaxN: n, Seed: 1, Optimizer: l.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, l.Inputs{X: x32, Y: y, N: n})
	case "l0":
		mdl, err := l0.New(l0.Config{MaxN: n, Seed: 1, Optimizer: l0.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, l0.Inputs{X: x32, Y: y, N: n})
	case "ma":
		mdl, err := ma.New(ma.Config{MaxN: n, Seed: 1, Optimizer: ma.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, ma.Inputs{X: x32, Y: y, N: n})
	case "la":
		mdl, err := la.New(la.Config{MaxN: n, Seed: 1, Optimizer: la.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, la.Inputs{X: x32, Y: y, N: n})
	case "lg":
		mdl, err := lg.New(lg.Config{MaxN: n, Seed: 1, Optimizer: lg.Optimizer{LR: 0.1}})
		return trainStep(b, mdl, err, lg.Inputs{X: x32, Y: y, N: n})
	}
	b.Fatalf("no model %s", name)
	return nil
}

// trainStep is the step function of a generated model mdl, built with
// error err: TrainStep(in), failing b on an error.
func trainStep[M interface{ TrainStep(I) (L, error) }, I any, L float32 | float64](b *testing.B, mdl M, err error, in I) func() {
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if _, err := mdl.TrainStep(in); err != nil {
			b.Fatal(err)
		}
	}
}

// gemmFunc is C = alpha·op(A)·op(B) + beta·C, row-major: rt.GonumSgemm
// or rt.GonumDgemm (gonum's BLAS).
type gemmFunc[T float32 | float64] func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// baseline is the hand-written training step of a ReLU MLP with softmax
// cross-entropy and plain SGD: what a careful gonum user would write.
type baseline[T float32 | float64] struct {
	layers       []int
	n            int
	W, B, dW, dB [][]T
	z, h, dz     [][]T // per layer; h[0] is the input
	gemm         gemmFunc[T]
}

func newBaseline[T float32 | float64](layers []int, n int, gemm gemmFunc[T], seed uint64) *baseline[T] {
	bl := &baseline[T]{layers: layers, n: n, gemm: gemm}
	rng := rand.New(rand.NewPCG(seed, 3))
	L := len(layers) - 1
	bl.h = make([][]T, L+1)
	for i := 1; i <= L; i++ {
		in, out := layers[i-1], layers[i]
		w := make([]T, in*out)
		std := math.Sqrt(2 / float64(in))
		for j := range w {
			w[j] = T(rng.NormFloat64() * std)
		}
		bl.W = append(bl.W, w)
		bl.B = append(bl.B, make([]T, out))
		bl.dW = append(bl.dW, make([]T, in*out))
		bl.dB = append(bl.dB, make([]T, out))
		bl.z = append(bl.z, make([]T, n*out))
		bl.dz = append(bl.dz, make([]T, n*out))
		bl.h[i] = make([]T, n*out)
	}
	return bl
}

func (bl *baseline[T]) step(x []T, y []int32, lr T) float64 {
	n, L := bl.n, len(bl.layers)-1
	bl.h[0] = x
	for i := 0; i < L; i++ {
		in, out := bl.layers[i], bl.layers[i+1]
		z := bl.z[i]
		bl.gemm(false, false, n, out, in, 1, bl.h[i], in, bl.W[i], out, 0, z, out)
		for r := 0; r < n; r++ {
			row := z[r*out : (r+1)*out]
			for j := range row {
				row[j] += bl.B[i][j]
			}
		}
		if i < L-1 {
			h := bl.h[i+1]
			for j, v := range z {
				h[j] = max(v, 0)
			}
		}
	}
	// Softmax cross-entropy and its gradient (softmax − onehot)/n.
	k := bl.layers[L]
	logits, dz := bl.z[L-1], bl.dz[L-1]
	loss := 0.0
	for r := 0; r < n; r++ {
		row := logits[r*k : (r+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		loss += lse - float64(row[y[r]])
		for j, v := range row {
			p := math.Exp(float64(v) - lse)
			if j == int(y[r]) {
				p--
			}
			dz[r*k+j] = T(p / float64(n))
		}
	}
	for i := L - 1; i >= 0; i-- {
		in, out := bl.layers[i], bl.layers[i+1]
		dz := bl.dz[i]
		bl.gemm(true, false, in, out, n, 1, bl.h[i], in, dz, out, 0, bl.dW[i], out)
		db := bl.dB[i]
		clear(db)
		for r := 0; r < n; r++ {
			for j, v := range dz[r*out : (r+1)*out] {
				db[j] += v
			}
		}
		if i > 0 {
			prev := bl.dz[i-1]
			bl.gemm(false, true, n, in, out, 1, dz, out, bl.W[i], out, 0, prev, in)
			for j, v := range bl.z[i-1] {
				if v <= 0 {
					prev[j] = 0
				}
			}
		}
	}
	for i := 0; i < L; i++ {
		for j, g := range bl.dW[i] {
			bl.W[i][j] -= lr * g
		}
		for j, g := range bl.dB[i] {
			bl.B[i][j] -= lr * g
		}
	}
	return loss / float64(n)
}
