package codegen

import (
	"fmt"

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
// inside the body yet).
func lowerScan(k *kctx, v *ir.Value) []jen.Code {
	p := k.p
	f := p.g.Func(v.Attrs.Str("fn"))
	if f == nil {
		p.fail(fmt.Errorf("%s: scan: no func %q", v.Pos, v.Attrs.Str("fn")))
		return nil
	}
	nc, nx, out := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("out")
	// The body's plan: p with the body's values (scratch buffers, and the
	// captured values' storage); scratch buffers and errors go back to p.
	sp := *p
	sp.vals = make([]*valInfo, len(f.Values))
	defer func() { p.scratch, p.err = sp.scratch, sp.err }()
	sk := &kctx{p: &sp, v: v, used: k.used, kern: k.kern}
	scratch := func(bv *ir.Value) *valInfo {
		name := sk.useScratch(fmt.Sprintf("scan%s_%s_%s", v.Ref()[1:], sanitize(bv.Label()), bv.Ref()), bv.Type.DType, p.capProd(bv.Type.Shape))
		return &valInfo{v: bv, field: name}
	}
	var pre, step, post []jen.Code
	T := k.prod(v.Args[nc].Type.Shape[:1])
	// carry[i] holds carry i: the body's input c_i, or (a carry the body
	// does not read) a value of its own.
	carry := make([]*ir.Value, nc)
	for i := range nc {
		if carry[i] = f.Lookup(ir.ScanCarryName(i)); carry[i] == nil {
			carry[i] = &ir.Value{ID: len(sp.vals), Op: ir.OpInput, Type: v.Args[i].Type, Name: ir.ScanCarryName(i)}
			sp.vals = append(sp.vals, scratch(carry[i]))
			pre = append(pre, jen.Copy(sk.slice(carry[i]), k.slice(v.Args[i])))
		}
	}
	for _, bv := range f.Values {
		var idx int
		switch {
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "c", &idx):
			sp.vals[bv.ID] = scratch(bv)
			pre = append(pre, jen.Copy(sk.slice(bv), k.slice(v.Args[idx])))
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "x", &idx):
			sp.vals[bv.ID] = scratch(bv)
			n := k.prod(bv.Type.Shape)
			step = append(step, jen.Copy(sk.slice(bv), k.slice(v.Args[nc+idx]).Index(jen.Id("scanT").Op("*").Add(n), jen.Parens(jen.Id("scanT").Op("+").Lit(1)).Op("*").Add(n.Clone()))))
		case bv.Op == ir.OpInput && scanIndex(bv.Name, "p", &idx):
			a := v.Args[nc+nx+idx]
			sp.vals[bv.ID] = p.storage(a) // read in place, from the state
		case bv.Op.Storage == ir.View:
			sp.vals[bv.ID] = &valInfo{v: bv, alias: bv.Args[0]}
		case bv.Op == ir.OpConst:
			sp.vals[bv.ID] = scratch(bv)
			pre = append(pre, jen.For(jen.Id("i").Op(":=").Range().Add(sk.slice(bv))).Block(
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
			step = append(step, jen.Block(code...))
		default:
			p.fail(fmt.Errorf("%s: scan body %s: %s values are not supported by codegen yet\n\t%s", v.Pos, f.Name, bv.Op.Name, bv))
			return nil
		}
	}
	// The step's results: the stacked y (before the carries change: y may
	// be a carry input), then the next carries.
	if out >= nc {
		y := f.Output(ir.ScanYName(out - nc))
		n := k.prod(y.Type.Shape)
		step = append(step, jen.Copy(k.slice(v).Index(jen.Id("scanT").Op("*").Add(n), jen.Parens(jen.Id("scanT").Op("+").Lit(1)).Op("*").Add(n.Clone())), sk.slice(y)))
	}
	for i := range nc {
		o := f.Output(ir.ScanCarryName(i))
		if o.Op == ir.OpInput && o.Name != ir.ScanCarryName(i) && scanIndex(o.Name, "c", new(int)) {
			p.fail(fmt.Errorf("%s: scan body %s: carry %d's next value is carry input %s; permuting carries is not supported by codegen yet", v.Pos, f.Name, i, o.Name))
			return nil
		}
		if c := carry[i]; c != o {
			step = append(step, jen.Copy(sk.slice(c), sk.slice(o)))
		}
	}
	if out < nc {
		post = append(post, jen.Copy(k.slice(v), sk.slice(carry[out])))
	}
	t := jen.Id("scanT").Op(":=").Id("scanStep")
	if v.Attrs.Bool("reverse") {
		t = jen.Id("scanT").Op(":=").Id("scanLen").Op("-").Lit(1).Op("-").Id("scanStep")
	}
	code := append([]jen.Code{jen.Id("scanLen").Op(":=").Add(T)}, pre...)
	code = append(code, jen.For(jen.Id("scanStep").Op(":=").Lit(0), jen.Id("scanStep").Op("<").Id("scanLen"), jen.Id("scanStep").Op("++")).Block(
		append([]jen.Code{t}, step...)...))
	return append(code, post...)
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
