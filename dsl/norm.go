package dsl

import "github.com/bpgen/bpgen/ir"

// Normalization: variance, layer normalization and batch normalization,
// with PyTorch's semantics.

// Var is the variance over axes, Σ (t − mean)² / (N − correction) with N
// the number of elements reduced: correction 0 is the population
// variance, 1 the unbiased (sample) one. It is torch.var(t, dim=axes,
// correction=correction). No axes means all axes; negative axes count
// from the end.
func (t *Tensor) Var(correction int, axes ...int) *Tensor {
	return t.variance(correction, axes, false)
}

// VarKeep is Var keeping the reduced axes as dims of size 1
// (torch.var(…, keepdim=True)).
func (t *Tensor) VarKeep(correction int, axes ...int) *Tensor {
	return t.variance(correction, axes, true)
}

func (t *Tensor) variance(correction int, axes []int, keepdims bool) *Tensor {
	ax, ok := t.axes("var", axes)
	if !ok {
		return t.g.invalid()
	}
	return t.g.op("var", ir.Attrs{"axes": ax, "keepdims": keepdims, "correction": correction}, t)
}
