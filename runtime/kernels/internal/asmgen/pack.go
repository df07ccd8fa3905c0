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
	if R%4 != 0 && R%4 != 2 {
		panic("rows must be a multiple of 4, or 2 more than one")
	}
	pair := R%4 == 2 // two rows after the groups of four (R = 6: the AVX2 mr)
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
	if pair {
		// Rows 4·groups and 4·groups+1: interleave the two rows and store
		// a pair (8 bytes for float32, 16 for float64) per p.
		ctx.ADDQ(L4, pg)
		ctx.VMOVUPS(row(0), y[0])
		ctx.VMOVUPS(row(1), y[1])
		col := 4 * groups * elem
		at := func(p int) operand.Mem { return operand.Mem{Base: d, Disp: p*rowBytes + col} }
		if elem == 4 {
			ctx.VUNPCKLPS(y[1], y[0], t[0]) // p0 p1 | p4 p5
			ctx.VUNPCKHPS(y[1], y[0], t[1]) // p2 p3 | p6 p7
			for h := 0; h < 2; h++ {
				if h == 1 {
					ctx.VEXTRACTF128(operand.U8(1), t[0], t[2].AsX())
					ctx.VEXTRACTF128(operand.U8(1), t[1], t[3].AsX())
				}
				lo, hi := t[2*h].AsX(), t[2*h+1].AsX()
				ctx.VMOVLPS(lo, at(4*h+0))
				ctx.VMOVHPS(lo, at(4*h+1))
				ctx.VMOVLPS(hi, at(4*h+2))
				ctx.VMOVHPS(hi, at(4*h+3))
			}
		} else {
			ctx.VUNPCKLPD(y[1], y[0], t[0]) // p0 | p2
			ctx.VUNPCKHPD(y[1], y[0], t[1]) // p1 | p3
			ctx.VMOVUPD(t[0].AsX(), at(0))
			ctx.VMOVUPD(t[1].AsX(), at(1))
			ctx.VEXTRACTF128(operand.U8(1), t[0], at(2))
			ctx.VEXTRACTF128(operand.U8(1), t[1], at(3))
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
	if pair {
		ctx.ADDQ(L4, pg)
		for r := 0; r < 2; r++ {
			sc.loadScalar(row(r), y[0])
			sc.storeScalar(y[0], operand.Mem{Base: d, Disp: (4*groups + r) * elem})
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

// genPackCopy emits packCopy{W}{F32,F64}AVX, which copies W consecutive
// elements of each of kc rows (row stride ld bytes) into d[p*W+j]: full
// panels of a non-transposed B (W = nr) and of a transposed A (W = mr),
// without a memmove call per row.
func genPackCopy(ctx *build.Context, W, elem int) {
	sc := newISA(ctx, elem, false)
	typ, name := sc.goType(), fmt.Sprintf("packCopy%dF32AVX", W)
	if elem == 8 {
		name = fmt.Sprintf("packCopy%dF64AVX", W)
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(fmt.Sprintf("func(kc int, x *%s, ld int, d *%s)", typ, typ))
	ctx.Doc(
		fmt.Sprintf("%s sets d[p*%d+j] = x[p*ld+j] for j < %d, p < kc; ld is in BYTES. kc >= 1.", name, W, W),
	)
	kc := ctx.Load(ctx.Param("kc"), ctx.GP64())
	px := ctx.Load(ctx.Param("x"), ctx.GP64())
	L := ctx.Load(ctx.Param("ld"), ctx.GP64())
	d := ctx.Load(ctx.Param("d"), ctx.GP64())
	bytes := W * elem
	type piece struct{ off, size int }
	var pieces []piece
	for off := 0; off < bytes; {
		switch rem := bytes - off; {
		case rem >= 32:
			pieces = append(pieces, piece{off, 32})
		case rem >= 16:
			pieces = append(pieces, piece{off, 16})
		case rem >= 8:
			pieces = append(pieces, piece{off, 8})
		default:
			panic("row size must be a multiple of 8 bytes")
		}
		off += pieces[len(pieces)-1].size
	}
	v := make([]reg.VecVirtual, len(pieces))
	g := make([]reg.GPVirtual, len(pieces))
	for i, pc := range pieces {
		if pc.size == 8 {
			g[i] = ctx.GP64()
		} else {
			v[i] = ctx.YMM()
		}
	}
	ctx.Label(name + "_loop")
	for i, pc := range pieces {
		m := operand.Mem{Base: px, Disp: pc.off}
		switch pc.size {
		case 32:
			ctx.VMOVUPS(m, v[i])
		case 16:
			ctx.VMOVUPS(m, v[i].AsX())
		case 8:
			ctx.MOVQ(m, g[i])
		}
	}
	for i, pc := range pieces {
		m := operand.Mem{Base: d, Disp: pc.off}
		switch pc.size {
		case 32:
			ctx.VMOVUPS(v[i], m)
		case 16:
			ctx.VMOVUPS(v[i].AsX(), m)
		case 8:
			ctx.MOVQ(g[i], m)
		}
	}
	ctx.ADDQ(L, px)
	ctx.ADDQ(operand.U32(bytes), d)
	ctx.DECQ(kc)
	ctx.JNZ(operand.LabelRef(name + "_loop"))
	ctx.VZEROUPPER()
	ctx.RET()
}
