package crypto

import (
	"crypto/rand"
	"testing"
)

// BenchmarkGCMOpen compares one 16-byte value's opening by gmsm's GCM
// (raw) and by gcm (one multi-block SM4 pass), with a 60-byte AAD, and
// the parts of gcm's: the SM4 pass (padded to ecbLanes blocks) and the
// GHASH.
func BenchmarkGCMOpen(b *testing.B) {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret)
	k, err := NewKey("kbench", "", SM4GCM, secret)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, NonceSize)
	aad := make([]byte, 60)
	_, _ = rand.Read(aad)
	sealed := k.aead.Seal(nil, nonce, make([]byte, 16), aad)
	dst := make([]byte, 0, 64)
	b.Run("side=raw", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.aead.Open(dst[:0], nonce, sealed, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("side=gcm", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var ok bool
			if _, buf, ok = k.gcm.open(dst[:0], nonce, sealed, aad, buf); !ok {
				b.Fatal("tag")
			}
		}
	})
	b.Run("part=sm4x2", func(b *testing.B) {
		// the value's two blocks, padded to gmsm's lanes as gcm pads them
		buf := appendCounters(make([]byte, 0, padded(32)), nonce, len(sealed))
		for b.Loop() {
			k.gcm.encrypt(buf)
		}
	})
	b.Run("part=ghash", func(b *testing.B) {
		for b.Loop() {
			_ = k.gcm.h.Sum(aad, sealed[:16])
		}
	})
}
