package passes

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// KernelKind says how codegen implements a kernel.
type KernelKind uint8

const (
	// KernelLoop is one loop over Root's shape computing elementwise
	// values; arguments from outside the kernel are read with NumPy
	// broadcasting, as the ops themselves do.
	KernelLoop KernelKind = iota + 1
	// KernelGemm is a matrix product (Root, the first value) followed by
	// an epilogue applied to each element of its result before it is
	// stored (bias add, activation, the backward ReLU mask).
	KernelGemm
	// KernelReduce is a reduction (Root, the last value) whose loop also
	// computes the elementwise values feeding its first argument.
	KernelReduce
	// KernelOpaque is one value computed by its own code: movement ops,
	// reductions that are not fused, numel, dropout_mask, extern calls.
	KernelOpaque
	// KernelAlias is a reshape: no code; the value is a view of its
	// argument's buffer (row-major layout makes a reshape free).
	KernelAlias
)

var kernelKindNames = [...]string{KernelLoop: "loop", KernelGemm: "gemm", KernelReduce: "reduce", KernelOpaque: "opaque", KernelAlias: "alias"}

func (k KernelKind) String() string {
	if int(k) < len(kernelKindNames) && kernelKindNames[k] != "" {
		return kernelKindNames[k]
	}
	return fmt.Sprintf("kernelkind(%d)", k)
}

// A Kernel is one unit of generated code: a group of values of one
// program computed together. Invariants (checked by Program.Check):
//
//   - Values is non-empty, in graph (topological) order, and holds no
//     input, param or const (those are bound or filled, never computed).
//     Within one program, every value is in exactly one kernel; a value may
//     appear in kernels of different programs (Forward and Predict share
//     values, each program with kernels of its own).
//   - Every argument of a value in Values is either in Values (computed
//     earlier in the same kernel, so the kernel reads it from a register,
//     not a buffer) or is materialized: an input, param or const, a value
//     materialized by an earlier kernel of the same program, or (in
//     Backward) a residual of Forward.
//   - Materialized lists, in graph order, the values of the kernel that
//     get a buffer: those used by a later kernel of the program, and the
//     outputs, the objective, the gradients and the residuals. A value
//     not in Materialized lives only inside the kernel's loop.
//   - Loop: every value is elementwise and has Root's shape; Root is the
//     last value.
//   - Reduce: Root is the last value and has class Reduce; the other values
//     are elementwise with the shape of Root's first argument, feeding it.
//     Producers are fused only into reductions over the last axis or all
//     axes (sum, mean, max, min, logsumexp) and into the softmax family
//     along the last axis (softmax, log_softmax, softmax_xent).
//   - Gemm: Root is the matmul (elementwise producers of the epilogue may
//     precede it in Values, which is in graph order); Epilogue lists, in
//     order, the elementwise values applied to its result (each has an
//     argument that is Root or an earlier epilogue value), then possibly
//     column sums: sum or mean over axis 0 of a rank-2 elementwise value of
//     the kernel (the bias gradient, accumulated as the epilogue stores
//     each row). The other values are elementwise producers of epilogue
//     values. All values but the column sums have Root's type. The
//     matmul's own operands are always materialized.
//   - Opaque and Alias kernels hold exactly one value, their Root.
type Kernel struct {
	Kind         KernelKind
	Values       []*ir.Value
	Root         *ir.Value
	Materialized []*ir.Value
	Epilogue     []*ir.Value
	// Inputs lists, in graph order, the values from outside the kernel
	// that its values read.
	Inputs []*ir.Value
}

// Formula returns the composed scalar formula of an elementwise value of a
// Loop, Gemm epilogue or Reduce producer: v's formula with each argument
// computed in the kernel replaced by its own formula. Arguments read from
// buffers stay arguments: the result's argument i is in[i], in order of
// first use; in a Gemm kernel the matmul (Root) is such an argument (the
// accumulated product). Scalar constants are inlined and attributes
// replaced by their values, so the result evaluates with no attributes.
func (k *Kernel) Formula(v *ir.Value) (e *ir.Expr, in []*ir.Value) {
	index := map[*ir.Value]int{}
	var build func(u *ir.Value) *ir.Expr
	build = func(u *ir.Value) *ir.Expr {
		args := make([]*ir.Expr, len(u.Args))
		for i, a := range u.Args {
			if slices.Contains(k.Values, a) && a.Op.Class == ir.Elementwise {
				args[i] = build(a)
				continue
			}
			if c, ok := constValue(a); ok && len(a.Type.Shape) == 0 {
				args[i] = &ir.Expr{Kind: ir.ExprConst, Val: c}
				continue
			}
			j, ok := index[a]
			if !ok {
				j = len(in)
				index[a] = j
				in = append(in, a)
			}
			args[i] = &ir.Expr{Kind: ir.ExprArg, Arg: j}
		}
		f := u.Op.Expr()
		if len(u.Attrs) > 0 {
			f = substAttrs(f, u.Attrs)
		}
		return f.Subst(args)
	}
	return build(v), in
}

// substAttrs replaces attribute references in f by their values.
func substAttrs(f *ir.Expr, a ir.Attrs) *ir.Expr {
	if f.Kind == ir.ExprAttr {
		return &ir.Expr{Kind: ir.ExprConst, Val: f.Eval(nil, a)}
	}
	if len(f.Args) == 0 {
		return f
	}
	c := *f
	c.Args = make([]*ir.Expr, len(f.Args))
	for i, x := range f.Args {
		c.Args[i] = substAttrs(x, a)
	}
	return &c
}

func (k *Kernel) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", k.Kind, k.Root.Label())
	refs := func(vs []*ir.Value) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = v.Ref()
		}
		return strings.Join(s, " ")
	}
	fmt.Fprintf(&b, " {%s}", refs(k.Values))
	if len(k.Inputs) > 0 {
		fmt.Fprintf(&b, " in(%s)", refs(k.Inputs))
	}
	fmt.Fprintf(&b, " out(%s)", refs(k.Materialized))
	return b.String()
}

// kernelHeap is a min-heap of kernel indexes by key (the ready kernels of
// finish, by their last value's ID).
type kernelHeap struct {
	ks  []int
	key func(int) int
}

func (h *kernelHeap) Len() int           { return len(h.ks) }
func (h *kernelHeap) Less(i, j int) bool { return h.key(h.ks[i]) < h.key(h.ks[j]) }
func (h *kernelHeap) Swap(i, j int)      { h.ks[i], h.ks[j] = h.ks[j], h.ks[i] }
func (h *kernelHeap) Push(x any)         { h.ks = append(h.ks, x.(int)) }
func (h *kernelHeap) Pop() any {
	x := h.ks[len(h.ks)-1]
	h.ks = h.ks[:len(h.ks)-1]
	return x
}

// fuser groups the values of one program into kernels.
type fuser struct {
	g     *ir.Graph
	kept  []bool // values that outlive the program
	of    []int  // kernel index by value ID (-1: none)
	ks    []*kgroup
	users [][]*ir.Value // users within the program, by value ID
	// seen and stamp mark the kernels one pathVia search has visited.
	seen  []int
	stamp int
	// pos is a topological order of the kernel graph, kept through merges:
	// every edge goes from a kernel to one of higher pos. order is its
	// inverse (kernel by slot; -1 for the slot of a kernel merged away).
	pos, order []int
}

type kgroup struct {
	kind     KernelKind
	members  []*ir.Value // nil once merged into another kernel
	root     *ir.Value
	epilogue []*ir.Value
}

// buildKernels makes one kernel per value marked in (the partition pass),
// in graph order.
func buildKernels(g *ir.Graph, in, kept []bool) []*Kernel {
	var groups []*kgroup
	for _, v := range g.Values {
		if in[v.ID] && !isProvided(v) {
			groups = append(groups, &kgroup{kind: singleKind(v), members: []*ir.Value{v}, root: v})
		}
	}
	return newFuser(g, groups, kept).finish()
}

// fuseKernels regroups the kernels of one program (the fuse pass):
// epilogues into matmuls, producers into the loops and reductions that
// read them, column sums into GEMM epilogues. ks is not modified.
func fuseKernels(g *ir.Graph, ks []*Kernel, kept []bool) []*Kernel {
	groups := make([]*kgroup, len(ks))
	for i, k := range ks {
		groups[i] = &kgroup{kind: k.Kind, members: slices.Clone(k.Values), root: k.Root, epilogue: slices.Clone(k.Epilogue)}
	}
	f := newFuser(g, groups, kept)
	f.epilogues()
	f.producers()
	f.columnSums()
	return f.finish()
}

// newFuser starts a fuser over groups of the values of one program.
func newFuser(g *ir.Graph, groups []*kgroup, kept []bool) *fuser {
	f := &fuser{g: g, kept: kept, of: make([]int, len(g.Values)), users: make([][]*ir.Value, len(g.Values)), ks: groups}
	for i := range f.of {
		f.of[i] = -1
	}
	// groups come in a topological order (graph order, or the order of
	// the kernels the partition pass built), which starts pos.
	f.pos, f.order = make([]int, len(groups)), make([]int, len(groups))
	for i, k := range groups {
		f.pos[i], f.order[i] = i, i
		for _, v := range k.members {
			f.of[v.ID] = i
		}
	}
	for _, v := range g.Values {
		if f.of[v.ID] < 0 {
			continue
		}
		for _, a := range v.Args {
			f.users[a.ID] = append(f.users[a.ID], v)
		}
	}
	return f
}

func singleKind(v *ir.Value) KernelKind {
	switch {
	case v.Op.Storage == ir.View:
		return KernelAlias
	case v.Op.Class == ir.Elementwise:
		return KernelLoop
	case v.Op.Class == ir.Contraction:
		return KernelGemm
	case v.Op.Class == ir.Reduce:
		return KernelReduce
	}
	return KernelOpaque
}

// epilogues grows each matmul's kernel along a chain of elementwise
// consumers of its shape.
func (f *fuser) epilogues() {
	for _, m := range f.g.Values {
		if f.of[m.ID] < 0 || m.Op.Class != ir.Contraction {
			continue
		}
		k := f.of[m.ID]
		tail := m
		for {
			var next *ir.Value
			for _, u := range f.users[tail.ID] {
				if u.Op.Class == ir.Elementwise && u.Type.Equal(m.Type) && len(f.ks[f.of[u.ID]].members) == 1 && f.canMerge(f.of[u.ID], k) {
					next = u
					break
				}
			}
			if next == nil {
				break
			}
			f.merge(f.of[next.ID], k)
			f.ks[k].epilogue = append(f.ks[k].epilogue, next)
			tail = next
		}
	}
}

// columnSums moves a sum over the rows (axis 0) of a Gemm kernel's
// elementwise value into the kernel's epilogue: the bias gradient
// sum(dz, axes=[0]) is accumulated while the epilogue stores dz.
func (f *fuser) columnSums() {
	for _, r := range f.g.Values {
		kr := f.of[r.ID]
		if kr < 0 || !isColumnSum(r) || len(f.ks[kr].members) != 1 {
			continue
		}
		a := r.Args[0]
		k := f.of[a.ID]
		if k < 0 || f.ks[k].kind != KernelGemm || a.Op.Class != ir.Elementwise || !f.canMerge(kr, k) {
			continue
		}
		f.merge(kr, k)
		f.ks[k].epilogue = append(f.ks[k].epilogue, r)
	}
}

// isColumnSum reports whether r folds a rank-2 value over its rows with a
// reduction formula (ir.Reduction: sum, mean, max, min), as a GEMM
// epilogue can while it stores the rows.
func isColumnSum(r *ir.Value) bool {
	return r.Op.Reduction != nil && len(r.Args[0].Type.Shape) == 2 &&
		slices.Equal(r.Attrs.Ints("axes"), []int{0})
}

// fusableReduce reports whether elementwise producers may join r's loop:
// the op can compute them in its sweep (ir.OpDef.RowFusable) and it
// reduces along the last axis or along every axis.
func fusableReduce(r *ir.Value) bool {
	if !r.Op.RowFusable {
		return false
	}
	last := len(r.Args[0].Type.Shape) - 1
	axes := slices.Sorted(slices.Values(r.Op.Reduced(r)))
	return len(axes) > 0 && (slices.Equal(axes, []int{last}) || slices.Equal(axes, axesUpTo(last+1)))
}

// producers moves each elementwise value into the kernel of its users
// when they all are in one kernel that can compute it in its loop.
func (f *fuser) producers() {
	for i := len(f.g.Values) - 1; i >= 0; i-- {
		v := f.g.Values[i]
		kv := f.of[v.ID]
		if kv < 0 || v.Op.Class != ir.Elementwise || f.ks[kv].root != v || f.ks[kv].kind != KernelLoop {
			continue
		}
		us := f.users[v.ID]
		if len(us) == 0 {
			continue
		}
		k := f.of[us[0].ID]
		if k == kv || slices.ContainsFunc(us, func(u *ir.Value) bool { return f.of[u.ID] != k }) {
			continue
		}
		kg := f.ks[k]
		ok := false
		switch kg.kind {
		case KernelLoop:
			ok = v.Type.Shape.Equal(kg.root.Type.Shape)
		case KernelReduce:
			r := kg.root
			ok = fusableReduce(r) && v.Type.Shape.Equal(r.Args[0].Type.Shape) &&
				!slices.ContainsFunc(us, func(u *ir.Value) bool { return u == r && r.Args[0] != v || u != r && u.Op.Class != ir.Elementwise })
		case KernelGemm:
			m := kg.root
			ok = v.Type.Equal(m.Type) && !slices.Contains(us, m)
		}
		if ok && f.canMerge(kv, k) {
			f.merge(kv, k)
		}
	}
}

// succ returns the kernels that read a value of kernel k.
func (f *fuser) succ(k int) []int {
	var r []int
	for _, m := range f.ks[k].members {
		for _, u := range f.users[m.ID] {
			if j := f.of[u.ID]; j != k && !slices.Contains(r, j) {
				r = append(r, j)
			}
		}
	}
	return r
}

// canMerge reports whether merging kernels a and b keeps the kernel graph
// acyclic: no path from one to the other through a third kernel.
func (f *fuser) canMerge(a, b int) bool {
	x, y := f.byPos(a, b)
	return !f.pathVia(x, y)
}

// byPos returns a and b, the one earlier in the topological order first
// (there is no path from the later to the earlier).
func (f *fuser) byPos(a, b int) (int, int) {
	if f.pos[a] > f.pos[b] {
		return b, a
	}
	return a, b
}

// pathVia reports whether a path leads from kernel a to kernel b (pos[a]
// < pos[b]) through a third kernel. Every edge goes to a higher pos, so
// such a path only visits kernels between a and b in the order: the
// search skips the others, which keeps it to the few kernels between a
// producer and its consumer and the pass near-linear. The kernels it
// visits (a's descendants before b) are marked with the stamp.
func (f *fuser) pathVia(a, b int) bool {
	if f.seen == nil {
		f.seen = make([]int, len(f.ks))
	}
	f.stamp++
	f.seen[a] = f.stamp
	pb := f.pos[b]
	var stack []int
	push := func(s int) {
		if f.seen[s] != f.stamp && f.pos[s] < pb {
			f.seen[s] = f.stamp
			stack = append(stack, s)
		}
	}
	for _, s := range f.succ(a) {
		if s != b {
			push(s)
		}
	}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range f.succ(k) {
			if s == b {
				return true
			}
			push(s)
		}
	}
	return false
}

// merge moves kernel a's values into kernel b (canMerge(a, b) holds) and
// keeps pos topological: of the kernels between the two, the descendants
// of the earlier one move after the merged kernel, the others (the later
// one's ancestors among them) stay before it, each group in its order.
// (A descendant of the earlier cannot be an ancestor of the later: that
// would be a path through a third kernel.)
func (f *fuser) merge(a, b int) {
	x, y := f.byPos(a, b)
	if f.pathVia(x, y) {
		panic("passes: internal error: merging kernels joined by a path through a third")
	}
	lo, hi := f.pos[x], f.pos[y]
	var before, after []int
	for _, k := range f.order[lo+1 : hi] {
		switch {
		case k < 0:
		case f.seen[k] == f.stamp:
			after = append(after, k)
		default:
			before = append(before, k)
		}
	}
	slot := lo
	place := func(k int) {
		f.order[slot], f.pos[k] = k, slot
		slot++
	}
	for _, k := range before {
		place(k)
	}
	place(b)
	for _, k := range after {
		place(k)
	}
	for ; slot <= hi; slot++ {
		f.order[slot] = -1
	}
	for _, m := range f.ks[a].members {
		f.of[m.ID] = b
	}
	f.ks[b].members = append(f.ks[b].members, f.ks[a].members...)
	slices.SortFunc(f.ks[b].members, func(x, y *ir.Value) int { return x.ID - y.ID })
	f.ks[a].members = nil
}

// finish builds the Kernels in a topological order of the kernel graph,
// ties broken by graph order of the kernels' last values.
func (f *fuser) finish() []*Kernel {
	var live []int
	for i, k := range f.ks {
		if k.members != nil {
			live = append(live, i)
		}
	}
	indeg := map[int]int{}
	for _, k := range live {
		for _, s := range f.succ(k) {
			indeg[s]++
		}
	}
	last := func(k int) int { m := f.ks[k].members; return m[len(m)-1].ID }
	ready := &kernelHeap{key: last}
	for _, k := range live {
		if indeg[k] == 0 {
			heap.Push(ready, k)
		}
	}
	var order []int
	for ready.Len() > 0 {
		k := heap.Pop(ready).(int)
		order = append(order, k)
		for _, s := range f.succ(k) {
			if indeg[s]--; indeg[s] == 0 {
				heap.Push(ready, s)
			}
		}
	}
	if len(order) != len(live) {
		panic("passes: internal error: the kernel graph has a cycle")
	}
	var r []*Kernel
	for _, ki := range order {
		kg := f.ks[ki]
		k := &Kernel{Kind: kg.kind, Values: kg.members, Root: kg.root, Epilogue: kg.epilogue}
		if kg.kind != KernelGemm {
			k.Root = kg.members[len(kg.members)-1]
		}
		for _, v := range kg.members {
			mat := f.kept[v.ID]
			for _, u := range f.users[v.ID] {
				if f.of[u.ID] != ki {
					mat = true
				}
			}
			if mat {
				k.Materialized = append(k.Materialized, v)
			}
			for _, a := range v.Args {
				if f.of[a.ID] != ki && !slices.Contains(k.Inputs, a) {
					k.Inputs = append(k.Inputs, a)
				}
			}
		}
		slices.SortFunc(k.Inputs, func(a, b *ir.Value) int { return a.ID - b.ID })
		r = append(r, k)
	}
	return r
}
