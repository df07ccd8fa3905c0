package codegen

import (
	"fmt"
	"math"
	"slices"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/dave/jennifer/jen"
)

// kernelBody emits the body of a kernel of the program: a loop nest for
// Loop kernels and for Reduce and Gemm kernels with fused values, the
// value's own code for the others.
func (k *kctx) kernelBody(kern *passes.Kernel) []jen.Code {
	switch {
	case kern.Kind == passes.KernelLoop:
		return k.fusedLoop(kern)
	case kern.Kind == passes.KernelReduce && len(kern.Values) > 1:
		return k.fusedReduce(kern)
	case kern.Kind == passes.KernelGemm && len(kern.Values) > 1:
		return k.fusedGemm(kern)
	}
	k.v = kern.Root
	return k.body()
}

// operand is a buffer that a loop nest reads or writes.
type operand struct {
	buf  *jen.Statement // the buffer cut to its length: the product of the nest's dims it varies along
	name string         // the local of its view (re-cut at each loop level)
	elem string         // the local its element is loaded into ("": not loaded)
	pres []bool         // by dim of the nest's shape: whether it varies along that dim
}

// nest is a loop nest over a shape. Dims of size 1 are dropped and
// adjacent dims along which every operand either varies or is broadcast
// are merged into one loop, so common cases are one flat loop, or (a bias
// added to a batch) two loops without any division. Each operand is
// viewed at every level as the part of it the inner loops cover, and its
// element loaded at the innermost level along which it varies (outside
// every loop if it is broadcast along all of them).
type nest struct {
	k     *kctx
	shape ir.Shape
	ops   []*operand
	// split > 0 forces a loop boundary before dim split (the dims from
	// split on are a row: a reduction's last axis, a GEMM's columns).
	split int
	// hooks: rowPre and rowPost run around the loops of each row (around
	// the whole nest when split is 0).
	hooks           bool
	rowPre, rowPost []jen.Code
	pre, post       []jen.Code // before the loops (after the views and hoisted loads), after them
	body            []jen.Code // per element, after the loads; the index is n.at()
	// scalar: the nest is one element (a Loop kernel of a one-element
	// shape), emitted as statements: each operand is its whole buffer,
	// read and written at index 0, with no view and no loop.
	scalar bool
	// par asks for the nest's outer loop to run over [lo, hi) only, so
	// that kernels.For can split it over the cores (see parSplit); emit
	// sets ranged if it did (a nest of one element, or of rows, has no
	// loop it splits). parCols asks for the columns of a nest of rows
	// (split 1, two loops) to run over [lo, hi) instead.
	par, parCols bool
	ranged       *parSplit
}

// parSplit is a loop nest split over the cores: the nest, emitted over
// [lo, hi) of the loop over the dims over, each iteration covering the
// elements of the dims per (none if the loop is the whole nest, one flat
// loop). The loop is the outer one, or with cols the columns of a nest of
// rows (a GEMM epilogue summing its columns: each column's sum is then
// still taken over all rows in order).
type parSplit struct {
	over, per []ir.Dim
	cols      bool
	body      []jen.Code
}

// scalarShape reports whether a shape has one element and no symbolic dim.
func scalarShape(s ir.Shape) bool {
	for _, d := range s {
		if d != ir.Static(1) {
			return false
		}
	}
	return true
}

// at is the index of the current element in the body.
func (n *nest) at() *jen.Statement {
	if n.scalar {
		return jen.Lit(0)
	}
	return jen.Id("i")
}

func presence(arg ir.Shape, out ir.Shape) []bool {
	r := len(out)
	pres := make([]bool, r)
	for d := range out {
		j := d - (r - len(arg))
		pres[d] = j >= 0 && arg[j] == out[d]
	}
	return pres
}

func allTrue(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	return r
}

func (n *nest) emit() []jen.Code {
	k := n.k
	if n.scalar {
		var code []jen.Code
		for _, o := range n.ops {
			if o.elem != "" {
				code = append(code, jen.Id(o.elem).Op(":=").Id(o.name).Index(jen.Lit(0)))
			}
		}
		code = append(code, n.pre...)
		code = append(code, n.body...)
		return append(code, n.post...)
	}
	type group struct {
		dims []ir.Dim
		pres []bool // by operand
		row  bool
	}
	rowSide := n.split > 0 || n.hooks
	var groups []group
	for d, dim := range n.shape {
		if dim == ir.Static(1) {
			continue
		}
		pres := make([]bool, len(n.ops))
		for i, o := range n.ops {
			pres[i] = o.pres[d]
		}
		row := rowSide && d >= n.split
		if l := len(groups) - 1; l >= 0 && groups[l].row == row && slices.Equal(groups[l].pres, pres) {
			groups[l].dims = append(groups[l].dims, dim)
			continue
		}
		groups = append(groups, group{[]ir.Dim{dim}, pres, row})
	}
	if len(groups) == 0 || (rowSide && !groups[len(groups)-1].row) {
		// A row (or a nest) of one element: one iteration.
		groups = append(groups, group{nil, allTrue(len(n.ops)), rowSide})
	}
	m := len(groups)
	// The outer loop runs over [lo, hi) if the nest is split over the
	// cores: a nest of rows (hooks, split) keeps its loops whole.
	ranged := n.par && n.split == 0 && !n.hooks && len(groups[0].dims) > 0
	if ranged {
		n.ranged = &parSplit{over: groups[0].dims}
		for _, g := range groups[1:] {
			n.ranged.per = append(n.ranged.per, g.dims...)
		}
	}
	// cols: the columns of a nest of rows are split (each operand's view of
	// the columns cut to [lo, hi)).
	cols := n.parCols && !n.hooks && m == 2 && !groups[0].row && groups[1].row
	if n.parCols && !cols {
		k.p.fail(fmt.Errorf("codegen: a column split of a loop nest over %v that is not two loops of rows", n.shape))
	}
	if cols {
		n.ranged = &parSplit{over: groups[1].dims, per: groups[0].dims, cols: true}
	}
	colRange := func(i int, view *jen.Statement) *jen.Statement {
		if cols && groups[1].pres[i] {
			return view.Index(jen.Id("lo"), jen.Id("hi"))
		}
		return view
	}
	innerStart := m
	for g := range groups {
		if groups[g].row {
			innerStart = g
			break
		}
	}
	last := make([]int, len(n.ops))
	for i := range n.ops {
		last[i] = -1
		for g := range groups {
			if groups[g].pres[i] {
				last[i] = g
			}
		}
	}
	// rest(i, g): the dims of operand i in groups g.., the length of its
	// view inside loop g.
	rest := func(i, g int) []ir.Dim {
		var ds []ir.Dim
		for h := g; h < m; h++ {
			if groups[h].pres[i] {
				ds = append(ds, groups[h].dims...)
			}
		}
		return ds
	}
	load := func(i int, idx jen.Code) jen.Code {
		return jen.Id(n.ops[i].elem).Op(":=").Id(n.ops[i].name).Index(idx)
	}

	// The innermost loop.
	var inner []jen.Code
	rangeOver := ""
	for i, o := range n.ops {
		if last[i] == m-1 {
			if o.elem != "" {
				inner = append(inner, load(i, jen.Id("i")))
			}
			if rangeOver == "" {
				rangeOver = o.name
			}
		}
	}
	inner = append(inner, n.body...)
	var loop *jen.Statement
	var code []jen.Code
	if rangeOver != "" {
		loop = jen.For(jen.Id("i").Op(":=").Range().Id(rangeOver)).Block(inner...)
		// Cut the other operands of the loop to its length, so that the
		// compiler drops their bounds checks.
		var views, vals []jen.Code
		for i, o := range n.ops {
			if last[i] == m-1 && o.name != rangeOver {
				views = append(views, jen.Id(o.name))
				vals = append(vals, jen.Id(o.name).Index(jen.Empty(), jen.Len(jen.Id(rangeOver))))
			}
		}
		if len(views) > 0 {
			code = append(code, jen.List(views...).Op("=").List(vals...))
		}
	} else {
		end := k.prod(groups[m-1].dims)
		if ranged && m == 1 {
			end = jen.Id("hi").Op("-").Id("lo")
		}
		loop = jen.For(jen.Id("i").Op(":=").Lit(0), jen.Id("i").Op("<").Add(end), jen.Id("i").Op("++")).Block(inner...)
	}
	code = append(code, loop)
	wrapRow := func(l []jen.Code) []jen.Code {
		var r []jen.Code
		r = append(r, n.rowPre...)
		r = append(r, l...)
		return append(r, n.rowPost...)
	}
	if n.hooks && innerStart == m-1 {
		code = wrapRow(code)
	}
	for g := m - 2; g >= 0; g-- {
		iv := fmt.Sprintf("i%d", g)
		var body []jen.Code
		var views, vals, loads []jen.Code
		for i, o := range n.ops {
			if !groups[g].pres[i] {
				continue
			}
			l := k.prod(rest(i, g+1))
			views = append(views, jen.Id(o.name))
			view := jen.Id(o.name).Index(jen.Id(iv).Op("*").Add(l), jen.Empty()).Index(jen.Empty(), k.prod(rest(i, g+1)))
			if g == m-2 {
				view = colRange(i, view)
			}
			vals = append(vals, view)
			if last[i] == g && o.elem != "" {
				loads = append(loads, load(i, jen.Lit(0)))
			}
		}
		if len(views) > 0 {
			body = append(body, jen.List(views...).Op(":=").List(vals...))
		}
		body = append(body, loads...)
		body = append(body, code...)
		var l jen.Code = jen.For(jen.Id(iv).Op(":=").Lit(0), jen.Id(iv).Op("<").Add(k.prod(groups[g].dims)), jen.Id(iv).Op("++")).Block(body...)
		if ranged && g == 0 {
			l = jen.For(jen.Id(iv).Op(":=").Id("lo"), jen.Id(iv).Op("<").Id("hi"), jen.Id(iv).Op("++")).Block(body...)
		}
		code = []jen.Code{l}
		if n.hooks && innerStart == g {
			code = wrapRow(code)
		}
	}
	// The top level: the operands' views, the loads of operands broadcast
	// along every loop.
	var top []jen.Code
	var views, vals []jen.Code
	for i, o := range n.ops {
		views = append(views, jen.Id(o.name))
		if ranged && m == 1 && groups[0].pres[i] {
			// The nest is one flat loop: the range is of elements.
			vals = append(vals, o.buf.Clone().Index(jen.Id("lo"), jen.Id("hi")))
			continue
		}
		if cols && !groups[0].pres[i] {
			vals = append(vals, colRange(i, o.buf.Clone())) // a row operand (a bias), or the column sums
			continue
		}
		vals = append(vals, o.buf)
	}
	if len(views) > 0 {
		top = append(top, jen.List(views...).Op(":=").List(vals...))
	}
	for i, o := range n.ops {
		if last[i] < 0 && o.elem != "" {
			top = append(top, load(i, jen.Lit(0)))
		}
	}
	top = append(top, n.pre...)
	top = append(top, code...)
	top = append(top, n.post...)
	if n.ranged != nil {
		n.ranged.body = top
	}
	return top
}

// elementwiseValues emits, for each elementwise value of vals (in order),
// the local v<ID> := its formula over its arguments' locals (names). It
// adds the read operands of the arguments computed outside the kernel
// (scalar constants become literals) to n.
func (k *kctx) elementwiseValues(n *nest, vals []*ir.Value, names map[*ir.Value]string) []jen.Code {
	var code []jen.Code
	for _, v := range vals {
		if k.p.isDimConst(v) {
			if names[v] == "" {
				k.dimConstValue(n, v, names)
			}
			continue
		}
		args := make([]string, len(v.Args))
		for i, a := range v.Args {
			if names[a] == "" {
				k.readOperand(n, a, names, true)
			}
			args[i] = names[a]
		}
		name := k.local("v", v)
		names[v] = name
		code = append(code, jen.Id(name).Op(":=").Add(k.formula(v, args)))
	}
	return code
}

// formula prints the elementwise value v over the Go expressions of its
// arguments.
func (k *kctx) formula(v *ir.Value, args []string) *jen.Statement {
	elem := goType(v.Type.DType)
	if v.Op == ir.OpConvert {
		return jen.Id(elem).Call(jen.Id(args[0]))
	}
	ep := &exprPrinter{elem: elem, args: idents(args), attrs: v.Attrs}
	val := ep.root(v.Op.Expr())
	if ep.err != nil {
		k.p.fail(fmt.Errorf("%s: %v\n\t%s", v.Pos, ep.err, v))
	}
	return val
}

// dimConstValue computes the dim constant a (plan.dimConst) into a local
// before the nest's loops, as names[a]: a literal if folded, else from the
// dims and its arguments (each computed the same way first).
func (k *kctx) dimConstValue(n *nest, a *ir.Value, names map[*ir.Value]string) {
	if a.Op.Storage == ir.View {
		if names[a.Args[0]] == "" {
			k.dimConstValue(n, a.Args[0], names)
		}
		names[a] = names[a.Args[0]]
		return
	}
	elem := goType(a.Type.DType)
	var val *jen.Statement
	if x, ok := k.p.folded[a]; ok {
		val = jen.Id(elem).Call(typedLit(a.Type.DType, x))
	} else if a.Op == ir.OpNumel {
		val = jen.Id(elem).Call(k.prod(a.Attrs.Shape("shape")))
	} else {
		args := make([]string, len(a.Args))
		for i, b := range a.Args {
			if names[b] == "" {
				k.dimConstValue(n, b, names)
			}
			args[i] = names[b]
		}
		val = k.formula(a, args)
	}
	name := k.local("c", a)
	n.pre = append(n.pre, jen.Id(name).Op(":=").Add(val))
	names[a] = name
}

// readOperand makes a read of a (computed outside the kernel) available
// as names[a]: if elementwise is set and a is a dim constant, a local
// computed before the loops; else the element of a new operand.
func (k *kctx) readOperand(n *nest, a *ir.Value, names map[*ir.Value]string, elementwise bool) {
	if elementwise && k.p.isDimConst(a) {
		k.dimConstValue(n, a, names)
		return
	}
	i := len(n.ops)
	o := &operand{buf: k.slice(a), name: fmt.Sprintf("a%d", i), elem: fmt.Sprintf("x%d", i), pres: presence(a.Type.Shape, n.shape)}
	if n.scalar {
		o.name = k.refName(a)
	}
	n.ops = append(n.ops, o)
	names[a] = o.elem
}

// writeOperand adds an operand of the nest's shape that the body stores
// v into (at index n.at()).
func (k *kctx) writeOperand(n *nest, v *ir.Value, prefix string) string {
	name := fmt.Sprintf("%s%d", prefix, len(n.ops))
	if n.scalar {
		name = k.refName(v)
	}
	n.ops = append(n.ops, &operand{buf: k.slice(v), name: name, pres: allTrue(len(n.shape))})
	return name
}

// refName is the Go expression of v's whole buffer, as text.
func (k *kctx) refName(v *ir.Value) string { return fmt.Sprintf("%#v", k.ref(v)) }

// fusedLoop emits a Loop kernel: one loop nest over the root's shape that
// computes every value of the kernel in registers and stores the
// materialized ones.
func (k *kctx) fusedLoop(kern *passes.Kernel) []jen.Code {
	n := &nest{k: k, shape: kern.Root.Type.Shape, scalar: scalarShape(kern.Root.Type.Shape), par: k.parallel(kern.Root.Type.Shape)}
	names := map[*ir.Value]string{}
	n.body = k.elementwiseValues(n, kern.Values, names)
	for _, v := range kern.Materialized {
		if k.p.dropped(v) {
			continue
		}
		o := k.writeOperand(n, v, "o")
		n.body = append(n.body, jen.Id(o).Index(n.at()).Op("=").Id(names[v]))
	}
	code := n.emit()
	if n.ranged != nil {
		k.ranged = n.ranged
		return nil
	}
	return code
}

// broadcastCopy emits the loop nest that copies x, broadcast to the shape
// of the kernel's value, into that value.
func (k *kctx) broadcastCopy(x *ir.Value) []jen.Code {
	n := &nest{k: k, shape: k.v.Type.Shape, scalar: scalarShape(k.v.Type.Shape)}
	names := map[*ir.Value]string{}
	k.readOperand(n, x, names, k.v.Op == ir.OpBroadcastTo)
	o := k.writeOperand(n, k.v, "o")
	n.body = []jen.Code{jen.Id(o).Index(n.at()).Op("=").Id(names[x])}
	return n.emit()
}

// fusedReduce emits a Reduce kernel with elementwise producers: one sweep
// over the reduction's argument that computes the producers in registers
// (storing the materialized ones) and accumulates each row (the last axis,
// or everything) in float64, as rt.Reduce does. logsumexp and softmax
// cross-entropy keep the row's arguments in a scratch row and softmax and
// log_softmax in the output row, which rt then finishes (their second
// sweep, over a row in cache).
func (k *kctx) fusedReduce(kern *passes.Kernel) []jen.Code {
	root := kern.Root
	x := root.Args[0]
	shape := x.Type.Shape
	r := len(shape)
	n := &nest{k: k, shape: shape, hooks: true, split: max(r-1, 0)}
	if r > 1 && len(root.Attrs.Ints("axes")) == r {
		n.split = 0 // over every axis (the softmax family has no axes): the whole nest is one row
	}
	names := map[*ir.Value]string{}
	var vals []*ir.Value
	for _, v := range kern.Values {
		if v != root {
			vals = append(vals, v)
		}
	}
	n.body = k.elementwiseValues(n, vals, names)
	if names[x] == "" {
		k.readOperand(n, x, names, false)
	}
	for _, v := range kern.Materialized {
		if v != root && !k.p.dropped(v) {
			o := k.writeOperand(n, v, "o")
			n.body = append(n.body, jen.Id(o).Index(jen.Id("i")).Op("=").Id(names[v]))
		}
	}
	elem := goType(root.Type.DType)
	rowLen := k.prod(shape[n.split:])
	rowPres := make([]bool, r) // varies along the row's dims
	outPres := make([]bool, r) // varies along the other dims
	for d := range shape {
		rowPres[d] = d >= n.split
		outPres[d] = d < n.split
	}
	perRow := func(buf *jen.Statement, prefix string) string {
		name := fmt.Sprintf("%s%d", prefix, len(n.ops))
		n.ops = append(n.ops, &operand{buf: buf, name: name, pres: outPres})
		return name
	}
	scratchRow := func() string {
		f := k.useScratch("row", root.Args[0].Type.DType, k.p.capProd(shape[n.split:]))
		name := fmt.Sprintf("sc%d", len(n.ops))
		n.ops = append(n.ops, &operand{buf: jen.Id("s").Dot(f).Index(jen.Empty(), rowLen.Clone()), name: name, pres: rowPres})
		n.body = append(n.body, jen.Id(name).Index(jen.Id("i")).Op("=").Id(names[x]))
		return name
	}
	if r := root.Op.Reduction; r != nil {
		// One accumulator per row, folded with the op's formula in float64.
		d := perRow(k.slice(root), "d")
		n.rowPre = []jen.Code{jen.Id("acc").Op(":=").Add(float64Lit(r.Init))}
		n.body = append(n.body, k.p.accumulate(root, jen.Id("acc"), jen.Float64().Call(jen.Id(names[x]))))
		n.rowPost = []jen.Code{jen.Id(d).Index(jen.Lit(0)).Op("=").Id(elem).Call(
			k.p.reductionExpr(root, r.FinalizeExpr(), jen.Id("acc"), jen.Float64().Call(rowLen.Clone())))}
		return n.emit()
	}
	finish := rowFinishes[root.Op]
	if finish == nil {
		k.p.fail(fmt.Errorf("internal error: reduce kernel rooted at %s", root))
		return nil
	}
	finish(&rowSweep{k: k, n: n, root: root, x: names[x], rowLen: rowLen, perRow: perRow, scratchRow: scratchRow})
	return n.emit()
}

// rowSweep is a fused reduction's sweep, for a row finish to add to: the
// nest over the reduction's argument (each element computed into the
// local x), the row's length, and helpers that add per-row operands and
// the scratch row.
type rowSweep struct {
	k          *kctx
	n          *nest
	root       *ir.Value
	x          string
	rowLen     *jen.Statement
	perRow     func(buf *jen.Statement, prefix string) string
	scratchRow func() string
}

// rowFinishes completes the fused sweep of the RowFusable ops that are not
// a one-formula fold (ir.Reduction): each stages its row, then finishes it
// with package rt, a second sweep over a row in cache.
var rowFinishes = map[*ir.OpDef]func(r *rowSweep){
	ir.OpLogSumExp: func(r *rowSweep) {
		d := r.perRow(r.k.slice(r.root), "d")
		sc := r.scratchRow()
		r.n.rowPost = []jen.Code{jen.Qual(rtPath, "Reduce").Call(jen.Qual(rtPath, "LogSumExp"), jen.Id(d), jen.Id(sc), jen.Lit(1), r.rowLen.Clone(), jen.Lit(1))}
	},
	ir.OpSoftmax:    inPlaceRow("Softmax"),
	ir.OpLogSoftmax: inPlaceRow("LogSoftmax"),
	ir.OpSoftmaxXent: func(r *rowSweep) {
		y := r.root.Args[1]
		d := r.perRow(r.k.slice(r.root), "d")
		lab := r.perRow(r.k.slice(y), "lab")
		sc := r.scratchRow()
		r.n.pre = append(r.n.pre, jen.Id("r").Op(":=").Lit(0))
		r.n.rowPost = []jen.Code{
			jen.If(jen.Qual(rtPath, "SoftmaxXent").Call(jen.Id(d), jen.Id(sc), jen.Id(lab), jen.Lit(1), r.rowLen.Clone()).Op(">=").Lit(0)).Block(
				jen.Return(r.k.indexError(y, jen.Id("r"), r.rowLen.Clone(), "class labels of softmax_xent")),
			),
			jen.Id("r").Op("++"),
		}
	},
}

// inPlaceRow stages the row in the output and finishes it in place with
// rt.<fn> (which reads each element before writing it).
func inPlaceRow(fn string) func(r *rowSweep) {
	return func(r *rowSweep) {
		o := r.k.writeOperand(r.n, r.root, "o")
		r.n.body = append(r.n.body, jen.Id(o).Index(jen.Id("i")).Op("=").Id(r.x))
		r.n.rowPost = []jen.Code{jen.Qual(rtPath, fn).Call(jen.Id(o), jen.Id(o), jen.Lit(1), r.rowLen.Clone(), jen.Lit(1))}
	}
}

// accumulate prints acc = combine(acc, x) of v's reduction, as acc op= x
// when the formula is acc op x.
func (p *plan) accumulate(v *ir.Value, acc, x *jen.Statement) *jen.Statement {
	e := v.Op.Reduction.CombineExpr()
	if e.Kind == ir.ExprBinary && !ir.IsComparison(e.Op) && e.Args[0].Kind == ir.ExprArg && e.Args[0].Arg == 0 &&
		e.Args[1].Kind == ir.ExprArg && e.Args[1].Arg == 1 {
		return acc.Op(e.Op + "=").Add(x)
	}
	return acc.Clone().Op("=").Add(p.reductionExpr(v, e, acc, x))
}

// float64Lit is a float64 constant: a float literal, or ±Inf.
func float64Lit(f float64) *jen.Statement {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return floatLit(f, 0)
	}
	return jen.Lit(f)
}

// reductionExpr prints one of a reduction's formulas (in float64) over
// two Go expressions.
func (p *plan) reductionExpr(v *ir.Value, e *ir.Expr, a, b *jen.Statement) *jen.Statement {
	ep := &exprPrinter{elem: "float64", args: []*jen.Statement{a, b}}
	s := ep.root(e)
	if ep.err != nil {
		p.fail(fmt.Errorf("%s: %v\n\t%s", v.Pos, ep.err, v))
	}
	return s
}

// fusedGemm emits a Gemm kernel with an epilogue: one GEMM call over the
// whole product, then one pass over it while it is still largely in cache.
// The product is written into the buffer of a value of its shape that the
// kernel stores, and the pass reads each element, computes the epilogue
// (and its producers) in registers, stores the materialized values over
// it, and accumulates column sums (the bias gradient) in float64, in row
// order, as rt.Reduce does. Computing the GEMM by panels of rows, each
// followed by its epilogue, measured twice as slow (the GEMM repacks op(B)
// per panel and splits less work over the threads), and so did a
// tile-level bias+ReLU inside the GEMM (kernels.SgemmBias, since deleted)
// on the benchmark models (L: 6.6 ms against 6.1 ms per train step, M:
// 1.05 against 1.02 ms; its ReLU branched on each element where this pass
// computes max(x, 0)).
func (k *kctx) fusedGemm(kern *passes.Kernel) []jen.Code {
	m := kern.Root
	isColSum := func(v *ir.Value) bool { return v != m && !v.Type.Shape.Equal(m.Type.Shape) }
	var c *jen.Statement
	var target *ir.Value
	if slices.Contains(kern.Materialized, m) {
		target = m
	} else {
		for _, v := range kern.Materialized {
			if !isColSum(v) && v.Type.Equal(m.Type) && !k.p.dropped(v) {
				target = v
			}
		}
	}
	if target != nil {
		c = k.slice(target)
	} else {
		f := k.useScratch("product", m.Type.DType, k.p.capProd(m.Type.Shape))
		c = jen.Id("s").Dot(f).Index(jen.Empty(), k.prod(m.Type.Shape))
	}
	code := k.matmul(c.Clone())
	n := &nest{k: k, shape: m.Type.Shape}
	if !slices.ContainsFunc(kern.Values, isColSum) {
		n.par = k.parallel(m.Type.Shape) // the epilogue's rows are independent
	}
	names := map[*ir.Value]string{}
	o := &operand{buf: c.Clone(), name: "p0", elem: "x0", pres: allTrue(len(m.Type.Shape))}
	n.ops = append(n.ops, o)
	names[m] = o.elem
	var vals, colSums []*ir.Value
	for _, v := range kern.Values {
		switch {
		case v == m:
		case isColSum(v):
			colSums = append(colSums, v)
		default:
			vals = append(vals, v)
		}
	}
	n.body = k.elementwiseValues(n, vals, names)
	for _, v := range kern.Materialized {
		if v != m && !isColSum(v) && !k.p.dropped(v) {
			w := k.writeOperand(n, v, "o")
			n.body = append(n.body, jen.Id(w).Index(jen.Id("i")).Op("=").Id(names[v]))
		}
	}
	if len(colSums) > 0 {
		s := m.Type.Shape
		n.split = 1
		// Split the columns over the cores if the product is a matrix
		// (each column's sums still run over all rows, in order).
		n.parCols = len(s) == 2 && s[0] != ir.Static(1) && s[1] != ir.Static(1) && k.parallel(s)
		cols := k.prod(s[1:])
		size := k.p.capProd(s[1:])
		if len(colSums) > 1 {
			size = size.Op("*").Lit(len(colSums))
		}
		f := k.useScratch("colSums", ir.F64, size)
		for j, v := range colSums {
			name := fmt.Sprintf("cs%d", len(n.ops))
			buf := jen.Id("s").Dot(f).Index(jen.Lit(j).Op("*").Add(cols.Clone()), jen.Empty()).Index(jen.Empty(), cols.Clone())
			if j == 0 {
				buf = jen.Id("s").Dot(f).Index(jen.Empty(), cols.Clone())
			}
			n.ops = append(n.ops, &operand{buf: buf, name: name, pres: []bool{false, true}})
			r := v.Op.Reduction
			if r.Init == 0 {
				n.pre = append(n.pre, jen.Clear(jen.Id(name)))
			} else {
				n.pre = append(n.pre, jen.Qual(rtPath, "Fill").Call(jen.Id(name), floatLit(r.Init, 0)))
			}
			n.body = append(n.body, k.p.accumulate(v, jen.Id(name).Index(jen.Id("i")), jen.Float64().Call(jen.Id(names[v.Args[0]]))))
			elem := goType(v.Type.DType)
			dst := k.slice(v)
			if n.parCols {
				dst = dst.Index(jen.Id("lo"), jen.Id("hi"))
			}
			n.post = append(n.post, jen.For(jen.List(jen.Id("j"), jen.Id("a")).Op(":=").Range().Id(name)).Block(
				dst.Index(jen.Id("j")).Op("=").Id(elem).Call(k.p.reductionExpr(v, r.FinalizeExpr(), jen.Id("a"), jen.Float64().Call(k.prod(s[:1])))),
			))
		}
	}
	epilogue := n.emit()
	if n.ranged != nil {
		k.ranged = n.ranged
		return code
	}
	return append(code, jen.Block(epilogue...))
}
