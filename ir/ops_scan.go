package ir

import (
	"fmt"
	"slices"
)

// scan: a loop whose body is a func of the graph, run once per step of a
// sequence axis (the leading axis of its xs), like jax.lax.scan.
//
// A scan value's arguments are, in order, the initial carries c0…, the
// sequences x0… (sliced along axis 0: step t sees xs[t]) and the captured
// values p0… (params and other values from outside, the same at every
// step). The attributes carries and xs count the first two groups; the
// rest are captured. The body func has inputs named c0…, x0… and p0… of
// those types (a step's slice for the xs), and outputs c0… (the next
// carries, of the carries' types) and y0… (per-step results). One scan
// value is one of the loop's results, chosen by the attribute out: out <
// carries is the final carry c_out, out = carries+j the per-step results
// y_j stacked along a new leading axis of length T. (Each result is its own
// value; two results of the same loop run the loop twice.) With reverse
// the steps run from t = T-1 down to 0 (the backward of a scan).
//
// With checkpoint = k on a scan that is differentiated, its VJP saves only
// every k-th carry (the classic √T trade of memory for recomputation) and
// takes the remat form below; the forward's result does not change.
//
// The remat form (attribute remat naming a body func F, checkpoint = k,
// saved = F's carry count) is a scan whose first saved sequences are not
// arguments but the carries of the scan over F, recomputed: its arguments
// are the carries c0…, then F's initial carries, then the sequences and
// the captured values; body input x_j (j < saved) is F's carry j entering
// step t, x_{saved+j} the sequence j's step t; F reads the first of the
// same sequences and captured values, and runs in the opposite direction.
// Generated code keeps F's carry at every k-th step and recomputes a
// segment of k carries from it before running the body over the segment;
// Interp keeps them all (the same numbers: the recomputation repeats the
// same operations). The backward of a checkpointed scan is this form.
//
// The sequence length T is the leading dim of the xs; it may be symbolic.
// The type is declared on the value (the type rule cannot see the body);
// the graph check compares it with the body's.

// OpScan is the loop op.
var OpScan *OpDef

// ScanCarryName, ScanXName and ScanParamName name a scan body's inputs;
// ScanCarryName and ScanYName its outputs.
func ScanCarryName(i int) string { return fmt.Sprintf("c%d", i) }
func ScanXName(i int) string     { return fmt.Sprintf("x%d", i) }
func ScanParamName(i int) string { return fmt.Sprintf("p%d", i) }
func ScanYName(i int) string     { return fmt.Sprintf("y%d", i) }

// ScanBodyJVP builds the forward-mode body of a scan body (set by package
// passes, which has the JVP pass; see passes/scan.go). For a body with
// carries c0…, xs x0… and captured p0…, the tangent body has those inputs
// and then one tangent input per float one of each group, in order:
// c{nc+k} is the tangent of the k-th float carry, x{nx+k} of the k-th
// float x, p{np+k} of the k-th float captured value; its outputs are the
// body's, then c{nc+k} (the k-th float carry's next tangent) and y{ny+k}
// (the k-th float y's tangent).
var ScanBodyJVP func(body *Graph, name string, carries, xs, captured []Type) (*Graph, error)

// ScanSavedSuffix ends the name of the func that a scan's VJP derives from
// its body to save the carries (the body, with them as extra outputs).
const ScanSavedSuffix = ".saved"

// ScanBodyVJP builds the backward body of a scan body (set by package
// passes, which has the grad pass; see passes/scan.go). For a body with nc
// carries, captured values p0…p{np-1} and xs x0…, the backward body has
// carries c0…c{nc-1} (the carries' cotangents) and c{nc}…c{nc+np-1} (the
// captured values' accumulated cotangents), xs x0…x{nc-1} (the carries
// saved at the step), then the body's xs, then the cotangents of its ys,
// and captured p0… (the body's); its outputs are the next carries (the
// cotangents of the step's input carries, and the accumulations) and
// y0… the cotangents of the float xs, in order.
var ScanBodyVJP func(body *Graph, name string, carries, xs, captured []Type) (*Graph, error)

func init() {
	OpScan = Register(&OpDef{Name: "scan", Doc: "a loop: runs the body func fn over the leading axis of the xs, threading carries; result out is a final carry or the stacked per-step outputs", Class: Opaque, Arity: -1, Declared: true,
		Attrs: []AttrSpec{{Name: "fn", Kind: AttrString}, {Name: "carries", Kind: AttrInt}, {Name: "xs", Kind: AttrInt}, {Name: "out", Kind: AttrInt}, {Name: "reverse", Kind: AttrBool},
			{Name: "checkpoint", Kind: AttrInt, Optional: true}, {Name: "remat", Kind: AttrString, Optional: true}, {Name: "saved", Kind: AttrInt, Optional: true}},
		TypeRule:   scanType,
		CheckGraph: scanCheck,
		Eval:       scanEval,
		VJP:        scanVJP,
		JVP:        scanJVP,
	})
}

// ScanLength returns the sequence length dim of a scan value.
func ScanLength(v *Value) Dim { return v.Args[scanSeqStart(v.Attrs)].Type.Shape[0] }

// scanSeqStart is the index of a scan's first sequence argument: after the
// carries and (in the remat form) the recomputed scan's initial carries.
func scanSeqStart(a Attrs) int { return a.Int("carries") + a.Int("saved") }

// ScanCheckpoint returns the k of a scan saving every k-th carry for its
// backward (0: every carry).
func ScanCheckpoint(v *Value) int { return v.Attrs.Int("checkpoint") }

// StepType is the type of one step's slice of a sequence of type t.
func StepType(t Type) Type { return Type{t.DType, t.Shape[1:].Clone()} }

// Stacked is the type of T steps' results of type t.
func Stacked(t Type, T Dim) Type { return Type{t.DType, append(Shape{T}, t.Shape...)} }

func scanType(args []Type, a Attrs, t Type) (Type, error) {
	if !isName(a.Str("fn")) {
		return Type{}, fmt.Errorf("fn %q is not a func name", a.Str("fn"))
	}
	nc, nx, out := a.Int("carries"), a.Int("xs"), a.Int("out")
	if k := a.Int("checkpoint"); k < 0 || (k == 0 && a.Str("remat") != "") {
		return Type{}, fmt.Errorf("checkpoint = %d: want k ≥ 1 (save every k-th carry)", k)
	}
	ns := a.Int("saved")
	if r := a.Str("remat"); r != "" && !isName(r) || ns < 0 || (r == "") != (ns == 0) {
		return Type{}, fmt.Errorf("remat %q with saved = %d: want a func name and saved ≥ 1 together, or neither", r, ns)
	}
	if nc < 0 || nx < 1 || nc+ns+nx > len(args) {
		return Type{}, fmt.Errorf("carries = %d and xs = %d do not fit %d arguments (want carries ≥ 0, xs ≥ 1: the sequences give the length)", nc, nx, len(args))
	}
	T := Dim{}
	for i, x := range args[nc+ns : nc+ns+nx] {
		if x.Shape.Rank() == 0 {
			return Type{}, fmt.Errorf("sequence x%d is a scalar %v; it needs a leading sequence axis", i, x)
		}
		if i == 0 {
			T = x.Shape[0]
		} else if x.Shape[0] != T {
			return Type{}, fmt.Errorf("sequence x%d %v has length %v, but x0 %v has length %v", i, x, x.Shape[0], args[nc+ns], T)
		}
	}
	if out < 0 {
		return Type{}, fmt.Errorf("out = %d is negative", out)
	}
	if out < nc {
		if !t.Equal(args[out]) {
			return Type{}, fmt.Errorf("result %v is the final carry c%d, which is %v", t, out, args[out])
		}
	} else if t.Shape.Rank() == 0 || t.Shape[0] != T {
		return Type{}, fmt.Errorf("result %v stacks per-step outputs y%d, so its leading dim must be the length %v", t, out-nc, T)
	}
	return declaredType(args, a, t)
}

// scanCheck checks the body func against the scan value: its inputs and
// outputs, and the declared result type.
func scanCheck(main *Graph, v *Value) error {
	name := v.Attrs.Str("fn")
	f := main.Func(name)
	if f == nil {
		return fmt.Errorf("scan: no func %q in the graph", name)
	}
	nc, nx, ns := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("saved")
	want := map[string]Type{}
	for i, a := range v.Args {
		switch {
		case i < nc:
			want[ScanCarryName(i)] = a.Type
		case i < nc+ns+nx:
			want[ScanXName(i-nc)] = StepType(a.Type)
			if i < nc+ns {
				want[ScanXName(i-nc)] = a.Type // a recomputed carry
			}
		default:
			want[ScanParamName(i-nc-ns-nx)] = a.Type
		}
	}
	if ns > 0 {
		if err := scanRematCheck(main, v); err != nil {
			return err
		}
	}
	for _, in := range f.Inputs() {
		t, ok := want[in.Name]
		if !ok {
			return fmt.Errorf("scan body %s: unexpected input %q (the scan has %d carries, %d xs and %d captured values)", name, in.Name, nc, ns+nx, len(v.Args)-nc-ns-nx)
		}
		if !t.Equal(in.Type) {
			return fmt.Errorf("scan body %s: input %s is %v, but the scan passes %v", name, in.Name, in.Type, t)
		}
	}
	if len(f.Params()) > 0 {
		return fmt.Errorf("scan body %s: a body cannot declare params (capture them: pass them as p0…)", name)
	}
	for _, d := range f.Dims {
		if !main.HasDim(d) {
			return fmt.Errorf("scan body %s: dim %q is not a dim of %s", name, d, main.Name)
		}
	}
	for i := range nc {
		o := f.Output(ScanCarryName(i))
		if o == nil {
			return fmt.Errorf("scan body %s: no output %s (the next carry)", name, ScanCarryName(i))
		}
		if !o.Type.Equal(v.Args[i].Type) {
			return fmt.Errorf("scan body %s: output %s is %v, but carry %d is %v", name, ScanCarryName(i), o.Type, i, v.Args[i].Type)
		}
	}
	ny := 0
	for _, o := range f.Outputs {
		var k int
		if _, err := fmt.Sscanf(o.Name, "c%d", &k); err == nil && o.Name == ScanCarryName(k) && k < nc {
			continue
		}
		if _, err := fmt.Sscanf(o.Name, "y%d", &k); err == nil && o.Name == ScanYName(k) {
			ny++
			continue
		}
		return fmt.Errorf("scan body %s: unexpected output %q (want c0…c%d and y0…)", name, o.Name, nc-1)
	}
	for j := range ny {
		if f.Output(ScanYName(j)) == nil {
			return fmt.Errorf("scan body %s: outputs y0…y%d are not numbered densely (no %s)", name, ny-1, ScanYName(j))
		}
	}
	out := v.Attrs.Int("out")
	if out >= nc+ny {
		return fmt.Errorf("scan: out = %d, but body %s has %d carries and %d per-step outputs", out, name, nc, ny)
	}
	if out >= nc {
		y := f.Output(ScanYName(out - nc))
		if w := Stacked(y.Type, ScanLength(v)); !w.Equal(v.Type) {
			return fmt.Errorf("scan: result is %v, but body %s's %s stacked over %v steps is %v", v.Type, name, ScanYName(out-nc), ScanLength(v), w)
		}
	}
	return nil
}

// scanRematCheck checks the recomputed scan F of a remat-form scan: its
// carries are the saved ones, its sequences and captured values the
// first of the scan's.
func scanRematCheck(main *Graph, v *Value) error {
	name := v.Attrs.Str("remat")
	f := main.Func(name)
	if f == nil {
		return fmt.Errorf("scan: no func %q (remat) in the graph", name)
	}
	nc, nx, ns := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("saved")
	if n := scanNumCarries(f); n != ns {
		return fmt.Errorf("scan: remat body %s has %d carries, but saved = %d", name, n, ns)
	}
	want := map[string]Type{}
	for i, a := range v.Args[nc:] {
		switch {
		case i < ns:
			want[ScanCarryName(i)] = a.Type
		case i < ns+nx:
			want[ScanXName(i-ns)] = StepType(a.Type)
		default:
			want[ScanParamName(i-ns-nx)] = a.Type
		}
	}
	for _, in := range f.Inputs() {
		if t, ok := want[in.Name]; !ok || !t.Equal(in.Type) {
			return fmt.Errorf("scan: remat body %s: input %s %v does not match the scan's arguments", name, in.Name, in.Type)
		}
	}
	for i := range ns {
		if o := f.Output(ScanCarryName(i)); o == nil || !o.Type.Equal(v.Args[nc+i].Type) {
			return fmt.Errorf("scan: remat body %s: output %s is missing or not of carry %d's type %v", name, ScanCarryName(i), i, v.Args[nc+i].Type)
		}
	}
	return nil
}

// scanNumCarries counts a body's carry outputs c0….
func scanNumCarries(f *Graph) int {
	n := 0
	for _, o := range f.Outputs {
		var k int
		if _, err := fmt.Sscanf(o.Name, "c%d", &k); err == nil && o.Name == ScanCarryName(k) {
			n++
		}
	}
	return n
}

// stepSlice returns step t of the sequence x (along axis 0).
func stepSlice(x *Tensor, t int) *Tensor {
	s := &Tensor{DType: x.DType, Shape: slices.Clone(x.Shape[1:])}
	n := s.Len()
	if x.DType == I32 {
		s.I = slices.Clone(x.I[t*n : (t+1)*n])
	} else {
		s.F = slices.Clone(x.F[t*n : (t+1)*n])
	}
	return s
}

func scanEval(ctx *EvalContext, v *Value, args []*Tensor) (*Tensor, error) {
	f := ctx.main.Func(v.Attrs.Str("fn"))
	if f == nil {
		return nil, fmt.Errorf("no func %q", v.Attrs.Str("fn"))
	}
	nc, nx, out := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("out")
	ns := v.Attrs.Int("saved")
	T := args[nc+ns].Shape[0]
	var saved [][]*Tensor // the remat form: saved[t] are F's carries entering step t
	if ns > 0 {
		var err error
		if saved, err = scanRecompute(ctx, v, args, T); err != nil {
			return nil, err
		}
	}
	carry := slices.Clone(args[:nc])
	var res *Tensor
	if out >= nc {
		res = NewTensor(v.Type.DType, ctx.outShape(v)...)
	}
	for step := range T {
		t := step
		if v.Attrs.Bool("reverse") {
			t = T - 1 - step
		}
		in := map[string]*Tensor{}
		for i, a := range args {
			switch {
			case i < nc:
				in[ScanCarryName(i)] = carry[i]
			case i < nc+ns:
				in[ScanXName(i-nc)] = saved[t][i-nc]
			case i < nc+ns+nx:
				in[ScanXName(i-nc)] = stepSlice(a, t)
			default:
				in[ScanParamName(i-nc-ns-nx)] = a
			}
		}
		env := ctx.Env
		env.Inputs = in
		r, err := interpIn(f, ctx.main, env)
		if err != nil {
			return nil, fmt.Errorf("scan body %s, step %d: %w", f.Name, t, err)
		}
		for i := range carry {
			carry[i] = r.Outputs[ScanCarryName(i)]
		}
		if out >= nc {
			y := r.Outputs[ScanYName(out-nc)]
			n := y.Len()
			if y.DType == I32 {
				copy(res.I[t*n:], y.I)
			} else {
				copy(res.F[t*n:], y.F)
			}
		}
	}
	if out < nc {
		return carry[out].Clone(), nil
	}
	return res, nil
}

// scanRecompute runs the remat form's scan F (in the direction opposite to
// v's) and returns its carries entering each step.
func scanRecompute(ctx *EvalContext, v *Value, args []*Tensor, T int) ([][]*Tensor, error) {
	f := ctx.main.Func(v.Attrs.Str("remat"))
	if f == nil {
		return nil, fmt.Errorf("no func %q", v.Attrs.Str("remat"))
	}
	nc, nx, ns := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("saved")
	carry := slices.Clone(args[nc : nc+ns])
	saved := make([][]*Tensor, T)
	for step := range T {
		t := step
		if !v.Attrs.Bool("reverse") {
			t = T - 1 - step
		}
		saved[t] = slices.Clone(carry)
		in := map[string]*Tensor{}
		for i, a := range args[nc:] {
			switch {
			case i < ns:
				in[ScanCarryName(i)] = carry[i]
			case i < ns+nx:
				in[ScanXName(i-ns)] = stepSlice(a, t)
			default:
				in[ScanParamName(i-ns-nx)] = a
			}
		}
		env := ctx.Env
		env.Inputs = in
		r, err := interpIn(f, ctx.main, env)
		if err != nil {
			return nil, fmt.Errorf("scan body %s (recomputed), step %d: %w", f.Name, t, err)
		}
		for i := range carry {
			carry[i] = r.Outputs[ScanCarryName(i)]
		}
	}
	return saved, nil
}

// scanJVP is a forward scan over the body's JVP (ScanBodyJVP, built once
// per body and kept as a func of the graph): the tangents of the carries
// are carried alongside the carries, the xs' tangents are scanned
// alongside the xs, and the result is the tangent of v's result (the
// final carry's tangent, or the stacked ys' tangents).
func scanJVP(b *Builder, v *Value, t []*Value) *Value {
	main := b.Graph()
	name := v.Attrs.Str("fn")
	f := main.Func(name)
	if f == nil {
		b.Errorf("scan: no func %q in the graph (forward mode through a scan inside a scan body is not built yet)", name)
		return nil
	}
	if v.Attrs.Int("saved") > 0 {
		b.Errorf("scan: forward mode through the backward of a checkpointed scan is not built yet (drop dsl.Checkpoint for Hessian-vector products)")
		return nil
	}
	nc, nx, out := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("out")
	groups := [3][]*Value{v.Args[:nc], v.Args[nc : nc+nx], v.Args[nc+nx:]}
	tans := [3][]*Value{t[:nc], t[nc : nc+nx], t[nc+nx:]}
	jname := name + ".jvp"
	if main.Func(jname) == nil {
		if ScanBodyJVP == nil {
			b.Errorf("scan: no body JVP builder (import package passes)")
			return nil
		}
		var types [3][]Type
		for g, vs := range groups {
			for _, a := range vs {
				types[g] = append(types[g], a.Type)
			}
		}
		jf, err := ScanBodyJVP(f, jname, types[0], types[1], types[2])
		if err != nil {
			b.Errorf("scan %s: %v", name, err)
			return nil
		}
		main.Funcs = append(main.Funcs, jf)
	}
	// Arguments: each group, then the tangents of its float members
	// (zeros where the argument has none).
	var args []*Value
	var counts [3]int
	for g, vs := range groups {
		args = append(args, vs...)
		counts[g] = len(vs)
		for i, a := range vs {
			if a.Type.DType.IsFloat() {
				ta := tans[g][i]
				if ta == nil {
					ta = b.ZerosLike(a)
				}
				args = append(args, ta)
				counts[g]++
			}
		}
	}
	// The result: the tangent of carry out, or of y_{out-nc}, counted
	// among the float ones.
	floatBefore := func(ts []Type, i int) int {
		n := 0
		for _, t := range ts[:i] {
			if t.DType.IsFloat() {
				n++
			}
		}
		return n
	}
	var ctypes, ytypes []Type
	for _, c := range groups[0] {
		ctypes = append(ctypes, c.Type)
	}
	for j := 0; f.Output(ScanYName(j)) != nil; j++ {
		ytypes = append(ytypes, f.Output(ScanYName(j)).Type)
	}
	var tout int
	if out < nc {
		tout = nc + floatBefore(ctypes, out)
	} else {
		tout = counts[0] + len(ytypes) + floatBefore(ytypes, out-nc)
	}
	a := Attrs{"fn": jname, "carries": counts[0], "xs": counts[1], "out": tout}
	for _, k := range []string{"reverse", "checkpoint"} {
		if x, ok := v.Attrs[k]; ok {
			a[k] = x
		}
	}
	return b.DeclaredOp(OpScan, v.Type, a, args...)
}

// scanNumYs counts a body's per-step outputs.
func scanNumYs(f *Graph) int {
	n := 0
	for f.Output(ScanYName(n)) != nil {
		n++
	}
	return n
}

// scanVJP is a reverse scan over saved carries. The forward is run again
// with a body that also outputs each step's input carries (the saved
// residuals, one value per carry, stacked over the steps); the backward
// scan runs the body's VJP (ScanBodyVJP, built once per body and kept as a
// func of the graph) from the last step to the first, carrying the
// carries' cotangents and accumulating the captured values'.
func scanVJP(b *Builder, v, g *Value) []*Value {
	main := b.Graph()
	name := v.Attrs.Str("fn")
	f := main.Func(name)
	if f == nil {
		b.Errorf("scan: no func %q in the graph being differentiated (a scan inside a scan body cannot be differentiated yet)", name)
		return make([]*Value, len(v.Args))
	}
	nc, nx, out := v.Attrs.Int("carries"), v.Attrs.Int("xs"), v.Attrs.Int("out")
	args := v.Args
	carries, xs, ps := args[:nc], args[nc:nc+nx], args[nc+nx:]
	np, ny := len(ps), scanNumYs(f)
	T := ScanLength(v)
	rev := v.Attrs.Bool("reverse")
	attrs := func(fn string, nc, nx, out int) Attrs {
		a := Attrs{"fn": fn, "carries": nc, "xs": nx, "out": out}
		if rev {
			a["reverse"] = true
		}
		return a
	}

	if v.Attrs.Int("saved") > 0 {
		b.Errorf("scan: the backward of a checkpointed scan cannot be differentiated again yet (drop the checkpoint for higher-order gradients)")
		return make([]*Value, len(v.Args))
	}
	// The saved carries: the body with extra outputs y{ny+i} = c{i}, or,
	// checkpointed, the carries recomputed by the backward scan itself.
	k := ScanCheckpoint(v)
	var saved []*Value
	if k == 0 {
		resName := name + ScanSavedSuffix
		if main.Func(resName) == nil {
			r := f.Clone()
			r.Name = resName
			for i := range nc {
				c := r.Lookup(ScanCarryName(i))
				if c == nil { // an unread carry: declare it, so it can be saved
					c = r.Append(&Value{Op: OpInput, Type: carries[i].Type, Name: ScanCarryName(i)})
					for _, d := range c.Type.Shape.Syms() {
						r.AddDim(d)
					}
				}
				r.AddOutput(ScanYName(ny+i), c)
			}
			main.Funcs = append(main.Funcs, r)
		}
		saved = make([]*Value, nc)
		for i, c := range carries {
			saved[i] = Named(b.DeclaredOp(OpScan, Stacked(c.Type, T), attrs(resName, nc, nx, nc+ny+i), args...), "saved_"+c.Label())
		}
	}

	// The backward body.
	vjpName := name + ".vjp"
	if main.Func(vjpName) == nil {
		if ScanBodyVJP == nil {
			b.Errorf("scan: no body VJP builder (import package passes)")
			return make([]*Value, len(args))
		}
		types := func(vs []*Value) []Type {
			ts := make([]Type, len(vs))
			for i, v := range vs {
				ts[i] = v.Type
			}
			return ts
		}
		bf, err := ScanBodyVJP(f, vjpName, types(carries), types(xs), types(ps))
		if err != nil {
			b.Errorf("scan %s: %v", name, err)
			return make([]*Value, len(args))
		}
		main.Funcs = append(main.Funcs, bf)
	}

	// Seeds: the cotangent g enters as the last step's carry cotangent or
	// as the stacked ys' cotangents.
	bargs := make([]*Value, 0, nc+np+nc+nx+ny+np)
	for i, c := range carries {
		if i == out {
			bargs = append(bargs, g)
		} else {
			bargs = append(bargs, b.ZerosLike(c))
		}
	}
	for _, p := range ps {
		bargs = append(bargs, b.ZerosLike(p))
	}
	if k == 0 {
		bargs = append(bargs, saved...)
	} else {
		bargs = append(bargs, carries...) // the recomputed scan's initial carries
	}
	bargs = append(bargs, xs...)
	for j := range ny {
		if nc+j == out {
			bargs = append(bargs, g)
		} else {
			bargs = append(bargs, b.Const(0, Stacked(f.Output(ScanYName(j)).Type, T)))
		}
	}
	bargs = append(bargs, ps...)
	back := func(out int, t Type) *Value {
		a := attrs(vjpName, nc+np, nc+nx+ny, out)
		if k > 0 {
			a["xs"], a["saved"], a["remat"], a["checkpoint"] = nx+ny, nc, name, k
		}
		if rev {
			delete(a, "reverse")
		} else {
			a["reverse"] = true
		}
		return b.DeclaredOp(OpScan, t, a, bargs...)
	}
	r := make([]*Value, len(args))
	for i, c := range carries {
		r[i] = back(i, c.Type)
	}
	for j, p := range ps {
		if p.Type.DType.IsFloat() {
			r[nc+nx+j] = back(nc+j, p.Type)
		}
	}
	nf := 0
	for i, x := range xs {
		if x.Type.DType.IsFloat() {
			r[nc+i] = back(nc+np+nf, x.Type)
			nf++
		}
	}
	return r
}
