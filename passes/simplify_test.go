package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/ir"
)

// TestSimplifyText runs the text tests in testdata/simplify: the input IR
// and the IR Simplify makes of it, with the report's rule counts.
func TestSimplifyText(t *testing.T) {
	runTxtar(t, "simplify", "output", func(t *testing.T, g *ir.Graph, _ string) string {
		before := g.Clone()
		rep, err := Simplify(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := ir.Verify(g); err != nil {
			t.Fatal(err)
		}
		if len(g.Dims) <= 1 {
			dims := map[string]int{}
			for _, d := range g.Dims {
				dims[d] = 3
			}
			checkSameSemantics(t, before, g, dims, 1)
		}
		return ir.Print(g) + "# " + rep.String() + "\n"
	})
}

// TestSimplifyModels checks Simplify alone on the joint graph of every
// test model: it preserves semantics, shrinks the graph, and is idempotent.
func TestSimplifyModels(t *testing.T) {
	for _, m := range optModels {
		t.Run(m.name, func(t *testing.T) {
			joint, _, err := Grad(buildModel(t, m.name, m.fn), GradOptions{})
			if err != nil {
				t.Fatal(err)
			}
			g := joint.Clone()
			rep, err := Simplify(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			if rep.After > rep.Before {
				t.Errorf("simplify grew the graph: %v", rep)
			}
			checkSameSemantics(t, joint, g, map[string]int{"n": 3}, 7)
			again := g.Clone()
			if _, err := Simplify(again); err != nil {
				t.Fatal(err)
			}
			if ir.Print(again) != ir.Print(g) {
				t.Errorf("simplify is not idempotent:\n%s\nthen\n%s", g, again)
			}
		})
	}
}

// TestSimplifyKeepsDropoutMasks checks two identical dropout masks stay two.
func TestSimplifyKeepsDropoutMasks(t *testing.T) {
	g, err := ir.Parse(`func d(n) {
  v0:f64[n,4] = input  # - x
  v1:f64[n,4] = dropout_mask [p=0.5 seed=1]
  v2:f64[n,4] = dropout_mask [p=0.5 seed=1]
  v3:f64[n,4] = mul v0 v1
  v4:f64[n,4] = mul v0 v2
  v5:f64[n,4] = sub v3 v4
  out d = v5
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Simplify(g); err != nil {
		t.Fatal(err)
	}
	if n := countOps(g, ir.OpDropoutMask); n != 2 {
		t.Errorf("got %d dropout masks, want 2:\n%s", n, g)
	}
}

// countOps is the number of values of g computed by op.
func countOps(g *ir.Graph, op *ir.OpDef) int {
	n := 0
	for _, v := range g.Values {
		if v.Op == op {
			n++
		}
	}
	return n
}

// TestRandomGraphs runs the whole pipeline (and each graph pass alone) on
// 200 seeded random graphs and checks ir.Interp agrees before and after,
// and that the lowered program, run buffer by buffer, agrees too.
func TestRandomGraphs(t *testing.T) {
	dims := map[string]int{"n": 3}
	for seed := range uint64(200) {
		g, err := randomGraph(seed)
		if err != nil {
			t.Fatalf("seed %d: generator: %v", seed, err)
		}
		ref, _, err := Grad(g, GradOptions{})
		if err != nil {
			t.Fatalf("seed %d: grad: %v\n%s", seed, err, g)
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		off := passCombos[rng.IntN(len(passCombos))]
		p, err := CompileProgram(g, Options{Disable: off, Capacity: map[string]int{"n": 5}})
		if err != nil {
			t.Fatalf("seed %d: compile (without %v): %v\n%s", seed, off, err, g)
		}
		if err := sameSemantics(ref, p.Graph, dims, seed); err != nil {
			t.Fatalf("seed %d: pipeline without %v: %v\nbefore:\n%s\nafter:\n%s", seed, off, err, ref, p.Graph)
		}
		if err := programSemantics(ref, p, dims, seed); err != nil {
			t.Fatalf("seed %d: program without %v: %v\n%s\n%s", seed, off, err, p.Graph, p)
		}
		s := ref.Clone()
		if _, err := Simplify(s); err != nil {
			t.Fatalf("seed %d: simplify: %v", seed, err)
		}
		if err := ir.Verify(s); err != nil {
			t.Fatalf("seed %d: simplify: %v", seed, err)
		}
		if err := sameSemantics(ref, s, dims, seed); err != nil {
			t.Fatalf("seed %d: simplify: %v\nbefore:\n%s\nafter:\n%s", seed, err, ref, s)
		}
		r := ref.Clone()
		opts := RematOptions{Capacity: map[string]int{"n": 5}}
		switch seed % 3 {
		case 1:
			opts.MemoryBudget = 1
		case 2:
			opts.Checkpoint = []string{"x"}
		}
		if _, err := Remat(r, opts); err != nil {
			t.Fatalf("seed %d: remat: %v", seed, err)
		}
		if err := ir.Verify(r); err != nil {
			t.Fatalf("seed %d: remat: %v", seed, err)
		}
		if err := sameSemantics(ref, r, dims, seed); err != nil {
			t.Fatalf("seed %d: remat %+v: %v\nbefore:\n%s\nafter:\n%s", seed, opts, err, ref, r)
		}
	}
}

// randomGraph builds a random float64 model over a batch dim n: values of
// shapes [n,4], [4], [], [1,4], [n,1] and [4,4] combined by elementwise
// ops (with broadcasting), matmuls (with transposes), reductions, the
// softmax family, movement ops, dropout, and the patterns Simplify
// rewrites (x·1, x+0, x−x, −(−x), exp∘log, log∘exp, transpose∘transpose,
// reshape∘reshape, a repeated op, constant arithmetic). Only ops defined
// on all reals are applied to arbitrary values, so results stay finite.
func randomGraph(seed uint64) (*ir.Graph, error) {
	rng := rand.New(rand.NewPCG(seed, 42))
	b := ir.NewBuilder(fmt.Sprintf("rand.G%d", seed))
	g := b.Graph()
	g.AddDim("n")
	f := ir.F64
	nx := ir.S("n", 4)
	x := b.Input("x", ir.T(f, nx))
	pool := []*ir.Value{x}
	params := 0
	param := func(s ir.Shape) *ir.Value {
		params++
		return b.Param(fmt.Sprintf("p%d", params), ir.T(f, s), ir.Attrs{"init": "normal", "std": 0.5})
	}
	pool = append(pool, param(ir.S(4, 4)), param(ir.S(4)), param(ir.S()), param(ir.S(1, 4)))
	var labels *ir.Value
	if rng.IntN(2) == 0 {
		labels = b.Target("y", ir.T(ir.I32, ir.S("n")))
	}
	pick := func() *ir.Value { return pool[rng.IntN(len(pool))] }
	pickShape := func(s ir.Shape) *ir.Value {
		var c []*ir.Value
		for _, v := range pool {
			if v.Type.Shape.Equal(s) {
				c = append(c, v)
			}
		}
		if len(c) == 0 {
			return nil
		}
		return c[rng.IntN(len(c))]
	}
	pickBroadcast := func(a *ir.Value) *ir.Value {
		for range 10 {
			c := pick()
			if _, err := ir.Broadcast(a.Type.Shape, c.Type.Shape); err == nil {
				return c
			}
		}
		return a
	}
	c := func(val float64) *ir.Value { return b.Const(val, ir.T(f, ir.S())) }
	op := func(name string, attrs ir.Attrs, args ...*ir.Value) *ir.Value { return b.Op(name, attrs, args...) }
	masks := 0
	steps := 6 + rng.IntN(14)
	for range steps {
		var v *ir.Value
		a := pick()
		switch rng.IntN(24) {
		case 0, 1, 2:
			v = op([]string{"neg", "tanh", "sigmoid", "relu", "square", "sin", "softplus", "abs", "cos"}[rng.IntN(9)], nil, a)
		case 3:
			v = op("leaky_relu", ir.Attrs{"alpha": 0.1}, a)
		case 4, 5, 6:
			v = op([]string{"add", "sub", "mul", "maximum", "minimum"}[rng.IntN(5)], nil, a, pickBroadcast(a))
		case 7:
			d := pickBroadcast(a)
			v = op("div", nil, a, op("add", nil, op("square", nil, d), c(1)))
		case 8:
			v = op("select", nil, op("gt", nil, a, c(0)), a, pickBroadcast(a))
		case 9:
			w := pickShape(ir.S(4, 4))
			if a.Type.Shape.Equal(nx) || a.Type.Shape.Equal(ir.S(4, 4)) {
				switch rng.IntN(3) {
				case 0:
					v = b.MatMul(a, w, false, false)
				case 1:
					v = b.MatMul(a, op("transpose", ir.Attrs{"perm": []int{1, 0}}, w), false, false)
				default:
					v = b.MatMul(a, w, false, true)
				}
			} else if u := pickShape(nx); u != nil {
				v = b.MatMul(op("transpose", ir.Attrs{"perm": []int{1, 0}}, u), pickShape(nx), false, false)
			}
		case 10:
			if r := len(a.Type.Shape); r > 0 {
				axes := [][]int{{r - 1}, {0}, axesUpTo(r), {}}[rng.IntN(4)]
				v = op([]string{"sum", "mean", "max", "min", "logsumexp"}[rng.IntN(5)], ir.Attrs{"axes": axes, "keepdims": rng.IntN(2) == 0}, a)
			}
		case 11:
			if a.Type.Shape.Equal(nx) {
				v = op([]string{"softmax", "log_softmax"}[rng.IntN(2)], ir.Attrs{"axis": 1}, a)
			}
		case 12:
			if a.Type.Shape.Equal(nx) {
				v = b.Reshape(b.Reshape(a, ir.S("n", 2, 2)), nx)
			} else {
				v = op("transpose", ir.Attrs{"perm": []int{0}}, op("reshape", ir.Attrs{"shape": ir.S(4)}, pickShape(ir.S(4))))
			}
		case 13:
			if len(a.Type.Shape) == 2 {
				v = op("transpose", ir.Attrs{"perm": []int{1, 0}}, op("transpose", ir.Attrs{"perm": []int{1, 0}}, a))
			}
		case 14:
			if ir.BroadcastsTo(a.Type.Shape, nx) {
				v = op("add", nil, op("broadcast_to", ir.Attrs{"shape": nx}, a), pickShape(nx))
			}
		case 15:
			v = op("mul", nil, a, c(1))
			v = op("add", nil, c(0), v)
			v = op("div", nil, v, c(1))
		case 16:
			v = op("add", nil, op("sub", nil, a, a), op("neg", nil, op("neg", nil, a)))
		case 17:
			v = op("exp", nil, op("log", nil, op("sigmoid", nil, a)))
			v = op("log", nil, op("exp", nil, op("tanh", nil, v)))
		case 18:
			v = op("mul", nil, a, op("add", nil, c(2), op("mul", nil, c(3), c(0.5))))
		case 19:
			if len(pool) > 1 {
				u := pool[len(pool)-1]
				if u.Op.Class == ir.Elementwise && !u.Op.Declared {
					v = op(u.Op.Name, u.Attrs, u.Args...) // a repeat: CSE
				}
			}
		case 20:
			if a.Type.Shape.Equal(nx) {
				masks++
				m := b.Declared("dropout_mask", a.Type, ir.Attrs{"p": 0.25, "seed": masks})
				v = op("mul", nil, a, m)
			}
		case 21:
			if labels != nil && a.Type.Shape.Equal(nx) {
				v = op("softmax_xent", nil, a, labels)
			}
		case 22:
			v = op("sqrt", nil, op("add", nil, op("square", nil, a), c(1)))
		case 23:
			v = op("exp", nil, op("tanh", nil, a))
		}
		if err := b.Err(); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, g)
		}
		if v != nil {
			pool = append(pool, v)
		}
	}
	// The objective sums a few values; the last values are outputs.
	var obj *ir.Value
	for i, v := range pool {
		if i == 0 || i >= 5 && rng.IntN(3) == 0 || i == len(pool)-1 {
			s := op("sum", ir.Attrs{"axes": axesUpTo(len(v.Type.Shape))}, v)
			if obj == nil {
				obj = s
			} else {
				obj = op("add", nil, obj, s)
			}
		}
	}
	if labels != nil {
		obj = op("add", nil, obj, op("mean", ir.Attrs{"axes": []int{0}}, op("softmax_xent", nil, pickShape(nx), labels)))
	}
	g.Objective = obj
	outs := 0
	for i := len(pool) - 1; i >= 5 && outs < 2; i-- {
		g.AddOutput(fmt.Sprintf("out%d", outs), pool[i])
		outs++
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	return g, ir.Verify(g)
}
