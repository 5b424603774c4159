package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// WrapVersion1 is the first byte of a data key wrapped by a KEK.
const WrapVersion1 byte = 0x01

// KEK is an SM4-GCM key-encryption key: it wraps data keys (or any short
// secret) under associated data that names them. A wrapped key is
// 0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16); docs/format.md §8. A KEK is
// safe for concurrent use.
type KEK struct {
	aead cipher.AEAD
}

// NewKEK returns a KEK for a KeySize-byte secret, which is not retained.
func NewKEK(secret []byte) (*KEK, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("%w: SM4 KEK must be %d bytes, got %d", ErrInvalidKey, KeySize, len(secret))
	}
	block, err := sm4.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return &KEK{aead: aead}, nil
}

// Wrap encrypts key under ad with a fresh random nonce.
func (k *KEK) Wrap(key, ad []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: nothing to wrap", ErrInvalidInput)
	}
	out := make([]byte, 1+NonceSize, 1+NonceSize+len(key)+TagSize)
	out[0] = WrapVersion1
	_, _ = rand.Read(out[1:])
	return k.aead.Seal(out, out[1:1+NonceSize], key, ad), nil
}

// Unwrap decrypts a key wrapped by Wrap under the same ad. A wrong KEK, a
// wrong ad or any change to wrapped returns ErrAuthentication.
func (k *KEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	if len(wrapped) < 1+NonceSize+TagSize+1 {
		return nil, fmt.Errorf("%w: wrapped key is %d bytes", ErrMalformed, len(wrapped))
	}
	if wrapped[0] != WrapVersion1 {
		return nil, fmt.Errorf("%w: wrapped key version 0x%02x", ErrUnsupportedVersion, wrapped[0])
	}
	key, err := k.aead.Open(nil, wrapped[1:1+NonceSize], wrapped[1+NonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: unwrapping a key", ErrAuthentication)
	}
	return key, nil
}
