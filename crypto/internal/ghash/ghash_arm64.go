//go:build arm64 && !purego

package ghash

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// Accelerated reports whether Update uses carry-less multiplication
// instructions (PMULL and PMULL2 on 64-bit lanes, of the Armv8 Crypto
// Extension).
var Accelerated = cpu.ARM64.HasPMULL

// archKey is the key in the form updatePMULL loads: for n = 0…3, tbl[n]
// is H^(n+1) as the 128-bit integer of its big-endian bytes (GCM's bits
// reflected: its top bit is the coefficient of x⁰), shifted left one bit
// modulo the reflected polynomial 2¹²⁸ ⊕ 0xc2000000000000000000000000000001
// (x¹²⁸ + x⁷ + x² + x + 1 with its 129 bits reversed). The shift absorbs
// the one-bit offset of a product of reflected operands, so that a
// product needs only a Montgomery-style reduction by the constant
// 0xc2…01 (times 2⁻¹²⁸: REDUCE in ghash_arm64.s). Words: tbl[n][0] the
// high half and tbl[n][1] the low half (arm64 being little-endian, a
// 16-byte load puts the high half in lane 0, as VREV64 does with a
// block), tbl[n][2] and tbl[n][3] both their XOR, the Karatsuba middle
// operand.
type archKey struct {
	tbl [4][4]uint64
}

// init derives a from pow (Key.pow: H … H⁴ byte-reversed), in constant
// time.
func (a *archKey) init(pow *[4][16]byte) {
	const polyHi, polyLo = 0xc200000000000000, 1 // 2¹²⁸ mod the reflected polynomial
	for n := range pow {
		// pow[n] is H^(n+1) byte-reversed: a little-endian load is the
		// big-endian integer.
		lo := binary.LittleEndian.Uint64(pow[n][:8])
		hi := binary.LittleEndian.Uint64(pow[n][8:])
		mask := -(hi >> 63) // all ones if the shift carries out of bit 127
		hi = (hi<<1 | lo>>63) ^ (mask & polyHi)
		lo = lo<<1 ^ (mask & polyLo)
		a.tbl[n] = [4]uint64{hi, lo, hi ^ lo, hi ^ lo}
	}
}

// updatePMULL folds blocks (a multiple of 16 bytes, at least one block)
// into y, with the powers of H of tbl (see archKey).
//
//go:noescape
func updatePMULL(tbl *[4][4]uint64, y *[16]byte, blocks []byte)

func update(k *Key, y *[16]byte, blocks []byte) {
	if Accelerated {
		updatePMULL(&k.arch.tbl, y, blocks)
		return
	}
	updateGeneric(k, y, blocks)
}
