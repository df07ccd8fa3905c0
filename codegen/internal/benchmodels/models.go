// Package benchmodels defines the models of codegen's benchmarks. The
// packages generated from them, and the benchmarks, are in the module
// codegen/testdata/bench: s, m and l (every pass on: fused kernels, a
// packed arena), s0, m0 and l0 (every optional pass off), sg, mg and lg
// (gonum's GEMM), ma and la (float64 accumulation); a freshness test in
// codegen fails if they are stale.
//
//	S: batch 32, 4→16→3, float64
//	M: batch 256, 784→256→10, float32
//	L: batch 128, 512→(512×6)→10, float32
//
// Every model is a ReLU MLP trained with softmax cross-entropy.
package benchmodels

//go:generate go test -C ../.. -run ^TestBenchModelsFresh$ -update

import (
	"fmt"

	"github.com/bpgen/bpgen/dsl"
)

// Spec describes one benchmark model.
type Spec struct {
	Name   string // package name under codegen/testdata/bench
	Batch  int
	Layers []int // widths: input, hidden..., classes
	DType  dsl.DType
}

// Specs are the benchmark models.
var Specs = []Spec{
	{"s", 32, []int{4, 16, 3}, dsl.Float64},
	{"m", 256, []int{784, 256, 10}, dsl.Float32},
	{"l", 128, []int{512, 512, 512, 512, 512, 512, 512, 10}, dsl.Float32},
}

// Model returns the DSL function of s: ReLU hidden layers with He
// initialization, a linear output layer, and the mean softmax
// cross-entropy as objective.
func (s Spec) Model() func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		g.SetFloat(s.DType)
		n := g.Dim("n")
		x := g.Input("x", s.DType, n, s.Layers[0])
		y := g.Labels("y", n)
		h := x
		last := len(s.Layers) - 1
		for i := 1; i <= last; i++ {
			init := dsl.HeNormal()
			if i == last {
				init = dsl.XavierUniform()
			}
			W := g.Param(fmt.Sprintf("W%d", i), s.Layers[i-1], s.Layers[i], init)
			b := g.Param(fmt.Sprintf("b%d", i), s.Layers[i])
			h = h.MatMul(W).Add(b)
			if i < last {
				h = dsl.ReLU(h).Named(fmt.Sprintf("h%d", i))
			}
		}
		o := h.Named("logits")
		L := dsl.SoftmaxCrossEntropy(o, y).Mean().Named("loss")
		g.Output("loss", L)
		g.Minimize(L)
	}
}
