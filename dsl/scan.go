package dsl

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// scanBody is the state of a graph that is the body of a Scan: the graph
// it is nested in and the outer tensors it captured, as inputs p0….
type scanBody struct {
	parent *Graph
	inner  map[*ir.Value]*Tensor // outer value → its input in the body
	outer  []*ir.Value           // captured outer values, in order of first use
}

// captures reports whether t belongs to a graph g is nested in.
func (g *Graph) captures(t *Tensor) bool {
	for s := g.scan; s != nil; s = s.parent.scan {
		if t.g == s.parent {
			return true
		}
	}
	return false
}

// capture returns the body input standing for the outer tensor t
// (captured through every enclosing body).
func (g *Graph) capture(t *Tensor) *Tensor {
	s := g.scan
	if t.g != s.parent {
		t = s.parent.capture(t)
	}
	if in, ok := s.inner[t.v]; ok {
		return in
	}
	in := g.wrap(g.atPos(g.callerPos()).Input(ir.ScanParamName(len(s.outer)), t.v.Type))
	s.inner[t.v] = in
	s.outer = append(s.outer, t.v)
	return in
}

// innermost is the graph of args nested deepest (g when none is nested in g).
func (g *Graph) innermost(args []*Tensor) *Graph {
	for _, a := range args {
		if a != nil && a.g != nil && a.g != g && a.g.captures(&Tensor{g: g}) {
			g = a.g
		}
	}
	return g
}

// root is the outermost graph: the model, which holds every func.
func (g *Graph) root() *Graph {
	for g.scan != nil {
		g = g.scan.parent
	}
	return g
}

// Scan is a loop compiled once: it runs body over the leading (sequence)
// axis of xs, threading a carry, like jax.lax.scan(body, init, xs) or a
// PyTorch for-loop over xs[t]. At step t, body receives the carry and x =
// xs[t] and returns the next carry (of init's type) and a per-step output
// y (nil for none). Scan returns the final carry and the ys stacked along
// a new leading axis: ys[t] = y at step t (nil if body returns no y).
//
// The body is written with this DSL and may use any tensor of the model
// (params, inputs, earlier values): they are captured, and gradients flow
// to them, summed over the steps. The sequence length may be a symbolic
// dim. The body is one func of the IR, not unrolled: its gradient is a
// reverse loop over the carries saved by the forward.
//
//	W, U, b := g.Param("W", 16, 16), g.Param("U", 4, 16), g.Param("b", 16)
//	xs := g.Input("xs", dsl.Float32, T, n, 4)         // [T, n, 4]
//	h, hs := dsl.Scan(h0, xs, func(h, x *dsl.Tensor) (*dsl.Tensor, *dsl.Tensor) {
//		h = dsl.Tanh(h.MatMul(W).Add(x.MatMul(U)).Add(b))
//		return h, h
//	})                                                  // hs: [T, n, 16]
//
// Options: Checkpoint(k) trades the backward's memory for recomputation.
func Scan(init, xs *Tensor, body func(carry, x *Tensor) (next, y *Tensor), opts ...ScanOption) (final, ys *Tensor) {
	fs, yss := ScanN([]*Tensor{init}, []*Tensor{xs}, func(c, x []*Tensor) ([]*Tensor, []*Tensor) {
		n, y := body(c[0], x[0])
		if y == nil {
			return []*Tensor{n}, nil
		}
		return []*Tensor{n}, []*Tensor{y}
	}, opts...)
	if fs == nil {
		g := xs.g
		if g == nil {
			g = init.g
		}
		// Both invalid, so that a chained call on ys reports the body's
		// mistake rather than a nil dereference.
		return g.invalid(), g.invalid()
	}
	if len(yss) == 0 {
		return fs[0], nil
	}
	return fs[0], yss[0]
}

// A ScanOption changes how a Scan is compiled (not what it computes).
type ScanOption struct {
	checkpoint int
}

// Checkpoint makes the gradient of a Scan save only every k-th carry (the
// carry entering steps 0, k, 2k, …) instead of all T, and recompute each
// segment of k carries from its checkpoint in the backward loop, just
// before the segment's backward steps: the saved carries take ⌈T/k⌉ + k
// carries of memory instead of T (least at k ≈ √T), for about one more
// forward pass of compute. The gradients are the same numbers (the
// recomputation repeats the same operations). This is jax.checkpoint
// around a scan's body with the steps grouped by k, or PyTorch's
// checkpoint_sequential with ⌈T/k⌉ segments. bpgen -scan-checkpoint k
// sets it for every scan of a model that does not set it.
func Checkpoint(k int) ScanOption { return ScanOption{checkpoint: k} }

// ScanN is Scan with several carries and several sequences (all of the
// same length) and any number of per-step outputs. It returns nil, nil
// after a mistake (which the graph records).
func ScanN(init, xs []*Tensor, body func(carry, x []*Tensor) (next, ys []*Tensor), opts ...ScanOption) (final, ys []*Tensor) {
	if len(xs) == 0 || xs[0] == nil {
		panic("dsl.ScanN: no sequences (xs); the first one gives the loop's length") // programming error
	}
	g := xs[0].g
	pos := g.callerPos()
	fail := func(format string, args ...any) ([]*Tensor, []*Tensor) {
		g.atPos(pos).Errorf(format, args...)
		return nil, nil
	}
	iv, ok := g.values("Scan init", init)
	if !ok {
		return nil, nil
	}
	xv, ok := g.values("Scan xs", xs)
	if !ok {
		return nil, nil
	}
	for i, x := range xv {
		if x.Type.Shape.Rank() == 0 {
			return fail("Scan: sequence %d is a scalar %v; it needs a leading sequence axis", i, x.Type)
		}
		if x.Type.Shape[0] != xv[0].Type.Shape[0] {
			return fail("Scan: sequence %d %v has length %v, but sequence 0 %v has length %v", i, x.Type, x.Type.Shape[0], xv[0].Type, xv[0].Type.Shape[0])
		}
	}
	T := xv[0].Type.Shape[0]
	checkpoint := 0
	for _, o := range opts {
		if o.checkpoint < 1 {
			return fail("Scan: Checkpoint(%d): k must be at least 1 (save every k-th carry)", o.checkpoint)
		}
		checkpoint = o.checkpoint
	}

	root := g.root().b.Graph()
	fname := sanitizeFuncName(fmt.Sprintf("%s.scan_%d", root.Name, len(root.Funcs)+1))
	sub := New(fname)
	sub.floatType, sub.cwd = g.floatType, g.cwd
	sub.scan = &scanBody{parent: g, inner: map[*ir.Value]*Tensor{}}
	for _, d := range root.Dims {
		sub.b.Graph().AddDim(d)
	}
	carry := make([]*Tensor, len(iv))
	for i, v := range iv {
		carry[i] = sub.wrap(sub.atPos(pos).Input(ir.ScanCarryName(i), v.Type))
	}
	step := make([]*Tensor, len(xv))
	for i, v := range xv {
		step[i] = sub.wrap(sub.atPos(pos).Input(ir.ScanXName(i), ir.StepType(v.Type)))
	}
	next, outs := body(carry, step)
	if len(next) != len(iv) {
		return fail("Scan: the body returned %d carries for %d initial carries", len(next), len(iv))
	}
	nv, ok := sub.values("Scan body's carry", next)
	if ok {
		for i, v := range nv {
			if !v.Type.Equal(iv[i].Type) {
				sub.atPos(v.Pos).Errorf("Scan: the body's next carry %d is %v, but the initial carry is %v (a carry keeps its type)", i, v.Type, iv[i].Type)
			}
			sub.b.Graph().AddOutput(ir.ScanCarryName(i), v)
		}
	}
	yv, yok := sub.values("Scan body's output", outs)
	if yok {
		for j, v := range yv {
			sub.b.Graph().AddOutput(ir.ScanYName(j), v)
		}
	}
	if errs := sub.b.Errors(); len(errs) > 0 || !ok || !yok {
		for _, e := range errs {
			g.b.AddError(fmt.Errorf("in the body of Scan (%s): %w", pos, e))
		}
		return nil, nil
	}
	root.Funcs = append(root.Funcs, sub.b.Graph())

	args := append(append(append([]*ir.Value(nil), iv...), xv...), sub.scan.outer...)
	attrs := func(out int) ir.Attrs {
		a := ir.Attrs{"fn": fname, "carries": len(iv), "xs": len(xv), "out": out}
		if checkpoint > 0 {
			a["checkpoint"] = checkpoint
		}
		return a
	}
	for i, v := range iv {
		final = append(final, g.wrap(g.atPos(pos).Declared("scan", v.Type, attrs(i), args...)))
	}
	for j, v := range yv {
		ys = append(ys, g.wrap(g.atPos(pos).Declared("scan", ir.Stacked(v.Type, T), attrs(len(iv)+j), args...)))
	}
	return final, ys
}
