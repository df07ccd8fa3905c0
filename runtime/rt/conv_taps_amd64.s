//go:build amd64

#include "textflag.h"

// The tap kernels of the float32 convolutions with stride 1 along rows and
// few taps (conv_taps_amd64.go): for a block of 6 output channels and up to
// 32 output columns (two 16-lane vectors, lanes masked by K1 and K2), over
// rows output rows, with the taps' input at x + off[t] (bytes).
// Argument block (tapArgs): 0 x, 8 w, 16 acc, 24 off, 32..72 out[6],
// 80 nt8, 88 ntb, 96 rsx, 104 rso, 112 roEnd, 120 k1, 128 k2, 136 mask.

// func tapConvF32(a *tapArgs)
//
// out[o] row r = Σ_t w[o·nt + t] · (x + r·rsx + off[t]) for o < 6, each
// output row computed in 12 accumulators (6 channels × 2 vectors), the
// taps in order.
TEXT ·tapConvF32(SB), NOSPLIT, $0-8
	MOVQ  a+0(FP), DI
	KMOVW 120(DI), K1
	KMOVW 128(DI), K2
	MOVQ  0(DI), SI
	MOVQ  88(DI), R12
	XORQ  R13, R13

fwdrow:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	MOVQ   24(DI), R8
	XORQ   CX, CX
	MOVQ   8(DI), R10
	LEAQ   (R10)(R12*2), R11
	ADDQ   R12, R11

fwdtap:
	MOVQ                (R8)(CX*1), R9
	VMOVUPS.Z           (SI)(R9*1), K1, Z12
	VMOVUPS.Z           64(SI)(R9*1), K2, Z13
	VBROADCASTSS        (R10), Z14
	VFMADD231PS         Z12, Z14, Z0
	VFMADD231PS         Z13, Z14, Z1
	VBROADCASTSS        (R10)(R12*1), Z15
	VFMADD231PS         Z12, Z15, Z2
	VFMADD231PS         Z13, Z15, Z3
	VBROADCASTSS        (R10)(R12*2), Z14
	VFMADD231PS         Z12, Z14, Z4
	VFMADD231PS         Z13, Z14, Z5
	VBROADCASTSS        (R11), Z15
	VFMADD231PS         Z12, Z15, Z6
	VFMADD231PS         Z13, Z15, Z7
	VBROADCASTSS        (R11)(R12*1), Z14
	VFMADD231PS         Z12, Z14, Z8
	VFMADD231PS         Z13, Z14, Z9
	VBROADCASTSS        (R11)(R12*2), Z15
	VFMADD231PS         Z12, Z15, Z10
	VFMADD231PS         Z13, Z15, Z11
	ADDQ                $4, R10
	ADDQ                $4, R11
	ADDQ                $8, CX
	CMPQ                CX, 80(DI)
	JLT                 fwdtap

	MOVQ    32(DI), AX
	VMOVUPS Z0, K1, (AX)(R13*1)
	VMOVUPS Z1, K2, 64(AX)(R13*1)
	MOVQ    40(DI), AX
	VMOVUPS Z2, K1, (AX)(R13*1)
	VMOVUPS Z3, K2, 64(AX)(R13*1)
	MOVQ    48(DI), AX
	VMOVUPS Z4, K1, (AX)(R13*1)
	VMOVUPS Z5, K2, 64(AX)(R13*1)
	MOVQ    56(DI), AX
	VMOVUPS Z6, K1, (AX)(R13*1)
	VMOVUPS Z7, K2, 64(AX)(R13*1)
	MOVQ    64(DI), AX
	VMOVUPS Z8, K1, (AX)(R13*1)
	VMOVUPS Z9, K2, 64(AX)(R13*1)
	MOVQ    72(DI), AX
	VMOVUPS Z10, K1, (AX)(R13*1)
	VMOVUPS Z11, K2, 64(AX)(R13*1)
	ADDQ    96(DI), SI
	ADDQ    104(DI), R13
	CMPQ    R13, 112(DI)
	JLT     fwdrow
	VZEROUPPER
	RET

// func tapWGradF32(a *tapArgs)
//
// acc[t][o][v] (16 lanes) += Σ_r (g[o] row r, vector v) · (x + r·rsx +
// off[t], vector v), with g[o] = out[o]: the lanes' partial sums of the
// weight gradient, the rows in order.
TEXT ·tapWGradF32(SB), NOSPLIT, $0-8
	MOVQ  a+0(FP), DI
	KMOVW 120(DI), K1
	KMOVW 128(DI), K2
	MOVQ  32(DI), R8
	MOVQ  40(DI), R9
	MOVQ  48(DI), R10
	MOVQ  56(DI), R11
	MOVQ  64(DI), R12
	MOVQ  72(DI), R13
	MOVQ  16(DI), DX
	XORQ  AX, AX

wgtap:
	VMOVUPS 0(DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS 128(DX), Z2
	VMOVUPS 192(DX), Z3
	VMOVUPS 256(DX), Z4
	VMOVUPS 320(DX), Z5
	VMOVUPS 384(DX), Z6
	VMOVUPS 448(DX), Z7
	VMOVUPS 512(DX), Z8
	VMOVUPS 576(DX), Z9
	VMOVUPS 640(DX), Z10
	VMOVUPS 704(DX), Z11
	MOVQ    24(DI), BX
	MOVQ    (BX)(AX*1), BX
	ADDQ    0(DI), BX
	XORQ    CX, CX

wgrow:
	VMOVUPS.Z   (BX), K1, Z12
	VMOVUPS.Z   64(BX), K2, Z13
	VFMADD231PS (R8)(CX*1), Z12, K1, Z0
	VFMADD231PS 64(R8)(CX*1), Z13, K2, Z1
	VFMADD231PS (R9)(CX*1), Z12, K1, Z2
	VFMADD231PS 64(R9)(CX*1), Z13, K2, Z3
	VFMADD231PS (R10)(CX*1), Z12, K1, Z4
	VFMADD231PS 64(R10)(CX*1), Z13, K2, Z5
	VFMADD231PS (R11)(CX*1), Z12, K1, Z6
	VFMADD231PS 64(R11)(CX*1), Z13, K2, Z7
	VFMADD231PS (R12)(CX*1), Z12, K1, Z8
	VFMADD231PS 64(R12)(CX*1), Z13, K2, Z9
	VFMADD231PS (R13)(CX*1), Z12, K1, Z10
	VFMADD231PS 64(R13)(CX*1), Z13, K2, Z11
	ADDQ        96(DI), BX
	ADDQ        104(DI), CX
	CMPQ        CX, 112(DI)
	JLT         wgrow

	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VMOVUPS Z8, 512(DX)
	VMOVUPS Z9, 576(DX)
	VMOVUPS Z10, 640(DX)
	VMOVUPS Z11, 704(DX)
	ADDQ    $768, DX
	ADDQ    $8, AX
	CMPQ    AX, 80(DI)
	JLT     wgtap
	VZEROUPPER
	RET

// The AVX2 forms: a block of 6 output channels × 16 output columns (two
// 8-lane vectors) over rows output rows. Neither reads or writes past the
// block's 16 columns, so the caller places the last block of a row at
// WO − 16, overlapping the one before it: the forward recomputes the
// overlapped columns alike, and the weight gradient masks them out of its
// sums (mask: 16 lanes of all ones or zeros, at 136(DI)).

// func tapConvF32AVX2(a *tapArgs)
//
// As tapConvF32, on 16 columns.
TEXT ·tapConvF32AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ 0(DI), SI
	MOVQ 88(DI), R12
	XORQ R13, R13

fwdrow2:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   24(DI), R8
	XORQ   CX, CX
	MOVQ   8(DI), R10
	LEAQ   (R10)(R12*2), R11
	ADDQ   R12, R11

fwdtap2:
	MOVQ         (R8)(CX*1), R9
	VMOVUPS      (SI)(R9*1), Y12
	VMOVUPS      32(SI)(R9*1), Y13
	VBROADCASTSS (R10), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (R10)(R12*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R10)(R12*2), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (R11), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R11)(R12*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (R11)(R12*2), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $4, R10
	ADDQ         $4, R11
	ADDQ         $8, CX
	CMPQ         CX, 80(DI)
	JLT          fwdtap2

	MOVQ    32(DI), AX
	VMOVUPS Y0, (AX)(R13*1)
	VMOVUPS Y1, 32(AX)(R13*1)
	MOVQ    40(DI), AX
	VMOVUPS Y2, (AX)(R13*1)
	VMOVUPS Y3, 32(AX)(R13*1)
	MOVQ    48(DI), AX
	VMOVUPS Y4, (AX)(R13*1)
	VMOVUPS Y5, 32(AX)(R13*1)
	MOVQ    56(DI), AX
	VMOVUPS Y6, (AX)(R13*1)
	VMOVUPS Y7, 32(AX)(R13*1)
	MOVQ    64(DI), AX
	VMOVUPS Y8, (AX)(R13*1)
	VMOVUPS Y9, 32(AX)(R13*1)
	MOVQ    72(DI), AX
	VMOVUPS Y10, (AX)(R13*1)
	VMOVUPS Y11, 32(AX)(R13*1)
	ADDQ    96(DI), SI
	ADDQ    104(DI), R13
	CMPQ    R13, 112(DI)
	JLT     fwdrow2
	VZEROUPPER
	RET

// func tapWGradF32AVX2(a *tapArgs)
//
// As tapWGradF32, on 16 columns, with acc[t][o] 32 lanes apart (the first
// 16 used) and every x and g vector ANDed with the mask first, so a masked
// lane adds +0·+0 whatever the values there.
TEXT ·tapWGradF32AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ 32(DI), R8
	MOVQ 40(DI), R9
	MOVQ 48(DI), R10
	MOVQ 56(DI), R11
	MOVQ 64(DI), R12
	MOVQ 72(DI), R13
	MOVQ 16(DI), DX
	MOVQ 136(DI), SI
	XORQ AX, AX

wgtap2:
	VMOVUPS 0(DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 128(DX), Y2
	VMOVUPS 160(DX), Y3
	VMOVUPS 256(DX), Y4
	VMOVUPS 288(DX), Y5
	VMOVUPS 384(DX), Y6
	VMOVUPS 416(DX), Y7
	VMOVUPS 512(DX), Y8
	VMOVUPS 544(DX), Y9
	VMOVUPS 640(DX), Y10
	VMOVUPS 672(DX), Y11
	MOVQ    24(DI), BX
	MOVQ    (BX)(AX*1), BX
	ADDQ    0(DI), BX
	XORQ    CX, CX

wgrow2:
	VMOVUPS     (BX), Y12
	VANDPS      (SI), Y12, Y12
	VMOVUPS     32(BX), Y13
	VANDPS      32(SI), Y13, Y13
	VMOVUPS     (SI), Y15
	VANDPS      (R8)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y0
	VANDPS      (R9)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y2
	VANDPS      (R10)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y4
	VANDPS      (R11)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y6
	VANDPS      (R12)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y8
	VANDPS      (R13)(CX*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y10
	VMOVUPS     32(SI), Y15
	VANDPS      32(R8)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y1
	VANDPS      32(R9)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y3
	VANDPS      32(R10)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y5
	VANDPS      32(R11)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y7
	VANDPS      32(R12)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y9
	VANDPS      32(R13)(CX*1), Y15, Y14
	VFMADD231PS Y13, Y14, Y11
	ADDQ        96(DI), BX
	ADDQ        104(DI), CX
	CMPQ        CX, 112(DI)
	JLT         wgrow2

	VMOVUPS Y0, 0(DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 128(DX)
	VMOVUPS Y3, 160(DX)
	VMOVUPS Y4, 256(DX)
	VMOVUPS Y5, 288(DX)
	VMOVUPS Y6, 384(DX)
	VMOVUPS Y7, 416(DX)
	VMOVUPS Y8, 512(DX)
	VMOVUPS Y9, 544(DX)
	VMOVUPS Y10, 640(DX)
	VMOVUPS Y11, 672(DX)
	ADDQ    $768, DX
	ADDQ    $8, AX
	CMPQ    AX, 80(DI)
	JLT     wgtap2
	VZEROUPPER
	RET
