package crypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"

	gmcipher "github.com/emmansun/gmsm/cipher"

	"github.com/gmfield/gmfield/crypto/internal/ghash"
)

// gcm opens SM4-GCM ciphertexts (96-bit nonce, 128-bit tag, the only
// parameters the envelope uses) the way SP 800-38D §7.2 says, with every
// SM4 block a value needs — SM4(J0) that masks the tag and SM4(J0+1…)
// the keystream — computed in one multi-block pass: gmsm's ECB encrypter
// runs 4 to 8 blocks in the time of about one of its single-block calls,
// and its GCM makes two undersized calls per value. A batch (Opener) puts
// the blocks of many values in the same pass. The tag is compared in
// constant time before any plaintext is written. Values longer than
// maxBatched open through gmsm's own GCM, which streams.
type gcm struct {
	ecb cipher.BlockMode
	h   *ghash.Key
}

// maxBatched is the longest ciphertext (tag included) gcm opens itself:
// its keystream is held in memory at once.
const maxBatched = 4096 + TagSize

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
	for i := range blocks(n) {
		dst = append(dst, nonce...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(1+i))
	}
	return dst
}

// finish checks sealed's tag under aad with stream (SM4 of its counter
// blocks) and, only if it verifies, appends the plaintext to dst.
func (g *gcm) finish(dst, sealed, aad, stream []byte) ([]byte, bool) {
	ct, tag := sealed[:len(sealed)-TagSize], sealed[len(sealed)-TagSize:]
	y := g.h.Sum(aad, ct)
	subtle.XORBytes(y[:], y[:], stream[:16])
	if subtle.ConstantTimeCompare(y[:], tag) != 1 {
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

// open opens one sealed value (at most maxBatched bytes, at least the
// tag) with buf as scratch space, returned for reuse.
func (g *gcm) open(dst, nonce, sealed, aad, buf []byte) (out, scratch []byte, ok bool) {
	buf = appendCounters(buf[:0], nonce, len(sealed))
	g.ecb.CryptBlocks(buf, buf)
	out, ok = g.finish(dst, sealed, aad, buf)
	clear(buf)
	return out, buf, ok
}
