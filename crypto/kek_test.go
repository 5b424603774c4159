package crypto

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKEK(t *testing.T) {
	kek, err := NewKEK(bytes.Repeat([]byte{1}, KeySize))
	require.NoError(t, err)
	dek := bytes.Repeat([]byte{9}, KeySize)
	ad := []byte("dek k1 citizen.phone")
	w, err := kek.Wrap(dek, ad)
	require.NoError(t, err)
	assert.Len(t, w, 1+NonceSize+KeySize+TagSize)
	got, err := kek.Unwrap(w, ad)
	require.NoError(t, err)
	assert.Equal(t, dek, got)

	w2, err := kek.Wrap(dek, ad)
	require.NoError(t, err)
	assert.NotEqual(t, w, w2, "fresh nonce")

	_, err = kek.Unwrap(w, []byte("dek k1 citizen.id_no"))
	assert.ErrorIs(t, err, ErrAuthentication)
	other, err := NewKEK(bytes.Repeat([]byte{2}, KeySize))
	require.NoError(t, err)
	_, err = other.Unwrap(w, ad)
	assert.ErrorIs(t, err, ErrAuthentication)
	for i := range len(w) * 8 {
		mut := bytes.Clone(w)
		mut[i/8] ^= 1 << (i % 8)
		_, err := kek.Unwrap(mut, ad)
		require.Error(t, err, "bit %d", i)
	}
	_, err = kek.Unwrap(w[:20], ad)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = kek.Wrap(nil, ad)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = NewKEK(make([]byte, 32))
	assert.ErrorIs(t, err, ErrInvalidKey)
}
