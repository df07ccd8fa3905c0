//go:build amd64

#include "textflag.h"

// The 2×2, stride-2 max-pooling kernels of float32 planes (pool_amd64.go),
// in 128-bit AVX: four windows at a time, the even and odd columns of the
// two rows of each window split by VSHUFPS. A row of ow ≥ 4 windows goes in
// blocks of four, the last block at ow − 4 (overlapping the one before;
// its windows are written again with the same values), over oh pairs of
// rows rowBytes apart; outputs and output gradients are ow·4 bytes apart.

// WINDOWS loads the block of four windows at CX (clamped to R11, the
// last block's start; AX = its byte offset in a row) from the rows at SI
// and BX and splits them: X4 = a (row 0, even columns), X5 = b (row 0,
// odd), X6 = c (row 1, even), X7 = d (row 1, odd).
#define WINDOWS \
	CMPQ    CX, R11; \
	CMOVQGT R11, CX; \
	MOVQ    CX, AX; \
	SHLQ    $3, AX; \
	VMOVUPS (SI)(AX*1), X0; \
	VMOVUPS 16(SI)(AX*1), X1; \
	VMOVUPS (BX)(AX*1), X2; \
	VMOVUPS 16(BX)(AX*1), X3; \
	VSHUFPS $0x88, X1, X0, X4; \
	VSHUFPS $0xDD, X1, X0, X5; \
	VSHUFPS $0x88, X3, X2, X6; \
	VSHUFPS $0xDD, X3, X2, X7

// func maxPool2x2F32(x, out *float32, rowBytes, ow, oh int)
//
// out[j] = the maximum of the window's four values, NaN if any is NaN
// (all ones), +0 over −0: each pair's maximum is the AND of VMAXPS both
// ways round (which differ only for ±0 ties and NaNs), and the NaN lanes
// are ORed with all ones at the end.
TEXT ·maxPool2x2F32(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ rowBytes+16(FP), R8
	MOVQ ow+24(FP), R9
	MOVQ oh+32(FP), R10
	LEAQ -4(R9), R11

fwdrow:
	LEAQ (SI)(R8*1), BX
	XORQ CX, CX

fwdcol:
	WINDOWS
	VCMPPS  $3, X5, X4, X8    // unordered(a, b)
	VCMPPS  $3, X7, X6, X9    // unordered(c, d)
	VORPS   X9, X8, X8
	VMAXPS  X5, X4, X10
	VMAXPS  X4, X5, X11
	VANDPS  X11, X10, X10     // max(a, b)
	VMAXPS  X7, X6, X12
	VMAXPS  X6, X7, X13
	VANDPS  X13, X12, X12     // max(c, d)
	VMAXPS  X12, X10, X0
	VMAXPS  X10, X12, X1
	VANDPS  X1, X0, X0
	VORPS   X8, X0, X0
	VMOVUPS X0, (DI)(CX*4)
	ADDQ    $4, CX
	CMPQ    CX, R9
	JLT     fwdcol

	LEAQ (SI)(R8*2), SI
	LEAQ (DI)(R9*4), DI
	DECQ R10
	JNZ  fwdrow
	RET

// func maxPool2x2GradF32(dst, x, gr *float32, rowBytes, ow, oh int)
//
// The window's two rows of dst = zeros with g[j] + 0 at its first maximum
// in x (a, b, c, d: row 0 then row 1), a later value replacing the
// maximum so far when greater or NaN, as in maxPool2DGrad: sel masks pick
// the position, and g is ANDed into its lane (the others +0).
TEXT ·maxPool2x2GradF32(SB), NOSPLIT, $0-48
	MOVQ   dst+0(FP), DI
	MOVQ   x+8(FP), SI
	MOVQ   gr+16(FP), DX
	MOVQ   rowBytes+24(FP), R8
	MOVQ   ow+32(FP), R9
	MOVQ   oh+40(FP), R10
	LEAQ   -4(R9), R11
	VXORPS X14, X14, X14

gradrow:
	LEAQ (SI)(R8*1), BX
	LEAQ (DI)(R8*1), R12
	XORQ CX, CX

gradcol:
	WINDOWS

	// selB = b > a or b NaN; m = selB ? b : a.
	VCMPPS  $0x1E, X4, X5, X8
	VCMPPS  $3, X5, X5, X9
	VORPS   X9, X8, X8
	VANDPS  X8, X5, X10
	VANDNPS X4, X8, X11
	VORPS   X11, X10, X10

	// selC = c > m or c NaN; m = selC ? c : m.
	VCMPPS  $0x1E, X10, X6, X9
	VCMPPS  $3, X6, X6, X11
	VORPS   X11, X9, X9
	VANDPS  X9, X6, X11
	VANDNPS X10, X9, X10
	VORPS   X11, X10, X10

	// selD = d > m or d NaN.
	VCMPPS $0x1E, X10, X7, X11
	VCMPPS $3, X7, X7, X12
	VORPS  X12, X11, X11

	VMOVUPS (DX)(CX*4), X0
	VADDPS  X14, X0, X0    // g + 0: −0 becomes +0
	VANDPS  X11, X0, X7    // gd = selD & g
	VANDNPS X0, X11, X0    // g with selD's lanes cleared
	VANDPS  X9, X0, X6     // gc = selC & that
	VANDNPS X0, X9, X0     // g with selC's and selD's lanes cleared
	VANDPS  X8, X0, X5     // gb
	VANDNPS X0, X8, X4     // ga

	VUNPCKLPS X5, X4, X0
	VUNPCKHPS X5, X4, X1
	VUNPCKLPS X7, X6, X2
	VUNPCKHPS X7, X6, X3
	VMOVUPS   X0, (DI)(AX*1)
	VMOVUPS   X1, 16(DI)(AX*1)
	VMOVUPS   X2, (R12)(AX*1)
	VMOVUPS   X3, 16(R12)(AX*1)
	ADDQ      $4, CX
	CMPQ      CX, R9
	JLT       gradcol

	LEAQ (SI)(R8*2), SI
	LEAQ (DI)(R8*2), DI
	LEAQ (DX)(R9*4), DX
	DECQ R10
	JNZ  gradrow
	RET
