package passes_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bpgen/bpgen/dsl"
	"github.com/bpgen/bpgen/examples/models"
	"github.com/bpgen/bpgen/ir"
	"github.com/bpgen/bpgen/passes"
)

// d2lTol is the relative tolerance between the joint graph's gradients
// (ir.Interp) and the hand-derived formulas below. Both compute the same
// float64 expressions, differing only in the order of a few roundings
// (softmax as exp(o − logsumexp) vs exp(o − max)/Σ, the 1/n of the mean
// applied before or after the softmax difference), so elements agree to a
// few ulps; 1e-12 allows for the cancellation in sums of mixed-sign
// products, measured against each tensor's largest element (an entry that
// cancels to nearly zero has no meaningful relative error of its own).
const d2lTol = 1e-12

// toFloat64 returns a copy of g with every float32 value (and dtype
// attribute) retargeted to float64.
func toFloat64(g *ir.Graph) *ir.Graph {
	c := g.Clone()
	for _, v := range c.Values {
		if v.Type.DType == ir.F32 {
			v.Type.DType = ir.F64
		}
		if v.Attrs.DType("dtype") == ir.F32 {
			v.Attrs["dtype"] = ir.F64
		}
	}
	return c
}

// TestD2LMLPGradients checks the gradients of the MLP of Dive into Deep
// Learning §4.7 (examples/models.MLP, retargeted to float64) against the
// book's backpropagation formulas, evaluated here with plain loops:
//
//	z = xW1 + b1, h = φ(z) = relu(z), o = hW2 + b2,
//	L = mean_i CE(o_i, y_i), J = L + λ/2 (‖W1‖² + ‖W2‖²)
//	∂J/∂o  = (softmax(o) − onehot(y)) / n
//	∂J/∂W2 = hᵀ·∂J/∂o + λW2      ∂J/∂b2 = Σ_rows ∂J/∂o
//	∂J/∂h  = ∂J/∂o·W2ᵀ
//	∂J/∂z  = ∂J/∂h ⊙ φ′(z)
//	∂J/∂W1 = xᵀ·∂J/∂z + λW1      ∂J/∂b1 = Σ_rows ∂J/∂z
func TestD2LMLPGradients(t *testing.T) {
	g32, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	g := toFloat64(g32)
	if err := ir.Verify(g); err != nil {
		t.Fatalf("float64 copy of the MLP: %v", err)
	}
	joint, rep, err := passes.Grad(g, passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unused) > 0 {
		t.Errorf("unused params %v", rep.Unused)
	}

	const n, d, hid, k = 5, 784, 256, 10
	lambda := models.Lambda
	rng := rand.New(rand.NewPCG(4, 7))
	params, err := ir.InitParams(g, 42)
	if err != nil {
		t.Fatal(err)
	}
	// The initializer gives zero biases; random ones make the test
	// sensitive to a bias gradient applied to the wrong axis.
	params["b1"] = randTensor(rng, -0.1, 0.1, hid)
	params["b2"] = randTensor(rng, -0.1, 0.1, k)
	x := randTensor(rng, 0, 1, n, d)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(k))
	}
	env := map[string]*ir.Tensor{"x": x, "y": ir.FromInts(y, n)}
	for name, p := range params {
		if p.DType != ir.F64 {
			t.Fatalf("param %s is %v after retargeting", name, p.DType)
		}
		env[name] = p
	}
	res, err := ir.Interp(joint, ir.Env{Dims: map[string]int{"n": n}, Inputs: env})
	if err != nil {
		t.Fatal(err)
	}

	// The textbook's backward pass, independently, with plain loops.
	W1, b1, W2, b2 := params["W1"].F, params["b1"].F, params["W2"].F, params["b2"].F
	z := make([]float64, n*hid)
	h := make([]float64, n*hid)
	for i := range n {
		for j := range hid {
			s := b1[j]
			for l := range d {
				s += x.F[i*d+l] * W1[l*hid+j]
			}
			z[i*hid+j] = s
			h[i*hid+j] = math.Max(s, 0)
		}
	}
	o := make([]float64, n*k)
	for i := range n {
		for j := range k {
			s := b2[j]
			for l := range hid {
				s += h[i*hid+l] * W2[l*k+j]
			}
			o[i*k+j] = s
		}
	}
	dO := make([]float64, n*k)
	loss := 0.0
	for i := range n {
		m := math.Inf(-1)
		for j := range k {
			m = math.Max(m, o[i*k+j])
		}
		sum := 0.0
		for j := range k {
			sum += math.Exp(o[i*k+j] - m)
		}
		loss += (m + math.Log(sum) - o[i*k+int(y[i])]) / n
		for j := range k {
			p := math.Exp(o[i*k+j]-m) / sum
			if j == int(y[i]) {
				p--
			}
			dO[i*k+j] = p / n
		}
	}
	dW2 := make([]float64, hid*k)
	for l := range hid {
		for j := range k {
			s := 0.0
			for i := range n {
				s += h[i*hid+l] * dO[i*k+j]
			}
			dW2[l*k+j] = s + lambda*W2[l*k+j]
		}
	}
	db2 := make([]float64, k)
	for i := range n {
		for j := range k {
			db2[j] += dO[i*k+j]
		}
	}
	dZ := make([]float64, n*hid)
	for i := range n {
		for l := range hid {
			s := 0.0
			for j := range k {
				s += dO[i*k+j] * W2[l*k+j]
			}
			if z[i*hid+l] > 0 { // φ′(z) of relu
				dZ[i*hid+l] = s
			}
		}
	}
	dW1 := make([]float64, d*hid)
	for l := range d {
		for j := range hid {
			s := 0.0
			for i := range n {
				s += x.F[i*d+l] * dZ[i*hid+j]
			}
			dW1[l*hid+j] = s + lambda*W1[l*hid+j]
		}
	}
	db1 := make([]float64, hid)
	for i := range n {
		for j := range hid {
			db1[j] += dZ[i*hid+j]
		}
	}

	if got := res.Outputs["loss"].Scalar(); !(math.Abs(got-loss) <= d2lTol*math.Abs(loss)) {
		t.Errorf("loss L = %.17g, textbook %.17g", got, loss)
	}
	for _, c := range []struct {
		name string
		want []float64
	}{{"W1", dW1}, {"b1", db1}, {"W2", dW2}, {"b2", db2}} {
		got := res.Outputs[passes.GradOutputName(c.name)]
		if got == nil {
			t.Errorf("no output %s", passes.GradOutputName(c.name))
			continue
		}
		if len(got.F) != len(c.want) {
			t.Errorf("∂J/∂%s has %d elements, want %d", c.name, len(got.F), len(c.want))
			continue
		}
		scale := 0.0
		for _, w := range c.want {
			scale = math.Max(scale, math.Abs(w))
		}
		if scale == 0 {
			t.Errorf("∂J/∂%s is all zero in the textbook formula: the test data is degenerate", c.name)
		}
		worst, at := 0.0, 0
		for i := range got.F {
			if e := math.Abs(got.F[i]-c.want[i]) / scale; e > worst || math.IsNaN(e) {
				worst, at = e, i // a NaN stays: no later e > NaN
			}
		}
		t.Logf("∂J/∂%s: max |AD − textbook| / max|textbook| = %.3g", c.name, worst)
		if !(worst <= d2lTol) {
			t.Errorf("∂J/∂%s[%d] = %.17g, textbook %.17g (relative error %.3g > %g)", c.name, at, got.F[at], c.want[at], worst, d2lTol)
		}
	}
	// Not vacuous: some hidden units are active and some are not.
	active := 0
	for _, v := range z {
		if v > 0 {
			active++
		}
	}
	if active == 0 || active == len(z) {
		t.Errorf("%d of %d hidden pre-activations are positive: relu's derivative is not exercised", active, len(z))
	}
}

// TestD2LMLPFloat32: the float32 joint graph computes the float64
// gradients to float32 accuracy (the rules keep every value in the
// model's dtype).
func TestD2LMLPFloat32(t *testing.T) {
	g32, err := dsl.Build("models.MLP", models.MLP)
	if err != nil {
		t.Fatal(err)
	}
	j32, _, err := passes.Grad(g32, passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j64, _, err := passes.Grad(toFloat64(g32), passes.GradOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range j32.Values {
		if v.Type.DType == ir.F64 {
			t.Fatalf("float64 value in the float32 joint graph: %v", v)
		}
	}
	const n = 4
	rng := rand.New(rand.NewPCG(16, 16))
	p32, err := ir.InitParams(g32, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 0, 1, n, 784)
	y := ir.FromInts([]int32{1, 7, 3, 3}, n)
	env32 := map[string]*ir.Tensor{"x": ir.FromFloats(ir.F32, x.F, n, 784), "y": y}
	env64 := map[string]*ir.Tensor{"x": x, "y": y}
	for name, p := range p32 {
		env32[name] = p
		env64[name] = ir.FromFloats(ir.F64, p.F, p.Shape...)
	}
	r32, err := ir.Interp(j32, ir.Env{Dims: map[string]int{"n": n}, Inputs: env32})
	if err != nil {
		t.Fatal(err)
	}
	r64, err := ir.Interp(j64, ir.Env{Dims: map[string]int{"n": n}, Inputs: env64})
	if err != nil {
		t.Fatal(err)
	}
	// float32 has ε ≈ 1.2e-7; sums of up to 784 terms lose a few more digits.
	const f32Tol = 1e-4
	for _, name := range []string{"W1", "b1", "W2", "b2"} {
		a, b := r32.Outputs[passes.GradOutputName(name)], r64.Outputs[passes.GradOutputName(name)]
		if a.DType != ir.F32 {
			t.Errorf("grad/%s is %v, want f32", name, a.DType)
		}
		scale := 0.0
		for _, v := range b.F {
			scale = math.Max(scale, math.Abs(v))
		}
		worst := 0.0
		for i := range a.F {
			worst = math.Max(worst, math.Abs(a.F[i]-b.F[i])/scale)
		}
		if !(worst <= f32Tol) {
			t.Errorf("grad/%s: float32 vs float64 relative difference %.3g > %g", name, worst, f32Tol)
		}
	}
}
