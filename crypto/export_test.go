package crypto

import (
	"crypto/hkdf"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/stretchr/testify/require"
)

// derivedKey recomputes an index's HKDF-SM3 key for the vectors file.
func derivedKey(t testing.TB, r *IndexRoot, spec IndexSpec) []byte {
	t.Helper()
	k, err := hkdf.Key(sm3.New, r.secret, nil, indexInfo(spec), indexKeySize)
	require.NoError(t, err)
	return k
}

// sealV1 seals a version 1 envelope, as earlier releases wrote them, so
// that tests can check version 1 values still open where the spec says
// (docs/format.md §4.1). Writers of this package never produce version 1.
func sealV1(t testing.TB, k *Key, loc Location, plaintext, nonce []byte) []byte {
	t.Helper()
	env := append([]byte{Version1, byte(k.alg), byte(len(k.id))}, k.id...)
	hdr := env
	env = append(env, nonce...)
	aad := appendAAD(nil, hdr, loc)
	return k.aead.Seal(env, nonce, plaintext, aad)
}
