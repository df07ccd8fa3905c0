//go:build amd64

#include "textflag.h"

// The row kernels of the column-matrix path (rows_amd64.go): rows runs of
// n float32s, dst[0:n] = src[0:n] (copyRowsF32) or dst[0:n] += src[0:n]
// (addRowsF32), then dst += dstride and src += sstride (bytes). A row goes
// 8 elements at a time, then 4, 2 and 1, so no element is touched twice
// (the adds must not be) and nothing past the row is read or written.

// func copyRowsF32(dst, src *float32, n, rows, dstride, sstride int)
TEXT ·copyRowsF32(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ dstride+32(FP), R9
	MOVQ sstride+40(FP), R10

crow:
	XORQ AX, AX
	MOVQ DX, CX

c8:
	CMPQ    CX, $8
	JLT     c4
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	SUBQ    $8, CX
	JMP     c8

c4:
	CMPQ    CX, $4
	JLT     c2
	VMOVUPS (SI)(AX*4), X0
	VMOVUPS X0, (DI)(AX*4)
	ADDQ    $4, AX
	SUBQ    $4, CX

c2:
	CMPQ  CX, $2
	JLT   c1
	MOVQ  (SI)(AX*4), BX
	MOVQ  BX, (DI)(AX*4)
	ADDQ  $2, AX
	SUBQ  $2, CX

c1:
	CMPQ CX, $1
	JLT  cnext
	MOVL (SI)(AX*4), BX
	MOVL BX, (DI)(AX*4)

cnext:
	ADDQ R9, DI
	ADDQ R10, SI
	DECQ R8
	JNZ  crow
	VZEROUPPER
	RET

// func addRowsF32(dst, src *float32, n, rows, dstride, sstride int)
TEXT ·addRowsF32(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ dstride+32(FP), R9
	MOVQ sstride+40(FP), R10

arow:
	XORQ AX, AX
	MOVQ DX, CX

a8:
	CMPQ    CX, $8
	JLT     a4
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	SUBQ    $8, CX
	JMP     a8

a4:
	CMPQ    CX, $4
	JLT     a2
	VMOVUPS (DI)(AX*4), X0
	VADDPS  (SI)(AX*4), X0, X0
	VMOVUPS X0, (DI)(AX*4)
	ADDQ    $4, AX
	SUBQ    $4, CX

a2:
	CMPQ   CX, $2
	JLT    a1
	VMOVSD (DI)(AX*4), X0
	VMOVSD (SI)(AX*4), X1
	VADDPS X1, X0, X0
	VMOVSD X0, (DI)(AX*4)
	ADDQ   $2, AX
	SUBQ   $2, CX

a1:
	CMPQ   CX, $1
	JLT    anext
	VMOVSS (DI)(AX*4), X0
	VADDSS (SI)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)

anext:
	ADDQ R9, DI
	ADDQ R10, SI
	DECQ R8
	JNZ  arow
	VZEROUPPER
	RET
