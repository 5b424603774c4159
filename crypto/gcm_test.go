package crypto

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func randomKey(t testing.TB) *Key {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret)
	k, err := NewKey("ktest", "", SM4GCM, secret)
	require.NoError(t, err)
	return k
}

// TestGCMMatchesGMSM seals with gcm exactly what gmsm's GCM seals, and
// opens with gcm what gmsm's GCM sealed, on random
// keys, nonces, additional data and lengths 0 to 4 KiB, and checks that
// every single-bit flip of nonce, additional data, ciphertext or tag is
// rejected — by both.
func TestGCMMatchesGMSM(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	lengths := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 4095, 4096}
	for range 60 {
		lengths = append(lengths, r.IntN(4097))
	}
	var buf []byte
	for _, n := range lengths {
		k := randomKey(t)
		nonce, aad, plain := make([]byte, NonceSize), make([]byte, r.IntN(100)), make([]byte, n)
		_, _ = rand.Read(nonce)
		_, _ = rand.Read(aad)
		_, _ = rand.Read(plain)
		sealed := k.aead.Seal(nil, nonce, plain, aad)
		ours := make([]byte, n+TagSize)
		buf = k.gcm.seal(ours, nonce, plain, aad, buf)
		require.Equal(t, sealed, ours, "seal, length %d", n)
		got, b, ok := k.gcm.open(nil, nonce, sealed, aad, buf)
		buf = b
		require.True(t, ok, "length %d", n)
		require.Equal(t, plain, got, "length %d", n)
		if n > 64 && r.IntN(4) != 0 {
			continue // flips of every bit on the short ones, a sample here
		}
		flip := func(b []byte, i int) { b[i/8] ^= 1 << (i % 8) }
		for _, part := range [][]byte{nonce, aad, sealed} {
			for i := range 8 * len(part) {
				flip(part, i)
				_, b, ok := k.gcm.open(nil, nonce, sealed, aad, buf)
				buf = b
				_, gerr := k.aead.Open(nil, nonce, sealed, aad)
				flip(part, i)
				require.False(t, ok, "length %d: a flipped bit %d opened", n, i)
				require.Error(t, gerr)
			}
		}
	}
}

// FuzzGCMVsGMSM: for any plaintext, additional data and nonce, gcm seals
// exactly what gmsm's GCM seals and opens it, and a flipped bit fails
// both.
func FuzzGCMVsGMSM(f *testing.F) {
	f.Add([]byte("13800138000"), []byte("gmf2 citizen phone"), make([]byte, NonceSize), uint16(0))
	f.Add([]byte{}, []byte{}, make([]byte, NonceSize), uint16(7))
	k := randomKey(f)
	f.Fuzz(func(t *testing.T, plain, aad, nonceIn []byte, bit uint16) {
		if len(plain) > 4096 {
			plain = plain[:4096]
		}
		nonce := make([]byte, NonceSize)
		copy(nonce, nonceIn)
		sealed := k.aead.Seal(nil, nonce, plain, aad)
		ours := make([]byte, len(plain)+TagSize)
		k.gcm.seal(ours, nonce, plain, aad, nil)
		if string(ours) != string(sealed) {
			t.Fatalf("gcm seals %d bytes unlike gmsm's GCM", len(plain))
		}
		got, _, ok := k.gcm.open(nil, nonce, sealed, aad, nil)
		if !ok || string(got) != string(plain) {
			t.Fatalf("gcm does not open gmsm's sealing of %d bytes", len(plain))
		}
		i := int(bit) % (8 * len(sealed))
		sealed[i/8] ^= 1 << (i % 8)
		if _, _, ok := k.gcm.open(nil, nonce, sealed, aad, nil); ok {
			t.Fatal("a flipped bit opened")
		}
		if _, err := k.aead.Open(nil, nonce, sealed, aad); err == nil {
			t.Fatal("gmsm opened a flipped bit")
		}
	})
}
