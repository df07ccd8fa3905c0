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

// State declares model state that is not a parameter: a tensor of the
// given dims (ints, and optionally a DType) filled with value when the
// model is created, that no gradient touches and no optimizer updates. It
// is saved and loaded with the params under its name; the training step
// changes it only through UpdateState. Batch normalization's running
// statistics are state (PyTorch's buffers, nn.Module.register_buffer).
func (g *Graph) State(name string, value float64, dims ...any) *Tensor {
	s, rest, ok := g.shapeOf("State "+name, dims)
	if !ok || !g.checkName("state", name) {
		return g.invalid()
	}
	d := g.floatType
	for _, r := range rest {
		dt, ok := r.(DType)
		if !ok {
			g.errorf("State %s: unexpected argument %v (%T); want ints or a DType", name, r, r)
			return g.invalid()
		}
		d = dt
	}
	if !s.IsStatic() {
		g.errorf("State %s: shape %v has a symbolic dim; state must have a static shape", name, s)
		return g.invalid()
	}
	return g.wrap(g.at().State(name, ir.T(d, s), value))
}

// UpdateState makes next (of state's shape and dtype) the new value of
// state after each training step: TrainStep and Forward compute next in
// the forward pass and then write it into the state, so the next call
// reads it. Predict (inference) reads state and never updates it. A state
// is updated at most once per step.
func (g *Graph) UpdateState(state, next *Tensor) {
	if _, ok := g.values("UpdateState", []*Tensor{state, next}); !ok {
		return
	}
	if state.v.Op != ir.OpState {
		g.errorf("UpdateState: the %s %s is not a state value (declare it with g.State)", state.v.Op.Name, state.v.Label())
		return
	}
	if !next.v.Type.Equal(state.v.Type) {
		g.errorf("UpdateState %s: the new value is %v, want the state's type %v", state.v.Name, next.v.Type, state.v.Type)
		return
	}
	if g.outputs[state.v.Name] {
		g.errorf("UpdateState %s: the state is already updated (or an output has its name)", state.v.Name)
		return
	}
	g.outputs[state.v.Name] = true
	g.b.Graph().UpdateState(state.v, next.v)
}

// BatchNorm is the layer torch.nn.BatchNorm1d/2d(C) (eps 1e-5, momentum
// 0.1) applied to x [N, C] or [N, C, H, W] (channels on axis 1); see
// BatchNormWith.
func (g *Graph) BatchNorm(name string, x *Tensor) *Tensor {
	return g.BatchNormWith(name, x, ir.DefaultNormEps, 0.1)
}

// BatchNormWith is batch normalization of x [N, C, ...] per channel (axis
// 1), with PyTorch's semantics: it declares the params name.weight (ones)
// and name.bias (zeros) and the state name.running_mean (zeros) and
// name.running_var (ones), all [C]. In training (Forward, TrainStep) it
// normalizes by the batch's mean and biased variance over every axis but
// the channels, (x − mean)/√(var + eps)·weight + bias, and updates
//
//	running_mean = (1 − momentum)·running_mean + momentum·mean
//	running_var  = (1 − momentum)·running_var  + momentum·var_unbiased
//
// (the unbiased batch variance, as PyTorch); at inference (Predict) it
// normalizes by running_mean and running_var.
func (g *Graph) BatchNormWith(name string, x *Tensor, eps, momentum float64) *Tensor {
	if x.invalid() {
		return g.invalid()
	}
	if x.Rank() < 2 || !x.Shape()[1].IsStatic() {
		g.errorf("BatchNorm %s: x %v needs rank 2 or more and a static channel dim 1 ([N, C] or [N, C, H, W])", name, x.v.Type)
		return g.invalid()
	}
	if !(momentum >= 0 && momentum <= 1) {
		g.errorf("BatchNorm %s: momentum %v is outside [0, 1]", name, momentum)
		return g.invalid()
	}
	c, d := x.Shape()[1].N, x.DType()
	gamma := g.Param(name+".weight", c, Constant(1), d)
	beta := g.Param(name+".bias", c, Zeros(), d)
	mean := g.State(name+".running_mean", 0, c, d)
	variance := g.State(name+".running_var", 1, c, d)
	y := g.op("batch_norm", ir.Attrs{"eps": eps}, x, gamma, beta, mean, variance)
	if y.invalid() {
		return y
	}
	var axes []int
	for i := range x.Rank() {
		if i != 1 {
			axes = append(axes, i)
		}
	}
	g.UpdateState(mean, mean.Mul(1-momentum).Add(x.Mean(axes...).Mul(momentum)).Named(name+".running_mean_next"))
	g.UpdateState(variance, variance.Mul(1-momentum).Add(x.Var(1, axes...).Mul(momentum)).Named(name+".running_var_next"))
	return y
}
