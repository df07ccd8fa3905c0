package dsl

import "github.com/bpgen/bpgen/ir"

// Pool2D is the window of a 2-D pooling over NCHW tensors; each field is
// [height, width], as PyTorch's tuple arguments. A zero Stride means the
// kernel (PyTorch's default stride=None); Padding is on each side.
//
//	dsl.Pool2D{Kernel: [2]int{2, 2}}                                        // 2×2, stride 2
//	dsl.Pool2D{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
type Pool2D struct {
	Kernel, Stride, Padding [2]int
}

func (p Pool2D) attrs() ir.Attrs {
	a := ir.Attrs{"kernel": p.Kernel[:]}
	if p.Stride != [2]int{} {
		a["stride"] = p.Stride[:]
	}
	if p.Padding != [2]int{} {
		a["padding"] = p.Padding[:]
	}
	return a
}

// MaxPool2D is the maximum over each window of x, [N,C,H,W] → [N,C,OH,OW]
// with OH = ⌊(H + 2·pad − kernel)/stride⌋ + 1 (and so for W): PyTorch's
// torch.nn.functional.max_pool2d(x, kernel, stride, padding) with
// dilation 1 and ceil_mode=False. The padding is −∞ (it never wins, and
// must be at most half the kernel); the gradient goes to the first maximum
// of each window in row-major order, as PyTorch's. N and C may be
// symbolic; H and W must be static.
func MaxPool2D(x *Tensor, p Pool2D) *Tensor { return x.g.op("max_pool2d", p.attrs(), x) }

// AvgPool2D is the mean over each window of x, [N,C,H,W] → [N,C,OH,OW]
// (sizes as for MaxPool2D): PyTorch's torch.nn.functional.avg_pool2d(x,
// kernel, stride, padding) with its defaults ceil_mode=False and
// count_include_pad=True: the padding counts as zeros, so every window is
// divided by kernel height × width.
func AvgPool2D(x *Tensor, p Pool2D) *Tensor { return x.g.op("avg_pool2d", p.attrs(), x) }
