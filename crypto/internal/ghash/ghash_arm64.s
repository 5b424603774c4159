//go:build arm64 && !purego

#include "textflag.h"

// Operands are in the layout VREV64 gives a loaded block: lane 0 (D[0])
// is the high half of the block's 128-bit big-endian integer, lane 1 the
// low half. GCM's bits are reflected in that integer (its top bit is the
// coefficient of x⁰); the table's powers of H are shifted left one bit
// modulo the reflected polynomial (see archKey), so that the carry-less
// product of a block and a power, times 2⁻¹²⁸ modulo that polynomial, is
// the reflected GCM product.

#define Y V0

// Blocks.
#define B1 V1
#define B2 V2
#define B3 V3
#define B4 V4

// Accumulators of the unreduced products: LO and HI the products of the
// low and of the high halves, MID the Karatsuba middle product.
#define LO V5
#define HI V6
#define MID V7

// Scratch.
#define T0 V8
#define T1 V9

// H^n, and the XOR of its halves in both lanes (Karatsuba).
#define H1 V16
#define K1 V17
#define H2 V18
#define K2 V19
#define H3 V20
#define K3 V21
#define H4 V22
#define K4 V23

// POLY holds c = 0xc200000000000000 in lane 0 (2¹²⁸ modulo the reflected
// polynomial is c·2⁶⁴ ⊕ 1; see REDUCE); ZERO is zero.
#define POLY V24
#define ZERO V25

// MUL sets <HI:MID:LO> to the unreduced Karatsuba product of A by the
// power H (with K its halves' XOR).
#define MUL(A, H, K) \
	VEXT	$8, A.B16, A.B16, T0.B16 \
	VEOR	A.B16, T0.B16, T0.B16    \
	VPMULL	A.D1, H.D1, HI.Q1        \
	VPMULL2	A.D2, H.D2, LO.Q1        \
	VPMULL	T0.D1, K.D1, MID.Q1

// MULACC adds the unreduced Karatsuba product of A by H to <HI:MID:LO>.
#define MULACC(A, H, K) \
	VEXT	$8, A.B16, A.B16, T0.B16 \
	VEOR	A.B16, T0.B16, T0.B16    \
	VPMULL	A.D1, H.D1, T1.Q1        \
	VEOR	T1.B16, HI.B16, HI.B16   \
	VPMULL2	A.D2, H.D2, T1.Q1        \
	VEOR	T1.B16, LO.B16, LO.B16   \
	VPMULL	T0.D1, K.D1, T1.Q1       \
	VEOR	T1.B16, MID.B16, MID.B16

// REDUCE sets Y to <HI:MID:LO> times 2⁻¹²⁸ modulo the reflected
// polynomial P = 2¹²⁸ ⊕ c·2⁶⁴ ⊕ 1, c = 0xc200000000000000 (integers read
// as polynomials over GF(2)). First the Karatsuba middle term, MID ⊕ LO ⊕
// HI, goes in at 2⁶⁴, leaving the 256-bit product as <w3:w2> in HI and
// <w1:w0> in LO. Adding w0·P clears w0, so (product ⊕ w0·P) / 2⁶⁴, that is
// the product shifted right 64 bits ⊕ w0·c ⊕ w0·2⁶⁴, is the product times
// 2⁻⁶⁴; a second such fold leaves 128 bits. The half swaps (VEXT $8) put
// the result in the operands' layout, its high half in lane 0.
#define REDUCE \
	VEOR	LO.B16, MID.B16, MID.B16       \
	VEOR	HI.B16, MID.B16, MID.B16       \
	VEXT	$8, ZERO.B16, MID.B16, T0.B16  \
	VEXT	$8, MID.B16, ZERO.B16, MID.B16 \
	VEOR	MID.B16, LO.B16, LO.B16        \
	VEOR	T0.B16, HI.B16, HI.B16         \
	VPMULL	POLY.D1, LO.D1, T0.Q1          \
	VEXT	$8, LO.B16, LO.B16, LO.B16     \
	VEOR	T0.B16, LO.B16, LO.B16         \
	VPMULL	POLY.D1, LO.D1, T0.Q1          \
	VEOR	T0.B16, HI.B16, HI.B16         \
	VEXT	$8, HI.B16, HI.B16, HI.B16     \
	VEOR	HI.B16, LO.B16, Y.B16

// func updatePMULL(tbl *[4][4]uint64, y *[16]byte, blocks []byte)
//
// Y = (Y ⊕ B)·H for each block B. Four blocks at a time:
// Y' = (Y ⊕ B₁)·H⁴ ⊕ B₂·H³ ⊕ B₃·H² ⊕ B₄·H, the products summed unreduced
// and reduced once (the reduction is linear). Branches depend on the
// length only.
TEXT ·updatePMULL(SB), NOSPLIT, $0-40
	MOVD	tbl+0(FP), R0
	MOVD	y+8(FP), R1
	MOVD	blocks_base+16(FP), R2
	MOVD	blocks_len+24(FP), R3

	VLD1.P	64(R0), [H1.B16, K1.B16, H2.B16, K2.B16]
	VLD1	(R0), [H3.B16, K3.B16, H4.B16, K4.B16]
	MOVD	$0xc200000000000000, R4
	VMOV	R4, POLY.D[0]
	VEOR	ZERO.B16, ZERO.B16, ZERO.B16
	VLD1	(R1), [Y.B16]
	VREV64	Y.B16, Y.B16

	// A head of 1 to 3 blocks (the count modulo 4) with H^n … H, so that
	// the rest goes four at a time: one reduction per group.
	LSR	$4, R3, R4
	AND	$3, R4
	CBZ	R4, loop4
	CMP	$2, R4
	BEQ	head2
	BHI	head3

head1:
	VLD1.P	16(R2), [B1.B16]
	VREV64	B1.B16, B1.B16
	VEOR	B1.B16, Y.B16, B1.B16
	MUL(B1, H1, K1)
	REDUCE
	SUB	$16, R3
	B	loop4

head2:
	VLD1.P	32(R2), [B1.B16, B2.B16]
	VREV64	B1.B16, B1.B16
	VREV64	B2.B16, B2.B16
	VEOR	B1.B16, Y.B16, B1.B16
	MUL(B1, H2, K2)
	MULACC(B2, H1, K1)
	REDUCE
	SUB	$32, R3
	B	loop4

head3:
	VLD1.P	48(R2), [B1.B16, B2.B16, B3.B16]
	VREV64	B1.B16, B1.B16
	VREV64	B2.B16, B2.B16
	VREV64	B3.B16, B3.B16
	VEOR	B1.B16, Y.B16, B1.B16
	MUL(B1, H3, K3)
	MULACC(B2, H2, K2)
	MULACC(B3, H1, K1)
	REDUCE
	SUB	$48, R3

loop4:
	CMP	$64, R3
	BLO	done
	VLD1.P	64(R2), [B1.B16, B2.B16, B3.B16, B4.B16]
	VREV64	B1.B16, B1.B16
	VREV64	B2.B16, B2.B16
	VREV64	B3.B16, B3.B16
	VREV64	B4.B16, B4.B16
	VEOR	B1.B16, Y.B16, B1.B16
	MUL(B1, H4, K4)
	MULACC(B2, H3, K3)
	MULACC(B3, H2, K2)
	MULACC(B4, H1, K1)
	REDUCE
	SUB	$64, R3
	B	loop4

done:
	VREV64	Y.B16, Y.B16
	VST1	[Y.B16], (R1)
	RET
