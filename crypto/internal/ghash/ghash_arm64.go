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
// reflected: its first bit is the coefficient of x⁰), shifted left one
// bit modulo the reflected polynomial x¹²⁸ + x¹²⁷ + x¹²⁶ + x¹²¹ + 1.
// The shift absorbs the one-bit offset of a product of reflected
// operands, so that the product needs only the Montgomery-style
// reduction by the constant 0xc2…01. Words: tbl[n][0] the high half,
// tbl[n][1] the low half (so that a 16-byte load puts the high half in
// lane 0, as VREV64 does with a block), tbl[n][2] and tbl[n][3] both
// their XOR, the Karatsuba middle operand.
type archKey struct {
	tbl [4][4]uint64
}

// initArch derives k.arch from k.pow, in constant time.
func initArch(k *Key) {
	const polyHi, polyLo = 0xc200000000000000, 1 // x¹²⁸ mod the reflected polynomial
	for n := range k.pow {
		// pow[n] is H^(n+1) byte-reversed: a little-endian load is the
		// big-endian integer.
		lo := binary.LittleEndian.Uint64(k.pow[n][:8])
		hi := binary.LittleEndian.Uint64(k.pow[n][8:])
		mask := -(hi >> 63) // all ones if the shift carries out of bit 127
		hi = (hi<<1 | lo>>63) ^ (mask & polyHi)
		lo = lo<<1 ^ (mask & polyLo)
		k.arch.tbl[n] = [4]uint64{hi, lo, hi ^ lo, hi ^ lo}
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
