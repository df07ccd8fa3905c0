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

// func nonFinite32AVX512(x *float32, n int) bool
// n is a positive multiple of 64.
TEXT ·nonFinite32AVX512(SB), NOSPLIT, $0-17
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0x7f800000, AX
	VPBROADCASTD AX, Z8
	MOVL         $0x00800000, AX
	VPBROADCASTD AX, Z9
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z10
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1
	VPXORD       Z2, Z2, Z2
	VPXORD       Z3, Z3, Z3

loop32z:
	VPANDD (SI), Z8, Z4
	VPANDD 64(SI), Z8, Z5
	VPANDD 128(SI), Z8, Z6
	VPANDD 192(SI), Z8, Z7
	VPADDD Z9, Z4, Z4
	VPADDD Z9, Z5, Z5
	VPADDD Z9, Z6, Z6
	VPADDD Z9, Z7, Z7
	VPORD  Z4, Z0, Z0
	VPORD  Z5, Z1, Z1
	VPORD  Z6, Z2, Z2
	VPORD  Z7, Z3, Z3
	ADDQ   $256, SI
	SUBQ   $64, CX
	JNZ    loop32z

	VPORD     Z1, Z0, Z0
	VPORD     Z3, Z2, Z2
	VPORD     Z2, Z0, Z0
	VPTESTMD  Z10, Z0, K1
	KORTESTW  K1, K1
	VZEROUPPER
	SETNE     ret+16(FP)
	RET

// func nonFinite64AVX512(x *float64, n int) bool
// n is a positive multiple of 32.
TEXT ·nonFinite64AVX512(SB), NOSPLIT, $0-17
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         $0x7ff0000000000000, AX
	VPBROADCASTQ AX, Z8
	MOVQ         $0x0010000000000000, AX
	VPBROADCASTQ AX, Z9
	MOVQ         $0x8000000000000000, AX
	VPBROADCASTQ AX, Z10
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3

loop64z:
	VPANDQ (SI), Z8, Z4
	VPANDQ 64(SI), Z8, Z5
	VPANDQ 128(SI), Z8, Z6
	VPANDQ 192(SI), Z8, Z7
	VPADDQ Z9, Z4, Z4
	VPADDQ Z9, Z5, Z5
	VPADDQ Z9, Z6, Z6
	VPADDQ Z9, Z7, Z7
	VPORQ  Z4, Z0, Z0
	VPORQ  Z5, Z1, Z1
	VPORQ  Z6, Z2, Z2
	VPORQ  Z7, Z3, Z3
	ADDQ   $256, SI
	SUBQ   $32, CX
	JNZ    loop64z

	VPORQ     Z1, Z0, Z0
	VPORQ     Z3, Z2, Z2
	VPORQ     Z2, Z0, Z0
	VPTESTMQ  Z10, Z0, K1
	KORTESTW  K1, K1
	VZEROUPPER
	SETNE     ret+16(FP)
	RET
