package dsl_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bpgen/bpgen/dsl"
)

// TestConv2DOptions: the options map onto PyTorch's keyword arguments,
// with PyTorch's defaults, and the result has PyTorch's shape.
func TestConv2DOptions(t *testing.T) {
	for _, c := range []struct {
		name                      string
		opts                      []dsl.ConvOption
		stride, padding, dilation []int
		groups                    int
		out                       string
	}{
		// F.conv2d(x, w) on x [n,4,28,26], w [6,2,5,3]: needs groups=2.
		{"defaults+groups", []dsl.ConvOption{dsl.Groups(2)}, []int{1, 1}, []int{0, 0}, []int{1, 1}, 2, "f32[n,6,24,24]"},
		{"stride", []dsl.ConvOption{dsl.Stride(2), dsl.Groups(2)}, []int{2, 2}, []int{0, 0}, []int{1, 1}, 2, "f32[n,6,12,12]"},
		// F.conv2d(x, w, stride=(3,1), padding=(2,1), dilation=(1,2), groups=2):
		// ho = ⌊(28+4−4−1)/3⌋+1 = 10, wo = ⌊(26+2−4−1)/1⌋+1 = 24.
		{"per-axis", []dsl.ConvOption{dsl.StrideHW(3, 1), dsl.PaddingHW(2, 1), dsl.DilationHW(1, 2), dsl.Groups(2)}, []int{3, 1}, []int{2, 1}, []int{1, 2}, 2, "f32[n,6,10,24]"},
		{"square", []dsl.ConvOption{dsl.Padding(1), dsl.Dilation(2), dsl.Groups(2)}, []int{1, 1}, []int{1, 1}, []int{2, 2}, 2, "f32[n,6,22,24]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var y *dsl.Tensor
			_, err := dsl.Build("test.conv", func(g *dsl.Graph) {
				n := g.Dim("n")
				x := g.Input("x", dsl.Float32, n, 4, 28, 26)
				w := g.Param("w", 6, 2, 5, 3)
				y = dsl.Conv2D(x, w, c.opts...)
				g.Minimize(y.Sum())
			})
			if err != nil {
				t.Fatal(err)
			}
			v := y.String()
			if !strings.Contains(v, c.out) {
				t.Errorf("Conv2D = %s, want type %s", v, c.out)
			}
			for _, a := range []struct {
				name string
				want []int
			}{{"stride", c.stride}, {"padding", c.padding}, {"dilation", c.dilation}} {
				if !strings.Contains(v, fmt.Sprintf("%s=[%d,%d]", a.name, a.want[0], a.want[1])) {
					t.Errorf("Conv2D = %s, want %s=%v", v, a.name, a.want)
				}
			}
			if !strings.Contains(v, fmt.Sprintf("groups=%d", c.groups)) {
				t.Errorf("Conv2D = %s, want groups=%d", v, c.groups)
			}
		})
	}
}

// TestConv2DErrors: mistakes are reported at the user's line, naming both
// shapes and what is wrong.
func TestConv2DErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		model func(g *dsl.Graph, x *dsl.Tensor) (line int)
		want  string
	}{
		{"channels", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 3, 5, 5)
			y, line := dsl.Conv2D(x, w), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d(f32[n,1,28,28], f32[6,3,5,5]): input [n,1,28,28] has 1 channels, but weight [6,3,5,5] with groups=1 expects 3 (weight dim 1 × groups)"},
		{"too small", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 1, 5, 5)
			y, line := dsl.Conv2D(x, w, dsl.Dilation(7)), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d(f32[n,1,28,28], f32[6,1,5,5]): weight [6,1,5,5]: the kernel 5x5 with dilation [7 7] does not fit input [n,1,28,28] padded by [0 0]"},
		{"stride 0", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 1, 5, 5)
			y, line := dsl.Conv2D(x, w, dsl.StrideHW(1, 0)), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d(f32[n,1,28,28], f32[6,1,5,5]): stride [1 0] must be ≥ 1"},
		{"twice", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 1, 5, 5)
			y, line := dsl.Conv2D(x, w, dsl.Padding(1), dsl.PaddingHW(2, 2)), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d: padding given twice ([padding=(1, 1) padding=(2, 2)])"},
		{"zero option", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 1, 5, 5)
			y, line := dsl.Conv2D(x, w, dsl.ConvOption{}), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d: the zero ConvOption; use dsl.Stride, Padding, Dilation (or their …HW forms) or Groups"},
		{"nil weight", func(g *dsl.Graph, x *dsl.Tensor) int {
			y, line := dsl.Conv2D(x, nil), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d: argument 2 is a nil *Tensor"},
		{"groups", func(g *dsl.Graph, x *dsl.Tensor) int {
			w := g.Param("w", 6, 1, 5, 5)
			y, line := dsl.Conv2D(x, w, dsl.Groups(4)), thisLine()
			g.Minimize(y.Sum())
			return line
		}, "conv2d(f32[n,1,28,28], f32[6,1,5,5]): weight [6,1,5,5] has 6 output channels, not divisible by groups=4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var line int
			_, err := dsl.Build("test.conv", func(g *dsl.Graph) {
				x := g.Input("x", dsl.Float32, g.Dim("n"), 1, 28, 28)
				line = c.model(g, x)
			})
			want := fmt.Sprintf("conv_test.go:%d: %s", line, c.want)
			if err == nil || err.Error() != want {
				t.Errorf("error %v\nwant  %s", err, want)
			}
		})
	}
}

func thisLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}
