package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPackRows emits packRows{R}{F32,F64}AVX, which transposes R rows of a
// row-major matrix into the packed-panel layout d[p*R+i] = x[i][p] using 4×4
// register transposes (AVX only, so it also serves the AVX-512 kernel sets).
// It packs full mr-row panels of a non-transposed A and full nr-column
// panels of a transposed B.
func genPackRows(ctx *build.Context, R, elem int) {
	sc := newISA(ctx, elem, false) // scalar moves of the tail
	typ, name := sc.goType(), fmt.Sprintf("packRows%dF32AVX", R)
	if elem == 8 {
		name = fmt.Sprintf("packRows%dF64AVX", R)
	}
	if R%4 != 0 {
		panic("rows must be a multiple of 4")
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(fmt.Sprintf("func(kc int, a *%s, lda int, d *%s)", typ, typ))
	ctx.Doc(
		fmt.Sprintf("%s sets d[p*%d+i] = a[i*lda+p] for i < %d, p < kc; lda is in BYTES.", name, R, R),
	)
	lbl := func(x string) string { return name + "_" + x }

	kc := ctx.Load(ctx.Param("kc"), ctx.GP64())
	p0 := ctx.Load(ctx.Param("a"), ctx.GP64())
	L := ctx.Load(ctx.Param("lda"), ctx.GP64())
	d := ctx.Load(ctx.Param("d"), ctx.GP64())
	L3, L4 := ctx.GP64(), ctx.GP64()
	ctx.LEAQ(operand.Mem{Base: L, Index: L, Scale: 2}, L3)
	ctx.LEAQ(operand.Mem{Base: L, Index: L, Scale: 2}, L4)
	ctx.ADDQ(L, L4)
	groups := R / 4
	pg := ctx.GP64()                 // first row of the current group of 4
	row := func(r int) operand.Mem { // row 4g+r at the current p
		switch r {
		case 0:
			return operand.Mem{Base: pg}
		case 1:
			return operand.Mem{Base: pg, Index: L, Scale: 1}
		case 2:
			return operand.Mem{Base: pg, Index: L, Scale: 2}
		}
		return operand.Mem{Base: pg, Index: L3, Scale: 1}
	}

	chunk := 8 // p values per iteration
	if elem == 8 {
		chunk = 4
	}
	rowBytes := R * elem // one p of the packed panel
	y := []reg.VecVirtual{ctx.YMM(), ctx.YMM(), ctx.YMM(), ctx.YMM()}
	t := []reg.VecVirtual{ctx.YMM(), ctx.YMM(), ctx.YMM(), ctx.YMM()}

	n := ctx.GP64()
	ctx.MOVQ(kc, n)
	ctx.SHRQ(operand.U8(log2(chunk)), n)
	ctx.JZ(operand.LabelRef(lbl("tail")))
	ctx.Label(lbl("loop"))
	ctx.MOVQ(p0, pg)
	for g := 0; g < groups; g++ {
		if g > 0 {
			ctx.ADDQ(L4, pg)
		}
		for r := 0; r < 4; r++ {
			ctx.VMOVUPS(row(r), y[r])
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
	ctx.ADDQ(operand.U8(chunk*elem), p0)
	ctx.ADDQ(operand.U32(chunk*rowBytes), d)
	ctx.DECQ(n)
	ctx.JNZ(operand.LabelRef(lbl("loop")))

	ctx.Label(lbl("tail"))
	ctx.ANDQ(operand.U8(chunk-1), kc)
	ctx.JZ(operand.LabelRef(lbl("done")))
	ctx.Label(lbl("tailloop"))
	ctx.MOVQ(p0, pg)
	for g := 0; g < groups; g++ {
		if g > 0 {
			ctx.ADDQ(L4, pg)
		}
		for r := 0; r < 4; r++ {
			sc.loadScalar(row(r), y[0])
			sc.storeScalar(y[0], operand.Mem{Base: d, Disp: (4*g + r) * elem})
		}
	}
	ctx.ADDQ(operand.U8(elem), p0)
	ctx.ADDQ(operand.U32(rowBytes), d)
	ctx.DECQ(kc)
	ctx.JNZ(operand.LabelRef(lbl("tailloop")))

	ctx.Label(lbl("done"))
	ctx.VZEROUPPER()
	ctx.RET()
}
