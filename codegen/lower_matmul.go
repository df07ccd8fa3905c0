package codegen

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// batchGroup is a run of adjacent batch dims of a matmul's result along
// which each operand is either present or broadcast throughout (so the
// run is one loop, with one stride per operand).
type batchGroup struct {
	dims   []ir.Dim
	xs, ys []ir.Dim // the operands' own dims along the run (nil where broadcast)
}

// matmulBatchGroups merges the batch dims of the result of v (a matmul)
// into groups; dims of static size 1 are dropped.
func matmulBatchGroups(v *ir.Value) []batchGroup {
	x, y := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	out := v.Type.Shape
	nb := len(out) - 2
	present := func(s ir.Shape, a int) (ir.Dim, bool) {
		j := len(s) - 2 - nb + a
		if j < 0 || s[j] == ir.Static(1) {
			return ir.Dim{}, false
		}
		return s[j], true
	}
	var gs []batchGroup
	lastX, lastY := false, false
	for a := range nb {
		d := out[a]
		if d == ir.Static(1) {
			continue
		}
		dx, px := present(x, a)
		dy, py := present(y, a)
		if len(gs) == 0 || px != lastX || py != lastY {
			gs = append(gs, batchGroup{})
		}
		g := &gs[len(gs)-1]
		g.dims = append(g.dims, d)
		if px {
			g.xs = append(g.xs, dx)
		}
		if py {
			g.ys = append(g.ys, dy)
		}
		lastX, lastY = px, py
	}
	return gs
}

// gemmArgList is the argument list of a GEMM call computing the 2-D
// product of v's operands' matrices a and b into c, with m the number of
// rows of the result (v's, or more when batch dims are folded into rows).
func (k *kctx) gemmArgList(v *ir.Value, m *jen.Statement, a, b, c jen.Code) []jen.Code {
	x, y := v.Args[0], v.Args[1]
	ta := v.Attrs.Bool("transA")
	xs, ys := x.Type.Shape[len(x.Type.Shape)-2:], y.Type.Shape[len(y.Type.Shape)-2:]
	os := v.Type.Shape[len(v.Type.Shape)-2:]
	kk := xs[1] // the inner dimension
	if ta {
		kk = xs[0]
	}
	return []jen.Code{jen.Lit(ta), jen.Lit(v.Attrs.Bool("transB")), m, k.prod(os[1:]), k.prod([]ir.Dim{kk}),
		jen.Lit(1), a, k.prod(xs[1:]), b, k.prod(ys[1:]), jen.Lit(0), c, k.prod(os[1:])}
}

// matmul emits the GEMM calls of v's product into c (v's buffer, or
// another of its shape, cut to length). Batch dims never materialize a
// broadcast operand: when only a (not transposed) has batch dims, they
// are rows of one GEMM ([n,s,d]·[d,e] is [n·s,d]·[d,e]); otherwise a loop
// nest over the batch dims (one loop per run of dims along which each
// operand is present or broadcast) offsets each operand by its own
// stride, 0 where it is broadcast.
func (k *kctx) matmul(c *jen.Statement) []jen.Code {
	v := k.v
	x, y := v.Args[0], v.Args[1]
	xs, ys := x.Type.Shape[len(x.Type.Shape)-2:], y.Type.Shape[len(y.Type.Shape)-2:]
	os := v.Type.Shape[len(v.Type.Shape)-2:]
	fn := k.gemmFunc(v.Type.DType)
	call := func(m *jen.Statement, a, b, c jen.Code) *jen.Statement {
		return fn.Clone().Call(k.gemmArgList(v, m, a, b, c)...)
	}
	gs := matmulBatchGroups(v)
	if len(gs) == 0 {
		return []jen.Code{call(k.prod(os[:1]), k.slice(x), k.slice(y), c)}
	}
	rowsOnly := !v.Attrs.Bool("transA")
	for _, g := range gs {
		rowsOnly = rowsOnly && len(g.ys) == 0
	}
	if rowsOnly {
		return []jen.Code{call(k.prod(append(v.Type.Shape[:len(v.Type.Shape)-2:len(v.Type.Shape)-2], os[0])), k.slice(x), k.slice(y), c)}
	}
	// One loop index per group: bi for a single loop (the common case of
	// equal batch dims), i0, i1, … for a nest.
	idx := func(i int) string {
		if len(gs) == 1 {
			return "bi"
		}
		return fmt.Sprintf("i%d", i)
	}
	// offset is the start of the matrix of an operand with matrices of
	// shape mat at the current indices (present says along which groups
	// the operand has its own dims); nil when it is 0 throughout.
	offset := func(mat ir.Shape, present func(g batchGroup) []ir.Dim) *jen.Statement {
		var terms []*jen.Statement
		var later []ir.Dim // the operand's dims after group i
		for i := len(gs) - 1; i >= 0; i-- {
			own := present(gs[i])
			if len(own) == 0 {
				continue
			}
			stride := append(append([]ir.Dim{}, later...), mat...)
			terms = append(terms, jen.Id(idx(i)).Op("*").Add(k.prod(stride)))
			later = append(append([]ir.Dim{}, own...), later...)
		}
		if len(terms) == 0 {
			return nil
		}
		st := terms[len(terms)-1]
		for i := len(terms) - 2; i >= 0; i-- {
			st = st.Op("+").Add(terms[i])
		}
		return st
	}
	sub := func(name string, mat ir.Shape, off *jen.Statement) *jen.Statement {
		if off == nil {
			return jen.Id(name).Index(jen.Empty(), k.prod(mat))
		}
		return jen.Id(name).Index(off, jen.Empty()).Index(jen.Empty(), k.prod(mat))
	}
	xo := offset(xs, func(g batchGroup) []ir.Dim { return g.xs })
	yo := offset(ys, func(g batchGroup) []ir.Dim { return g.ys })
	oo := offset(os, func(g batchGroup) []ir.Dim { return g.dims })
	var body jen.Code = call(k.prod(os[:1]), sub("a", xs, xo), sub("b", ys, yo), sub("out", os, oo))
	for i := len(gs) - 1; i >= 0; i-- {
		body = jen.For(jen.Id(idx(i)).Op(":=").Lit(0), jen.Id(idx(i)).Op("<").Add(k.prod(gs[i].dims)), jen.Id(idx(i)).Op("++")).Block(body)
	}
	return []jen.Code{
		jen.List(jen.Id("out"), jen.Id("a"), jen.Id("b")).Op(":=").List(c, k.slice(x), k.slice(y)),
		body,
	}
}
