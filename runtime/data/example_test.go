package data_test

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/runtime/data"
)

func ExampleBatcher() {
	features := []float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4} // 5 rows of 2
	labels := []int32{10, 11, 12, 13, 14}
	b := data.NewBatcher(5, 2, false, 1)
	x, y := make([]float32, 2*2), make([]int32, 2)
	for idx, ok := b.Next(); ok; idx, ok = b.Next() {
		data.GatherRows(x, features, 2, idx)
		data.GatherLabels(y, labels, idx)
		fmt.Println(idx, x[:2*len(idx)], y[:len(idx)])
	}
	// Output:
	// [0 1] [0 0 1 1] [10 11]
	// [2 3] [2 2 3 3] [12 13]
	// [4] [4 4] [14]
}

func ExampleReadCSV() {
	in := "sepal,petal,species\n5.1,1.4,setosa\n6.3,4.9,versicolor\n"
	t, err := data.ReadCSV(strings.NewReader(in), data.CSVOptions{Header: true, LabelName: "species", Labels: data.NamedClasses})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.N, t.Names, t.Features, t.Labels, t.Classes)
	// Output: 2 [sepal petal] [5.1 1.4 6.3 4.9] [0 1] [setosa versicolor]
}
