package codegen

import (
	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"strings"
)

// The models of the equivalence harness: one tiny model per op (every op
// of ir.Ops() appears in at least one, forward or backward; see
// TestEveryOpCovered), the bundled MLP, a 6-layer MLP, and a model using
// every composite.

// unaryModel applies op to x + p, x [n,3]; the objective weights it with a
// param so that every gradient is non-trivial.
func unaryModel(apply func(t *dsl.Tensor) *dsl.Tensor) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		p := g.Param("p", 3, dsl.Normal(0, 0.1))
		w := g.Param("w", 3, dsl.Normal(1, 0.5))
		y := apply(x.Add(p)).Named("y")
		g.Output("y", y)
		g.Minimize(y.Mul(w).Sum())
	}
}

// binaryModel applies op to (x + p, q·x2) with broadcasting ([n,3] and [3]
// or [n,1]).
func binaryModel(apply func(a, b *dsl.Tensor) *dsl.Tensor) func(g *dsl.Graph) {
	return func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3)
		x2 := g.Input("x2", dsl.Float32, n, 1)
		p := g.Param("p", 3, dsl.Normal(0, 0.1))
		q := g.Param("q", 3, dsl.Normal(1, 0.2))
		w := g.Param("w", 3, dsl.Normal(1, 0.5))
		y := apply(x.Add(p), x2.Mul(q)).Named("y")
		g.Output("y", y)
		g.Minimize(y.Mul(w).Sum())
	}
}

func f64(name string, fn func(g *dsl.Graph), lo, hi float64) *testModel {
	return &testModel{name: name, fn: fn, dtype: ir.F64, lo: lo, hi: hi, labels: 5, adam: true}
}

// reduction is one DSL reduction in its two forms (dsl's R and RKeep).
type reduction struct {
	reduce, keep func(t *dsl.Tensor, axes ...int) *dsl.Tensor
}

// reductions are the DSL's reductions by IR op name.
var reductions = map[string]reduction{
	"sum":       {(*dsl.Tensor).Sum, (*dsl.Tensor).SumKeep},
	"mean":      {(*dsl.Tensor).Mean, (*dsl.Tensor).MeanKeep},
	"max":       {(*dsl.Tensor).Max, (*dsl.Tensor).MaxKeep},
	"min":       {(*dsl.Tensor).Min, (*dsl.Tensor).MinKeep},
	"logsumexp": {(*dsl.Tensor).LogSumExp, (*dsl.Tensor).LogSumExpKeep},
}

// reduceModel reduces h [n,3,4] over several axis patterns.
func reduceModel(op string) func(g *dsl.Graph) {
	r, ok := reductions[op]
	if !ok {
		panic("reduceModel: no DSL reduction for op " + op)
	}
	return func(g *dsl.Graph) {
		n := g.Dim("n")
		x := g.Input("x", dsl.Float32, n, 3, 4)
		p := g.Param("p", 3, 4, dsl.Normal(0, 0.3))
		h := x.Add(p)
		a := r.reduce(h, 1)    // [n,4]
		b := r.reduce(h, 0, 2) // [3]: two groups
		c := r.keep(h, 2)      // [n,3,1]
		d := r.reduce(h)       // []
		e := r.reduce(h, 0)    // [3,4]
		w1 := g.Param("w1", 4, dsl.Normal(1, 0.5))
		w2 := g.Param("w2", 3, dsl.Normal(1, 0.5))
		g.Output("a", a)
		g.Output("d", d)
		g.Minimize(a.Mul(w1).Sum().Add(b.Mul(w2).Sum()).Add(c.Sum().Mul(0.5)).Add(d).Add(e.Mean()))
	}
}

func harnessModels() []*testModel {
	var ms []*testModel
	un := func(name string, lo, hi float64, f func(t *dsl.Tensor) *dsl.Tensor) {
		ms = append(ms, f64("op_"+name, unaryModel(f), lo, hi))
	}
	un("neg", -1.5, 1.5, dsl.Neg)
	un("abs", -1.5, 1.5, dsl.Abs)
	un("sign", -1.5, 1.5, func(t *dsl.Tensor) *dsl.Tensor { return dsl.Sign(t).Mul(t) })
	un("exp", -1.5, 1.5, dsl.Exp)
	un("log", 0.5, 2, dsl.Log)
	un("log1p", 0.5, 2, dsl.Log1p)
	un("sqrt", 0.5, 2, dsl.Sqrt)
	un("square", -1.5, 1.5, dsl.Square)
	un("reciprocal", 0.5, 2, dsl.Reciprocal)
	un("tanh", -1.5, 1.5, dsl.Tanh)
	un("sigmoid", -3, 3, dsl.Sigmoid)
	un("relu", -1.5, 1.5, dsl.ReLU)
	un("leaky_relu", -1.5, 1.5, func(t *dsl.Tensor) *dsl.Tensor { return dsl.LeakyReLU(t, 0.1) })
	un("softplus", -3, 3, dsl.Softplus)
	un("sin", -3, 3, dsl.Sin)
	un("cos", -3, 3, dsl.Cos)
	un("powc", 0.5, 2, func(t *dsl.Tensor) *dsl.Tensor { return t.Pow(2.5) })
	un("stop_gradient", -1, 1, func(t *dsl.Tensor) *dsl.Tensor { return t.Mul(t.StopGradient()) })
	un("convert", -1, 1, func(t *dsl.Tensor) *dsl.Tensor { return t.Convert(dsl.Float64).Convert(dsl.Float32).Mul(t) })
	bin := func(name string, lo, hi float64, f func(a, b *dsl.Tensor) *dsl.Tensor) {
		ms = append(ms, f64("op_"+name, binaryModel(f), lo, hi))
	}
	bin("add", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return a.Add(b) })
	bin("sub", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return a.Sub(b) })
	bin("mul", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return a.Mul(b) })
	bin("div", 0.5, 2, func(a, b *dsl.Tensor) *dsl.Tensor { return a.Div(b) })
	bin("maximum", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return dsl.Maximum(a, b) })
	bin("minimum", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return dsl.Minimum(a, b) })
	bin("pow", 0.5, 2, func(a, b *dsl.Tensor) *dsl.Tensor { return dsl.Pow(a, b) })
	for _, c := range []struct {
		name string
		f    func(x *dsl.Tensor, y any) *dsl.Tensor
	}{{"eq", dsl.Equal}, {"ne", dsl.NotEqual}, {"lt", dsl.Less}, {"le", dsl.LessEqual}, {"gt", dsl.Greater}, {"ge", dsl.GreaterEqual}} {
		bin(c.name, -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return c.f(a, b).Mul(a) })
	}
	bin("select", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return dsl.Where(dsl.Greater(a, b), a.Mul(b), b) })
	bin("bce_logits", -1, 1, func(a, b *dsl.Tensor) *dsl.Tensor { return dsl.BCEWithLogits(a, dsl.Sigmoid(b)) })
	for _, op := range []string{"sum", "mean", "max", "min", "logsumexp"} {
		ms = append(ms, f64("op_"+op, reduceModel(op), -1, 1))
	}
	ms = append(ms,
		f64("op_softmax", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3, 4)
			p := g.Param("p", 3, 4, dsl.Normal(0, 0.3))
			w := g.Param("w", 3, 4, dsl.Normal(0, 1))
			h := x.Add(p)
			a := dsl.Softmax(h, 1)
			b := dsl.Softmax(h)
			g.Output("a", a)
			g.Minimize(a.Mul(w).Sum().Add(b.Mul(w).Sum()))
		}, -2, 2),
		f64("op_log_softmax", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3, 4)
			p := g.Param("p", 3, 4, dsl.Normal(0, 0.3))
			w := g.Param("w", 3, 4, dsl.Normal(0, 1))
			h := x.Add(p)
			g.Minimize(dsl.LogSoftmax(h, 1).Mul(w).Sum().Add(dsl.LogSoftmax(h, 0).Mul(w).Sum()))
		}, -2, 2),
		f64("op_argmax", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 5)
			p := g.Param("p", 5, dsl.Normal(0, 0.3))
			h := x.Add(p)
			g.Output("am", h.ArgMax(1))
			g.Output("am0", h.ArgMax(0))
			g.Minimize(h.Square().Sum())
		}, -2, 2),
		f64("op_softmax_xent", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 5)
			y := g.Labels("y", n)
			p := g.Param("p", 5, dsl.Normal(0, 0.3))
			g.Minimize(dsl.SoftmaxCrossEntropy(x.Add(p), y).Mean())
		}, -2, 2),
		f64("op_matmul", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 4)
			A := g.Param("A", 4, 3, dsl.Normal(0, 0.5))
			B := g.Param("B", 3, 4, dsl.Normal(0, 0.5))
			C := g.Param("C", 4, 4, dsl.Normal(0, 0.5))
			h := x.MatMul(A)                     // [n,3]
			h2 := dsl.MatMul(x, B, false, true)  // [n,3]
			h3 := dsl.MatMul(C, x, false, true)  // [4,n]
			h4 := dsl.MatMul(h3, A, true, false) // [n,3]
			h5 := dsl.MatMul(h2, h3, true, true) // [3,4]
			g.Output("h4", h4)
			g.Minimize(h.Mul(h2).Sum().Add(h4.Square().Sum()).Add(h5.Square().Sum()))
		}, -1, 1),
		f64("op_bmm", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3, 4)
			y := g.Input("y2", dsl.Float32, n, 4, 2)
			p := g.Param("p", 3, 4, dsl.Normal(0, 0.5))
			q := g.Param("q", 4, 2, dsl.Normal(0, 0.5))
			h := x.Add(p).MatMul(y.Add(q))                   // [n,3,2]
			k := dsl.MatMul(x.Add(p), x.Add(p), false, true) // [n,3,3]
			g.Output("h", h)
			g.Minimize(h.Square().Sum().Add(k.Mean()))
		}, -1, 1),
		f64("op_movement", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3, 4)
			p := g.Param("p", 3, 4, dsl.Normal(0, 0.5))
			w := g.Param("w", 4, 3, dsl.Normal(0, 0.5))
			h := x.Add(p)
			t := h.Transpose(2, 0, 1)                // [4,n,3]
			r := h.Reshape(n, 12)                    // [n,12]
			s := r.Slice(1, 2, 9)                    // [n,7]
			pd := dsl.Concat(1, s, r.Slice(1, 0, 2)) // [n,9]
			b := w.BroadcastTo(n, 4, 3)              // [n,4,3]
			tt := h.Reshape(n, 12).T()               // [12,n]
			g.Output("t", t)
			g.Output("pd", pd)
			g.Minimize(t.Square().Mean().Add(pd.Mul(pd).Sum()).Add(b.Mul(h.Transpose(0, 2, 1)).Sum()).Add(tt.Sum()))
		}, -1, 1),
		f64("op_pad", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 6)
			p := g.Param("p", 6, dsl.Normal(0, 0.5))
			w := g.Param("w", 3, dsl.Normal(0, 0.5))
			h := x.Mul(p).Slice(1, 2, 5).Mul(w) // backward pads
			g.Minimize(h.Square().Sum())
		}, -1, 1),
		f64("op_gather", func(g *dsl.Graph) {
			n := g.Dim("n")
			idx := g.Input("idx", dsl.Int32, n)
			E := g.Param("E", 5, 5, dsl.Normal(0, 0.5))
			w := g.Param("w", 5, dsl.Normal(1, 0.5))
			e := E.Gather(0, idx) // [n,5]
			c := E.Gather(1, idx) // [5,n]
			oh := dsl.OneHot(idx, 5, dsl.Float32)
			g.Output("e", e)
			g.Output("oh", oh)
			g.Minimize(e.Mul(w).Sum().Add(c.Square().Sum()).Add(oh.MatMul(E).Sum()))
		}, -1, 1),
		f64("op_misc", func(g *dsl.Graph) {
			n := g.Dim("n")
			x := g.Input("x", dsl.Float32, n, 3)
			lab := g.Input("lab", dsl.Int32, n)
			p := g.Param("p", 3, dsl.Normal(0, 0.5))
			c := g.Const(0.25, dsl.Float32, n, 3)
			lf := lab.Convert(dsl.Float32).Reshape(n, 1)
			h := x.Add(p).Mul(c).Add(lf)
			g.Output("h", h)
			g.Minimize(h.Square().Mean())
		}, -1, 1),
	)
	mlp := func(name string, fn func(g *dsl.Graph), d ir.DType) *testModel {
		return &testModel{name: name, fn: fn, dtype: d, lo: 0, hi: 1, labels: 10, adam: true}
	}
	ms = append(ms,
		mlp("mlp64", models.MLP, ir.F64),
		mlp("mlp32", models.MLP, ir.F32),
		mlp("deep32", models.DeepMLP, ir.F32),
		mlp("deep64", models.DeepMLP, ir.F64),
		&testModel{name: "mlp64gonum", fn: models.MLP, dtype: ir.F64, lo: 0, hi: 1, labels: 10, gemm: GemmGonum, ns: []int{2}},
		&testModel{name: "twodims", fn: twoDims, dtype: ir.F32, lo: -1, hi: 1, labels: 3, adam: true, wrt: []string{"x"}},
		&testModel{name: "wrt64", fn: models.MLP, dtype: ir.F64, lo: 0, hi: 1, labels: 10, wrt: []string{"x"}, ns: []int{2}},
		&testModel{name: "static", fn: staticModel, dtype: ir.F64, lo: -1, hi: 1, adam: true, ns: []int{1}},
		&testModel{name: "awkward", fn: awkwardNames, dtype: ir.F64, lo: -1, hi: 1, adam: true, optimizer: OptimizerAdam},
		&testModel{name: "fwdonly", fn: forwardOnly, dtype: ir.F32, lo: -1, hi: 1, noGrad: true, ns: []int{1, 4}},
		&testModel{name: "composite64", fn: composite, dtype: ir.F64, lo: -1, hi: 1, labels: 4, adam: true},
		&testModel{name: "composite32", fn: composite, dtype: ir.F32, lo: -1, hi: 1, labels: 4, adam: true},
		&testModel{name: "gelu32", fn: models.GELUNet, dtype: ir.F32, lo: 0, hi: 1, labels: 10, ns: []int{2}},
		&testModel{name: "gelu64", fn: models.GELUNet, dtype: ir.F64, lo: 0, hi: 1, labels: 10, ns: []int{1, 3}},
		&testModel{name: "fused64", fn: fusedReductions, dtype: ir.F64, lo: -1, hi: 1, labels: 5, adam: true},
		&testModel{name: "fused32", fn: fusedReductions, dtype: ir.F32, lo: -1, hi: 1, labels: 5},
	)
	// Models added later go last: a model's seeds follow its position.
	tanhVJP := dsl.CustomVJP("tanh_rule",
		func(xs ...*dsl.Tensor) *dsl.Tensor { return dsl.Tanh(xs[0]) },
		func(xs []*dsl.Tensor, y, g *dsl.Tensor) []*dsl.Tensor {
			return []*dsl.Tensor{g.Sub(g.Mul(y.Square()))} // g·(1 − y²)
		})
	un("custom_vjp", -1.5, 1.5, func(t *dsl.Tensor) *dsl.Tensor { return tanhVJP(t) })
	// float32 with float64 accumulation (Options.Accumulate "f64"): held to
	// tol32Acc64 element by element.
	for _, m := range []*testModel{mlp("mlp32acc", models.MLP, ir.F32), mlp("deep32acc", models.DeepMLP, ir.F32),
		{name: "composite32acc", fn: composite, dtype: ir.F32, lo: -1, hi: 1, labels: 4, adam: true}} {
		m.accumulate = ir.F64
		ms = append(ms, m)
	}
	ms = append(ms, normModels()...) // normalization (models_norm_test.go)
	// Convolutions: conv2d with stride, padding, dilation, groups and a
	// 1×1 kernel, each followed by a bias add and a ReLU; the backward pass
	// has conv2d_input_grad and conv2d_weight_grad. Again with gonum's GEMM
	// and with float64 accumulation (the other GEMM functions rt.Conv2D*
	// may be given).
	ms = append(ms, f64("op_conv2d", convModel, -1, 1),
		&testModel{name: "conv32gonum", fn: convModel, dtype: ir.F32, lo: -1, hi: 1, gemm: GemmGonum, ns: []int{2}},
		&testModel{name: "conv32acc", fn: convModel, dtype: ir.F32, lo: -1, hi: 1, accumulate: ir.F64, ns: []int{2}})
	// matmul with broadcast batch dims: one GEMM with the batch folded into
	// rows, single loops and loop nests with broadcast (stride 0) operands.
	ms = append(ms, f64("op_matmul_bcast", matmulBroadcast, -1, 1))
	// Products of symbolic dims: reshapes [n,s,d] → [n·s,d] → back, and an
	// input with a product dim.
	ms = append(ms, &testModel{name: "dimprod64", fn: dimProducts, dtype: ir.F64, lo: -1, hi: 1, adam: true, wrt: []string{"x"}},
		&testModel{name: "dimprod32", fn: dimProducts, dtype: ir.F32, lo: -1, hi: 1})
	// The attention block of issue 12 (acceptance 5), with its causal mask.
	causal := map[string]func(shape []int) []float64{"mask": func(s []int) []float64 { return models.CausalMask(s[0]) }}
	ms = append(ms, &testModel{name: "attention64", fn: models.AttentionBlock, dtype: ir.F64, lo: -1, hi: 1, adam: true, wrt: []string{"x"}, fill: causal},
		&testModel{name: "attention32", fn: models.AttentionBlock, dtype: ir.F32, lo: -1, hi: 1, fill: causal})
	// dsl.NoDecay (issue 11): the optimizer's weight decay skips b.
	ms = append(ms, &testModel{name: "nodecay64", fn: noDecayModel, dtype: ir.F64, lo: -1, hi: 1, labels: 3, adam: true})
	// The registry walk again in float32 (the op models above are float64).
	for _, m := range ms {
		if strings.HasPrefix(m.name, "op_") && m.dtype == ir.F64 {
			m32 := *m
			m32.name, m32.dtype = m.name+"32", ir.F32
			ms = append(ms, &m32)
		}
	}
	// Pooling, float64 and float32 (added after the copies above so that
	// their seeds stay put).
	ms = append(ms, f64("op_pool", poolModel, -1, 1))
	pool32 := *ms[len(ms)-1]
	pool32.name, pool32.dtype = "op_pool32", ir.F32
	ms = append(ms, &pool32)
	// Gradients inside the model (issue 16): a gradient penalty.
	ms = append(ms, f64("gradpenalty64", gradPenaltyModel, -1, 1),
		&testModel{name: "gradpenalty32", fn: gradPenaltyModel, dtype: ir.F32, lo: -1, hi: 1})
	// Forward mode and Hessian-vector products as forward-only packages
	// (bpgen -jvp, -hvp).
	ms = append(ms, &testModel{name: "jvp64", fn: secondOrderMLP, dtype: ir.F64, lo: -1, hi: 1, labels: 3, noGrad: true, transform: jvpTransform},
		&testModel{name: "hvp64", fn: secondOrderMLP, dtype: ir.F64, lo: -1, hi: 1, labels: 3, noGrad: true, transform: hvpTransform},
		&testModel{name: "hvp32", fn: secondOrderMLP, dtype: ir.F32, lo: -1, hi: 1, labels: 3, noGrad: true, transform: hvpTransform})
	ms = append(ms, scanModels()...) // scan (models_scan_test.go)
	// Forward-only with params (issue 17): no Backward, TrainStep or
	// optimizer; ParamVector, SetParams, Save and Load of the params.
	ms = append(ms, &testModel{name: "fwdparams", fn: forwardOnlyParams, dtype: ir.F64, lo: -1, hi: 1, noGrad: true, ns: []int{1, 3}})
	ms = append(ms, scanCheckpointModels()...) // scan with dsl.Checkpoint
	return ms
}

// poolModel pools h = x + p [n,2,7,8] with stride ≠ kernel and padding,
// the default stride, and overlapping windows; the objective weights each
// result with a param. max_pool2d_gather, which only second derivatives
// reach, is built directly in the IR and output.
func poolModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 2, 7, 8)
	g.Input("x2", dsl.Float32, n, 2, 7, 8) // read by the gather below
	p := g.Param("p", 2, 7, 8, dsl.Normal(0, 0.5))
	h := x.Add(p).Named("h")
	odd := dsl.Pool2D{Kernel: [2]int{3, 2}, Stride: [2]int{2, 3}, Padding: [2]int{1, 1}}  // [4,3]
	def := dsl.Pool2D{Kernel: [2]int{2, 2}}                                               // [3,4]
	over := dsl.Pool2D{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}} // [7,8]
	a := dsl.MaxPool2D(h, odd)
	b := dsl.AvgPool2D(h, odd)
	c := dsl.MaxPool2D(h, def)
	d := dsl.AvgPool2D(h, over)
	e := dsl.MaxPool2D(dsl.Tanh(h), over)
	w1 := g.Param("w1", 2, 4, 3, dsl.Normal(0, 1))
	w2 := g.Param("w2", 2, 3, 4, dsl.Normal(0, 1))
	w3 := g.Param("w3", 2, 7, 8, dsl.Normal(0, 1))
	g.Output("a", a)
	g.Output("d", d)
	g.Minimize(a.Mul(w1).Sum().Add(b.Mul(w1).Sum()).Add(c.Mul(w2).Sum()).Add(d.Mul(w3).Sum()).Add(e.Mul(w3).Sum()))
	ig := g.IR()
	var hv, x2v *ir.Value
	for _, v := range ig.Values {
		switch v.Name {
		case "h":
			hv = v
		case "x2":
			x2v = v
		}
	}
	ig.AddOutput("gather", ir.BuilderFor(ig).Apply(ir.OpMaxPool2DGather, ir.Attrs{"kernel": []int{3, 2}, "stride": []int{2, 3}, "padding": []int{1, 1}}, hv, x2v))
}

// fusedReductions gives every reduction that fusion can feed its own
// elementwise producer (over the last axis and over every axis, with a
// param broadcast over the batch), so that passes.CompileProgram fuses
// them into Reduce kernels.
func fusedReductions(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3, 4)
	y := g.Labels("y", n)
	z := g.Input("z", dsl.Float32, n, 5)
	p := g.Param("p", 3, 4, dsl.Normal(0, 0.5))
	q := g.Param("q", 5, dsl.Normal(0, 0.5))
	w := g.Param("w", 3, 4, dsl.Normal(1, 0.5))
	lseLast := x.Mul(p).LogSumExp(2)                       // [n,3]
	lseAll := x.Add(p).LogSumExp(0, 1, 2)                  // []
	sm := dsl.Softmax(dsl.Tanh(x).Mul(p))                  // [n,3,4]
	lsm := dsl.LogSoftmax(x.Sub(p), 2)                     // [n,3,4]
	mx := x.Mul(w).Max(2)                                  // [n,3]
	mn := x.Sub(w).Min()                                   // []
	mean := x.Mul(x).Mean(2)                               // [n,3]
	xent := dsl.SoftmaxCrossEntropy(z.Mul(q), y)           // [n]
	xent0 := dsl.SoftmaxCrossEntropy(z.Add(q).Mul(0.5), y) // [n]
	g.Output("sm", sm)
	g.Output("lse", lseLast)
	g.Minimize(lseLast.Sum().Add(lseAll).Add(sm.Mul(w).Sum()).Add(lsm.Mul(w).Mean()).Add(mx.Sum()).Add(mn).
		Add(mean.Sum()).Add(xent.Mean()).Add(xent0.Sum()))
}

// forwardOnly is a graph without objective or parameters: only outputs.
func forwardOnly(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 5)
	g.Output("probs", dsl.Softmax(x))
	g.Output("best", x.ArgMax(1))
	g.Output("total", dsl.Tanh(x).Sum())
}

// forwardOnlyParams is a graph without objective, with params: inference
// of a model trained elsewhere.
func forwardOnlyParams(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 3)
	W := g.Param("W", 3, 2, dsl.Normal(0, 1))
	b := g.Param("b", 2, dsl.Normal(0, 1))
	g.Output("y", dsl.Tanh(x.MatMul(W).Add(b)))
}

// awkwardNames uses names that collide with Go keywords, kernel locals and
// the generated code's own identifiers.
func awkwardNames(g *dsl.Graph) {
	x := g.Dim("x")
	out := g.Input("out", dsl.Float32, x, 3)
	N := g.Input("X", dsl.Float32, x, 1)
	typ := g.Param("type", 3, dsl.Normal(0, 1))
	typ2 := g.Param("Type", 3, dsl.Normal(0, 1))
	s := out.Mul(typ).Add(N).Named("s")
	fmt := dsl.Tanh(s).Mul(typ2).Named("fmt")
	g.Output("out.final", fmt)
	g.Output("training", s.Sum())
	g.Output("typ", typ.Reshape(3, 1)) // a param, through a reshape
	g.Output("input", N)               // an input
	g.Minimize(fmt.Square().Mean())
}

// twoDims has two symbolic dims: a batch of n sequences of length t.
func twoDims(g *dsl.Graph) {
	n, t := g.Dim("n"), g.Dim("t")
	x := g.Input("x", dsl.Float32, n, t, 4)
	y := g.Labels("y", n)
	p := g.Param("p", 4, dsl.Normal(0, 0.5))
	W := g.Param("W", 4, 3, dsl.XavierUniform())
	h := dsl.Tanh(x.Add(p)).Mean(1) // [n,4]
	o := h.MatMul(W)
	tt := x.Transpose(1, 0, 2).Sum(0, 2) // [t]
	g.Output("o", o)
	g.Output("tt", tt)
	g.Minimize(dsl.SoftmaxCrossEntropy(o, y).Mean().Add(tt.Mean().Mul(0.1)))
}

// staticModel has no symbolic dims, a scalar input and a scalar param.
func staticModel(g *dsl.Graph) {
	x := g.Input("x", dsl.Float32, 2, 3)
	t := g.Input("t", dsl.Float32)
	a := g.Param("a", dsl.Normal(1, 0.1))
	W := g.Param("W", 3, 2, dsl.Normal(0, 1))
	h := x.MatMul(W).Mul(a).Add(t) // [2,2]
	g.Output("h", h)
	g.Output("a2", a.Square())
	g.Minimize(h.Square().Sum().Add(a.Mul(t)))
}

// convModel is a small convolutional net on x [n,2,7,6]: a strided, padded
// convolution, a grouped, dilated one with per-axis padding, and a 1×1
// one (rt's direct path), each with a bias [o,1,1] and a ReLU.
func convModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 2, 7, 6)
	w1 := g.Param("w1", 4, 2, 3, 3, dsl.Normal(0, 0.4))
	b1 := g.Param("b1", 4, 1, 1, dsl.Normal(0, 0.1))
	w2 := g.Param("w2", 4, 2, 2, 2, dsl.Normal(0, 0.5))
	b2 := g.Param("b2", 4, 1, 1, dsl.Normal(0, 0.1))
	w3 := g.Param("w3", 3, 4, 1, 1, dsl.Normal(0, 0.5))
	b3 := g.Param("b3", 3, 1, 1, dsl.Normal(0, 0.1))
	h1 := dsl.ReLU(dsl.Conv2D(x, w1, dsl.Stride(2), dsl.Padding(1)).Add(b1))                                         // [n,4,4,3]
	h2 := dsl.ReLU(dsl.Conv2D(h1, w2, dsl.Groups(2), dsl.DilationHW(2, 1), dsl.PaddingHW(1, 0)).Add(b2)).Named("h2") // [n,4,4,2]
	h3 := dsl.ReLU(dsl.Conv2D(h2, w3).Add(b3))                                                                       // [n,3,4,2]
	g.Output("h3", h3)
	g.Minimize(h3.Square().Mean().Add(h2.Mean()))
}

// matmulBroadcast multiplies with broadcast batch dims as torch.matmul:
// [n,t,4]·[4,3] (and transposed forms), [n,2,t,4]·[n,2,4,t] (attention
// scores), [n,1,t,4]·[2,4,3], [n,1,2,t,4]·[3,1,4,2] (three runs of
// batch dims: a loop nest around rt.GemmBatch's two loops) and
// [2,4]·[n,t,4]ᵀ.
func matmulBroadcast(g *dsl.Graph) {
	n, t := g.Dim("n"), g.Dim("t")
	x := g.Input("x", dsl.Float32, n, t, 4)
	q := g.Input("q", dsl.Float32, n, 2, t, 4)
	W := g.Param("W", 4, 3, dsl.Normal(0, 0.5))
	V := g.Param("V", 3, 4, dsl.Normal(0, 0.5))
	P := g.Param("P", 2, 4, 3, dsl.Normal(0, 0.5))
	C := g.Param("C", 2, 4, dsl.Normal(0, 0.5))
	K := g.Param("K", 2, 1, 4, dsl.Normal(0, 0.5))
	R := g.Param("R", 3, 1, 4, 2, dsl.Normal(0, 0.5))
	h := x.MatMul(W)                          // [n,t,3]: one GEMM
	h2 := dsl.MatMul(x, V, false, true)       // [n,t,3]: one GEMM
	s := dsl.MatMul(q, q.Add(K), false, true) // [n,2,t,t]: a loop
	hp := x.Reshape(n, 1, t, 4).MatMul(P)     // [n,2,t,3]: a nest, both broadcast
	c := dsl.MatMul(C, x, false, true)        // [n,2,t]: a loop, C broadcast
	q3 := q.Reshape(n, 1, 2, t, 4).MatMul(R)  // [n,3,2,t,2]: three runs
	ct := dsl.MatMul(h, x, true, false)       // [n,3,4]: a loop, transA
	g.Output("hp", hp)
	g.Output("s", s)
	g.Minimize(h.Mul(h2).Sum().Add(s.Square().Mean()).Add(hp.Square().Sum()).Add(c.Square().Sum()).Add(ct.Mean()).Add(q3.Square().Mean()))
}

// dimProducts reshapes x [n,s,4] to [n·s,4] for one GEMM and back, and
// adds an input z given as [n·s,3].
func dimProducts(g *dsl.Graph) {
	n, s := g.Dim("n"), g.Dim("s")
	x := g.Input("x", dsl.Float32, n, s, 4)
	z := g.Input("z", dsl.Float32, dsl.Prod(n, s), 3)
	W := g.Param("W", 4, 3, dsl.Normal(0, 0.5))
	b := g.Param("b", 3, dsl.Normal(0, 0.5))
	h := dsl.Tanh(x.Reshape(dsl.Prod(n, s), 4).MatMul(W).Add(b).Add(z)).Named("h") // [n·s,3]
	y := h.Reshape(n, s, 3)
	m := y.Mean(1).Named("m") // [n,3]
	flat := y.Flatten(0, 2)   // [3·n·s]
	g.Output("y", y)
	g.Output("m", m)
	g.Minimize(m.Square().Sum().Add(flat.Mul(flat).Mean()))
}

// noDecayModel is a softmax regression whose bias, nonzero from the start
// (so that a decay of it would show), is declared dsl.NoDecay.
func noDecayModel(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 4)
	y := g.Labels("y", n)
	W := g.Param("W", 4, 3, dsl.HeNormal())
	b := g.Param("b", 3, dsl.Constant(0.5), dsl.NoDecay)
	L := dsl.SoftmaxCrossEntropy(x.MatMul(W).Add(b), y).Mean()
	g.Output("loss", L)
	g.Minimize(L)
}
