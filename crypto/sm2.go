package crypto

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// SM2PrivateKey is an SM2 private key (GB/T 32918) used to unwrap data keys.
type SM2PrivateKey struct {
	k *sm2.PrivateKey
}

// SM2PublicKey is an SM2 public key used to wrap data keys.
type SM2PublicKey struct {
	k *ecdsa.PublicKey
}

// GenerateSM2Key returns a new random SM2 key pair.
func GenerateSM2Key() (*SM2PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: generating SM2 key: %v", ErrInvalidKey, err)
	}
	return &SM2PrivateKey{k: k}, nil
}

// ParseSM2PrivateKeyPEM parses a PEM "PRIVATE KEY" block holding an SM2 key
// in PKCS#8, as written by `openssl genpkey -algorithm SM2`.
func ParseSM2PrivateKeyPEM(data []byte) (*SM2PrivateKey, error) {
	der, err := pemBlock(data, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8: %v", ErrInvalidKey, err)
	}
	sk, ok := k.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#8 key is %T, not SM2", ErrInvalidKey, k)
	}
	return &SM2PrivateKey{k: sk}, nil
}

// ParseSM2PublicKeyPEM parses a PEM "PUBLIC KEY" block holding an SM2 key
// in PKIX (SubjectPublicKeyInfo) form.
func ParseSM2PublicKeyPEM(data []byte) (*SM2PublicKey, error) {
	der, err := pemBlock(data, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	return ParseSM2PublicKeyPKIX(der)
}

func pemBlock(data []byte, typ string) ([]byte, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidKey)
	}
	if b.Type != typ {
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrInvalidKey, b.Type, typ)
	}
	if len(pemTrim(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrInvalidKey)
	}
	return b.Bytes, nil
}

func pemTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// Public returns the public half of k.
func (k *SM2PrivateKey) Public() *SM2PublicKey { return &SM2PublicKey{k: &k.k.PublicKey} }

// MarshalPEM encodes k as a PEM "PRIVATE KEY" block (PKCS#8).
func (k *SM2PrivateKey) MarshalPEM() ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(k.k)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPEM encodes k as a PEM "PUBLIC KEY" block (PKIX).
func (k *SM2PublicKey) MarshalPEM() ([]byte, error) {
	der, err := k.MarshalPKIX()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPKIX returns k's SubjectPublicKeyInfo in DER, the body of its PEM.
func (k *SM2PublicKey) MarshalPKIX() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(k.k)
	if err != nil {
		return nil, fmt.Errorf("%w: PKIX: %v", ErrInvalidKey, err)
	}
	return der, nil
}

// ParseSM2PublicKeyPKIX parses an SM2 SubjectPublicKeyInfo in DER.
func ParseSM2PublicKeyPKIX(der []byte) (*SM2PublicKey, error) {
	k, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKIX: %v", ErrInvalidKey, err)
	}
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pk) {
		return nil, fmt.Errorf("%w: PKIX key is %T, not SM2", ErrInvalidKey, k)
	}
	return &SM2PublicKey{k: pk}, nil
}

// Encrypt encrypts msg to k with SM2 public-key encryption (GB/T 32918.4)
// and returns the GM/T 0009 ASN.1 DER form: SEQUENCE { x, y, C3 hash,
// C2 ciphertext }. An empty msg is refused with ErrInvalidInput (gmsm
// returns nil, nil for it).
func (k *SM2PublicKey) Encrypt(msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: SM2 message is empty", ErrInvalidInput)
	}
	ct, err := sm2.EncryptASN1(rand.Reader, k.k, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: SM2 encrypt: %v", ErrInvalidKey, err)
	}
	return ct, nil
}

// Decrypt decrypts a GM/T 0009 ASN.1 SM2 ciphertext made by Encrypt or by
// `openssl pkeyutl -encrypt`. Only the ASN.1 form is accepted; a ciphertext
// whose hash does not match returns ErrAuthentication.
func (k *SM2PrivateKey) Decrypt(ct []byte) ([]byte, error) {
	if len(ct) == 0 || ct[0] != 0x30 {
		return nil, fmt.Errorf("%w: SM2 ciphertext is not ASN.1 DER", ErrMalformed)
	}
	pt, err := sm2.Decrypt(k.k, ct)
	if errors.Is(err, sm2.ErrDecryption) {
		return nil, fmt.Errorf("%w: SM2 decrypt", ErrAuthentication)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: SM2 ciphertext: %v", ErrMalformed, err)
	}
	if len(pt) == 0 {
		return nil, fmt.Errorf("%w: SM2 plaintext is empty", ErrInvalidInput)
	}
	return pt, nil
}

// Sign signs msg with k: SM2 signature (GB/T 32918.2) with SM3 and the
// default user id "1234567812345678", in ASN.1 DER (r, s), as OpenSSL's
// "openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt
// distid:1234567812345678" makes it.
func (k *SM2PrivateKey) Sign(msg []byte) ([]byte, error) {
	sig, err := k.k.SignWithSM2(rand.Reader, nil, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: SM2 sign: %v", ErrInvalidKey, err)
	}
	return sig, nil
}

// Verify reports whether sig is an SM2 signature of msg by the private
// key of k (SM3, default user id, ASN.1 DER).
func (k *SM2PublicKey) Verify(msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(k.k, nil, msg, sig)
}
