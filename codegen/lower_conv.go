package codegen

import (
	"fmt"

	"github.com/bpgen/bpgen/ir"
	"github.com/dave/jennifer/jen"
)

// Lowerings of the convolution ops (conv2d and its two gradient
// products): one call of rt.Conv2D, rt.Conv2DInputGrad or
// rt.Conv2DWeightGrad with the geometry as an rt.ConvShape literal, the
// GEMM the model's options select (as for matmul) and the state's im2col
// working space convColF32/F64: one buffer per dtype outside the arenas,
// sized at New for the largest convolution of the model (its size does not
// depend on the batch: one sample's group at a time), so a step allocates
// nothing. A 1×1 convolution with stride 1 and no padding needs none.

func init() {
	stateReserved = append(stateReserved, "convColF32", "convColF64")
}

// convLowering lowers a convolution op whose input, weight and output
// (in the forward op's terms) have the shapes xs, ws and ys, and whose
// three buffers are passed to fn in the order bufs gives.
func convLowering(fn string, shapes func(v *ir.Value) (xs, ws, ys ir.Shape), bufs func(v *ir.Value) []*ir.Value) lowering {
	return func(k *kctx, v *ir.Value) []jen.Code {
		xs, ws, ys := shapes(v)
		c := ir.ConvParamsOf(v.Attrs)
		direct := ws[2].N == 1 && ws[3].N == 1 && c.Stride == [2]int{1, 1} && c.Padding == [2]int{0, 0} // rt.ConvShape.Direct
		field := func(name string, x jen.Code) jen.Code { return jen.Id(name).Op(":").Add(x) }
		lit := func(name string, n int) jen.Code { return field(name, jen.Lit(n)) }
		shape := jen.Qual(rtPath, "ConvShape").Values(
			field("N", k.prod(xs[:1])), lit("C", xs[1].N), lit("H", xs[2].N), lit("W", xs[3].N),
			lit("O", ws[0].N), lit("KH", ws[2].N), lit("KW", ws[3].N), lit("HO", ys[2].N), lit("WO", ys[3].N),
			lit("SH", c.Stride[0]), lit("SW", c.Stride[1]), lit("PH", c.Padding[0]), lit("PW", c.Padding[1]),
			lit("DH", c.Dilation[0]), lit("DW", c.Dilation[1]), lit("Groups", c.Groups))
		col := jen.Nil()
		if !direct {
			n := ws[1].N * ws[2].N * ws[3].N * ys[2].N * ys[3].N
			f := k.useScratch("convCol", v.Type.DType, jen.Lit(n))
			k.p.dedupeScratchSize(f)
			col = jen.Id("s").Dot(f).Index(jen.Empty(), jen.Lit(n))
		}
		args := []jen.Code{k.gemmFunc(v.Type.DType), shape}
		for _, b := range bufs(v) {
			args = append(args, k.slice(b))
		}
		return []jen.Code{jen.Qual(rtPath, fn).Call(append(args, col)...)}
	}
}

// gemmFunc is the GEMM function of dtype d that the model's options
// select, as a value (see kctx.matmul).
func (k *kctx) gemmFunc(d ir.DType) *jen.Statement {
	gemm := "Sgemm"
	if d == ir.F64 {
		gemm = "Dgemm"
	}
	switch {
	case k.p.opt.Gemm == GemmGonum:
		return jen.Qual(rtPath, "Gonum"+gemm)
	case gemm == "Sgemm" && k.p.opt.Accumulate == ir.F64:
		return jen.Qual(kernelsPath, "SgemmAcc64")
	}
	return jen.Qual(kernelsPath, gemm)
}

var (
	lowerConv2D = convLowering("Conv2D",
		func(v *ir.Value) (xs, ws, ys ir.Shape) {
			return v.Args[0].Type.Shape, v.Args[1].Type.Shape, v.Type.Shape
		},
		func(v *ir.Value) []*ir.Value { return []*ir.Value{v, v.Args[0], v.Args[1]} })
	lowerConv2DInputGrad = convLowering("Conv2DInputGrad",
		func(v *ir.Value) (xs, ws, ys ir.Shape) {
			return v.Type.Shape, v.Args[1].Type.Shape, v.Args[0].Type.Shape
		},
		func(v *ir.Value) []*ir.Value { return []*ir.Value{v, v.Args[0], v.Args[1]} })
	lowerConv2DWeightGrad = convLowering("Conv2DWeightGrad",
		func(v *ir.Value) (xs, ws, ys ir.Shape) {
			return v.Args[0].Type.Shape, v.Type.Shape, v.Args[1].Type.Shape
		},
		func(v *ir.Value) []*ir.Value { return []*ir.Value{v, v.Args[0], v.Args[1]} })
)

// dedupeScratchSize drops the size just added to the scratch buffer field
// if it has that size already (kernel bodies are built more than once; a
// buffer's size is the max of its sizes).
func (p *plan) dedupeScratchSize(field string) {
	for i := range p.scratch {
		sb := &p.scratch[i]
		if sb.field != field || len(sb.sizes) < 2 {
			continue
		}
		last := fmt.Sprintf("%#v", sb.sizes[len(sb.sizes)-1])
		for _, x := range sb.sizes[:len(sb.sizes)-1] {
			if fmt.Sprintf("%#v", x) == last {
				sb.sizes = sb.sizes[:len(sb.sizes)-1]
				return
			}
		}
	}
}
