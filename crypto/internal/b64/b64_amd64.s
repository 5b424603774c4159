//go:build amd64 && !purego

#include "textflag.h"

// The lookup tables of Muła and Lemire for the standard alphabet, each
// 16 bytes repeated in both 128-bit lanes (VPSHUFB looks up per lane).
// lo and hi flag, by the low and the high nibble of a character, the
// classes it is not in: a character is valid when lo & hi is zero.
DATA lutLo<>+0x00(SB)/8, $0x1111111111111115
DATA lutLo<>+0x08(SB)/8, $0x1a1b1b1b1a131111
DATA lutLo<>+0x10(SB)/8, $0x1111111111111115
DATA lutLo<>+0x18(SB)/8, $0x1a1b1b1b1a131111
GLOBL lutLo<>(SB), (NOPTR+RODATA), $32

DATA lutHi<>+0x00(SB)/8, $0x0804080402011010
DATA lutHi<>+0x08(SB)/8, $0x1010101010101010
DATA lutHi<>+0x10(SB)/8, $0x0804080402011010
DATA lutHi<>+0x18(SB)/8, $0x1010101010101010
GLOBL lutHi<>(SB), (NOPTR+RODATA), $32

// roll: what to add to a character, by its high nibble (and '/' apart),
// to get its 6-bit value: 0, 16, 19, 4, -65, -65, -71, -71, 0….
DATA lutRoll<>+0x00(SB)/8, $0xb9b9bfbf04131000
DATA lutRoll<>+0x08(SB)/8, $0x0000000000000000
DATA lutRoll<>+0x10(SB)/8, $0xb9b9bfbf04131000
DATA lutRoll<>+0x18(SB)/8, $0x0000000000000000
GLOBL lutRoll<>(SB), (NOPTR+RODATA), $32

DATA nibble<>+0x00(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x08(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x10(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x18(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibble<>(SB), (NOPTR+RODATA), $32

DATA slash<>+0x00(SB)/8, $0x2f2f2f2f2f2f2f2f
DATA slash<>+0x08(SB)/8, $0x2f2f2f2f2f2f2f2f
DATA slash<>+0x10(SB)/8, $0x2f2f2f2f2f2f2f2f
DATA slash<>+0x18(SB)/8, $0x2f2f2f2f2f2f2f2f
GLOBL slash<>(SB), (NOPTR+RODATA), $32

// merge1: a·64 + b for each pair of 6-bit values; merge2: ab·4096 + cd.
DATA merge1<>+0x00(SB)/8, $0x0140014001400140
DATA merge1<>+0x08(SB)/8, $0x0140014001400140
DATA merge1<>+0x10(SB)/8, $0x0140014001400140
DATA merge1<>+0x18(SB)/8, $0x0140014001400140
GLOBL merge1<>(SB), (NOPTR+RODATA), $32

DATA merge2<>+0x00(SB)/8, $0x0001100000011000
DATA merge2<>+0x08(SB)/8, $0x0001100000011000
DATA merge2<>+0x10(SB)/8, $0x0001100000011000
DATA merge2<>+0x18(SB)/8, $0x0001100000011000
GLOBL merge2<>(SB), (NOPTR+RODATA), $32

// pack: the three bytes of each 24-bit value, most significant first,
// twelve per lane; permute: the two lanes' twelve bytes made contiguous.
DATA pack<>+0x00(SB)/8, $0x090a040506000102
DATA pack<>+0x08(SB)/8, $0xffffffff0c0d0e08
DATA pack<>+0x10(SB)/8, $0x090a040506000102
DATA pack<>+0x18(SB)/8, $0xffffffff0c0d0e08
GLOBL pack<>(SB), (NOPTR+RODATA), $32

DATA permute<>+0x00(SB)/8, $0x0000000100000000
DATA permute<>+0x08(SB)/8, $0x0000000400000002
DATA permute<>+0x10(SB)/8, $0x0000000600000005
DATA permute<>+0x18(SB)/8, $0x0000000700000007
GLOBL permute<>(SB), (NOPTR+RODATA), $32

// func decodeAVX2(dst, src []byte, blocks int) int
TEXT ·decodeAVX2(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ blocks+48(FP), CX
	XORQ AX, AX

	VMOVDQU lutLo<>(SB), Y8
	VMOVDQU lutHi<>(SB), Y9
	VMOVDQU lutRoll<>(SB), Y10
	VMOVDQU nibble<>(SB), Y11
	VMOVDQU slash<>(SB), Y12
	VMOVDQU merge1<>(SB), Y13
	VMOVDQU merge2<>(SB), Y14
	VMOVDQU pack<>(SB), Y15
	VMOVDQU permute<>(SB), Y7

loop:
	CMPQ AX, CX
	JEQ  done
	VMOVDQU (SI), Y0
	VPSRLD  $4, Y0, Y1
	VPAND   Y11, Y1, Y1         // high nibbles
	VPAND   Y11, Y0, Y2         // low nibbles
	VPSHUFB Y2, Y8, Y3          // lo flags
	VPSHUFB Y1, Y9, Y4          // hi flags
	VPTEST  Y3, Y4
	JNZ     done                // a character outside the alphabet
	VPCMPEQB Y12, Y0, Y5        // '/'
	VPADDB  Y5, Y1, Y5
	VPSHUFB Y5, Y10, Y5         // roll
	VPADDB  Y5, Y0, Y0          // 6-bit values
	VPMADDUBSW Y13, Y0, Y0
	VPMADDWD Y14, Y0, Y0
	VPSHUFB Y15, Y0, Y0
	VPERMD  Y0, Y7, Y0
	VMOVDQU X0, (DI)
	VEXTRACTI128 $1, Y0, X1
	VMOVQ   X1, 16(DI)
	ADDQ    $32, SI
	ADDQ    $24, DI
	INCQ    AX
	JMP     loop

done:
	VZEROUPPER
	MOVQ AX, ret+56(FP)
	RET
