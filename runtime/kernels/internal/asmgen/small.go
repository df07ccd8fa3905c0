package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// smallSpec describes an unpacked small-GEMM kernel for op(B) = B:
// for each row i of C, c[i,:] = alpha*Σ_p op(A)[i,p]*B[p,:] (+ beta*c[i,:]),
// vectorised over columns. The last n%lanes columns use one masked vector
// (AVX-512) or a scalar loop (AVX2).
type smallSpec struct {
	name string
	elem int
	zmm  bool
}

var smallSpecs = []smallSpec{
	{name: "sgemmSmallAVX512", elem: 4, zmm: true},
	{name: "dgemmSmallAVX512", elem: 8, zmm: true},
	{name: "sgemmSmallAVX2", elem: 4, zmm: false},
	{name: "dgemmSmallAVX2", elem: 8, zmm: false},
}

func genSmall(ctx *build.Context, s smallSpec) {
	i := newISA(ctx, s.elem, s.zmm)
	typ, vecBytes := i.goType(), i.vecBytes()
	lanes := vecBytes / s.elem
	ctx.Function(s.name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(fmt.Sprintf("func(m, n, k int, a *%s, sai, sap int, b *%s, ldb int, c *%s, ldc int, alpha, beta %s, accum int)", typ, typ, typ, typ))
	ctx.Doc(
		fmt.Sprintf("%s computes C = alpha*op(A)*B + beta*C (C = alpha*op(A)*B if accum == 0) for", s.name),
		"an m×n C without packing. op(A)[i][p] is at a + i*sai + p*sap, B[p][j] at b + p*ldb + j,",
		"C[i][j] at c + i*ldc + j; the strides sai, sap, ldb, ldc are in BYTES. m, n, k >= 1.",
	)

	mRem := ctx.Load(ctx.Param("m"), ctx.GP64())
	aRow := ctx.Load(ctx.Param("a"), ctx.GP64())
	cRow := ctx.Load(ctx.Param("c"), ctx.GP64())
	alphaV, betaV := i.vec(), i.vec()
	i.bcast(paramAddr(ctx, "alpha"), alphaV)
	i.bcast(paramAddr(ctx, "beta"), betaV)
	acc := []reg.VecVirtual{i.vec(), i.vec(), i.vec(), i.vec()}
	t, t2 := i.vec(), i.vec()
	var kmask reg.Register
	if s.zmm {
		// kmask = (1 << (n % lanes)) - 1, built by a short loop (no CL shift).
		rem := ctx.Load(ctx.Param("n"), ctx.GP64())
		ctx.ANDQ(operand.U8(lanes-1), rem)
		mask := ctx.GP64()
		ctx.XORQ(mask, mask)
		ctx.TESTQ(rem, rem)
		ctx.JZ(operand.LabelRef(s.name + "_maskdone"))
		ctx.Label(s.name + "_mask")
		ctx.LEAQ(operand.Mem{Base: mask, Index: mask, Scale: 1, Disp: 1}, mask)
		ctx.DECQ(rem)
		ctx.JNZ(operand.LabelRef(s.name + "_mask"))
		ctx.Label(s.name + "_maskdone")
		kmask = ctx.K()
		ctx.KMOVW(mask.(reg.GPVirtual).As32(), kmask)
	}
	maskedLoad := func(m operand.Mem, r reg.VecVirtual) {
		if i.f32() {
			ctx.VMOVUPS_Z(m, kmask, r)
		} else {
			ctx.VMOVUPD_Z(m, kmask, r)
		}
	}
	maskedStore := func(r reg.VecVirtual, m operand.Mem) {
		if i.f32() {
			ctx.VMOVUPS(r, kmask, m)
		} else {
			ctx.VMOVUPD(r, kmask, m)
		}
	}
	accumAddr := paramAddr(ctx, "accum")
	lbl := func(x string) string { return s.name + "_" + x }

	ctx.Label(lbl("row"))
	jRem := ctx.Load(ctx.Param("n"), ctx.GP64())
	bCol := ctx.Load(ctx.Param("b"), ctx.GP64())
	cp := ctx.GP64()
	ctx.MOVQ(cRow, cp)

	// chunk emits the p loop and the store for nv vectors, one scalar when
	// nv == 0, or one masked vector when nv == -1.
	chunk := func(name string, nv int) {
		scalar := nv == 0
		masked := nv < 0
		nacc := max(nv, 1)
		for v := 0; v < nacc; v++ {
			i.zero(acc[v])
		}
		pRem := ctx.Load(ctx.Param("k"), ctx.GP64())
		ap, bp := ctx.GP64(), ctx.GP64()
		ctx.MOVQ(aRow, ap)
		ctx.MOVQ(bCol, bp)
		ctx.Label(lbl(name + "_p"))
		if scalar {
			i.loadScalar(operand.Mem{Base: ap}, t)
			i.fmaScalar(operand.Mem{Base: bp}, t, acc[0])
		} else if masked {
			i.bcast(operand.Mem{Base: ap}, t)
			maskedLoad(operand.Mem{Base: bp}, t2)
			i.fma(t2, t, acc[0])
		} else {
			i.bcast(operand.Mem{Base: ap}, t)
			for v := 0; v < nv; v++ {
				i.fma(operand.Mem{Base: bp, Disp: v * vecBytes}, t, acc[v])
			}
		}
		ctx.ADDQ(paramAddr(ctx, "sap"), ap)
		ctx.ADDQ(paramAddr(ctx, "ldb"), bp)
		ctx.DECQ(pRem)
		ctx.JNZ(operand.LabelRef(lbl(name + "_p")))

		ctx.CMPQ(accumAddr, operand.U8(0))
		ctx.JNE(operand.LabelRef(lbl(name + "_beta")))
		for v := 0; v < nacc; v++ {
			m := operand.Mem{Base: cp, Disp: v * vecBytes}
			if scalar {
				i.mulScalar(alphaV, acc[v], acc[v])
				i.storeScalar(acc[v], m)
			} else if masked {
				i.mul(alphaV, acc[v], acc[v])
				maskedStore(acc[v], m)
			} else {
				i.mul(alphaV, acc[v], acc[v])
				i.store(acc[v], m)
			}
		}
		ctx.JMP(operand.LabelRef(lbl(name + "_next")))
		ctx.Label(lbl(name + "_beta"))
		for v := 0; v < nacc; v++ {
			m := operand.Mem{Base: cp, Disp: v * vecBytes}
			if scalar {
				i.mulScalar(m, betaV, t)
				i.fmaScalar(alphaV, acc[v], t)
				i.storeScalar(t, m)
			} else if masked {
				maskedLoad(m, t2)
				i.mul(t2, betaV, t)
				i.fma(alphaV, acc[v], t)
				maskedStore(t, m)
			} else {
				i.mul(m, betaV, t)
				i.fma(alphaV, acc[v], t)
				i.store(t, m)
			}
		}
		ctx.Label(lbl(name + "_next"))
		if masked {
			return // last chunk of the row
		}
		w := nv * vecBytes
		if scalar {
			w = s.elem
		}
		ctx.ADDQ(operand.U32(w), bCol)
		ctx.ADDQ(operand.U32(w), cp)
		ctx.SUBQ(operand.U32(max(nv*lanes, 1)), jRem)
	}

	// 4 vectors at a time
	ctx.Label(lbl("c4"))
	ctx.CMPQ(jRem, operand.U32(4*lanes))
	ctx.JL(operand.LabelRef(lbl("c1")))
	chunk("v4", 4)
	ctx.JMP(operand.LabelRef(lbl("c4")))
	// 1 vector at a time
	ctx.Label(lbl("c1"))
	ctx.CMPQ(jRem, operand.U32(lanes))
	ctx.JL(operand.LabelRef(lbl("c0")))
	chunk("v1", 1)
	ctx.JMP(operand.LabelRef(lbl("c1")))
	// tail: one masked vector (AVX-512) or scalars (AVX2)
	ctx.Label(lbl("c0"))
	ctx.TESTQ(jRem, jRem)
	ctx.JZ(operand.LabelRef(lbl("rowdone")))
	if s.zmm {
		chunk("m", -1)
	} else {
		chunk("s", 0)
		ctx.JMP(operand.LabelRef(lbl("c0")))
	}

	ctx.Label(lbl("rowdone"))
	ctx.ADDQ(paramAddr(ctx, "sai"), aRow)
	ctx.ADDQ(paramAddr(ctx, "ldc"), cRow)
	ctx.DECQ(mRem)
	ctx.JNZ(operand.LabelRef(lbl("row")))
	ctx.VZEROUPPER()
	ctx.RET()
}
