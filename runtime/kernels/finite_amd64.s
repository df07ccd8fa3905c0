//go:build amd64

#include "textflag.h"

// Written by hand (not by asmgen): the finiteness sweeps of finite.go.
// Each lane accumulates (bits & exponentMask) + exponentLSB with OR: the
// lane's top bit is set exactly when some element had an all-ones
// exponent (NaN or ±Inf); the add never carries out of a lane because the
// mask clears the top bit.

// func nonFinite32AVX2(x *float32, n int) bool
// n is a positive multiple of 32.
TEXT ·nonFinite32AVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7f800000, AX
	MOVQ AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x00800000, AX
	MOVQ AX, X9
	VPBROADCASTD X9, Y9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop32:
	VPAND  (SI), Y8, Y4
	VPAND  32(SI), Y8, Y5
	VPAND  64(SI), Y8, Y6
	VPAND  96(SI), Y8, Y7
	VPADDD Y9, Y4, Y4
	VPADDD Y9, Y5, Y5
	VPADDD Y9, Y6, Y6
	VPADDD Y9, Y7, Y7
	VPOR   Y4, Y0, Y0
	VPOR   Y5, Y1, Y1
	VPOR   Y6, Y2, Y2
	VPOR   Y7, Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JNZ    loop32

	VPOR      Y1, Y0, Y0
	VPOR      Y3, Y2, Y2
	VPOR      Y2, Y0, Y0
	VMOVMSKPS Y0, AX
	VZEROUPPER
	TESTL     AX, AX
	SETNE     ret+16(FP)
	RET

// func nonFinite64AVX2(x *float64, n int) bool
// n is a positive multiple of 16.
TEXT ·nonFinite64AVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ $0x7ff0000000000000, AX
	MOVQ AX, X8
	VPBROADCASTQ X8, Y8
	MOVQ $0x0010000000000000, AX
	MOVQ AX, X9
	VPBROADCASTQ X9, Y9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop64:
	VPAND  (SI), Y8, Y4
	VPAND  32(SI), Y8, Y5
	VPAND  64(SI), Y8, Y6
	VPAND  96(SI), Y8, Y7
	VPADDQ Y9, Y4, Y4
	VPADDQ Y9, Y5, Y5
	VPADDQ Y9, Y6, Y6
	VPADDQ Y9, Y7, Y7
	VPOR   Y4, Y0, Y0
	VPOR   Y5, Y1, Y1
	VPOR   Y6, Y2, Y2
	VPOR   Y7, Y3, Y3
	ADDQ   $128, SI
	SUBQ   $16, CX
	JNZ    loop64

	VPOR      Y1, Y0, Y0
	VPOR      Y3, Y2, Y2
	VPOR      Y2, Y0, Y0
	VMOVMSKPD Y0, AX
	VZEROUPPER
	TESTL     AX, AX
	SETNE     ret+16(FP)
	RET
