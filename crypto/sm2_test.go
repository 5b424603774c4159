package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSM2RoundTripAndPEM(t *testing.T) {
	priv, err := GenerateSM2Key()
	require.NoError(t, err)
	privPEM, err := priv.MarshalPEM()
	require.NoError(t, err)
	pubPEM, err := priv.Public().MarshalPEM()
	require.NoError(t, err)
	assert.Contains(t, string(privPEM), "BEGIN PRIVATE KEY")
	assert.Contains(t, string(pubPEM), "BEGIN PUBLIC KEY")

	priv2, err := ParseSM2PrivateKeyPEM(privPEM)
	require.NoError(t, err)
	pub2, err := ParseSM2PublicKeyPEM(pubPEM)
	require.NoError(t, err)

	dek := bytes.Repeat([]byte{0x5a}, KeySize)
	ct, err := pub2.Encrypt(dek)
	require.NoError(t, err)
	got, err := priv2.Decrypt(ct)
	require.NoError(t, err)
	assert.Equal(t, dek, got)

	ct2, err := pub2.Encrypt(dek)
	require.NoError(t, err)
	assert.NotEqual(t, ct, ct2, "SM2 encryption is randomized")

	// Tampering with C2 or C3 fails authentication or parsing.
	for _, i := range []int{len(ct) - 1, len(ct) - KeySize - 5} {
		mut := bytes.Clone(ct)
		mut[i] ^= 0x01
		_, err := priv2.Decrypt(mut)
		assert.Error(t, err)
	}
	// Another key cannot decrypt.
	other, err := GenerateSM2Key()
	require.NoError(t, err)
	_, err = other.Decrypt(ct)
	assert.ErrorIs(t, err, ErrAuthentication)
}

func TestSM2RejectsBadInput(t *testing.T) {
	priv, err := GenerateSM2Key()
	require.NoError(t, err)
	_, err = priv.Public().Encrypt(nil)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = priv.Public().Encrypt([]byte{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	for _, ct := range [][]byte{nil, {}, {0x04, 1, 2, 3}, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x01}} {
		_, err := priv.Decrypt(ct)
		assert.ErrorIs(t, err, ErrMalformed, "%x", ct)
	}

	pubPEM, err := priv.Public().MarshalPEM()
	require.NoError(t, err)
	privPEM, err := priv.MarshalPEM()
	require.NoError(t, err)
	for name, in := range map[string][]byte{
		"empty":             nil,
		"not PEM":           []byte("hello"),
		"public as private": pubPEM,
		"trailing data":     append(bytes.Clone(privPEM), "junk"...),
		"bad DER":           []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		_, err := ParseSM2PrivateKeyPEM(in)
		assert.ErrorIs(t, err, ErrInvalidKey, name)
	}
	_, err = ParseSM2PublicKeyPEM(privPEM)
	assert.ErrorIs(t, err, ErrInvalidKey)
	// A NIST P-256 key is not an SM2 key.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	require.NoError(t, err)
	p256 := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	_, err = ParseSM2PublicKeyPEM(p256)
	assert.ErrorIs(t, err, ErrInvalidKey)
}

func TestSM2SignVerify(t *testing.T) {
	priv, err := GenerateSM2Key()
	require.NoError(t, err)
	msg := []byte("gmfield:record:v1 test")
	sig, err := priv.Sign(msg)
	require.NoError(t, err)
	assert.True(t, priv.Public().Verify(msg, sig))
	assert.False(t, priv.Public().Verify(append(msg, 'x'), sig))
	other, err := GenerateSM2Key()
	require.NoError(t, err)
	assert.False(t, other.Public().Verify(msg, sig))
	bad := append([]byte(nil), sig...)
	bad[len(bad)-1] ^= 1
	assert.False(t, priv.Public().Verify(msg, bad))
	assert.False(t, priv.Public().Verify(msg, nil))
}
