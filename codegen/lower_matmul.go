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
// are rows of one GEMM ([n,s,d]·[d,e] is [n·s,d]·[d,e]); otherwise the
// batch dims are runs of dims along which each operand is present or
// broadcast, each a loop that offsets each operand by its own stride, 0
// where it is broadcast: one or two runs are rt.GemmBatch's loops (split
// across cores), more a loop nest around the GEMM.
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
	if len(gs) <= 2 {
		return []jen.Code{k.gemmBatch(v, gs, c)}
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

// gemmBatch is the rt.GemmBatch call of v's product into c over one or
// two batch groups (gs[0] the outer loop when there are two).
func (k *kctx) gemmBatch(v *ir.Value, gs []batchGroup, c *jen.Statement) jen.Code {
	x, y := v.Args[0], v.Args[1]
	xs, ys := x.Type.Shape[len(x.Type.Shape)-2:], y.Type.Shape[len(y.Type.Shape)-2:]
	os := v.Type.Shape[len(v.Type.Shape)-2:]
	// strides[i] is an operand's stride along group i: the product of its
	// own dims in the later groups and of its matrix (nil where it is
	// broadcast).
	strides := func(mat ir.Shape, own func(g batchGroup) []ir.Dim) []jen.Code {
		out := make([]jen.Code, len(gs))
		later := append([]ir.Dim{}, mat...)
		for i := len(gs) - 1; i >= 0; i-- {
			d := own(gs[i])
			if len(d) == 0 {
				continue
			}
			out[i] = k.prod(later)
			later = append(append([]ir.Dim{}, d...), later...)
		}
		return out
	}
	sx := strides(xs, func(g batchGroup) []ir.Dim { return g.xs })
	sy := strides(ys, func(g batchGroup) []ir.Dim { return g.ys })
	so := strides(os, func(g batchGroup) []ir.Dim { return g.dims })
	// Fields by loop (the inner group is loop 0): counts, then the
	// strides of a, b and c, 0 (omitted) where broadcast.
	loop := func(i int) int { return len(gs) - 1 - i }
	var fields []jen.Code
	field := func(name string, l int, val jen.Code) {
		fields = append(fields, jen.Id(fmt.Sprintf("%s%d", name, l)).Op(":").Add(val))
	}
	counts := []jen.Code{nil, jen.Lit(1)}
	for i, g := range gs {
		counts[loop(i)] = k.prod(g.dims)
	}
	field("N", 0, counts[0])
	field("N", 1, counts[1])
	for _, f := range []struct {
		name string
		s    []jen.Code
	}{{"A", sx}, {"B", sy}, {"C", so}} {
		for l := range 2 {
			if i := len(gs) - 1 - l; i >= 0 && f.s[i] != nil {
				field(f.name, l, f.s[i])
			}
		}
	}
	args := append([]jen.Code{k.gemmFunc(v.Type.DType)}, k.gemmArgList(v, k.prod(os[:1]), k.slice(x), k.slice(y), c)...)
	args = append(args, jen.Qual(rtPath, "Batch").Values(fields...))
	return jen.Qual(rtPath, "GemmBatch").Call(args...)
}
