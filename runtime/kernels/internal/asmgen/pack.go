package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPackA12 emits packA12{F32,F64}AVX, which packs a 12-row panel of
// row-major A (not transposed) into the micro-kernel layout d[p*12+i] =
// A[i][p] using 4×4 register transposes (AVX only, so it also serves the
// AVX-512 kernel sets).
func genPackA12(ctx *build.Context, elem int) {
	typ, name := "float32", "packA12F32AVX"
	if elem == 8 {
		typ, name = "float64", "packA12F64AVX"
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(fmt.Sprintf("func(kc int, a *%s, lda int, d *%s)", typ, typ))
	ctx.Doc(
		fmt.Sprintf("%s sets d[p*12+i] = a[i*lda+p] for i < 12, p < kc; lda is in BYTES.", name),
	)
	lbl := func(x string) string { return name + "_" + x }

	kc := ctx.Load(ctx.Param("kc"), ctx.GP64())
	p0 := ctx.Load(ctx.Param("a"), ctx.GP64())
	L := ctx.Load(ctx.Param("lda"), ctx.GP64())
	d := ctx.Load(ctx.Param("d"), ctx.GP64())
	L3 := ctx.GP64()
	ctx.LEAQ(operand.Mem{Base: L, Index: L, Scale: 2}, L3)
	p4, p8 := ctx.GP64(), ctx.GP64()
	ctx.LEAQ(operand.Mem{Base: p0, Index: L, Scale: 4}, p4)
	ctx.LEAQ(operand.Mem{Base: p4, Index: L, Scale: 4}, p8)
	bases := []reg.Register{p0, p4, p8}
	row := func(g, r int) operand.Mem { // row 4g+r at the current p
		switch r {
		case 0:
			return operand.Mem{Base: bases[g]}
		case 1:
			return operand.Mem{Base: bases[g], Index: L, Scale: 1}
		case 2:
			return operand.Mem{Base: bases[g], Index: L, Scale: 2}
		}
		return operand.Mem{Base: bases[g], Index: L3, Scale: 1}
	}

	chunk := 8 // p values per iteration
	if elem == 8 {
		chunk = 4
	}
	rowBytes := 12 * elem // one p of the packed panel
	y := []reg.VecVirtual{ctx.YMM(), ctx.YMM(), ctx.YMM(), ctx.YMM()}
	t := []reg.VecVirtual{ctx.YMM(), ctx.YMM(), ctx.YMM(), ctx.YMM()}

	n := ctx.GP64()
	ctx.MOVQ(kc, n)
	ctx.SHRQ(operand.U8(log2(chunk)), n)
	ctx.JZ(operand.LabelRef(lbl("tail")))
	ctx.Label(lbl("loop"))
	for g := 0; g < 3; g++ {
		for r := 0; r < 4; r++ {
			ctx.VMOVUPS(row(g, r), y[r])
		}
		if elem == 4 {
			ctx.VUNPCKLPS(y[1], y[0], t[0])
			ctx.VUNPCKHPS(y[1], y[0], t[1])
			ctx.VUNPCKLPS(y[3], y[2], t[2])
			ctx.VUNPCKHPS(y[3], y[2], t[3])
			ctx.VSHUFPS(operand.U8(0x44), t[2], t[0], y[0]) // p+0 | p+4
			ctx.VSHUFPS(operand.U8(0xEE), t[2], t[0], y[1]) // p+1 | p+5
			ctx.VSHUFPS(operand.U8(0x44), t[3], t[1], y[2]) // p+2 | p+6
			ctx.VSHUFPS(operand.U8(0xEE), t[3], t[1], y[3]) // p+3 | p+7
			for j := 0; j < 4; j++ {
				ctx.VMOVUPS(y[j].AsX(), operand.Mem{Base: d, Disp: j*rowBytes + 16*g})
				ctx.VEXTRACTF128(operand.U8(1), y[j], operand.Mem{Base: d, Disp: (j+4)*rowBytes + 16*g})
			}
		} else {
			ctx.VUNPCKLPD(y[1], y[0], t[0])
			ctx.VUNPCKHPD(y[1], y[0], t[1])
			ctx.VUNPCKLPD(y[3], y[2], t[2])
			ctx.VUNPCKHPD(y[3], y[2], t[3])
			ctx.VPERM2F128(operand.U8(0x20), t[2], t[0], y[0]) // p+0
			ctx.VPERM2F128(operand.U8(0x20), t[3], t[1], y[1]) // p+1
			ctx.VPERM2F128(operand.U8(0x31), t[2], t[0], y[2]) // p+2
			ctx.VPERM2F128(operand.U8(0x31), t[3], t[1], y[3]) // p+3
			for j := 0; j < 4; j++ {
				ctx.VMOVUPD(y[j], operand.Mem{Base: d, Disp: j*rowBytes + 32*g})
			}
		}
	}
	for _, b := range bases {
		ctx.ADDQ(operand.U8(chunk*elem), b)
	}
	ctx.ADDQ(operand.U32(chunk*rowBytes), d)
	ctx.DECQ(n)
	ctx.JNZ(operand.LabelRef(lbl("loop")))

	ctx.Label(lbl("tail"))
	ctx.ANDQ(operand.U8(chunk-1), kc)
	ctx.JZ(operand.LabelRef(lbl("done")))
	ctx.Label(lbl("tailloop"))
	x := y[0].AsX()
	for g := 0; g < 3; g++ {
		for r := 0; r < 4; r++ {
			dst := operand.Mem{Base: d, Disp: (4*g + r) * elem}
			if elem == 4 {
				ctx.VMOVSS(row(g, r), x)
				ctx.VMOVSS(x, dst)
			} else {
				ctx.VMOVSD(row(g, r), x)
				ctx.VMOVSD(x, dst)
			}
		}
	}
	for _, b := range bases {
		ctx.ADDQ(operand.U8(elem), b)
	}
	ctx.ADDQ(operand.U32(rowBytes), d)
	ctx.DECQ(kc)
	ctx.JNZ(operand.LabelRef(lbl("tailloop")))

	ctx.Label(lbl("done"))
	ctx.VZEROUPPER()
	ctx.RET()
}
