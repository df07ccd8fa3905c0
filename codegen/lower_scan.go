package codegen

import (
	"fmt"
	"slices"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/dave/jennifer/jen"
)

// lowerScan emits a scan as one Go for loop over the steps whose body is
// the body func's kernels, printed once: the generated code does not grow
// with the sequence length. Every body value has a scratch buffer of its
// own at capacity (a step's worth; allocated by New, so a step allocates
// nothing); the carries live in scratch buffers too, xs[t] is copied into
// the x inputs' buffers at each step, and captured values are read from
// their own buffers. Elementwise body values are one loop each (no fusion
// inside the body yet). The remat form (a checkpointed scan's backward)
// is lowerScanRemat's.
func lowerScan(k *kctx, v *ir.Value) []jen.Code {
	f := k.p.g.Func(v.Attrs.Str("fn"))
	if f == nil {
		k.p.fail(fmt.Errorf("%s: scan: no func %q", v.Pos, v.Attrs.Str("fn")))
		return nil
	}
	if v.Attrs.Int("saved") > 0 {
		return lowerScanRemat(k, v, f)
	}
	nc, nx := v.Attrs.Int("carries"), v.Attrs.Int("xs")
	b := k.scanBody(v, f, func(i int) *ir.Value { return v.Args[i] },
		func(idx int, n *jen.Statement) jen.Code { return stepOf(k.slice(v.Args[nc+idx]), "scanT", n) },
		func(idx int) *ir.Value { return v.Args[nc+nx+idx] })
	if b == nil {
		return nil
	}
	code := append([]jen.Code{jen.Id("scanLen").Op(":=").Add(k.prod(v.Args[nc].Type.Shape[:1]))}, b.pre...)
	code = append(code, jen.For(jen.Id("scanStep").Op(":=").Lit(0), jen.Id("scanStep").Op("<").Id("scanLen"), jen.Id("scanStep").Op("++")).Block(
		append(append([]jen.Code{stepIndex("scanStep", v.Attrs.Bool("reverse"))}, b.step...), k.scanResult(v, b)...)...))
	return append(code, b.post(k, v)...)
}

// lowerScanRemat emits the remat form (see ir.OpScan): a forward loop over
// the recomputed scan F keeps F's carries entering every k-th step; then,
// from the last segment of k steps to the first, F is rerun over the
// segment from its checkpoint, keeping the carries entering each step,
// and the body runs over the segment's steps in reverse. The carries kept
// take ⌈T/k⌉ + min(k, T) carries' worth of scratch, where the plain form's
// saved-carry sequences take T.
func lowerScanRemat(k *kctx, v *ir.Value, f *ir.Graph) []jen.Code {
	p := k.p
	F := p.g.Func(v.Attrs.Str("remat"))
	if F == nil {
		p.fail(fmt.Errorf("%s: scan: no func %q (remat)", v.Pos, v.Attrs.Str("remat")))
		return nil
	}
	nc, nx, ns := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("saved")
	every := v.Attrs.Int("checkpoint")
	seqs := nc + ns
	lenT := v.Args[seqs].Type.Shape[:1]
	// F: carries from F's initial carries, the scan's xs and captured values.
	fb := k.scanBody(v, F, func(i int) *ir.Value { return v.Args[nc+i] },
		func(idx int, n *jen.Statement) jen.Code { return stepOf(k.slice(v.Args[seqs+idx]), "scanT", n) },
		func(idx int) *ir.Value { return v.Args[seqs+nx+idx] })
	if fb == nil {
		return nil
	}
	// The checkpoints and a segment's carries, per recomputed carry.
	ckpt, seg := make([]*jen.Statement, ns), make([]*jen.Statement, ns)
	for j := range ns {
		t := v.Args[nc+j].Type
		n := p.capProd(t.Shape)
		segs := jen.Parens(p.capProd(lenT).Op("+").Lit(every - 1)).Op("/").Lit(every).Op("*").Add(n)
		rows := jen.Min(jen.Lit(every), p.capProd(lenT)).Op("*").Add(n.Clone())
		ckpt[j] = jen.Id("s").Dot(k.useScratch(fmt.Sprintf("scan%d_checkpoints%d_", p.funcIndex(F), j), t.DType, segs))
		seg[j] = jen.Id("s").Dot(k.useScratch(fmt.Sprintf("scan%d_segment%d_", p.funcIndex(F), j), t.DType, rows))
	}
	carrySize := func(j int) *jen.Statement { return k.prod(v.Args[nc+j].Type.Shape) }
	// The body: x_j (j < ns) is F's carry j entering the step, from the
	// segment; the rest are the scan's sequences.
	bb := k.scanBody(v, f, func(i int) *ir.Value { return v.Args[i] },
		func(idx int, n *jen.Statement) jen.Code {
			if idx < ns {
				return stepOf(seg[idx].Clone(), "scanRow", n)
			}
			return stepOf(k.slice(v.Args[seqs+idx-ns]), "scanT", n)
		},
		func(idx int) *ir.Value { return v.Args[seqs+nx+idx] })
	if bb == nil {
		return nil
	}
	fstep := append(append([]jen.Code(nil), fb.step...), fb.next...)
	var save, restore, keep []jen.Code
	for j := range ns {
		c := fb.sk.slice(fb.carry[j])
		save = append(save, jen.Copy(stepOf(ckpt[j].Clone(), "scanCk", carrySize(j)), c))
		restore = append(restore, jen.Copy(c.Clone(), stepOf(ckpt[j].Clone(), "scanSeg", carrySize(j))))
		keep = append(keep, jen.Copy(stepOf(seg[j].Clone(), "scanRow", carrySize(j)), c.Clone()))
	}
	// F runs in the direction opposite to the scan's: step index scanI
	// counts F's steps, scanT is the sequence position.
	fT := stepIndex("scanI", !v.Attrs.Bool("reverse"))
	rowOf := jen.Id("scanRow").Op(":=").Id("scanI").Op("-").Id("scanLo")
	// Bind only the locals a loop reads (Go rejects unused ones).
	var fT1, bT, bRow []jen.Code
	if readsX(F, 0, nx) {
		fT1 = []jen.Code{fT}
	}
	if readsX(f, ns, ns+nx) || v.Attrs.Int("out") >= nc {
		bT = []jen.Code{fT}
	}
	if readsX(f, 0, ns) {
		bRow = []jen.Code{rowOf}
	}
	code := []jen.Code{
		jen.Id("scanLen").Op(":=").Add(k.prod(lenT)),
		jen.Id("scanSegs").Op(":=").Parens(jen.Id("scanLen").Op("+").Lit(every - 1)).Op("/").Lit(every),
		jen.Id("scanLast").Op(":=").Parens(jen.Id("scanSegs").Op("-").Lit(1)).Op("*").Lit(every),
	}
	code = append(append(code, fb.pre...), bb.pre...)
	code = append(code, jen.Comment(fmt.Sprintf("Forward over %s, keeping the carries entering every %d-th step.", F.Name, every)),
		jen.For(jen.Id("scanI").Op(":=").Lit(0), jen.Id("scanI").Op("<=").Id("scanLast"), jen.Id("scanI").Op("++")).Block(
			append(fT1,
				jen.If(jen.Id("scanI").Op("%").Lit(every).Op("==").Lit(0)).Block(append([]jen.Code{jen.Id("scanCk").Op(":=").Id("scanI").Op("/").Lit(every)}, save...)...),
				jen.If(jen.Id("scanI").Op("<").Id("scanLast")).Block(fstep...))...,
		),
		jen.Comment("Backward, segment by segment from the last: recompute the segment's carries from its checkpoint, then run the body over it in reverse."),
		jen.For(jen.Id("scanSeg").Op(":=").Id("scanSegs").Op("-").Lit(1), jen.Id("scanSeg").Op(">=").Lit(0), jen.Id("scanSeg").Op("--")).Block(
			append(append([]jen.Code{
				jen.Id("scanLo").Op(":=").Id("scanSeg").Op("*").Lit(every),
				jen.Id("scanHi").Op(":=").Min(jen.Id("scanLo").Op("+").Lit(every), jen.Id("scanLen")),
			}, restore...),
				jen.For(jen.Id("scanI").Op(":=").Id("scanLo"), jen.Id("scanI").Op("<").Id("scanHi"), jen.Id("scanI").Op("++")).Block(
					append(append(fT1, rowOf), append(keep, jen.If(jen.Id("scanI").Op("+").Lit(1).Op("<").Id("scanHi")).Block(fstep...))...)...),
				jen.For(jen.Id("scanI").Op(":=").Id("scanHi").Op("-").Lit(1), jen.Id("scanI").Op(">=").Id("scanLo"), jen.Id("scanI").Op("--")).Block(
					append(append(append(bT, bRow...), bb.step...), k.scanResult(v, bb)...)...),
			)...),
	)
	return append(code, bb.post(k, v)...)
}

// funcIndex numbers the funcs of the graph, for scratch names.
func (p *plan) funcIndex(f *ir.Graph) int { return slices.Index(p.g.Funcs, f) }

// readsX reports whether body f reads any of its x inputs from…to-1.
func readsX(f *ir.Graph, from, to int) bool {
	for i := from; i < to; i++ {
		if f.Lookup(ir.ScanXName(i)) != nil {
			return true
		}
	}
	return false
}

// stepIndex binds scanT, the sequence position of step counter i: i, or
// counted from the end in reverse.
func stepIndex(i string, reverse bool) jen.Code {
	if reverse {
		return jen.Id("scanT").Op(":=").Id("scanLen").Op("-").Lit(1).Op("-").Id(i)
	}
	return jen.Id("scanT").Op(":=").Id(i)
}

// stepOf is row t (a local) of a buffer of rows of n elements:
// buf[t*n : (t+1)*n].
func stepOf(buf *jen.Statement, t string, n *jen.Statement) *jen.Statement {
	return buf.Index(jen.Id(t).Op("*").Add(n), jen.Parens(jen.Id(t).Op("+").Lit(1)).Op("*").Add(n.Clone()))
}

// scanStep is one body func's code inside a scan's loop.
type scanStep struct {
	sk    *kctx       // the body's values' storage
	f     *ir.Graph   // the body
	carry []*ir.Value // carry i's buffer: the body's input c_i, or (an unread carry) a value of its own
	pre   []jen.Code  // before the loop: carries from their initial values, constants
	step  []jen.Code  // one step at scanT: xs copied in, the body's kernels
	next  []jen.Code  // after a step: the next carries into the carry buffers
}

// scanBody lowers body f of scan v: carry i starts from value init(i),
// x input idx (of n elements) is copied from the slice x(idx, n) at each
// step, captured input idx reads value param(idx) in place. The body's
// scratch buffers are named after f, not v: every loop over f shares
// them (the loops run one after the other, and each starts from its own
// initial carries), so the several results of one scan, run as loops of
// their own, take one body's scratch, and one set of checkpoints.
func (k *kctx) scanBody(v *ir.Value, f *ir.Graph, init func(i int) *ir.Value, x func(idx int, n *jen.Statement) jen.Code, param func(idx int) *ir.Value) *scanStep {
	p := k.p
	nc := 0
	for f.Output(ir.ScanCarryName(nc)) != nil {
		nc++
	}
	// The body's plan: p with the body's values (scratch buffers, and the
	// captured values' storage); scratch buffers and errors go back to p.
	sp := *p
	sp.vals = make([]*valInfo, len(f.Values))
	defer func() { p.scratch, p.err = sp.scratch, sp.err }()
	sk := &kctx{p: &sp, v: v, used: k.used, kern: k.kern}
	b := &scanStep{sk: sk, f: f, carry: make([]*ir.Value, nc)}
	scratch := func(bv *ir.Value) *valInfo {
		name := sk.useScratch(fmt.Sprintf("scan%d_%s_%s", p.funcIndex(f), sanitize(bv.Label()), bv.Ref()), bv.Type.DType, p.capProd(bv.Type.Shape))
		return &valInfo{v: bv, field: name}
	}
	for i := range nc {
		if b.carry[i] = f.Lookup(ir.ScanCarryName(i)); b.carry[i] == nil {
			b.carry[i] = &ir.Value{ID: len(sp.vals), Op: ir.OpInput, Type: init(i).Type, Name: ir.ScanCarryName(i)}
			sp.vals = append(sp.vals, scratch(b.carry[i]))
			b.pre = append(b.pre, jen.Copy(sk.slice(b.carry[i]), k.slice(init(i))))
		}
	}
	for _, bv := range f.Values {
		var idx int
		switch {
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "c", &idx):
			sp.vals[bv.ID] = scratch(bv)
			b.pre = append(b.pre, jen.Copy(sk.slice(bv), k.slice(init(idx))))
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "x", &idx):
			sp.vals[bv.ID] = scratch(bv)
			b.step = append(b.step, jen.Copy(sk.slice(bv), x(idx, k.prod(bv.Type.Shape))))
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "p", &idx):
			sp.vals[bv.ID] = p.storage(param(idx)) // read in place, from the state
		case bv.Op.Storage == ir.View:
			sp.vals[bv.ID] = &valInfo{v: bv, alias: bv.Args[0]}
		case bv.Op == ir.OpConst:
			sp.vals[bv.ID] = scratch(bv)
			b.pre = append(b.pre, jen.For(jen.Id("i").Op(":=").Range().Add(sk.slice(bv))).Block(
				sk.slice(bv).Index(jen.Id("i")).Op("=").Add(floatLit(bv.Attrs.Float("value"), 0))))
		case bv.Op.Storage == ir.Computed:
			sp.vals[bv.ID] = scratch(bv)
			bk := &kctx{p: &sp, v: bv, used: k.used, kern: k.kern}
			var code []jen.Code
			if bv.Op.Class == ir.Elementwise {
				code = bk.fusedLoop(&passes.Kernel{Kind: passes.KernelLoop, Values: []*ir.Value{bv}, Root: bv, Materialized: []*ir.Value{bv}})
			} else {
				code = bodyLowering(bk)
			}
			if bk.fallible {
				k.fallible = true
			}
			b.step = append(b.step, jen.Block(code...))
		default:
			p.fail(fmt.Errorf("%s: scan body %s: %s values are not supported by codegen yet\n\t%s", v.Pos, f.Name, bv.Op.Name, bv))
			return nil
		}
	}
	for i := range nc {
		o := f.Output(ir.ScanCarryName(i))
		if o.Op == ir.OpInput && o.Name != ir.ScanCarryName(i) && scanIndex(o.Name, "c", new(int)) {
			p.fail(fmt.Errorf("%s: scan body %s: carry %d's next value is carry input %s; permuting carries is not supported by codegen yet", v.Pos, f.Name, i, o.Name))
			return nil
		}
		if c := b.carry[i]; c != o {
			b.next = append(b.next, jen.Copy(sk.slice(c), sk.slice(o)))
		}
	}
	return b
}

// scanResult is the end of a step of scan v's body b: the stacked y
// written (before the carries change: y may be a carry input), then the
// next carries.
func (k *kctx) scanResult(v *ir.Value, b *scanStep) []jen.Code {
	var code []jen.Code
	if nc, out := len(b.carry), v.Attrs.Int("out"); out >= nc {
		y := b.f.Output(ir.ScanYName(out - nc))
		code = append(code, jen.Copy(stepOf(k.slice(v), "scanT", k.prod(y.Type.Shape)), b.sk.slice(y)))
	}
	return append(code, b.next...)
}

// post copies scan v's final carry out, if it is the result.
func (b *scanStep) post(k *kctx, v *ir.Value) []jen.Code {
	if out := v.Attrs.Int("out"); out < len(b.carry) {
		return []jen.Code{jen.Copy(k.slice(v), b.sk.slice(b.carry[out]))}
	}
	return nil
}

// bodyLowering is kctx.body, through a variable: the lowerings table
// refers to lowerScan, which lowers other ops with the table.
var bodyLowering func(k *kctx) []jen.Code

func init() { bodyLowering = (*kctx).body }

// scanIndex parses a scan body input name prefix+index.
func scanIndex(name, prefix string, idx *int) bool {
	var n int
	if _, err := fmt.Sscanf(name, prefix+"%d", &n); err != nil || fmt.Sprintf("%s%d", prefix, n) != name {
		return false
	}
	*idx = n
	return true
}
