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

// LayerNorm normalizes x over its trailing dims, those of gamma's shape,
// and applies the elementwise affine gamma, beta (of gamma's shape):
// (x − mean)/√(var + eps)·gamma + beta with the biased variance. It is
// torch.nn.functional.layer_norm(x, gamma.shape, gamma, beta, eps); PyTorch's
// default eps is 1e-5 (ir.DefaultNormEps).
func LayerNorm(x, gamma, beta *Tensor, eps float64) *Tensor {
	return x.g.op("layer_norm", ir.Attrs{"eps": eps}, x, gamma, beta)
}

// LayerNorm is the layer torch.nn.LayerNorm(x.shape[-dims:]) applied to x:
// it declares the params name.weight (ones) and name.bias (zeros) of x's
// last dims dims and normalizes over them with eps 1e-5.
func (g *Graph) LayerNorm(name string, x *Tensor, dims int) *Tensor {
	if x.invalid() {
		return g.invalid()
	}
	r := x.Rank()
	if dims < 1 || dims > r {
		g.errorf("LayerNorm %s: %d normalized dims for x %v; want 1 to %d", name, dims, x.v.Type, r)
		return g.invalid()
	}
	s := x.Shape()[r-dims:]
	if !s.IsStatic() {
		g.errorf("LayerNorm %s: normalized dims %v of x %v are not static (they are the shape of its params)", name, s, x.v.Type)
		return g.invalid()
	}
	norm := make([]any, 0, dims+2)
	for _, d := range s {
		norm = append(norm, d.N)
	}
	gamma := g.Param(name+".weight", append(norm, Constant(1), x.DType())...)
	beta := g.Param(name+".bias", append(norm, Zeros(), x.DType())...)
	return LayerNorm(x, gamma, beta, ir.DefaultNormEps)
}
