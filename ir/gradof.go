package ir

import "fmt"

// GradOf appends to b's graph the gradient of the scalar y with respect to
// each of xs (earlier values of the same graph), built by the VJP rules:
// the reverse pass of passes.Grad, run inside the forward computation over
// the values y depends on. The gradients are ordinary values, so an
// objective may use them (a gradient penalty such as WGAN-GP's ‖∇ₓD(x)‖,
// a physics-informed residual ∂u/∂x), and differentiating that objective
// differentiates through the VJP rules. A gradient y does not depend on is
// a zero constant. Cotangents are summed over broadcast axes as in
// passes.Grad; extern_vjp (an extern's Go backward) cannot be
// differentiated and is an error.
func GradOf(b *Builder, y *Value, xs []*Value) ([]*Value, error) {
	g := b.Graph()
	if Invalid(y) || y.ID >= len(g.Values) || g.Values[y.ID] != y {
		return nil, fmt.Errorf("grad: y is not a value of the graph")
	}
	if !y.Type.DType.IsFloat() || len(y.Type.Shape) != 0 {
		return nil, fmt.Errorf("grad: y is %v; want a float scalar (reduce it first, e.g. with sum)", y.Type)
	}
	n := y.ID + 1
	active := make([]bool, n)
	for i, x := range xs {
		if Invalid(x) || x.ID >= len(g.Values) || g.Values[x.ID] != x {
			return nil, fmt.Errorf("grad: argument %d is not a value of the graph", i+1)
		}
		if !x.Type.DType.IsFloat() {
			return nil, fmt.Errorf("grad: argument %d is %v; only float values have gradients", i+1, x.Type)
		}
		if x.ID < n {
			active[x.ID] = true
		}
	}
	for _, v := range g.Values[:n] {
		if active[v.ID] || !v.Type.DType.IsFloat() || !v.Op.Differentiable() && v.Op != OpExternVJP {
			continue
		}
		for _, a := range v.Args {
			if active[a.ID] {
				active[v.ID] = true
				break
			}
		}
	}
	adj := make([]*Value, n)
	saved := b.Pos
	defer func() { b.Pos = saved }()
	if active[y.ID] {
		adj[y.ID] = b.Const(1, y.Type)
	}
	before := len(b.Errors())
	for i := n - 1; i >= 0; i-- {
		v := g.Values[i]
		ct := adj[i]
		if ct == nil || !active[i] {
			continue
		}
		if v.Op == OpExternVJP {
			return nil, fmt.Errorf("grad: %s: extern_vjp has no VJP rule: the derivative of an extern's Go backward function is not known\n\t%s", v.Pos, v)
		}
		if v.Op.VJP == nil {
			continue
		}
		b.Pos = v.Pos
		cts := v.Op.VJP(b, v, ct)
		for j, a := range v.Args {
			c := cts[j]
			if c == nil || !active[a.ID] {
				continue
			}
			c, err := unbroadcastTo(b, c, a.Type)
			if err != nil {
				return nil, fmt.Errorf("grad: internal error in the VJP rule of %s, argument %d: %v\n\t%s", v.Op.Name, j+1, err, v)
			}
			if adj[a.ID] == nil {
				adj[a.ID] = c
			} else {
				adj[a.ID] = b.Add(adj[a.ID], c)
			}
		}
		if len(b.Errors()) > before {
			return nil, fmt.Errorf("grad: internal error in the VJP rule of %s: %w", v.Op.Name, b.Errors()[before])
		}
	}
	r := make([]*Value, len(xs))
	for i, x := range xs {
		if x.ID < n && adj[x.ID] != nil {
			r[i] = adj[x.ID]
		} else {
			b.Pos = x.Pos
			r[i] = b.ZerosLike(x)
		}
	}
	return r, nil
}

// unbroadcastTo sums a cotangent over the axes along which an argument of
// type t was broadcast, and reshapes it to t (passes.Grad's rule).
func unbroadcastTo(b *Builder, c *Value, t Type) (*Value, error) {
	if c.Type.DType != t.DType {
		return nil, fmt.Errorf("cotangent is %v, argument is %v", c.Type, t)
	}
	cs, ts := c.Type.Shape, t.Shape
	if cs.Equal(ts) {
		return c, nil
	}
	if BroadcastsTo(cs, ts) {
		return b.BroadcastTo(c, ts), nil
	}
	if !BroadcastsTo(ts, cs) {
		return nil, fmt.Errorf("cotangent shape %v is not a broadcast of the argument's %v", cs, ts)
	}
	lead := len(cs) - len(ts)
	var axes []int
	for i := range cs {
		if i < lead || (ts[i-lead] == Static(1) && cs[i] != Static(1)) {
			axes = append(axes, i)
		}
	}
	return b.Reshape(b.Sum(c, axes, true), ts), nil
}
