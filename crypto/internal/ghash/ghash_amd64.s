//go:build amd64 && !purego

#include "textflag.h"

// PSHUFB mask reversing the 16 bytes of a register.
DATA bswapMask<>+0x00(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x08(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), (NOPTR+RODATA), $16

// func updateCLMUL(hrev *[16]byte, y *[16]byte, blocks []byte)
//
// Y = (Y ⊕ B)·H for each block B, on byte-reversed operands: four
// carry-less products, the 256-bit result shifted left one bit (GCM's
// bits are reflected), then reduced modulo x¹²⁸ + x⁷ + x² + x + 1 in two
// phases (Gueron and Kounavis, Intel, 2014, figure 5).
TEXT ·updateCLMUL(SB), NOSPLIT, $0-40
	MOVQ hrev+0(FP), AX
	MOVQ y+8(FP), BX
	MOVQ blocks_base+16(FP), SI
	MOVQ blocks_len+24(FP), CX

	MOVOU bswapMask<>(SB), X10
	MOVOU (AX), X1
	MOVOU (BX), X0
	PSHUFB X10, X0

loop:
	CMPQ CX, $16
	JB   done
	MOVOU (SI), X2
	PSHUFB X10, X2
	PXOR X2, X0

	// <X6:X3> = X0 · X1, carry-less.
	MOVOU X0, X3
	PCLMULQDQ $0x00, X1, X3
	MOVOU X0, X4
	PCLMULQDQ $0x10, X1, X4
	MOVOU X0, X5
	PCLMULQDQ $0x01, X1, X5
	MOVOU X0, X6
	PCLMULQDQ $0x11, X1, X6
	PXOR X5, X4
	MOVOU X4, X5
	PSRLDQ $8, X4
	PSLLDQ $8, X5
	PXOR X5, X3
	PXOR X4, X6

	// <X6:X3> <<= 1.
	MOVOU X3, X7
	MOVOU X6, X8
	PSLLL $1, X3
	PSLLL $1, X6
	PSRLL $31, X7
	PSRLL $31, X8
	MOVOU X7, X9
	PSLLDQ $4, X8
	PSLLDQ $4, X7
	PSRLDQ $12, X9
	POR X7, X3
	POR X8, X6
	POR X9, X6

	// Reduction, first phase.
	MOVOU X3, X7
	MOVOU X3, X8
	MOVOU X3, X9
	PSLLL $31, X7
	PSLLL $30, X8
	PSLLL $25, X9
	PXOR X8, X7
	PXOR X9, X7
	MOVOU X7, X8
	PSLLDQ $12, X7
	PSRLDQ $4, X8
	PXOR X7, X3

	// Second phase.
	MOVOU X3, X2
	MOVOU X3, X4
	MOVOU X3, X5
	PSRLL $1, X2
	PSRLL $2, X4
	PSRLL $7, X5
	PXOR X4, X2
	PXOR X5, X2
	PXOR X8, X2
	PXOR X2, X3
	PXOR X3, X6
	MOVOU X6, X0

	ADDQ $16, SI
	SUBQ $16, CX
	JMP  loop

done:
	PSHUFB X10, X0
	MOVOU X0, (BX)
	RET
