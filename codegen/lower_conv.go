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
// sized at New by rt for the largest convolution of the model at the
// capacity, so a step allocates nothing. A 1×1 convolution with stride 1
// and no padding needs none. With float64 accumulation a float32
// convolution runs in float64 (rt.Conv2DAcc64, …), in convColF64.

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
		shapeWith := func(batch jen.Code) *jen.Statement {
			return jen.Qual(rtPath, "ConvShape").Values(
				field("N", batch), lit("C", xs[1].N), lit("H", xs[2].N), lit("W", xs[3].N),
				lit("O", ws[0].N), lit("KH", ws[2].N), lit("KW", ws[3].N), lit("HO", ys[2].N), lit("WO", ys[3].N),
				lit("SH", c.Stride[0]), lit("SW", c.Stride[1]), lit("PH", c.Padding[0]), lit("PW", c.Padding[1]),
				lit("DH", c.Dilation[0]), lit("DW", c.Dilation[1]), lit("Groups", c.Groups))
		}
		shape := shapeWith(k.prod(xs[:1]))
		if v.Type.DType == ir.F32 && k.p.opt.Accumulate == ir.F64 && k.p.opt.Gemm != GemmGonum {
			// Float64 accumulation (as kctx.gemmFunc picks SgemmAcc64): the
			// whole convolution in float64, each result rounded once.
			f := k.useScratch("convCol", ir.F64, shapeWith(k.p.capProd(xs[:1])).Dot("Acc64Len").Call())
			k.p.dedupeScratchSize(f)
			args := []jen.Code{shape}
			for _, b := range bufs(v) {
				args = append(args, k.slice(b))
			}
			return []jen.Code{jen.Qual(rtPath, fn+"Acc64").Call(append(args, jen.Id("s").Dot(f))...)}
		}
		col := jen.Nil()
		if !direct {
			// New allocates what rt says this convolution needs at capacity.
			f := k.useScratch("convCol", v.Type.DType, shapeWith(k.p.capProd(xs[:1])).Dot("ColLen").Call())
			k.p.dedupeScratchSize(f)
			col = jen.Id("s").Dot(f)
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
