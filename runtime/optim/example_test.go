package optim_test

import (
	"fmt"

	"github.com/bpgen/bpgen/runtime/optim"
)

func ExampleSGD() {
	w := []float32{1, 2}
	grad := []float32{0.5, -1}
	vel := make([]float32, len(w)) // momentum buffer, kept across steps
	opt := optim.SGD[float32]{LR: 0.1, Momentum: 0.9}
	opt.Update(w, grad, vel)
	fmt.Println(w)
	// Output: [0.95 2.1]
}

func ExampleAdam() {
	w := []float64{1}
	m, v := make([]float64, 1), make([]float64, 1)
	opt := optim.DefaultAdam[float64]()
	for step := 1; step <= 3; step++ {
		grad := []float64{2 * w[0]} // d/dw of w²
		opt.Update(w, grad, m, v, step)
	}
	fmt.Printf("%.4f\n", w[0]) // each early Adam step moves about LR
	// Output: 0.9970
}
