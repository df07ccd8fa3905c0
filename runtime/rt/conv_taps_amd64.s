//go:build amd64

#include "textflag.h"

// The tap kernels of the float32 convolutions with stride 1 along rows and
// few taps (conv_taps_amd64.go): for a block of 6 output channels and up to
// 32 output columns (two 16-lane vectors, lanes masked by K1 and K2), over
// rows output rows, with the taps' input at x + off[t] (bytes).
// Argument block (tapArgs): 0 x, 8 w, 16 acc, 24 off, 32..72 out[6],
// 80 nt8, 88 ntb, 96 rsx, 104 rso, 112 roEnd, 120 k1, 128 k2.

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
