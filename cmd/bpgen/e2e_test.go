package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFreshModuleEndToEnd does what the README's quick start says, in a new
// module outside this repository (a replace directive points at this
// checkout): go get -tool, a model with a go:generate line, go generate,
// then go run a main that trains with the generated package.
func TestFreshModuleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module from scratch; skipped with -short")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/e2e\n\ngo 1.26\n\nrequire github.com/bpgen/bpgen v0.0.0-00010101000000-000000000000\n\nreplace github.com/bpgen/bpgen => " + root + "\n",
		"model/model.go": `package model

import "github.com/bpgen/bpgen/dsl"

//go:generate go tool bpgen -func Net -out ../netgen

// Net is a small classifier with an L2 penalty.
func Net(g *dsl.Graph) {
	n := g.Dim("n")
	x := g.Input("x", dsl.Float32, n, 4)
	y := g.Labels("y", n)
	W1, b1 := g.Param("W1", 4, 16, dsl.HeNormal()), g.Param("b1", 16)
	W2, b2 := g.Param("W2", 16, 3), g.Param("b2", 3)
	h := dsl.ReLU(x.MatMul(W1).Add(b1)).Named("h")
	o := h.MatMul(W2).Add(b2).Named("o")
	L := dsl.SoftmaxCrossEntropy(o, y).Mean()
	g.Output("loss", L)
	g.Output("logits", o)
	g.Minimize(L.Add(W1.SumSquares().Mul(1e-4)))
}
`,
		"main.go": `package main

import (
	"fmt"
	"os"

	"example.com/e2e/netgen"
)

func main() {
	m, err := netgen.New(netgen.Config{MaxN: 32, Seed: 1, Optimizer: netgen.Optimizer{Kind: "sgd", LR: 0.1, Momentum: 0.9}})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	// Three separable classes: the label is the index of the largest feature (of the first three).
	x := make([]float32, 32*4)
	y := make([]int32, 32)
	for i := range 32 {
		c := i % 3
		for j := range 4 {
			x[i*4+j] = float32((i*7+j*3)%5) / 10
		}
		x[i*4+c] += 1
		y[i] = int32(c)
	}
	var first, last float32
	for step := range 200 {
		loss, err := m.TrainStep(netgen.Inputs{X: x, Y: y, N: 32})
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Printf("loss %.4f -> %.4f\n", first, last)
	if !(last < first/4) {
		fmt.Println("training did not reduce the loss")
		os.Exit(1)
	}
	fmt.Println("ok")
}
`,
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	for _, cmd := range [][]string{
		// bpgen is not published: the replace directive supplies it, and
		// GOPROXY=off stops go get from asking the proxy whether
		// github.com/bpgen/bpgen/cmd/bpgen is a module of its own.
		{"env", "GOPROXY=off", "go", "get", "-tool", "github.com/bpgen/bpgen/cmd/bpgen"},
		{"go", "generate", "./..."},
		{"go", "mod", "tidy"},
		{"go", "vet", "./..."},
		{"go", "run", "."},
	} {
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Dir, c.Env = dir, env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
		if cmd[0] == "go" && cmd[1] == "run" && !strings.Contains(string(out), "ok") {
			t.Fatalf("go run: %s", out)
		}
		t.Logf("%s: %s", strings.Join(cmd, " "), strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(filepath.Join(dir, "netgen")); err != nil {
		t.Fatal("go generate did not write netgen/")
	}
}
