// Package tinkkms makes any Tink AEAD a key-encryption-key provider of the
// key ring: cloud KMS clients (GCP, AWS), HashiCorp Vault through
// github.com/tink-crypto/tink-go-hcvault/v2, or a local Tink keyset. A
// tink.AEAD already has the method set of keyring.Provider; the adapter
// adds a name for the KEK (shown by gmfield keys list) and error context.
package tinkkms

import (
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/crypto"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// Provider wraps DEKs with a Tink AEAD. It implements keyring.Provider and
// keyring.KEKNamer.
type Provider struct {
	aead tink.AEAD
	name string
}

// New returns a provider for aead, named name (for example the KMS key
// URI) in key records.
func New(aead tink.AEAD, name string) *Provider {
	return &Provider{aead: aead, name: name}
}

// Encrypt wraps a DEK with the AEAD under associatedData.
func (p *Provider) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	out, err := p.aead.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("tink %s: encrypt: %w", p.name, err)
	}
	return out, nil
}

// Decrypt unwraps a DEK with the AEAD under associatedData. An
// authentication failure wraps crypto.ErrAuthentication, so the key ring
// reports keyring.ErrUnwrapFailed.
func (p *Provider) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	out, err := p.aead.Decrypt(ciphertext, associatedData)
	if err != nil && strings.Contains(err.Error(), "decryption failed") {
		// Tink's AEADs fail authentication with "…decryption failed": a
		// wrong keyset or KMS key, or a changed record.
		return nil, fmt.Errorf("tink %s: decrypt: %w: %v", p.name, crypto.ErrAuthentication, err)
	}
	if err != nil {
		return nil, fmt.Errorf("tink %s: decrypt: %w", p.name, err)
	}
	return out, nil
}

// KEKName returns "tink:" and the provider's name.
func (p *Provider) KEKName([]byte) string { return "tink:" + p.name }
