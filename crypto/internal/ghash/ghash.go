// Package ghash is GCM's universal hash (NIST SP 800-38D, §6.4) over
// GF(2¹²⁸), for the batched SM4-GCM opening of package crypto: gmsm's
// GHASH is internal to its GCM. On amd64 with PCLMULQDQ it multiplies
// with carry-less multiplication (the method of Gueron and Kounavis,
// "Intel Carry-Less Multiplication Instruction and its Usage for
// Computing the GCM Mode"); on arm64 with PMULL it does the same with
// PMULL/PMULL2, on bit-reflected operands reduced by the constant
// 0xc2…01 (the arm64 method of OpenSSL's ghashv8-armx and of Go's
// crypto/internal/fips140/aes/gcm); both fold four blocks per
// reduction. Elsewhere (and with the purego build tag) it runs a
// constant-time pure-Go multiplication (64×64 carry-less products with
// the bits spread four apart, so that the integer multiplier's carries
// fall in the holes). No path branches or indexes memory on secret data.
package ghash

import (
	"encoding/binary"
	"math/bits"
)

// BlockSize is GHASH's block size in bytes.
const BlockSize = 16

// Key is a hash key H (SM4_K(0¹²⁸) in GCM) ready for use.
type Key struct {
	// arch is what the architecture's assembly needs beyond pow, derived
	// from pow by its init method (empty where there is none; first, so
	// that an empty one adds no padding).
	arch archKey
	// h1:h0 is H as two big-endian words (h1 the first 8 bytes), for the
	// pure-Go path; pow holds H, H², H³ and H⁴ byte-reversed, for the
	// CLMUL path, which folds four blocks per reduction.
	h0, h1 uint64
	pow    [4][16]byte
}

// New returns the Key of the 16-byte hash key h.
func New(h *[16]byte) *Key {
	k := &Key{h1: binary.BigEndian.Uint64(h[:8]), h0: binary.BigEndian.Uint64(h[8:])}
	p := *h
	for n := range 4 {
		for i := range 16 {
			k.pow[n][i] = p[15-i]
		}
		var y [16]byte
		updateGeneric(k, &y, p[:]) // y = p·H
		p = y
	}
	k.arch.init(&k.pow)
	return k
}

// Update folds blocks, whose length must be a multiple of BlockSize, into
// the running hash y: y = (…((y ⊕ B₁)·H ⊕ B₂)·H …)·H.
func (k *Key) Update(y *[16]byte, blocks []byte) {
	if len(blocks)%BlockSize != 0 {
		panic("ghash: input not a multiple of the block size")
	}
	if len(blocks) == 0 {
		return
	}
	update(k, y, blocks)
}

// UpdatePadded folds data into y, the last partial block padded with
// zeros, as GCM hashes its additional data and its ciphertext.
func (k *Key) UpdatePadded(y *[16]byte, data []byte) {
	full := len(data) &^ (BlockSize - 1)
	k.Update(y, data[:full])
	if full < len(data) {
		var last [16]byte
		copy(last[:], data[full:])
		k.Update(y, last[:])
	}
}

// Sum is GHASH_H(A, C) of GCM: the additional data and the ciphertext,
// each zero-padded, then their lengths in bits.
func (k *Key) Sum(aad, ciphertext []byte) [16]byte {
	return k.SumAfter(&Prefix{}, aad, ciphertext)
}

// Prefix is the hash of the first bytes of some additional data — its
// whole blocks folded in, the rest kept — so that values whose additional
// data share those bytes hash them once (SumAfter). A Prefix is as secret
// as the hash key: with the bytes it hashed, it gives H away.
type Prefix struct {
	y    [16]byte
	tail [16]byte
	n    int // bytes hashed or held: the whole blocks of y, then tail[:n%16]
}

// Reset sets p to the hash of aad, the first bytes of additional data.
func (k *Key) Reset(p *Prefix, aad []byte) {
	full := len(aad) &^ (BlockSize - 1)
	*p = Prefix{n: len(aad)}
	k.Update(&p.y, aad[:full])
	copy(p.tail[:], aad[full:])
}

// Clear erases p.
func (p *Prefix) Clear() { *p = Prefix{} }

// SumAfter is Sum of the additional data p's bytes followed by aad, and
// ciphertext.
func (k *Key) SumAfter(p *Prefix, aad, ciphertext []byte) [16]byte {
	y := p.y
	held := p.n % BlockSize
	na := p.n + len(aad)
	pa, pc := pad(held+len(aad)), pad(len(ciphertext))
	n := pa + pc + BlockSize
	if n <= shortSum/4 {
		// A short input goes in one call, so that its blocks are folded
		// four at a time; most values are this short.
		var buf [shortSum / 4]byte
		k.sumShort(&y, buf[:], p, aad, ciphertext, na, pa, pc)
		return y
	}
	if n <= shortSum {
		var buf [shortSum]byte
		k.sumShort(&y, buf[:], p, aad, ciphertext, na, pa, pc)
		return y
	}
	// The held bytes and the head of aad complete a block; the rest
	// streams.
	if held > 0 {
		block := p.tail
		m := copy(block[held:], aad)
		aad = aad[m:]
		k.Update(&y, block[:])
	}
	k.UpdatePadded(&y, aad)
	k.UpdatePadded(&y, ciphertext)
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], uint64(na)*8)
	binary.BigEndian.PutUint64(lens[8:], uint64(len(ciphertext))*8)
	k.Update(&y, lens[:])
	return y
}

// sumShort hashes into y, in one call, the held bytes of p, aad and
// ciphertext, each part zero-padded, and the lengths, laid out in buf
// (zero, at least pa+pc+16 bytes).
func (k *Key) sumShort(y *[16]byte, buf []byte, p *Prefix, aad, ciphertext []byte, na, pa, pc int) {
	held := p.n % BlockSize
	*(*[16]byte)(buf) = p.tail // zero past the held bytes
	copy(buf[held:], aad)
	copy(buf[pa:], ciphertext)
	binary.BigEndian.PutUint64(buf[pa+pc:], uint64(na)*8)
	binary.BigEndian.PutUint64(buf[pa+pc+8:], uint64(len(ciphertext))*8)
	k.Update(y, buf[:pa+pc+BlockSize])
}

// shortSum is the longest padded input Sum hashes in one call.
const shortSum = 256

// pad is n rounded up to a multiple of BlockSize.
func pad(n int) int { return (n + BlockSize - 1) &^ (BlockSize - 1) }

// updateGeneric is Update in constant-time pure Go.
func updateGeneric(k *Key, y *[16]byte, blocks []byte) {
	y1, y0 := binary.BigEndian.Uint64(y[:8]), binary.BigEndian.Uint64(y[8:])
	h0, h1 := k.h0, k.h1
	h0r, h1r := bits.Reverse64(h0), bits.Reverse64(h1)
	h2, h2r := h0^h1, h0r^h1r
	for ; len(blocks) >= BlockSize; blocks = blocks[BlockSize:] {
		y1 ^= binary.BigEndian.Uint64(blocks[:8])
		y0 ^= binary.BigEndian.Uint64(blocks[8:16])
		y2 := y0 ^ y1
		y0r, y1r := bits.Reverse64(y0), bits.Reverse64(y1)
		y2r := y0r ^ y1r
		// Karatsuba: the low halves of the three products, and (from
		// the bit-reversed operands) their high halves.
		z0, z1, z2 := bmul64(y0, h0), bmul64(y1, h1), bmul64(y2, h2)
		z0h, z1h, z2h := bmul64(y0r, h0r), bmul64(y1r, h1r), bmul64(y2r, h2r)
		z2 ^= z0 ^ z1
		z2h ^= z0h ^ z1h
		z0h = bits.Reverse64(z0h) >> 1
		z1h = bits.Reverse64(z1h) >> 1
		z2h = bits.Reverse64(z2h) >> 1
		v0, v1, v2, v3 := z0, z0h^z2, z1^z2h, z1h
		// GCM's bits are reflected: the 255-bit product moves up one.
		v3 = v3<<1 | v2>>63
		v2 = v2<<1 | v1>>63
		v1 = v1<<1 | v0>>63
		v0 <<= 1
		// Reduce modulo x¹²⁸ + x⁷ + x² + x + 1.
		v2 ^= v0 ^ v0>>1 ^ v0>>2 ^ v0>>7
		v1 ^= v0<<63 ^ v0<<62 ^ v0<<57
		v3 ^= v1 ^ v1>>1 ^ v1>>2 ^ v1>>7
		v2 ^= v1<<63 ^ v1<<62 ^ v1<<57
		y0, y1 = v2, v3
	}
	binary.BigEndian.PutUint64(y[:8], y1)
	binary.BigEndian.PutUint64(y[8:], y0)
}

// bmul64 is the low 64 bits of the carry-less product of x and y, in
// constant time: each operand is split into four with its bits four
// apart, so no carry of the integer products reaches a bit that is kept.
func bmul64(x, y uint64) uint64 {
	const m0, m1, m2, m3 = 0x1111111111111111, 0x2222222222222222, 0x4444444444444444, 0x8888888888888888
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1)
	z1 := (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2)
	z2 := (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3)
	z3 := (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0)
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
}
