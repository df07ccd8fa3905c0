package gradcheck_test

import (
	"fmt"

	"github.com/bpgen/bpgen/runtime/gradcheck"
)

func ExampleCheck() {
	// f(x, y) = x·y elementwise; ∂/∂x = y, ∂/∂y = x.
	f := gradcheck.Func{
		Inputs: []gradcheck.Input{
			{Name: "x", Shape: []int{2}, Value: []float64{1, 2}},
			{Name: "y", Shape: []int{2}, Value: []float64{3, -1}},
		},
		Eval: func(in [][]float64) []float64 {
			return []float64{in[0][0] * in[1][0], in[0][1] * in[1][1]}
		},
		VJP: func(in [][]float64, u []float64) [][]float64 {
			return [][]float64{
				{u[0] * in[1][0], u[1] * in[1][1]},
				{u[0] * in[0][0], u[1] * in[0][0]}, // bug: should be in[0][1]
			}
		},
	}
	rep, err := gradcheck.Check(f, gradcheck.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range rep.Inputs {
		if in.MaxRelErr <= 1e-6 {
			fmt.Printf("%s ok\n", in.Name)
		} else {
			fmt.Printf("%s wrong at index %d\n", in.Name, in.WorstIndex)
		}
	}
	// Output:
	// x ok
	// y wrong at index 1
}
