// Package local holds key-encryption-key providers whose keys live with
// the application: an SM4 master key (wrapping with SM4-GCM) and an SM2
// key pair (wrapping with the public key, unwrapping with the private
// key). The wrapped forms are specified in docs/format.md §8.
package local

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
)

// MasterKeyEnv is the environment variable SM4FromEnv reads: the SM4
// master key as 32 hex digits.
const MasterKeyEnv = "GMFIELD_MASTER_KEY"

// SM4 wraps DEKs with an SM4-GCM master key (crypto.KEK).
type SM4 struct {
	kek  *crypto.KEK
	name string
}

// NewSM4 returns a provider for a 16-byte master key, which is not
// retained.
func NewSM4(master []byte) (*SM4, error) {
	kek, err := crypto.NewKEK(master)
	if err != nil {
		return nil, err
	}
	return &SM4{kek: kek, name: "sm4:" + fingerprint("sm4", master)}, nil
}

// ParseSM4Hex returns a provider for a master key written as 32 hex
// digits (surrounding white space ignored).
func ParseSM4Hex(s string) (*SM4, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: master key is not hex", crypto.ErrInvalidKey)
	}
	defer clear(b)
	return NewSM4(b)
}

// LoadSM4 reads a hex master key from a file, which must not be readable
// by group or others.
func LoadSM4(path string) (*SM4, error) {
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gmfield/keyring/local: master key: %w", err)
	}
	defer clear(b)
	return ParseSM4Hex(string(b))
}

// SM4FromEnv returns a provider for the master key in $GMFIELD_MASTER_KEY.
func SM4FromEnv() (*SM4, error) {
	v := os.Getenv(MasterKeyEnv)
	if v == "" {
		return nil, fmt.Errorf("%w: %s is not set", crypto.ErrInvalidKey, MasterKeyEnv)
	}
	return ParseSM4Hex(v)
}

// Encrypt wraps a DEK under associatedData.
func (p *SM4) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	return p.kek.Wrap(plaintext, associatedData)
}

// Decrypt unwraps a DEK wrapped by Encrypt under the same master key and
// associatedData.
func (p *SM4) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	return p.kek.Unwrap(ciphertext, associatedData)
}

// KEKName names the master key by a fingerprint: "sm4:" and 16 hex digits.
func (p *SM4) KEKName([]byte) string { return p.name }

// SM2 wraps DEKs with an SM2 public key and unwraps them with the private
// key. The SM2 plaintext is SM3(associatedData) ‖ DEK, so the associated
// data is bound and checked on unwrap. A provider made from the public key
// alone wraps but cannot unwrap (ErrCannotUnwrap). Because the public key
// wraps, SM2 is a keyring.RecordSigner: records are signed with the
// private key, and the keyring trusts only signed ones for sealing.
type SM2 struct {
	pub  *crypto.SM2PublicKey
	priv *crypto.SM2PrivateKey
	name string
}

// NewSM2 returns a provider that wraps and unwraps with priv.
func NewSM2(priv *crypto.SM2PrivateKey) (*SM2, error) {
	p, err := NewSM2Public(priv.Public())
	if err != nil {
		return nil, err
	}
	p.priv = priv
	return p, nil
}

// NewSM2Public returns a provider that can only wrap.
func NewSM2Public(pub *crypto.SM2PublicKey) (*SM2, error) {
	pemBytes, err := pub.MarshalPEM()
	if err != nil {
		return nil, err
	}
	return &SM2{pub: pub, name: "sm2:" + fingerprint("sm2", pemBytes)}, nil
}

// LoadSM2 reads a PEM key file: a PKCS#8 private key gives a provider that
// wraps and unwraps, a PKIX public key one that only wraps. A private key
// file must not be readable by group or others.
func LoadSM2(path string) (*SM2, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gmfield/keyring/local: SM2 key: %w", err)
	}
	if bytes.Contains(b, []byte("PRIVATE KEY")) {
		if err := checkPrivate(path); err != nil {
			return nil, err
		}
		priv, err := crypto.ParseSM2PrivateKeyPEM(b)
		if err != nil {
			return nil, err
		}
		return NewSM2(priv)
	}
	pub, err := crypto.ParseSM2PublicKeyPEM(b)
	if err != nil {
		return nil, err
	}
	return NewSM2Public(pub)
}

// Encrypt wraps a DEK with the public key.
func (p *SM2) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("%w: nothing to wrap", crypto.ErrInvalidInput)
	}
	msg := keyring.PrefixAD(plaintext, associatedData)
	defer clear(msg)
	return p.pub.Encrypt(msg)
}

// Decrypt unwraps a DEK with the private key and checks its associated
// data.
func (p *SM2) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	if p.priv == nil {
		return nil, fmt.Errorf("%w: SM2 public key only", keyring.ErrCannotUnwrap)
	}
	msg, err := p.priv.Decrypt(ciphertext)
	if err != nil {
		return nil, err
	}
	key, err := keyring.StripAD(msg, associatedData)
	if err != nil {
		clear(msg)
	}
	return key, err
}

// KEKName names the key pair by a fingerprint of its public key.
func (p *SM2) KEKName([]byte) string { return p.name }

// SignRecord signs a key record's message (keyring.RecordMessage) with
// the private key (docs/format.md §8.5); a public-key-only provider
// returns an error wrapping keyring.ErrCannotUnwrap.
func (p *SM2) SignRecord(msg []byte) ([]byte, error) {
	if p.priv == nil {
		return nil, fmt.Errorf("%w: SM2 public key only: cannot sign key records", keyring.ErrCannotUnwrap)
	}
	return p.priv.Sign(msg)
}

// VerifyRecord reports whether sig is the key pair's signature of msg.
func (p *SM2) VerifyRecord(msg, sig []byte) bool {
	return len(sig) != 0 && p.pub.Verify(msg, sig)
}

// fingerprint is 8 bytes of SM3("gmfield:kek-fingerprint:" ‖ kind ‖ ":" ‖
// material), in hex: enough to tell KEKs apart, useless to recover them.
func fingerprint(kind string, material []byte) string {
	h := sm3.New()
	h.Write([]byte("gmfield:kek-fingerprint:" + kind + ":"))
	h.Write(material)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// checkPrivate refuses key files readable by group or others.
func checkPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("gmfield/keyring/local: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s is readable by group or others (mode %v); chmod 600 it", crypto.ErrInvalidKey, path, fi.Mode().Perm())
	}
	return nil
}
