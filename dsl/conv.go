package dsl

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
)

// A ConvOption sets one keyword argument of Conv2D: Stride, Padding,
// Dilation (each for both spatial axes, or per axis with the …HW form,
// PyTorch's int or (height, width) tuple) or Groups.
type ConvOption struct {
	name string
	hw   [2]int
}

func (o ConvOption) String() string {
	if o.name == "groups" {
		return fmt.Sprintf("groups=%d", o.hw[0])
	}
	return fmt.Sprintf("%s=(%d, %d)", o.name, o.hw[0], o.hw[1])
}

// Stride is the step of the kernel's window over both spatial axes
// (default 1).
func Stride(s int) ConvOption { return ConvOption{"stride", [2]int{s, s}} }

// StrideHW is the stride (h, w): a step of h rows and w columns.
func StrideHW(h, w int) ConvOption { return ConvOption{"stride", [2]int{h, w}} }

// Padding is the number of zeros added on both sides of both spatial axes
// (default 0).
func Padding(p int) ConvOption { return ConvOption{"padding", [2]int{p, p}} }

// PaddingHW pads h rows above and below and w columns left and right.
func PaddingHW(h, w int) ConvOption { return ConvOption{"padding", [2]int{h, w}} }

// Dilation is the spacing between kernel taps on both spatial axes
// (default 1: adjacent).
func Dilation(d int) ConvOption { return ConvOption{"dilation", [2]int{d, d}} }

// DilationHW is the dilation (h, w).
func DilationHW(h, w int) ConvOption { return ConvOption{"dilation", [2]int{h, w}} }

// Groups splits the input and output channels into g groups, each group
// of outputs seeing only its group of inputs (default 1; g = channels is
// a depthwise convolution).
func Groups(g int) ConvOption { return ConvOption{"groups", [2]int{g, 0}} }

// Conv2D is the 2-D convolution of PyTorch's
// torch.nn.functional.conv2d(x, w, stride=…, padding=…, dilation=…,
// groups=…) without the bias: a cross-correlation (the kernel is not
// flipped) of the input x [n, c, h, w] (NCHW; n may be a symbolic dim)
// with the weight w [o, c/groups, kh, kw] (OIHW), giving
// [n, o, ho, wo] with ho = ⌊(h + 2·padding − dilation·(kh−1) − 1)/stride⌋ + 1
// (wo likewise), zero padding:
//
//	out[b, oc, i, j] = Σ_{c', p, q} x[b, g·c/groups + c', i·s − pad + p·d, j·s − pad + q·d] · w[oc, c', p, q]
//
// where g = oc / (o/groups) is oc's group and terms outside x are zero. A
// bias is a separate broadcast add, as nn.Conv2d's: with b of shape
// [o, 1, 1] (or [1, o, 1, 1]),
//
//	y := dsl.Conv2D(x, w, dsl.Padding(2)).Add(b) // nn.Conv2d(c, o, kh, padding=2)
//
// Options not given take PyTorch's defaults (stride 1, padding 0,
// dilation 1, groups 1). A weight declared with g.Param gets Param's
// default initializer, whose fan-in counts the weight as stored
// in × out; for PyTorch's nn.Conv2d default (U(−1/√fanIn, 1/√fanIn) with
// fanIn = c/groups·kh·kw) pass dsl.Uniform(−1/√fanIn, 1/√fanIn).
func Conv2D(x, w *Tensor, opts ...ConvOption) *Tensor {
	t := x
	if t == nil {
		t = w
	}
	if t == nil {
		panic("dsl.Conv2D: both tensors are nil") // no graph to record the error in
	}
	g := t.g
	c := ir.ConvParams{Stride: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}
	seen := map[string]bool{}
	for _, o := range opts {
		if o.name == "" {
			g.errorf("conv2d: the zero ConvOption; use dsl.Stride, Padding, Dilation (or their …HW forms) or Groups")
			return g.invalid()
		}
		if seen[o.name] {
			g.errorf("conv2d: %s given twice (%v)", o.name, opts)
			return g.invalid()
		}
		seen[o.name] = true
		switch o.name {
		case "stride":
			c.Stride = o.hw
		case "padding":
			c.Padding = o.hw
		case "dilation":
			c.Dilation = o.hw
		case "groups":
			c.Groups = o.hw[0]
		}
	}
	return g.op("conv2d", c.Attrs(), x, w)
}
