package crypto

import (
	"crypto/cipher"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The standard vectors are copies of ../shared/vectors (GB/T 32907, GB/T
// 32905, RFC 8998, OpenSSL 3); TestSharedVectorsUnchanged keeps them equal.
type gmStandard struct {
	SM4ECB []struct {
		Key, Plaintext, Ciphertext string
		Iterations                 int
	} `json:"sm4_ecb"`
	SM3 []struct {
		MessageASCII string `json:"message_ascii"`
		Digest       string
	} `json:"sm3"`
	HMACSM3 []struct{ Key, Message, MAC string } `json:"hmac_sm3"`
	SM4GCM  []struct {
		Key, Nonce, AAD, Plaintext, Ciphertext, Tag string
	} `json:"sm4_gcm"`
}

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestSharedVectorsUnchanged(t *testing.T) {
	for _, name := range []string{"gm-standard.json", "sm2-openssl.json"} {
		shared, err := os.ReadFile("../../shared/vectors/" + name)
		if err != nil {
			t.Skipf("../shared/vectors not beside this checkout: %v", err)
		}
		local, err := os.ReadFile("testdata/" + name)
		require.NoError(t, err)
		assert.Equal(t, string(shared), string(local), "testdata/%s differs from ../shared/vectors", name)
	}
}

func TestSM4ECBVectors(t *testing.T) {
	var v gmStandard
	loadJSON(t, "testdata/gm-standard.json", &v)
	require.NotEmpty(t, v.SM4ECB)
	for _, c := range v.SM4ECB {
		block, err := sm4.NewCipher(unhex(t, c.Key))
		require.NoError(t, err)
		buf := unhex(t, c.Plaintext)
		for range c.Iterations {
			block.Encrypt(buf, buf)
		}
		assert.Equal(t, c.Ciphertext, hex.EncodeToString(buf), "iterations %d", c.Iterations)
		if c.Iterations == 1 {
			block.Decrypt(buf, buf)
			assert.Equal(t, c.Plaintext, hex.EncodeToString(buf))
		}
	}
}

func TestSM3Vectors(t *testing.T) {
	var v gmStandard
	loadJSON(t, "testdata/gm-standard.json", &v)
	require.NotEmpty(t, v.SM3)
	for _, c := range v.SM3 {
		sum := sm3.Sum([]byte(c.MessageASCII))
		assert.Equal(t, c.Digest, hex.EncodeToString(sum[:]), "message %q", c.MessageASCII)
	}
}

func TestHMACSM3Vectors(t *testing.T) {
	var v gmStandard
	loadJSON(t, "testdata/gm-standard.json", &v)
	require.NotEmpty(t, v.HMACSM3)
	for _, c := range v.HMACSM3 {
		m := hmac.New(sm3.New, unhex(t, c.Key))
		m.Write(unhex(t, c.Message))
		assert.Equal(t, c.MAC, hex.EncodeToString(m.Sum(nil)))
	}
}

func TestSM4GCMVectors(t *testing.T) {
	var v gmStandard
	loadJSON(t, "testdata/gm-standard.json", &v)
	require.NotEmpty(t, v.SM4GCM)
	for i, c := range v.SM4GCM {
		block, err := sm4.NewCipher(unhex(t, c.Key))
		require.NoError(t, err)
		aead, err := cipher.NewGCM(block)
		require.NoError(t, err)
		nonce, aad, pt := unhex(t, c.Nonce), unhex(t, c.AAD), unhex(t, c.Plaintext)
		sealed := aead.Seal(nil, nonce, pt, aad)
		assert.Equal(t, c.Ciphertext+c.Tag, hex.EncodeToString(sealed), "case %d", i)
		opened, err := aead.Open(nil, nonce, sealed, aad)
		require.NoError(t, err)
		assert.Equal(t, c.Plaintext, hex.EncodeToString(opened))
		sealed[0] ^= 1
		_, err = aead.Open(nil, nonce, sealed, aad)
		assert.Error(t, err, "case %d: flipped bit must fail", i)
	}
}

func TestSM2OpenSSLVector(t *testing.T) {
	var v struct {
		PrivateKeyPEM string `json:"private_key_pem"`
		PublicKeyPEM  string `json:"public_key_pem"`
		DEK           string `json:"dek_plaintext"`
		Ciphertext    string `json:"ciphertext_asn1_der"`
	}
	loadJSON(t, "testdata/sm2-openssl.json", &v)
	priv, err := ParseSM2PrivateKeyPEM([]byte(v.PrivateKeyPEM))
	require.NoError(t, err)
	pub, err := ParseSM2PublicKeyPEM([]byte(v.PublicKeyPEM))
	require.NoError(t, err)
	assert.True(t, priv.Public().k.Equal(pub.k), "public key must match the private key")

	dek, err := priv.Decrypt(unhex(t, v.Ciphertext))
	require.NoError(t, err)
	assert.Equal(t, v.DEK, hex.EncodeToString(dek))

	// Wrap the same DEK again with the parsed public key and unwrap it.
	ct, err := pub.Encrypt(dek)
	require.NoError(t, err)
	assert.Equal(t, byte(0x30), ct[0], "GM/T 0009 ASN.1 SEQUENCE")
	back, err := priv.Decrypt(ct)
	require.NoError(t, err)
	assert.Equal(t, dek, back)
}
