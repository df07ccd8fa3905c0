package dsl

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// Prod is the product of dims (ints and Dims) as one Dim, for Reshape and
// every other argument that takes dims: with n, s := g.Dim("n"),
// g.Dim("s"), x.Reshape(dsl.Prod(n, s), d) views x [n,s,d] as [n·s,d]
// (PyTorch's x.reshape(n*s, d)), and x.Reshape(n, s, d) views it back.
// A product of symbolic dims is read at run time; n.Mul(s) is the same
// product. Passing another type, or a negative int, is a programming
// error: Prod panics.
func Prod(dims ...any) Dim {
	ds := make([]Dim, len(dims))
	for i, d := range dims {
		switch d := d.(type) {
		case int:
			if d < 0 {
				panic(fmt.Sprintf("dsl.Prod: dim %d is negative (%d)", i, d))
			}
			ds[i] = ir.Static(d)
		case Dim:
			ds[i] = d
		default:
			panic(fmt.Sprintf("dsl.Prod: dim %d has type %T, want int or Dim", i, d))
		}
	}
	return ir.Prod(ds...)
}

// Flatten merges dims start through end (inclusive; negative counts from
// the end) into their product, as torch.flatten(t, start, end): x
// [n,s,d].Flatten(0, 1) is [n·s,d], a view of the same elements.
func (t *Tensor) Flatten(start, end int) *Tensor {
	ax, ok := t.axes("Flatten", []int{start, end})
	if !ok {
		return t.g.invalid()
	}
	if ax[0] > ax[1] {
		t.g.errorf("Flatten(%v): start dim %d is after end dim %d", t.v.Type, start, end)
		return t.g.invalid()
	}
	s := t.Shape()
	shape := append(append(s[:ax[0]:ax[0]], ir.Prod(s[ax[0]:ax[1]+1]...)), s[ax[1]+1:]...)
	return t.g.op("reshape", ir.Attrs{"shape": shape}, t)
}
