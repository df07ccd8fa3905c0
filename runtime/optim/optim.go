// Package optim holds the parameter-update rules (optimizers) that
// bpgen-generated train-step code calls after the backward pass.
//
// Generated code imports this package: for every parameter tensor it calls
// one Update per step with the flat parameter, gradient and optimizer-state
// slices. The update rules follow PyTorch's torch.optim.SGD and
// torch.optim.Adam/AdamW exactly, so hyper-parameters carry over. Every
// Update works in place, is generic over float32 and float64, and never
// allocates.
//
// The smallest use:
//
//	opt := optim.SGD[float32]{LR: 0.1, Momentum: 0.9}
//	opt.Update(w, dw, vel) // w -= ...; vel is the momentum buffer, same length as w
//
//	adam := optim.DefaultAdam[float64]()
//	adam.Update(w, dw, m, v, step) // step counts from 1
package optim

import (
	"fmt"
	"math"
)

// Float is the set of element types the optimizers work on.
type Float interface{ ~float32 | ~float64 }

// SGD is stochastic gradient descent with optional momentum, Nesterov
// momentum and L2 weight decay, with PyTorch's semantics (dampening 0):
//
//	g = grad + WeightDecay*p
//	if Momentum != 0 {
//	    buf = Momentum*buf + g
//	    if Nesterov { g = g + Momentum*buf } else { g = buf }
//	}
//	p -= LR*g
//
// The momentum buffer starts at zero; PyTorch starts it at the first
// gradient, which is the same thing because dampening is 0.
type SGD[T Float] struct {
	LR          T    // learning rate
	Momentum    T    // momentum factor; 0 disables momentum
	WeightDecay T    // L2 penalty coefficient added to the gradient
	Nesterov    bool // use Nesterov momentum (needs Momentum != 0)
}

// Update applies one SGD step in place to param using grad. velocity is the
// momentum buffer, updated in place; it may be nil when Momentum == 0 and
// otherwise must have the same length as param and start as zeros.
// Update panics if the lengths differ.
func (o *SGD[T]) Update(param, grad, velocity []T) {
	if len(grad) != len(param) {
		panic(fmt.Sprintf("optim.SGD.Update: grad has %d elements, expected %d (len(param))", len(grad), len(param)))
	}
	lr, wd, mu := o.LR, o.WeightDecay, o.Momentum
	if mu == 0 {
		if velocity != nil && len(velocity) != len(param) {
			panic(fmt.Sprintf("optim.SGD.Update: velocity has %d elements, expected %d (len(param)) or nil", len(velocity), len(param)))
		}
		for i := range param {
			g := grad[i] + wd*param[i]
			param[i] -= lr * g
		}
		return
	}
	if len(velocity) != len(param) {
		panic(fmt.Sprintf("optim.SGD.Update: velocity has %d elements, expected %d (len(param)); Momentum != 0 needs a momentum buffer", len(velocity), len(param)))
	}
	velocity = velocity[:len(param)]
	grad = grad[:len(param)]
	if o.Nesterov {
		for i := range param {
			g := grad[i] + wd*param[i]
			b := mu*velocity[i] + g
			velocity[i] = b
			param[i] -= lr * (g + mu*b)
		}
		return
	}
	for i := range param {
		g := grad[i] + wd*param[i]
		b := mu*velocity[i] + g
		velocity[i] = b
		param[i] -= lr * b
	}
}

// Adam is the Adam optimizer with PyTorch's semantics. With Decoupled false,
// WeightDecay is an L2 penalty added to the gradient (torch.optim.Adam);
// with Decoupled true the parameter is shrunk first, p -= LR*WeightDecay*p,
// and the gradient is left alone (torch.optim.AdamW). Then
//
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*g*g
//	mhat = m / (1 - Beta1^step)
//	vhat = v / (1 - Beta2^step)
//	p -= LR * mhat / (sqrt(vhat) + Eps)
type Adam[T Float] struct {
	LR          T    // learning rate
	Beta1       T    // decay rate of the first-moment estimate
	Beta2       T    // decay rate of the second-moment estimate
	Eps         T    // added to the denominator for numerical stability
	WeightDecay T    // L2 penalty (or decoupled decay when Decoupled)
	Decoupled   bool // AdamW-style decoupled weight decay
}

// DefaultAdam returns Adam with PyTorch's defaults: LR 1e-3, Beta1 0.9,
// Beta2 0.999, Eps 1e-8 and no weight decay.
func DefaultAdam[T Float]() Adam[T] {
	return Adam[T]{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Update applies Adam step number step (1 for the first call, then 2, 3, …)
// in place to param using grad. m and v are the first- and second-moment
// buffers, same length as param, starting as zeros, updated in place.
// Update panics if the lengths differ or step < 1.
func (o *Adam[T]) Update(param, grad, m, v []T, step int) {
	n := len(param)
	if len(grad) != n || len(m) != n || len(v) != n {
		panic(fmt.Sprintf("optim.Adam.Update: expected grad, m and v to have %d elements (len(param)), found %d, %d and %d", n, len(grad), len(m), len(v)))
	}
	if step < 1 {
		panic(fmt.Sprintf("optim.Adam.Update: step must be 1-based (>= 1), found %d", step))
	}
	grad, m, v = grad[:n], m[:n], v[:n]
	lr, b1, b2, eps, wd := o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay
	bc1 := T(1 - math.Pow(float64(b1), float64(step)))
	bc2 := T(1 - math.Pow(float64(b2), float64(step)))
	l2 := wd
	shrink := T(0)
	if o.Decoupled {
		l2 = 0
		shrink = lr * wd
	}
	for i := range param {
		p := param[i]
		g := grad[i] + l2*p
		p -= shrink * p
		mi := b1*m[i] + (1-b1)*g
		vi := b2*v[i] + (1-b2)*g*g
		m[i], v[i] = mi, vi
		mhat := mi / bc1
		vhat := vi / bc2
		param[i] = p - lr*mhat/(T(math.Sqrt(float64(vhat)))+eps)
	}
}
