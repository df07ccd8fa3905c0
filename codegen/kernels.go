package codegen

import (
	"fmt"
	"slices"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// kctx builds the body of one kernel.
type kctx struct {
	p        *plan
	v        *ir.Value
	used     map[string]bool // symbolic dims the body reads
	fallible bool            // the kernel returns an error
	kern     *kinfo          // the kernel method being emitted
	// args, if set, makes every buffer a parameter of the kernel method
	// (k.ref returns the parameter): kernels whose bodies print alike
	// share one method.
	args *kargs
	// ranged is set by a loop nest emitted over a range of its outer loop
	// (nest.par): the kernel's method then runs it with kernels.For.
	ranged *parSplit
}

// elemGrain mirrors kernels.ElemGrain (the test checks it), for choosing
// here which loops are worth splitting over the cores.
const elemGrain = 16 * 1024

// parMinStatic is the smallest static factor of a shape with symbolic
// dims (a batch) whose loop nest is split over the cores: at 256 elements
// per sample, a batch of 128 is two grains of work. Smaller loops (the
// narrow layers of deep models) stay serial, which keeps their code short.
const parMinStatic = 256

// parallel reports whether a loop nest over shape is worth splitting over
// the cores (kernels.For): at least two grains of elements, or, with
// symbolic dims, at least parMinStatic elements per unit of them.
func (k *kctx) parallel(shape ir.Shape) bool {
	if scalarShape(shape) {
		return false
	}
	static, syms := shape.NumElements()
	if len(syms) > 0 {
		return static >= parMinStatic
	}
	return static >= 2*elemGrain
}

// kargs are the buffer parameters of a kernel method, in order of first use.
type kargs struct {
	named bool // named after the DSL values (else b0, b1, …, for comparing bodies)
	names *namer
	of    map[*valInfo]string
	list  []*valInfo
	// locals numbers the values' locals in a body printed for comparison.
	locals map[*ir.Value]string
}

func newKargs(p *plan, named bool) *kargs {
	reserved := []string{"s", "r", "lo", "hi"} // r, lo, hi: the receiver and range of a kernel's Run (kpar)
	for _, d := range p.dims {
		reserved = append(reserved, d.field)
	}
	return &kargs{named: named, names: newNamer(reserved...), of: map[*valInfo]string{}}
}

// local names the local of a value computed or loaded in the kernel: the
// prefix and the value's ID (v12 for v12, c7 for the constant v7), as
// the IR in the kernel's comment reads; in a body printed for comparison,
// a number in order of first use instead, so that kernels alike but for
// their values' IDs compare equal.
func (k *kctx) local(prefix string, v *ir.Value) string {
	if k.args == nil || k.args.named {
		return prefix + v.Ref()[1:]
	}
	if k.args.locals == nil {
		k.args.locals = map[*ir.Value]string{}
	}
	name, ok := k.args.locals[v]
	if !ok {
		name = fmt.Sprintf("%s%d", prefix, len(k.args.locals))
		k.args.locals[v] = name
	}
	return name
}

// param returns the parameter holding vi's buffer.
func (a *kargs) param(vi *valInfo) string {
	if name, ok := a.of[vi]; ok {
		return name
	}
	var name string
	if a.named {
		base := sanitize(vi.v.Label())
		if isKernelLocal(base) {
			base = "buf" + exported(vi.v.Label())
		}
		name = a.names.get(base)
	} else {
		name = a.names.get(fmt.Sprintf("b%d", len(a.list)))
	}
	a.of[vi] = name
	a.list = append(a.list, vi)
	return name
}

// prod is the Go expression of the product of dims (symbolic ones read
// from kernel locals).
func (k *kctx) prod(dims []ir.Dim) *jen.Statement {
	return dimProd(dims, func(sym string) jen.Code {
		k.used[sym] = true
		return jen.Id(k.p.dim(sym).field)
	})
}

// dimLocals binds the symbolic dims a body reads (used, as recorded by
// kctx.prod) to locals of the same names as their state fields.
func (p *plan) dimLocals(used map[string]bool) []jen.Code {
	var code []jen.Code
	for _, d := range p.dims {
		if used[d.name] {
			code = append(code, jen.Id(d.field).Op(":=").Id("s").Dot(d.field))
		}
	}
	return code
}

// ref is the full buffer of v's storage: a parameter of the kernel
// method (see kctx.args), or the field of state s.
func (k *kctx) ref(v *ir.Value) *jen.Statement {
	vi := k.p.storage(v)
	if k.args != nil {
		return jen.Id(k.args.param(vi))
	}
	return k.p.ref(vi)
}

func (p *plan) ref(vi *valInfo) *jen.Statement {
	return p.refOn(func() *jen.Statement { return jen.Id("s") }, vi)
}

// refOn is the buffer of vi in the state base().
func (p *plan) refOn(base func() *jen.Statement, vi *valInfo) *jen.Statement {
	switch {
	case vi.param != "":
		return base().Dot("params").Dot(vi.param)
	case vi.grad != "":
		return base().Dot("grads").Dot(vi.grad)
	case vi.field != "":
		return base().Dot(vi.field)
	}
	p.fail(fmt.Errorf("internal error: value %s has no storage", vi.v))
	return jen.Id("_")
}

func (p *plan) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// slice is v's buffer cut to its current length.
func (k *kctx) slice(v *ir.Value) *jen.Statement {
	return k.ref(v).Index(jen.Empty(), k.prod(v.Type.Shape))
}

// A lowering emits the code of a kernel computing one value v alone.
type lowering func(k *kctx, v *ir.Value) []jen.Code

// lowerings is codegen's table of ops: how each non-elementwise op that has
// a kernel (ir.OpDef.HasKernel) is computed. Elementwise ops need no entry:
// their formulas are printed (exprPrinter). init checks the table is
// complete, so an op registered without a lowering fails at start-up, not
// when a user's model reaches it.
var lowerings = map[*ir.OpDef]lowering{
	ir.OpBroadcastTo: func(k *kctx, v *ir.Value) []jen.Code { return k.broadcastCopy(v.Args[0]) },
	ir.OpNumel: func(k *kctx, v *ir.Value) []jen.Code {
		return []jen.Code{k.slice(v).Index(jen.Lit(0)).Op("=").Id(goType(v.Type.DType)).Call(k.prod(v.Attrs.Shape("shape")))}
	},
	ir.OpDropoutMask: func(k *kctx, v *ir.Value) []jen.Code {
		return []jen.Code{jen.Qual(rtPath, "DropoutMask").Call(k.slice(v), jen.Lit(v.Attrs.Float("p")),
			jen.Lit(v.Attrs.Int("seed")).Op("^").Id("s").Dot("seed"), jen.Id("s").Dot("step"), jen.Id("s").Dot("training"))}
	},
	ir.OpSum:        reduceWith("Sum"),
	ir.OpMean:       reduceWith("Mean"),
	ir.OpMax:        reduceWith("Max"),
	ir.OpMin:        reduceWith("Min"),
	ir.OpLogSumExp:  reduceWith("LogSumExp"),
	ir.OpSoftmax:    alongAxis("Softmax"),
	ir.OpLogSoftmax: alongAxis("LogSoftmax"),
	ir.OpArgMax:     alongAxis("ArgMax"),
	ir.OpSoftmaxXent: func(k *kctx, v *ir.Value) []jen.Code {
		z, y := v.Args[0], v.Args[1]
		r := len(z.Type.Shape)
		return []jen.Code{
			jen.If(jen.Id("r").Op(":=").Qual(rtPath, "SoftmaxXent").Call(k.slice(v), k.slice(z), k.slice(y), k.prod(y.Type.Shape), k.prod(z.Type.Shape[r-1:])), jen.Id("r").Op(">=").Lit(0)).Block(
				jen.Return(k.indexError(y, jen.Id("r"), k.prod(z.Type.Shape[r-1:]), "class labels of softmax_xent")),
			),
		}
	},
	ir.OpMatMul: func(k *kctx, v *ir.Value) []jen.Code { return k.matmul(k.slice(v)) },
	ir.OpTranspose: func(k *kctx, v *ir.Value) []jen.Code {
		x := v.Args[0]
		var dims []jen.Code
		for _, d := range x.Type.Shape {
			dims = append(dims, k.prod([]ir.Dim{d}))
		}
		var perm []jen.Code
		for _, p := range v.Attrs.Ints("perm") {
			perm = append(perm, jen.Lit(p))
		}
		return []jen.Code{jen.Qual(rtPath, "Transpose").Call(k.slice(v), k.slice(x), jen.Index().Int().Values(dims...), jen.Index().Int().Values(perm...))}
	},
	ir.OpSlice: func(k *kctx, v *ir.Value) []jen.Code {
		x := v.Args[0]
		axis := v.Attrs.Int("axis")
		o, n, in := k.around(x.Type.Shape, axis)
		m := v.Type.Shape[axis].N
		return []jen.Code{jen.Qual(rtPath, "CopyAxis").Call(k.slice(v), k.slice(x), o, in, jen.Lit(m), jen.Lit(0), n, jen.Lit(v.Attrs.Int("start")), jen.Lit(m))}
	},
	ir.OpPad: func(k *kctx, v *ir.Value) []jen.Code {
		x := v.Args[0]
		axis := v.Attrs.Int("axis")
		o, n, in := k.around(x.Type.Shape, axis)
		m := v.Type.Shape[axis].N
		return []jen.Code{
			jen.Id("out").Op(":=").Add(k.slice(v)),
			jen.Clear(jen.Id("out")),
			jen.Qual(rtPath, "CopyAxis").Call(jen.Id("out"), k.slice(x), o, in, jen.Lit(m), jen.Lit(v.Attrs.Int("before")), n, jen.Lit(0), n),
		}
	},
	ir.OpConcat: func(k *kctx, v *ir.Value) []jen.Code {
		axis := v.Attrs.Int("axis")
		o, _, in := k.around(v.Type.Shape, axis)
		m := v.Type.Shape[axis].N
		code := []jen.Code{jen.Id("out").Op(":=").Add(k.slice(v))}
		off := 0
		for _, x := range v.Args {
			n := x.Type.Shape[axis].N
			code = append(code, jen.Qual(rtPath, "CopyAxis").Call(jen.Id("out"), k.slice(x), o, in, jen.Lit(m), jen.Lit(off), jen.Lit(n), jen.Lit(0), jen.Lit(n)))
			off += n
		}
		return code
	},
	ir.OpOneHot: func(k *kctx, v *ir.Value) []jen.Code {
		return []jen.Code{jen.Qual(rtPath, "OneHot").Call(k.slice(v), k.slice(v.Args[0]), jen.Lit(v.Attrs.Int("depth")))}
	},
	ir.OpGather: func(k *kctx, v *ir.Value) []jen.Code {
		x, idx := v.Args[0], v.Args[1]
		o, n, in := k.around(x.Type.Shape, v.Attrs.Int("axis"))
		return []jen.Code{
			jen.If(jen.Id("j").Op(":=").Qual(rtPath, "Gather").Call(k.slice(v), k.slice(x), k.slice(idx), o, n, in), jen.Id("j").Op(">=").Lit(0)).Block(
				jen.Return(k.indexError(idx, jen.Id("j"), n, "indices of gather")),
			),
		}
	},
	ir.OpScatterAdd: func(k *kctx, v *ir.Value) []jen.Code {
		g, idx := v.Args[0], v.Args[1]
		o, n, in := k.around(v.Type.Shape, v.Attrs.Int("axis"))
		return []jen.Code{
			jen.If(jen.Id("j").Op(":=").Qual(rtPath, "ScatterAdd").Call(k.slice(v), k.slice(g), k.slice(idx), o, n, in), jen.Id("j").Op(">=").Lit(0)).Block(
				jen.Return(k.indexError(idx, jen.Id("j"), n, "indices of scatter_add")),
			),
		}
	},
	// The forward value of a custom VJP is its first argument.
	ir.OpCustomVJP: func(k *kctx, v *ir.Value) []jen.Code { return k.broadcastCopy(v.Args[0]) },
	// A user's Go function, called directly through its import path:
	// fn(out, args...) or vjp(grad, arg, gout, args...).
	ir.OpExtern:    externCall(false),
	ir.OpExternVJP: externCall(true),
	// Convolutions (lower_conv.go).
	ir.OpConv2D:           lowerConv2D,
	ir.OpConv2DInputGrad:  lowerConv2DInputGrad,
	ir.OpConv2DWeightGrad: lowerConv2DWeightGrad,

	// Pooling (lower_pool.go).
	ir.OpMaxPool2D:       poolCall("MaxPool2D"),
	ir.OpMaxPool2DGrad:   poolCall("MaxPool2DGrad"),
	ir.OpMaxPool2DGather: poolCall("MaxPool2DGather"),
	ir.OpAvgPool2D:       poolCall("AvgPool2D"),
	ir.OpAvgPool2DGrad:   poolCall("AvgPool2DGrad"),

	// Normalization (lower_norm.go).
	ir.OpVar:       lowerVar,
	ir.OpLayerNorm: lowerLayerNorm,
	ir.OpBatchNorm: lowerBatchNorm,

	// Loops (lower_scan.go).
	ir.OpScan: lowerScan,
}

func init() {
	for _, op := range ir.Ops() {
		if op.Class != ir.Elementwise && op.HasKernel() && lowerings[op] == nil {
			panic("codegen: op " + op.Name + " has no lowering (add it to the lowerings table)")
		}
		if op.RowFusable && op.Reduction == nil && rowFinishes[op] == nil {
			panic("codegen: op " + op.Name + " is RowFusable but has no row finish (add it to rowFinishes)")
		}
	}
}

// reduceWith lowers a reduction to one call of package rt with the
// reduction rt.<fn>.
func reduceWith(fn string) lowering {
	return func(k *kctx, v *ir.Value) []jen.Code { return k.reduce(v, jen.Qual(rtPath, fn)) }
}

// alongAxis lowers an op along one axis to rt.<fn>(out, x, outer, n, inner).
func alongAxis(fn string) lowering {
	return func(k *kctx, v *ir.Value) []jen.Code {
		x := v.Args[0]
		o, n, in := k.around(x.Type.Shape, v.Attrs.Int("axis"))
		return []jen.Code{jen.Qual(rtPath, fn).Call(k.slice(v), k.slice(x), o, n, in)}
	}
}

// externCall lowers extern (and with vjp, extern_vjp) to a call of the
// user's Go function.
func externCall(vjp bool) lowering {
	return func(k *kctx, v *ir.Value) []jen.Code {
		path, name, _ := ir.SplitFuncPath(v.Attrs.Str("fn"))
		args := []jen.Code{k.slice(v)}
		if vjp {
			args = append(args, jen.Lit(v.Attrs.Int("arg")))
		}
		for _, a := range v.Args {
			args = append(args, k.slice(a))
		}
		return []jen.Code{jen.Qual(path, name).Call(args...)}
	}
}

// body emits the code of the kernel's one value k.v.
func (k *kctx) body() []jen.Code {
	v := k.v
	if l := lowerings[v.Op]; l != nil {
		return l(k, v)
	}
	k.p.fail(fmt.Errorf("%s: op %s not supported by codegen yet\n\t%s", v.Pos, v.Op.Name, v))
	return nil
}

// indexError returns the error of an int32 index outside [0, n): it names
// the Inputs field when the indices are an input.
func (k *kctx) indexError(idx *ir.Value, pos *jen.Statement, n *jen.Statement, what string) *jen.Statement {
	k.fallible = true
	vi := k.p.storage(idx)
	name := "value " + idx.Label()
	if vi.input != "" {
		name = "Inputs." + vi.input
	}
	return jen.Qual("fmt", "Errorf").Call(
		jen.Lit(fmt.Sprintf("%s: %s[%%d] = %%d is outside [0, %%d) (%s at %s)", k.p.prefix, name, what, k.v.Pos)),
		pos, k.slice(idx).Index(pos), n)
}

// around splits shape at axis: the products of the dims before it, the
// axis, and the dims after it.
func (k *kctx) around(s ir.Shape, axis int) (outer, n, inner *jen.Statement) {
	return k.prod(s[:axis]), k.prod(s[axis : axis+1]), k.prod(s[axis+1:])
}

// reduce emits the reduction op (an rt reduction) of v: one rt.Reduce call
// when the reduced axes are adjacent (after dropping dims of size 1),
// rt.ReduceSplit when they are those before and after a kept block (NCHW's
// per-channel reduction), rt.ReduceAxes otherwise.
func (k *kctx) reduce(v *ir.Value, op *jen.Statement) []jen.Code {
	return k.reduceCall(v, "Reduce", "ReduceSplit", "ReduceAxes", []jen.Code{op}, nil)
}

// reduceCall emits the call reducing v's argument over v's axes (after
// dropping dims of size 1): rt.<adjacent>(lead..., dst, src, outer, n,
// inner, trail...) when the reduced axes are adjacent, rt.<split>(lead...,
// dst, src, outer, n, inner, trail...) over outer and inner when they are
// those around one kept block, rt.<general>(lead..., dst, src, sizes,
// reduced, trail...) otherwise.
func (k *kctx) reduceCall(v *ir.Value, adjacent, split, general string, lead, trail []jen.Code) []jen.Code {
	x := v.Args[0]
	axes := v.Attrs.Ints("axes")
	type group struct {
		dims    []ir.Dim
		reduced bool
	}
	var groups []group
	for d, dim := range x.Type.Shape {
		if dim == ir.Static(1) {
			continue
		}
		red := slices.Contains(axes, d)
		if len(groups) > 0 && groups[len(groups)-1].reduced == red {
			groups[len(groups)-1].dims = append(groups[len(groups)-1].dims, dim)
			continue
		}
		groups = append(groups, group{[]ir.Dim{dim}, red})
	}
	nred := 0
	for _, g := range groups {
		if g.reduced {
			nred++
		}
	}
	args := func(mid ...jen.Code) []jen.Code {
		return append(append(slices.Clone(lead), append([]jen.Code{k.slice(v), k.slice(x)}, mid...)...), trail...)
	}
	if nred <= 1 {
		var outer, n, inner []ir.Dim
		seen := false
		for _, g := range groups {
			switch {
			case g.reduced:
				n, seen = g.dims, true
			case seen:
				inner = append(inner, g.dims...)
			default:
				outer = append(outer, g.dims...)
			}
		}
		return []jen.Code{jen.Qual(rtPath, adjacent).Call(args(k.prod(outer), k.prod(n), k.prod(inner))...)}
	}
	if len(groups) == 3 && groups[0].reduced {
		return []jen.Code{jen.Qual(rtPath, split).Call(args(k.prod(groups[0].dims), k.prod(groups[1].dims), k.prod(groups[2].dims))...)}
	}
	var sizes, flags []jen.Code
	for _, g := range groups {
		sizes = append(sizes, k.prod(g.dims))
		flags = append(flags, jen.Lit(g.reduced))
	}
	return []jen.Code{jen.Qual(rtPath, general).Call(args(jen.Index().Int().Values(sizes...), jen.Index().Bool().Values(flags...))...)}
}
