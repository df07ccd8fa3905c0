package passes

import (
	"fmt"
	"strings"

	"github.com/bpgen/bpgen/ir"
)

// The backward body of a scan (see ir.OpScan, ir.ScanBodyVJP) is built here
// with the grad pass itself: one step's forward is inlined from the saved
// carries, and its objective Σ sum(out ⊙ cotangent) over the step's
// outputs makes Grad compute exactly the step's VJP.
func init() { ir.ScanBodyVJP, ir.ScanBodyJVP = scanBodyVJP, scanBodyJVP }

// scanBodyJVP builds the tangent body of a scan body (see ir.ScanBodyJVP)
// with the JVP pass: every float input the body reads gets a tangent
// input, renamed into the scan's numbering, and so do the tangent outputs.
func scanBodyJVP(body *ir.Graph, name string, carries, xs, captured []ir.Type) (*ir.Graph, error) {
	type slot struct{ in, tan string }
	var slots []slot
	for g, ts := range [][]ir.Type{carries, xs, captured} {
		names := [...]func(int) string{ir.ScanCarryName, ir.ScanXName, ir.ScanParamName}[g]
		k := 0
		for i, t := range ts {
			if t.DType.IsFloat() {
				slots = append(slots, slot{names(i), names(len(ts) + k)})
				k++
			}
		}
	}
	var wrt []string
	for _, s := range slots {
		if body.Lookup(s.in) != nil {
			wrt = append(wrt, s.in)
		}
	}
	if len(wrt) == 0 {
		return nil, fmt.Errorf("scan body %s reads no float input, so it has no tangent", body.Name)
	}
	jg, err := JVP(body, JVPOptions{Wrt: wrt})
	if err != nil {
		return nil, fmt.Errorf("the forward mode of scan body %s: %w", body.Name, err)
	}
	jg.Name = name
	for _, s := range slots {
		if v := jg.Lookup(TangentName(s.in)); v != nil {
			v.Name = s.tan
		}
	}
	rename := map[string]string{}
	k := 0
	for i, t := range carries {
		if t.DType.IsFloat() {
			rename[TangentName(ir.ScanCarryName(i))] = ir.ScanCarryName(len(carries) + k)
			k++
		}
	}
	ny := 0
	for body.Output(ir.ScanYName(ny)) != nil {
		ny++
	}
	k = 0
	for j := range ny {
		if body.Output(ir.ScanYName(j)).Type.DType.IsFloat() {
			rename[TangentName(ir.ScanYName(j))] = ir.ScanYName(ny + k)
			k++
		}
	}
	for i, o := range jg.Outputs {
		if n, ok := rename[o.Name]; ok {
			jg.Outputs[i].Name = n
		} else if strings.HasPrefix(o.Name, "tangent.") {
			return nil, fmt.Errorf("the forward mode of scan body %s: internal error: unexpected tangent output %s", body.Name, o.Name)
		}
	}
	return jg, nil
}

func scanBodyVJP(body *ir.Graph, name string, carries, xs, captured []ir.Type) (*ir.Graph, error) {
	nc, nx := len(carries), len(xs)
	var ys []ir.Type
	for j := 0; body.Output(ir.ScanYName(j)) != nil; j++ {
		ys = append(ys, body.Output(ir.ScanYName(j)).Type)
	}
	b := ir.NewBuilder(name)
	for _, d := range body.Dims {
		b.Graph().AddDim(d)
	}
	input := func(name string, t ir.Type) *ir.Value {
		for _, d := range t.Shape.Syms() {
			b.Graph().AddDim(d)
		}
		return b.Input(name, t)
	}
	dc := make([]*ir.Value, nc)
	for i, t := range carries {
		dc[i] = input(ir.ScanCarryName(i), t)
	}
	for j, t := range captured {
		input(ir.ScanCarryName(nc+j), t)
	}
	bind := map[string]*ir.Value{}
	var wrt []string
	for i, t := range carries {
		bind[ir.ScanCarryName(i)] = input(ir.ScanXName(i), t)
		if t.DType.IsFloat() {
			wrt = append(wrt, ir.ScanXName(i))
		}
	}
	for k, t := range xs {
		bind[ir.ScanXName(k)] = input(ir.ScanXName(nc+k), ir.StepType(t))
		if t.DType.IsFloat() {
			wrt = append(wrt, ir.ScanXName(nc+k))
		}
	}
	dy := make([]*ir.Value, len(ys))
	for l, t := range ys {
		dy[l] = input(ir.ScanXName(nc+nx+l), t)
	}
	for j, t := range captured {
		bind[ir.ScanParamName(j)] = input(ir.ScanParamName(j), t)
		if t.DType.IsFloat() {
			wrt = append(wrt, ir.ScanParamName(j))
		}
	}
	outs := ir.Inline(b, body, bind)
	var obj *ir.Value
	term := func(out, ct *ir.Value) {
		if !out.Type.DType.IsFloat() {
			return
		}
		t := b.Mul(out, ct)
		if t.Type.Shape.Rank() > 0 {
			axes := make([]int, t.Type.Shape.Rank())
			for i := range axes {
				axes[i] = i
			}
			t = b.Sum(t, axes, false)
		}
		if obj == nil {
			obj = t
		} else {
			obj = b.Add(obj, t)
		}
	}
	for i := range nc {
		term(outs[ir.ScanCarryName(i)], dc[i])
	}
	for l := range ys {
		term(outs[ir.ScanYName(l)], dy[l])
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("building the backward of scan body %s: %w", body.Name, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("scan body %s has no float outputs to differentiate", body.Name)
	}
	g := b.Graph()
	g.Objective = obj
	joint, _, err := Grad(g, GradOptions{Wrt: wrt})
	if err != nil {
		return nil, fmt.Errorf("the backward of scan body %s: %w", body.Name, err)
	}
	grad := func(name string) *ir.Value {
		for _, o := range joint.Outputs {
			if o.Grad == name {
				return o.Value
			}
		}
		return nil
	}
	jb := ir.BuilderFor(joint)
	var result []ir.Output
	for i, t := range carries {
		v := joint.Lookup(ir.ScanCarryName(i)) // a non-float carry: its (zero) cotangent passes through
		if t.DType.IsFloat() {
			v = grad(ir.ScanXName(i))
		}
		result = append(result, ir.Output{Name: ir.ScanCarryName(i), Value: v})
	}
	for j, t := range captured {
		v := joint.Lookup(ir.ScanCarryName(nc + j))
		if t.DType.IsFloat() {
			v = jb.Add(v, grad(ir.ScanParamName(j)))
		}
		result = append(result, ir.Output{Name: ir.ScanCarryName(nc + j), Value: v})
	}
	k := 0
	for i, t := range xs {
		if t.DType.IsFloat() {
			result = append(result, ir.Output{Name: ir.ScanYName(k), Value: grad(ir.ScanXName(nc + i))})
			k++
		}
	}
	if err := jb.Err(); err != nil {
		return nil, fmt.Errorf("the backward of scan body %s: internal error: %w", body.Name, err)
	}
	joint.Outputs = result
	joint.Objective = nil
	if err := DCE(joint); err != nil {
		return nil, err
	}
	return joint, nil
}

// isScan reports whether v is a scan: an opaque op that is pure (its body
// is ordinary IR), so CSE may merge two equal loops (the backward's
// saved-carry loops of two results of one scan).
func isScan(v *ir.Value) bool { return ir.OpScan != nil && v.Op == ir.OpScan }
