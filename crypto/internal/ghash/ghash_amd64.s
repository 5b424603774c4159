//go:build amd64 && !purego

#include "textflag.h"

// PSHUFB mask reversing the 16 bytes of a register.
DATA bswapMask<>+0x00(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x08(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), (NOPTR+RODATA), $16

// MULACC adds the carry-less product A·K, unreduced, to the accumulators
// LO (X3), HI (X6) and MID (X4), with T as scratch.
#define MULACC(A, K, T) \
	MOVOU A, T; PCLMULQDQ $0x00, K, T; PXOR T, X3; \
	MOVOU A, T; PCLMULQDQ $0x11, K, T; PXOR T, X6; \
	MOVOU A, T; PCLMULQDQ $0x10, K, T; PXOR T, X4; \
	MOVOU A, T; PCLMULQDQ $0x01, K, T; PXOR T, X4

// REDUCE turns the 256-bit sum <HI:MID:LO> into X0: MID folded into LO
// and HI, the whole shifted left one bit (GCM's bits are reflected), then
// reduced modulo x¹²⁸ + x⁷ + x² + x + 1 in two phases (Gueron and
// Kounavis, Intel, 2014, figure 5). It uses X2, X5, X7, X8, X9.
#define REDUCE \
	MOVOU X4, X5; PSRLDQ $8, X4; PSLLDQ $8, X5; PXOR X5, X3; PXOR X4, X6; \
	MOVOU X3, X7; MOVOU X6, X8; PSLLL $1, X3; PSLLL $1, X6; PSRLL $31, X7; PSRLL $31, X8; \
	MOVOU X7, X9; PSLLDQ $4, X8; PSLLDQ $4, X7; PSRLDQ $12, X9; POR X7, X3; POR X8, X6; POR X9, X6; \
	MOVOU X3, X7; MOVOU X3, X8; MOVOU X3, X9; PSLLL $31, X7; PSLLL $30, X8; PSLLL $25, X9; \
	PXOR X8, X7; PXOR X9, X7; MOVOU X7, X8; PSLLDQ $12, X7; PSRLDQ $4, X8; PXOR X7, X3; \
	MOVOU X3, X2; MOVOU X3, X4; MOVOU X3, X5; PSRLL $1, X2; PSRLL $2, X4; PSRLL $7, X5; \
	PXOR X4, X2; PXOR X5, X2; PXOR X8, X2; PXOR X2, X3; PXOR X3, X6; MOVOU X6, X0

// func updateCLMUL(pow *[4][16]byte, y *[16]byte, blocks []byte)
//
// Y = (Y ⊕ B)·H for each block B, on byte-reversed operands. Four blocks
// at a time: Y' = (Y ⊕ B₁)·H⁴ ⊕ B₂·H³ ⊕ B₃·H² ⊕ B₄·H, the products summed
// unreduced and reduced once (the shift and the reduction are linear).
TEXT ·updateCLMUL(SB), NOSPLIT, $0-40
	MOVQ pow+0(FP), AX
	MOVQ y+8(FP), BX
	MOVQ blocks_base+16(FP), SI
	MOVQ blocks_len+24(FP), CX

	MOVOU bswapMask<>(SB), X10
	MOVOU 0(AX), X1
	MOVOU 16(AX), X11
	MOVOU 32(AX), X12
	MOVOU 48(AX), X13
	MOVOU (BX), X0
	PSHUFB X10, X0

	// A head of 1 to 3 blocks (the count modulo 4) with H^n … H, so that
	// the rest goes four at a time: one reduction per group.
	MOVQ CX, DX
	SHRQ $4, DX
	ANDQ $3, DX
	CMPQ DX, $3
	JEQ  head3
	CMPQ DX, $2
	JEQ  head2
	CMPQ DX, $1
	JEQ  head1
	JMP  loop4

head3:
	MOVOU 0(SI), X2
	PSHUFB X10, X2
	PXOR X2, X0
	PXOR X3, X3
	PXOR X4, X4
	PXOR X6, X6
	MULACC(X0, X12, X5)
	MOVOU 16(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X11, X5)
	MOVOU 32(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X1, X5)
	REDUCE
	ADDQ $48, SI
	SUBQ $48, CX
	JMP  loop4

head2:
	MOVOU 0(SI), X2
	PSHUFB X10, X2
	PXOR X2, X0
	PXOR X3, X3
	PXOR X4, X4
	PXOR X6, X6
	MULACC(X0, X11, X5)
	MOVOU 16(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X1, X5)
	REDUCE
	ADDQ $32, SI
	SUBQ $32, CX
	JMP  loop4

head1:
	MOVOU 0(SI), X2
	PSHUFB X10, X2
	PXOR X2, X0
	PXOR X3, X3
	PXOR X4, X4
	PXOR X6, X6
	MULACC(X0, X1, X5)
	REDUCE
	ADDQ $16, SI
	SUBQ $16, CX

loop4:
	CMPQ CX, $64
	JB   loop1
	MOVOU 0(SI), X2
	PSHUFB X10, X2
	PXOR X2, X0
	PXOR X3, X3
	PXOR X4, X4
	PXOR X6, X6
	MULACC(X0, X13, X5)
	MOVOU 16(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X12, X5)
	MOVOU 32(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X11, X5)
	MOVOU 48(SI), X2
	PSHUFB X10, X2
	MULACC(X2, X1, X5)
	REDUCE
	ADDQ $64, SI
	SUBQ $64, CX
	JMP  loop4

loop1:
done:
	PSHUFB X10, X0
	MOVOU X0, (BX)
	RET
