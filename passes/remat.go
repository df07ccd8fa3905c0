package passes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// RematOptions configures Remat.
type RematOptions struct {
	// Checkpoint names values (by Value.Name) that the forward pass saves;
	// when set, every other residual that can be recomputed is recomputed
	// in the backward pass from the checkpoints, the inputs and the params,
	// matmuls included (as jax.checkpoint with a save-only-these-names
	// policy).
	Checkpoint []string
	// MemoryBudget, if positive, bounds the bytes of the residuals (at the
	// capacity): after the cheap recomputations, Remat recomputes whole
	// forward subgraphs, matmuls included, largest saving first, until the
	// residuals fit or nothing more can be recomputed.
	MemoryBudget int64
	// Capacity gives the symbolic dims' values for measuring bytes
	// (DefaultCapacity for a dim not given).
	Capacity map[string]int
}

// RematDecision records one choice of Remat about a forward value the
// backward pass reads.
type RematDecision struct {
	Value  string // the value's label (user name or ref before the pass)
	Op     string
	Action string // "recompute", "save" or "rewrite"
	Bytes  int64  // the value's bytes at the capacity
	Reason string
}

func (d RematDecision) String() string {
	return fmt.Sprintf("%-9s %s (%s, %d B): %s", d.Action, d.Value, d.Op, d.Bytes, d.Reason)
}

// RematReport says what Remat did: the residuals before and after, and
// each decision.
type RematReport struct {
	Before, After ResidualStats
	Decisions     []RematDecision
	BudgetMet     bool // MemoryBudget is unset, or the residuals fit it
}

// String prints the report, one decision a line.
func (r *RematReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "remat: residuals %d → %d values; saved for backward %s → %s bytes (all residuals %s → %s)\n",
		r.Before.Count, r.After.Count, r.Before.Saved, r.After.Saved, r.Before.Bytes, r.After.Bytes)
	for _, d := range r.Decisions {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// Remat trades memory for recomputation in a joint graph (after grad): it
// shrinks the set of residuals, the forward values the backward pass reads
// (see Partition), in two steps. (What the VJP rules read is their own
// choice: relu's reads its output, not its input, so a ReLU network saves
// only its activations before remat runs.)
//
//  1. Cheap recomputation: a residual computed by elementwise and movement
//     ops from values that are saved anyway (or free: inputs, params,
//     constants) is recomputed in the backward pass when that lowers the
//     residual bytes, e.g. h = relu(z) when z is saved: save z, not z and h.
//     Forward outputs and the objective are never recomputed (the forward
//     pass keeps them for its caller).
//  2. Checkpoints (opts.Checkpoint) and the memory budget
//     (opts.MemoryBudget) recompute more: whole subgraphs back to saved
//     values, matmuls and reductions included.
//
// Never recomputed: dropout masks (and other ops marked Training), opaque
// ops (extern calls, custom_vjp) and values the forward returns. A
// recomputed value is a copy of the forward value placed before its first
// backward use; the backward uses read the copy. Remat keeps every output
// and name; the recomputed copies carry the original's name. Run Simplify
// before Remat, not after: its CSE would merge the copies back; run DCE
// after it: the originals of recomputed values may be left without users.
func Remat(g *ir.Graph, opts RematOptions) (*RematReport, error) {
	r := &remat{g: g, opts: opts, rep: &RematReport{BudgetMet: true}, copies: map[*ir.Value]*ir.Value{}}
	p := PartitionGraph(g)
	r.rep.Before = residualStats(g, p)
	for _, name := range opts.Checkpoint {
		if !slices.ContainsFunc(g.Values, func(v *ir.Value) bool { return v.Name == name }) {
			return nil, fmt.Errorf("remat: checkpoint %q names no value of the graph", name)
		}
	}
	r.cheap()
	if len(opts.Checkpoint) > 0 {
		r.checkpoints()
	}
	if opts.MemoryBudget > 0 {
		r.budget()
	}
	// The originals of recomputed values may now be dead; the dce pass
	// that follows removes them. The partition does not count them.
	p = PartitionGraph(g)
	r.rep.After = residualStats(g, p)
	for _, v := range p.Residuals {
		r.decide(v, "save", "read by the backward pass")
	}
	if opts.MemoryBudget > 0 && r.rep.After.Bytes.Eval(opts.Capacity) > opts.MemoryBudget {
		r.rep.BudgetMet = false
	}
	return r.rep, nil
}

type remat struct {
	g    *ir.Graph
	opts RematOptions
	rep  *RematReport
	// copies maps a recomputed forward value to its backward copy, which
	// later recomputations reuse.
	copies map[*ir.Value]*ir.Value
}

func (r *remat) decide(v *ir.Value, action, reason string) {
	r.rep.Decisions = append(r.rep.Decisions, RematDecision{Value: v.Label(), Op: v.Op.Name, Action: action, Bytes: r.bytes(v), Reason: reason})
}

func (r *remat) bytes(v *ir.Value) int64 { return ValueBytes(v).Eval(r.opts.Capacity) }

// recomputable reports whether v may be recomputed in the backward pass;
// cheapOnly limits that to elementwise and movement ops.
func (r *remat) recomputable(v *ir.Value, cheapOnly bool) bool {
	if v.Op.Training || v.Op.Class == ir.Opaque || v.Op.Class == ir.Source || isForwardResult(r.g, v) {
		return false
	}
	if cheapOnly {
		return v.Op.Class == ir.Elementwise || v.Op.Class == ir.Movement
	}
	return true
}

// cone returns the forward values that recomputing v recomputes (v and
// the args it needs, back to values where stop holds), in graph order,
// and the frontier: the non-free values the copies read.
func (r *remat) cone(v *ir.Value, stop func(*ir.Value) bool) (cone, frontier []*ir.Value) {
	seen := map[*ir.Value]bool{}
	var walk func(u *ir.Value, top bool)
	walk = func(u *ir.Value, top bool) {
		if seen[u] {
			return
		}
		seen[u] = true
		if !top && r.copies[u] != nil {
			return // recomputed already: the copy is read
		}
		if !top && (isFree(u) || stop(u)) {
			if !isFree(u) {
				frontier = append(frontier, u)
			}
			return
		}
		cone = append(cone, u)
		for _, a := range u.Args {
			walk(a, false)
		}
	}
	walk(v, true)
	slices.SortFunc(cone, func(a, b *ir.Value) int { return a.ID - b.ID })
	return cone, frontier
}

// recomputation is one decision to recompute v (and its cone) in the
// backward pass.
type recomputation struct {
	v      *ir.Value
	cone   []*ir.Value
	reason string
}

// apply carries out recomputations decided on the partition p, in one
// pass over the graph: the cone of each v is copied before v's first
// backward use (copies read the copies of values recomputed before them,
// applied in graph order), v's backward uses and gradient outputs read
// the copy, and one topological sort restores the order.
func (r *remat) apply(p *Partition, todo []recomputation) {
	if len(todo) == 0 {
		return
	}
	slices.SortFunc(todo, func(a, b recomputation) int { return a.v.ID - b.v.ID })
	users := make([][]*ir.Value, len(r.g.Values)) // backward users, in graph order
	for _, u := range r.g.Values {
		if p.Backward[u.ID] {
			for _, a := range u.Args {
				if n := len(users[a.ID]); n == 0 || users[a.ID][n-1] != u {
					users[a.ID] = append(users[a.ID], u)
				}
			}
		}
	}
	before := map[*ir.Value][]*ir.Value{} // copies to place before a backward value
	var atEnd []*ir.Value
	for _, rc := range todo {
		v := rc.v
		copies := map[*ir.Value]*ir.Value{}
		var made []*ir.Value
		for _, c := range rc.cone {
			if x := r.copies[c]; x != nil { // recomputed already: share its copy
				copies[c] = x
				continue
			}
			nc := &ir.Value{Op: c.Op, Type: ir.Type{DType: c.Type.DType, Shape: c.Type.Shape.Clone()}, Attrs: c.Attrs.Clone(), Pos: c.Pos, Name: c.Name}
			for _, a := range c.Args {
				if x := copies[a]; x != nil {
					a = x
				} else if x := r.copies[a]; x != nil {
					a = x
				}
				nc.Args = append(nc.Args, a)
			}
			copies[c] = nc
			made = append(made, nc)
		}
		nv := copies[v]
		r.copies[v] = nv
		for _, u := range users[v.ID] {
			for i, a := range u.Args {
				if a == v {
					u.Args[i] = nv
				}
			}
		}
		for i, o := range r.g.Outputs {
			if o.Grad != "" && o.Value == v {
				r.g.Outputs[i].Value = nv
			}
		}
		if us := users[v.ID]; len(us) > 0 {
			before[us[0]] = append(before[us[0]], made...)
		} else {
			atEnd = append(atEnd, made...)
		}
		r.decide(v, "recompute", rc.reason)
	}
	vals := make([]*ir.Value, 0, len(r.g.Values)+len(before)+len(atEnd))
	for _, v := range r.g.Values {
		vals = append(vals, before[v]...)
		vals = append(vals, v)
	}
	vals = append(vals, atEnd...)
	r.g.Values = stableTopo(vals)
	r.g.Renumber()
}

// stableTopo orders vals so that every value comes after its arguments,
// keeping the given order wherever it already does.
func stableTopo(vals []*ir.Value) []*ir.Value {
	pos := make(map[*ir.Value]int, len(vals))
	for i, v := range vals {
		pos[v] = i
	}
	done := make(map[*ir.Value]bool, len(vals))
	out := make([]*ir.Value, 0, len(vals))
	var visit func(v *ir.Value)
	visit = func(v *ir.Value) {
		if done[v] {
			return
		}
		done[v] = true
		// Values are visited in order, so only arguments placed after v
		// are not done yet: place them first, in their order.
		var late []*ir.Value
		for _, a := range v.Args {
			if !done[a] {
				late = append(late, a)
			}
		}
		slices.SortFunc(late, func(a, b *ir.Value) int { return pos[a] - pos[b] })
		for _, a := range late {
			visit(a)
		}
		out = append(out, v)
	}
	for _, v := range vals {
		visit(v)
	}
	return out
}

// cheap recomputes elementwise/movement residuals whose recomputation
// lowers the residual bytes: one sweep over the residuals, last first,
// keeping the set of saved values up to date as it decides (a recomputed
// value is no longer saved; the values its copies read are).
func (r *remat) cheap() {
	p := PartitionGraph(r.g)
	saved := map[*ir.Value]bool{}
	for _, v := range p.Residuals {
		saved[v] = true
	}
	recomputed := map[*ir.Value]bool{}
	var todo []recomputation
	for i := len(p.Residuals) - 1; i >= 0; i-- {
		v := p.Residuals[i]
		if !r.recomputable(v, true) {
			continue
		}
		stop := func(u *ir.Value) bool { return saved[u] || recomputed[u] || !r.recomputable(u, true) }
		cone, frontier := r.cone(v, stop)
		var extra int64
		var reads []string
		for _, f := range frontier {
			reads = append(reads, f.Label())
			if !saved[f] {
				extra += r.bytes(f)
			}
		}
		if extra >= r.bytes(v) {
			continue
		}
		why := fmt.Sprintf("cheap to recompute from %s (saved anyway)", strings.Join(reads, ", "))
		if extra > 0 {
			why = fmt.Sprintf("cheap to recompute from %s (saving them costs %d B, less than its own)", strings.Join(reads, ", "), extra)
		}
		delete(saved, v)
		recomputed[v] = true
		for _, f := range frontier {
			saved[f] = true
		}
		todo = append(todo, recomputation{v, cone, why})
	}
	r.apply(p, todo)
}

// checkpoints recomputes every residual that is not a checkpoint, in one
// sweep: each cone stops at checkpoints and at values that cannot be
// recomputed, which stay saved, so no new candidate appears.
func (r *remat) checkpoints() {
	keep := map[string]bool{}
	for _, n := range r.opts.Checkpoint {
		keep[n] = true
	}
	p := PartitionGraph(r.g)
	var todo []recomputation
	for i := len(p.Residuals) - 1; i >= 0; i-- {
		v := p.Residuals[i]
		if keep[v.Name] || !r.recomputable(v, false) {
			continue
		}
		stop := func(u *ir.Value) bool { return keep[u.Name] || !r.recomputable(u, false) }
		cone, _ := r.cone(v, stop)
		todo = append(todo, recomputation{v, cone, "not a checkpoint"})
	}
	r.apply(p, todo)
}

// budget recomputes the residual whose recomputation saves the most bytes
// until the residuals fit the budget.
func (r *remat) budget() {
	for range len(r.g.Values) {
		p := PartitionGraph(r.g)
		st := residualStats(r.g, p)
		if st.Bytes.Eval(r.opts.Capacity) <= r.opts.MemoryBudget {
			return
		}
		saved := map[*ir.Value]bool{}
		for _, v := range p.Residuals {
			saved[v] = true
		}
		var best *ir.Value
		var bestCone []*ir.Value
		var bestGain int64
		for _, v := range p.Residuals {
			if !r.recomputable(v, false) {
				continue
			}
			stop := func(u *ir.Value) bool { return saved[u] || !r.recomputable(u, false) }
			cone, frontier := r.cone(v, stop)
			gain := r.bytes(v)
			for _, f := range frontier {
				if !saved[f] {
					gain -= r.bytes(f)
				}
			}
			if gain > bestGain {
				best, bestCone, bestGain = v, cone, gain
			}
		}
		if best == nil {
			return
		}
		r.apply(p, []recomputation{{best, bestCone, fmt.Sprintf("over the memory budget of %d B; recomputing saves %d B", r.opts.MemoryBudget, bestGain)}})
	}
}
