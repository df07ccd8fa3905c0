package tensorio_test

import (
	"bytes"
	"fmt"

	"github.com/bpgen/bpgen/runtime/tensorio"
)

func ExampleSave() {
	var buf bytes.Buffer
	w := []float32{1, 2, 3, 4, 5, 6}
	err := tensorio.Save(&buf, []tensorio.Tensor{{Name: "W", DType: "F32", Shape: []int{2, 3}, Data: w}}, map[string]string{"epoch": "1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	tensors, meta, err := tensorio.Load(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tensors["W"].DType, tensors["W"].Shape, tensors["W"].Data, meta["epoch"])
	// Output: F32 [2 3] [1 2 3 4 5 6] 1
}
