package crypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"slices"

	gmcipher "github.com/emmansun/gmsm/cipher"
	"golang.org/x/sys/cpu"

	"github.com/gmfield/gmfield/crypto/internal/ghash"
)

// gcm seals and opens SM4-GCM values (96-bit nonce, 128-bit tag, the only
// parameters the envelope uses) the way SP 800-38D §7 says, with every
// SM4 block a value needs — SM4(J0) that masks the tag and SM4(J0+1…)
// the keystream — computed in one multi-block pass: gmsm's ECB encrypter
// runs 8 or 16 blocks in the time of about one of its single-block calls,
// and its GCM makes two undersized calls per value. A batch (Opener,
// Sealer) puts the blocks of many values in the same pass. An opened tag
// is compared in constant time before any plaintext is written. Values
// longer than maxBatched go through gmsm's own GCM, which streams.
type gcm struct {
	ecb cipher.BlockMode
	h   *ghash.Key
}

// maxBatched is the longest ciphertext (tag included) gcm handles itself:
// its keystream is held in memory at once.
const maxBatched = 4096 + TagSize

// ecbLanes is the block count gmsm's ECB pass is padded to a multiple of.
// On amd64 with AVX2 it encrypts 16 or 8 blocks at a time (with GFNI where
// the CPU has it) and fewer through a 4-block or a 1-block path that costs
// more than 8 blocks do: measured on this project's 2-core machine, 1 to 4
// blocks 250 ns, 5 to 7 490 ns, 8 159 ns, 16 176 ns (docs/performance.md).
// Elsewhere a pass is not padded.
var ecbLanes = lanes(cpu.X86.HasAVX2)

func lanes(avx2 bool) int {
	if avx2 {
		return 8
	}
	return 1
}

func newGCM(block cipher.Block) *gcm {
	var h [16]byte
	block.Encrypt(h[:], h[:])
	g := &gcm{ecb: gmcipher.NewECBEncrypter(block), h: ghash.New(&h)}
	clear(h[:])
	return g
}

// blocks is the number of SM4 blocks a sealed value (ciphertext and tag)
// of n bytes needs: the tag mask and the keystream.
func blocks(n int) int { return 1 + (n-TagSize+15)/16 }

// appendCounters appends to dst the counter blocks of a sealed value of n
// bytes under nonce: J0 = nonce ‖ 1, then J0+1, J0+2, … (inc32).
func appendCounters(dst, nonce []byte, n int) []byte {
	m := blocks(n)
	dst = slices.Grow(dst, 16*m)
	at := len(dst)
	dst = dst[:at+16*m]
	iv := (*[NonceSize]byte)(nonce)
	for i := range m {
		b := (*[16]byte)(dst[at+16*i:])
		*(*[NonceSize]byte)(b[:]) = *iv
		binary.BigEndian.PutUint32(b[NonceSize:], uint32(1+i))
	}
	return dst
}

// encrypt replaces the counter blocks in buf with their SM4 encryption,
// in place, in one pass padded to ecbLanes blocks (by repeating the last
// block) within buf's capacity; callers size it with room (padded).
// Without the room it still encrypts in place, unpadded: it never moves
// keystream to another array.
func (g *gcm) encrypt(buf []byte) {
	n := len(buf)
	if p := padded(n); p <= cap(buf) {
		full := buf[:p]
		for i := n; i < p; i += 16 {
			copy(full[i:i+16], buf[n-16:n])
		}
		buf = full
	}
	g.ecb.CryptBlocks(buf, buf)
}

// padded is n bytes of counter blocks rounded up to a multiple of
// ecbLanes blocks.
func padded(n int) int {
	lane := 16 * ecbLanes
	return (n + lane - 1) / lane * lane
}

// finish checks sealed's tag under the additional data p's bytes then aad
// with stream (SM4 of its counter blocks) and, only if it verifies,
// appends the plaintext to dst.
func (g *gcm) finish(dst, sealed []byte, p *ghash.Prefix, aad, stream []byte) ([]byte, bool) {
	ct, tag := sealed[:len(sealed)-TagSize], sealed[len(sealed)-TagSize:]
	y := g.h.SumAfter(p, aad, ct)
	if !tagEqual(&y, stream[:16], tag) {
		return dst, false
	}
	if dst == nil {
		dst = []byte{} // an empty plaintext is not nil, as with gmsm's GCM
	}
	n := len(dst)
	dst = append(dst, ct...)
	subtle.XORBytes(dst[n:], ct, stream[16:16+len(ct)])
	return dst, true
}

// tagEqual reports whether y ⊕ mask equals tag (16 bytes each), in time
// that does not depend on their contents: the difference of all 128 bits
// is tested once.
func tagEqual(y *[16]byte, mask, tag []byte) bool {
	le := binary.LittleEndian
	d := (le.Uint64(y[:8]) ^ le.Uint64(mask[:8]) ^ le.Uint64(tag[:8])) |
		(le.Uint64(y[8:]) ^ le.Uint64(mask[8:16]) ^ le.Uint64(tag[8:16]))
	return d == 0
}

// sealTo encrypts plaintext with stream (SM4 of its counter blocks) into
// out, which has room for the ciphertext and the tag, and writes the tag
// under the additional data p's bytes then aad. out and plaintext must
// not overlap.
func (g *gcm) sealTo(out, plaintext []byte, p *ghash.Prefix, aad, stream []byte) {
	ct := out[:len(plaintext)]
	subtle.XORBytes(ct, plaintext, stream[16:16+len(plaintext)])
	y := g.h.SumAfter(p, aad, ct)
	subtle.XORBytes(out[len(plaintext):len(plaintext)+TagSize], y[:], stream[:16])
}

// open opens one sealed value (at most maxBatched bytes, at least the
// tag) with buf as scratch space, returned for reuse.
func (g *gcm) open(dst, nonce, sealed, aad, buf []byte) (out, scratch []byte, ok bool) {
	n := 16 * blocks(len(sealed))
	buf = appendCounters(slices.Grow(buf[:0], padded(n)), nonce, len(sealed))
	g.encrypt(buf)
	out, ok = g.finish(dst, sealed, &ghash.Prefix{}, aad, buf)
	clear(buf[:cap(buf)])
	return out, buf, ok
}

// seal seals plaintext (at most maxBatched-TagSize bytes) into out, which
// has room for it and the tag, with buf as scratch space, returned for
// reuse.
func (g *gcm) seal(out, nonce, plaintext, aad, buf []byte) []byte {
	n := 16 * blocks(len(plaintext)+TagSize)
	buf = appendCounters(slices.Grow(buf[:0], padded(n)), nonce, len(plaintext)+TagSize)
	g.encrypt(buf)
	g.sealTo(out, plaintext, &ghash.Prefix{}, aad, buf)
	clear(buf[:cap(buf)])
	return buf
}
