package dsl

import "github.com/bpgen/bpgen/ir"

// Grad returns the gradient of the scalar y with respect to each of xs
// (inputs, params or any tensors y was computed from) as tensors of the
// model, like torch.autograd.grad(y, xs, create_graph=True): the objective
// may use them (a gradient penalty such as WGAN-GP's (‖∇ₓD(x)‖ − 1)², input-
// gradient regularization, a physics-informed residual ∂u/∂x), and
// training then differentiates through the gradient. A tensor y does not
// depend on gets zeros. For a per-example gradient of a batch, take Grad of
// the sum over the batch: example i's gradient is then row i.
func Grad(y *Tensor, xs ...*Tensor) []*Tensor {
	if y == nil {
		panic("dsl.Grad: y is a nil *Tensor")
	}
	g := y.g
	r := make([]*Tensor, len(xs))
	for i := range r {
		r[i] = g.invalid()
	}
	vs, ok := g.values("Grad", append([]*Tensor{y}, xs...))
	if !ok {
		return r
	}
	b := g.at()
	pos := b.Pos
	grads, err := ir.GradOf(b, vs[0], vs[1:])
	if err != nil {
		b.Pos = pos
		g.errorf("Grad of %v: %v", y.v.Type, err)
		return r
	}
	for i, v := range grads {
		r[i] = g.wrap(v)
	}
	return r
}
