package dsl_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
)

// TestPoolErrors: pooling mistakes are reported with the shapes and the
// caller's line.
func TestPoolErrors(t *testing.T) {
	line := func() int { _, _, l, _ := runtime.Caller(1); return l }
	for _, c := range []struct {
		name  string
		model func(g *dsl.Graph) int
		want  string
	}{
		{"rank", func(g *dsl.Graph) int {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 28, 28)
			g.Minimize(dsl.MaxPool2D(x, dsl.Pool2D{Kernel: [2]int{2, 2}}).Sum())
			return line() - 1
		}, "max_pool2d(f32[n,28,28]): input is f32[n,28,28], want a float NCHW tensor (rank 4)"},
		{"padding", func(g *dsl.Graph) int {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 1, 28, 28)
			g.Minimize(dsl.AvgPool2D(x, dsl.Pool2D{Kernel: [2]int{2, 2}, Padding: [2]int{2, 2}}).Sum())
			return line() - 1
		}, "avg_pool2d(f32[n,1,28,28]): padding [2,2] must be at most half the kernel [2,2] (as in PyTorch)"},
		{"too small", func(g *dsl.Graph) int {
			x := g.Input("x", dsl.Float32, g.Dim("n"), 1, 4, 4)
			g.Minimize(dsl.MaxPool2D(x, dsl.Pool2D{Kernel: [2]int{5, 5}, Stride: [2]int{1, 1}}).Sum())
			return line() - 1
		}, "max_pool2d(f32[n,1,4,4]): input [n,1,4,4] padded by [0,0] is smaller than the kernel [5,5]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l int
			_, err := dsl.Build("pool", func(g *dsl.Graph) { l = c.model(g) })
			want := fmt.Sprintf("pool_test.go:%d: %s", l, c.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one containing %q", err, want)
			}
		})
	}
}

// TestPoolDefaults: a zero stride is the kernel and the shapes follow
// PyTorch's floor rule.
func TestPoolDefaults(t *testing.T) {
	var shapes []string
	_, err := dsl.Build("pool", func(g *dsl.Graph) {
		x := g.Input("x", dsl.Float32, g.Dim("n"), 3, 7, 6)
		a := dsl.MaxPool2D(x, dsl.Pool2D{Kernel: [2]int{2, 2}})
		b := dsl.AvgPool2D(x, dsl.Pool2D{Kernel: [2]int{3, 2}, Stride: [2]int{2, 1}, Padding: [2]int{1, 0}})
		shapes = []string{a.Shape().String(), b.Shape().String()}
		g.Minimize(a.Sum().Add(b.Sum()))
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[[n,3,3,3] [n,3,4,5]]"; fmt.Sprint(shapes) != want {
		t.Errorf("shapes %v, want %s", shapes, want)
	}
}
