package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
	"github.com/dave/jennifer/jen"
)

// kinfo is one generated kernel method. Its buffers are parameters, so
// kernels whose bodies print alike (the layers of a deep model, the same
// kernel in Forward and Predict) share one method.
type kinfo struct {
	k        *passes.Kernel // the first kernel it computes
	name     string         // method of state
	body     []jen.Code
	params   []jen.Code // name and slice type of each buffer parameter
	fallible bool
	scratch  []string // fields of the scratch buffers it uses
	uses     int      // distinct kernels it computes (by their values)
	sigs     map[string]bool
	par      *kpar // set if the method splits its loop nest over the cores
}

// kpar is a kernel method whose loop nest runs on the cores: the method
// (body: what comes before the nest, as a GEMM) stores its buffers in the
// state field typ, of the type typ, whose Run method kernels.For calls on
// ranges of the nest's outer loop.
type kpar struct {
	split *parSplit
	names []string   // the method's buffer parameters, in order
	types []jen.Code // and their slice types
	typ   string     // the type and state field (set with the method's name)
}

// kcall is one kernel of an entry point: a call of its method with the
// state's buffers.
type kcall struct {
	ki   *kinfo
	k    *passes.Kernel
	args []*valInfo
}

// scratchBuf is a buffer of a state outside the arenas, for kernels that
// need working space: the row of a fused logsumexp or softmax cross-entropy,
// the float64 column sums of a GEMM epilogue, the product of a GEMM whose
// kernel materializes no value of its shape.
type scratchBuf struct {
	field string
	dtype ir.DType
	sizes []*jen.Statement // elements at capacity (from cfg): the largest is allocated
	train bool             // needed by a kernel of Forward or Backward
	pred  bool             // needed by a kernel of Predict
}

// lower takes the program's kernels and buffers: a state field for every
// materialized value (a view of the arena), and the kernel methods.
func (p *plan) lower(prog *passes.Program) {
	p.prog = prog
	g := p.g
	p.planInline(prog)
	materialized := func(v *ir.Value) bool {
		return v.Op.Storage != ir.View && !p.dropped(v) && (prog.Plan.Of[v] != nil || prog.PredictPlan.Of[v] != nil)
	}
	// A gradient stored straight into its Grads field needs its value
	// materialized by Backward; any other is copied there.
	for i, gi := range p.grads {
		if gi.v == nil || gi.copy {
			continue
		}
		root := p.storage(gi.v).v
		if prog.Plan.Of[root] == nil {
			p.vals[root.ID].grad = ""
			p.grads[i].copy = true
		}
	}
	for _, v := range g.Values {
		vi := p.vals[v.ID]
		if vi.field != "" || vi.grad != "" || vi.param != "" {
			continue
		}
		if materialized(v) || (v.Op.Storage == ir.Fill && !p.dropped(v) && (p.inTrain[v.ID] || p.inPredict[v.ID])) {
			vi.field = p.stateFields.get(sanitize(v.Label()), v.Ref())
		}
	}
	byBody := map[string]*kinfo{}
	list := func(ks []*passes.Kernel, pred bool) []*kcall {
		var r []*kcall
		for _, k := range ks {
			if k.Kind == passes.KernelAlias || len(k.Materialized) > 0 && !slices.ContainsFunc(k.Materialized, func(v *ir.Value) bool { return !p.dropped(v) }) {
				continue // a view, or dim constants its readers compute
			}
			ki := &kinfo{k: k}
			body, args := p.kernelMethod(ki, k, false)
			key := fmt.Sprintf("%#v", jen.Func().Params(ki.params...).Block(body...))
			if ki.par != nil {
				key += fmt.Sprintf("%#v", jen.Block(ki.par.split.body...))
			}
			if shared := byBody[key]; shared != nil {
				ki = shared
			} else {
				ki.body = body
				byBody[key] = ki
				p.kernels = append(p.kernels, ki)
			}
			if sig := kernelSig(k); !ki.sigs[sig] { // Forward's and Predict's copy of a kernel count once
				if ki.sigs == nil {
					ki.sigs = map[string]bool{}
				}
				ki.sigs[sig] = true
				ki.uses++
			}
			for i := range p.scratch {
				if slices.Contains(ki.scratch, p.scratch[i].field) {
					if pred {
						p.scratch[i].pred = true
					} else {
						p.scratch[i].train = true
					}
				}
			}
			r = append(r, &kcall{ki: ki, k: k, args: args})
		}
		return r
	}
	p.forward = list(prog.Forward, false)
	p.backward = list(prog.Backward, false)
	p.predict = list(prog.Predict, true)
	// A method of one kernel names its parameters after the DSL values and
	// itself after what it stores; a shared one after its ops.
	for _, ki := range p.kernels {
		if ki.uses == 1 {
			ki.body, _ = p.kernelMethod(ki, ki.k, true)
			ki.name = p.stateFields.get("compute" + kernelLabel(ki.k))
		} else {
			ki.name = p.stateFields.get("compute" + opsLabel(ki.k))
		}
		if ki.par != nil {
			ki.par.typ = p.stateFields.get(ki.name + "Range")
		}
	}
}

// kernelMethod builds the body and parameters of the method computing k
// (parameters named after the DSL values if named) and returns the buffers
// a call passes, in parameter order.
func (p *plan) kernelMethod(ki *kinfo, k *passes.Kernel, named bool) ([]jen.Code, []*valInfo) {
	kc := &kctx{p: p, v: k.Root, used: map[string]bool{}, kern: ki, args: newKargs(p, named)}
	body := kc.kernelBody(k)
	if kc.fallible && kc.ranged != nil {
		// Only loop nests of elementwise values split, and they cannot
		// fail (a Body could not return the error).
		p.fail(fmt.Errorf("codegen: internal error: kernel %s is split over the cores and can fail", k.Root.Ref()))
	}
	ki.fallible = kc.fallible
	ki.par = nil
	if kc.ranged != nil {
		ki.par = &kpar{split: kc.ranged}
		ki.params = nil
		for _, vi := range kc.args.list {
			name, typ := kc.args.of[vi], p.sliceType(vi.v.Type.DType)
			ki.params = append(ki.params, jen.Id(name).Add(typ))
			ki.par.names = append(ki.par.names, name)
			ki.par.types = append(ki.par.types, typ)
		}
		// The dims are bound where they are read (kernelsFile).
		return body, kc.args.list
	}
	if ki.fallible {
		body = append(body, jen.Return(jen.Nil()))
	}
	ki.params = nil
	for _, vi := range kc.args.list {
		ki.params = append(ki.params, jen.Id(kc.args.of[vi]).Add(p.sliceType(vi.v.Type.DType)))
	}
	return append(p.dimLocals(kc.used), body...), kc.args.list
}

// useScratch returns the field of a scratch buffer of dtype d (one per
// purpose and dtype, shared by the kernels), at least size elements.
func (k *kctx) useScratch(purpose string, d ir.DType, size *jen.Statement) string {
	p := k.p
	name := purpose + strings.ToUpper(d.String())
	var sb *scratchBuf
	for i := range p.scratch {
		if p.scratch[i].field == name {
			sb = &p.scratch[i]
		}
	}
	if sb == nil {
		p.scratch = append(p.scratch, scratchBuf{field: name, dtype: d})
		sb = &p.scratch[len(p.scratch)-1]
	}
	sb.sizes = append(sb.sizes, size)
	if !slices.Contains(k.kern.scratch, name) {
		k.kern.scratch = append(k.kern.scratch, name)
	}
	return name
}

// kernelSig identifies a kernel by its values.
func kernelSig(k *passes.Kernel) string {
	var b strings.Builder
	for _, v := range k.Values {
		fmt.Fprintf(&b, "%d ", v.ID)
	}
	return b.String()
}

// kernelLabel names a kernel after the values it stores: the last named
// materialized value, else its root if named, else its ops and the named
// values it reads in argument order (computeSquareSumW1, computeMatmulXDz), at most
// maxLabelOperands of them. Value IDs never enter a name, so that an edit
// elsewhere in the model does not rename the kernel; a name taken already
// gets the suffix _2, _3, … (plan.lower).
func kernelLabel(k *passes.Kernel) string {
	for i := len(k.Materialized) - 1; i >= 0; i-- {
		if k.Materialized[i].Name != "" {
			return exported(k.Materialized[i].Name)
		}
	}
	if k.Root.Name != "" {
		return exported(k.Root.Name)
	}
	label := opsLabel(k)
	var names []string
	for _, v := range k.Values {
		for _, a := range v.Args {
			if len(names) < maxLabelOperands && a.Name != "" && !slices.Contains(names, a.Name) && slices.Contains(k.Inputs, a) {
				names = append(names, a.Name)
			}
		}
	}
	for _, n := range names {
		label += exported(n)
	}
	return label
}

// maxLabelOperands is how many operand names a kernel's name may carry:
// enough to tell apart the products and sums of a model (MatmulXDz),
// short enough to read.
const maxLabelOperands = 2

// opsLabel names a kernel after its first three ops, in camel case
// (MatmulAddTanh).
func opsLabel(k *passes.Kernel) string {
	var ops []string
	for _, v := range k.Values {
		if len(ops) < 3 && !slices.Contains(ops, v.Op.Name) {
			ops = append(ops, v.Op.Name)
		}
	}
	var b strings.Builder
	for _, op := range ops {
		for _, part := range strings.Split(op, "_") {
			b.WriteString(exported(part))
		}
	}
	return b.String()
}

// kernelDoc is the comment of a kernel method: what it is, then the IR of
// its values.
func kernelDoc(ki *kinfo) []string {
	k := ki.k
	if ki.uses > 1 {
		lines := []string{fmt.Sprintf("%s is %s %s kernel of %d values that %d kernels of the program share, on", ki.name, article(k.Kind), k.Kind, len(k.Values), ki.uses),
			"buffers of their own; the first computes"}
		for _, v := range k.Values {
			lines = append(lines, "\t"+v.String())
		}
		return append(lines, parDoc(ki)...)
	}
	var stores []string
	for _, v := range k.Materialized {
		stores = append(stores, v.Label())
	}
	what := fmt.Sprintf("%s is %s %s kernel", ki.name, article(k.Kind), k.Kind)
	switch {
	case len(k.Values) > 1:
		what += fmt.Sprintf(" fusing %d values; it stores %s.", len(k.Values), strings.Join(stores, ", "))
	default:
		what += "."
	}
	lines := []string{what}
	for _, v := range k.Values {
		lines = append(lines, "\t"+v.String())
	}
	return append(lines, parDoc(ki)...)
}

// parDoc is the part of a kernel's comment that says its loop nest runs
// on the cores.
func parDoc(ki *kinfo) []string {
	if ki.par == nil {
		return nil
	}
	of := "its outer loop."
	if ki.par.split.cols {
		of = "its columns."
	}
	return []string{"", fmt.Sprintf("Its loop nest runs on the cores: kernels.For calls %s.Run on ranges of", ki.par.typ), of}
}

func article(k passes.KernelKind) string {
	if k == passes.KernelOpaque || k == passes.KernelAlias {
		return "an"
	}
	return "a"
}

// callNote is the comment of a call of a shared kernel method: the values
// it computes and the model's line.
func callNote(k *passes.Kernel) string {
	first, last := k.Values[0], k.Values[len(k.Values)-1]
	what := first.Ref()
	if first != last {
		what += "…" + last.Ref()
	}
	if last.Name != "" {
		what += " " + last.Name
	}
	return fmt.Sprintf("%s at %s", what, k.Root.Pos)
}

func arenaField(d ir.DType) string { return "arena" + strings.ToUpper(d.String()) }

// arenaDTypes lists the dtypes of the arenas of either state, in dtype order.
func (p *plan) arenaDTypes() []ir.DType {
	var ds []ir.DType
	for _, bp := range []*passes.BufferPlan{p.prog.Plan, p.prog.PredictPlan} {
		for _, b := range p.arenaBuffers(bp) {
			if !slices.Contains(ds, b.DType) {
				ds = append(ds, b.DType)
			}
		}
	}
	slices.Sort(ds)
	return ds
}

// arenaBuffers lists the buffers of a plan that generated code places in
// the arena: all but those of gradients stored straight into Grads.
func (p *plan) arenaBuffers(bp *passes.BufferPlan) []*passes.Buffer {
	var r []*passes.Buffer
	for _, b := range bp.Buffers {
		if slices.ContainsFunc(b.Values, func(v *ir.Value) bool { return v.Op.Storage != ir.View && p.vals[v.ID].field != "" }) {
			r = append(r, b)
		}
	}
	return r
}

// stateKinds are the two kinds of state: training (Forward then Backward,
// one timeline, and Evaluate) and inference (Predict, Predictors).
func (p *plan) stateKinds() []stateKind {
	train := "training (Forward then Backward, one timeline)"
	if p.forwardOnly() {
		train = "Forward (and Evaluate)"
	}
	return []stateKind{
		{"newTrainState", p.inTrain, p.prog.Plan, train, "training"},
		{"newPredState", p.inPredict, p.prog.PredictPlan, "inference (Predict)", "inference"},
	}
}

// stateKind is one kind of state and the function that allocates it.
type stateKind struct {
	fn    string // the generated function allocating the buffers of a state
	in    []bool // the values it holds
	bp    *passes.BufferPlan
	what  string
	short string
}

// allocState emits the body of st.fn(s *state, cfg Config, mem
// *rt.Memory) error: constant fills, then per dtype one arena holding the
// plan's buffers, each materialized value a view of its buffer's region,
// then the kernels' scratch space.
func (p *plan) allocState(st stateKind) []jen.Code {
	var body []jen.Code
	allocs := 0
	alloc := func(dst *jen.Statement, d ir.DType, n jen.Code, what string) jen.Code {
		allocs++
		return p.alloc(dst, d, n, what, jen.Err())
	}
	{
		s := func() *jen.Statement { return jen.Id("s") }
		for _, v := range p.g.Values {
			vi := p.vals[v.ID]
			if v.Op.Storage != ir.Fill || vi.field == "" || !st.in[v.ID] {
				continue
			}
			buf := s().Dot(vi.field)
			if v.Type.Shape.IsStatic() {
				body = append(body, buf.Clone().Op("=").Make(p.sliceType(v.Type.DType), p.capProd(v.Type.Shape)))
			} else {
				body = append(body, alloc(buf.Clone(), v.Type.DType, p.capProd(v.Type.Shape), v.Label()))
			}
			if v.Attrs.Float("value") != 0 {
				body = append(body, jen.Qual(rtPath, "Fill").Call(buf.Clone(), floatLit(v.Attrs.Float("value"), 1)))
			}
		}
		bufs := p.arenaBuffers(st.bp)
		for _, d := range p.arenaDTypes() {
			var regions, views []jen.Code
			i := 0
			for _, b := range bufs {
				if b.DType != d {
					continue
				}
				var names []string
				for _, v := range b.Values {
					names = append(names, v.Label())
					vi := p.vals[v.ID]
					if v.Op.Storage == ir.View || vi.field == "" {
						continue
					}
					views = append(views, s().Dot(vi.field).Op("=").Add(s().Dot(arenaField(d))).
						Index(jen.Id("r").Index(jen.Lit(i)).Dot("Offset"), jen.Empty()).Index(jen.Empty(), p.capProd(v.Type.Shape)))
				}
				regions = append(regions, jen.Values(
					jen.Id("Offset").Op(":").Lit(int(b.Offset)), jen.Id("Elems").Op(":").Add(p.capProd(b.Values[0].Type.Shape)),
					jen.Id("Start").Op(":").Lit(b.Start), jen.Id("End").Op(":").Lit(b.End)).Op(",").Comment(fmt.Sprintf("r[%d]: %s", i, strings.Join(names, ", "))))
				i++
			}
			if i == 0 {
				continue
			}
			block := []jen.Code{
				jen.Comment(fmt.Sprintf("The %v arena of %s, as planned for capacity %s:", d, st.what, capText(p.g.Dims, st.bp.Capacity))),
				jen.Comment("each buffer's region (offset, elements, first and last kernel) and its values."),
				jen.Id("r").Op(":=").Index().Qual(rtPath, "Region").Custom(jen.Options{Open: "{", Close: "}", Multi: true}, regions...),
				alloc(s().Dot(arenaField(d)), d, jen.Qual(rtPath, "Layout").Call(jen.Id("r"), jen.Lit(passes.ArenaAlign)), fmt.Sprintf("the %v arena of %s", d, st.short)),
			}
			block = append(block, views...)
			body = append(body, jen.Block(block...))
		}
		for _, sb := range p.scratch {
			if st.fn == "newTrainState" && !sb.train || st.fn == "newPredState" && !sb.pred {
				continue
			}
			size := sb.sizes[0]
			if len(sb.sizes) > 1 {
				var xs []jen.Code
				for _, x := range sb.sizes {
					xs = append(xs, x)
				}
				size = jen.Id("max").Call(xs...)
			}
			body = append(body, alloc(s().Dot(sb.field), sb.dtype, size, "the scratch space "+sb.field))
		}
	}
	if allocs > 0 {
		body = append([]jen.Code{jen.Var().Err().Error()}, body...)
	} else {
		body = append(body, jen.Id("_").Op("=").Id("mem"))
	}
	return append(body, jen.Return(jen.Nil()))
}

// capText prints the capacity of each dim a plan was made for.
func capText(dims []string, c map[string]int) string {
	if len(dims) == 0 {
		return "(no symbolic dims)"
	}
	var parts []string
	for _, d := range dims {
		n, ok := c[d]
		if !ok {
			n = passes.DefaultCapacity
		}
		parts = append(parts, fmt.Sprintf("%s=%d", d, n))
	}
	return strings.Join(parts, ", ")
}

// planInline finds the values kernels compute from constants and dims
// alone (plan.dimConst), folds those no symbolic dim enters (as ir.Interp
// computes them: each value in float64, rounded to its dtype), and marks
// the ones still read from a buffer (plan.needBuf): by a kernel that does
// not read them as an elementwise operand, or as an output. The others get
// no buffer, no state field and no kernel of their own.
func (p *plan) planInline(prog *passes.Program) {
	g := p.g
	p.dimConst = make([]bool, len(g.Values))
	p.needBuf = make([]bool, len(g.Values))
	p.folded = map[*ir.Value]float64{}
	done := make([]bool, len(g.Values))
	var visit func(v *ir.Value) bool
	visit = func(v *ir.Value) bool {
		if done[v.ID] {
			return p.dimConst[v.ID]
		}
		done[v.ID] = true
		dc, static := false, false
		var x float64
		switch {
		case v.Op == ir.OpConst:
			dc, static, x = true, true, v.Attrs.Float("value")
		case v.Op == ir.OpNumel && v.Type.DType.IsFloat():
			n, syms := v.Attrs.Shape("shape").NumElements()
			dc, static, x = true, len(syms) == 0, float64(n)
		case v.Op.Storage == ir.View:
			dc = visit(v.Args[0])
			x, static = p.folded[v.Args[0]]
		case v.Op.Class == ir.Elementwise && v.Type.DType.IsFloat() && len(v.Args) > 0 && v.Op.Expr() != nil:
			dc, static = true, true
			args := make([]float64, len(v.Args))
			for i, a := range v.Args {
				if !visit(a) {
					dc = false
					break
				}
				if y, ok := p.folded[a]; ok {
					args[i] = y
				} else {
					static = false
				}
			}
			if dc && static {
				x = v.Op.Expr().Eval(args, v.Attrs)
			}
		}
		if dc && static {
			if v.Type.DType == ir.F32 {
				x = float64(float32(x))
			} else if v.Type.DType == ir.I32 {
				x = float64(int32(x))
			}
			p.folded[v] = x
		}
		p.dimConst[v.ID] = dc
		return dc
	}
	for _, v := range g.Values {
		visit(v)
	}
	need := func(a *ir.Value) {
		p.needBuf[a.ID] = true
		p.needBuf[p.storage(a).v.ID] = true
	}
	in := make([]int, len(g.Values)) // by ID: the number of the kernel computing it, while that kernel is checked
	ki := 0
	for _, ks := range [][]*passes.Kernel{prog.Forward, prog.Backward, prog.Predict} {
		for _, k := range ks {
			ki++
			if k.Kind == passes.KernelAlias {
				continue // its readers read its root's buffer
			}
			for _, v := range k.Values {
				in[v.ID] = ki
			}
			for _, v := range k.Values {
				ew := readsElementwise(k, v)
				for _, a := range v.Args {
					if in[a.ID] != ki && !(ew && p.dimConst[a.ID]) {
						need(a)
					}
				}
			}
		}
	}
	for _, o := range g.Outputs {
		need(o.Value)
	}
	if g.Objective != nil {
		need(g.Objective)
	}
}

// readsElementwise reports whether kernel k reads the arguments of its
// value v as elementwise operands (kctx.elementwiseValues), which compute
// a dim constant in place of reading its buffer.
func readsElementwise(k *passes.Kernel, v *ir.Value) bool {
	switch k.Kind {
	case passes.KernelLoop:
		return true
	case passes.KernelReduce:
		return len(k.Values) > 1 && v != k.Root
	case passes.KernelGemm:
		return len(k.Values) > 1 && v != k.Root && v.Type.Shape.Equal(k.Root.Type.Shape)
	case passes.KernelOpaque:
		return v.Op == ir.OpBroadcastTo
	}
	return false
}

// dropped reports whether v is a dim constant that no buffer holds: the
// kernels that read it compute it.
func (p *plan) dropped(v *ir.Value) bool { return p.isDimConst(v) && !p.needBuf[v.ID] }

// isDimConst reports whether v is a dim constant of the program's graph
// (false for the values of a scan's body, another graph).
func (p *plan) isDimConst(v *ir.Value) bool {
	return v.ID < len(p.dimConst) && p.g.Values[v.ID] == v && p.dimConst[v.ID]
}
