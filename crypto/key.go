package crypto

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// Algorithm identifies the AEAD that sealed an envelope. It is byte 1 of
// every envelope.
type Algorithm byte

const (
	// SM4GCM is SM4 (GB/T 32907) in GCM mode: 128-bit key, 96-bit nonce,
	// 128-bit tag.
	SM4GCM Algorithm = 0x01
	// AES256GCM is reserved for deployments outside the GM/T regime. It is
	// not implemented: NewKey and Open return ErrUnsupportedAlgorithm.
	AES256GCM Algorithm = 0x02
)

// String returns the algorithm's name as docs/format.md spells it.
func (a Algorithm) String() string {
	switch a {
	case SM4GCM:
		return "SM4-GCM"
	case AES256GCM:
		return "AES-256-GCM"
	default:
		return fmt.Sprintf("Algorithm(0x%02x)", byte(a))
	}
}

const (
	// KeySize is the size in bytes of an SM4-GCM data key.
	KeySize = 16
	// NonceSize is the size in bytes of the random nonce in every envelope.
	NonceSize = 12
	// TagSize is the size in bytes of the GCM authentication tag.
	TagSize = 16
	// MaxKeyIDLen is the longest key id an envelope can carry.
	MaxKeyIDLen = 64
	// MaxSealsPerKey is the most values one key may seal with random
	// nonces (NIST SP 800-38D §8.3): the probability of a nonce collision
	// stays below 2⁻³³. Key rings rotate a key before it reaches this.
	MaxSealsPerKey uint64 = 1 << 32
)

// Key is a data-encryption key (DEK) with its id and keyspace, ready to
// seal and open values. It holds one cipher.AEAD, built once, so sealing
// does not pay for key set-up. A Key is safe for concurrent use.
//
// A Key seals and opens only values whose Location names its keyspace:
// a DEK of one keyspace can neither open nor forge the values of another.
type Key struct {
	id       string
	keyspace string
	alg      Algorithm
	aead     cipher.AEAD // seals, and opens long values
	gcm      *gcm        // opens values of up to maxBatched bytes
}

// NewKey returns a Key named id, belonging to keyspace, for the algorithm
// alg, built from secret, which is not retained. The id must follow
// ValidateKeyID; the secret must be KeySize bytes for SM4GCM. Key rings
// pass the keyspace of the DEK's record; a key used outside a key ring may
// have the empty keyspace, and then seals and opens only Locations whose
// Keyspace is empty.
func NewKey(id, keyspace string, alg Algorithm, secret []byte) (*Key, error) {
	if err := ValidateKeyID(id); err != nil {
		return nil, err
	}
	if alg != SM4GCM {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, alg)
	}
	if len(secret) != KeySize {
		return nil, fmt.Errorf("%w: key %s: SM4 key must be %d bytes, got %d", ErrInvalidKey, id, KeySize, len(secret))
	}
	block, err := sm4.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %v", ErrInvalidKey, id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %v", ErrInvalidKey, id, err)
	}
	return &Key{id: id, keyspace: keyspace, alg: alg, aead: aead, gcm: newGCM(block)}, nil
}

// ID returns the key's id, as written into every envelope it seals.
func (k *Key) ID() string { return k.id }

// Keyspace returns the keyspace the key belongs to.
func (k *Key) Keyspace() string { return k.keyspace }

// Algorithm returns the key's algorithm.
func (k *Key) Algorithm() Algorithm { return k.alg }

// Key makes a single Key a KeySource: it returns k when id is k's id and
// ErrKeyNotFound otherwise.
func (k *Key) Key(id string) (*Key, error) {
	if id != k.id {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
	}
	return k, nil
}

// KeySource finds the key an envelope names. Key rings implement it; it
// must return an error wrapping ErrKeyNotFound for an unknown id. Its
// errors should name the id: Open adds the id only to an error that does
// not, and adds the value's table and column.
type KeySource interface {
	Key(id string) (*Key, error)
}

// ReservedKeyIDPrefix starts the ids of the key ring's blind-index root
// keys (docs/format.md §8.2). No envelope may name such an id.
const ReservedKeyIDPrefix = "index-root"

// ValidateKeyID reports whether id can name a key in an envelope
// (docs/format.md §1.1): 1 to MaxKeyIDLen bytes, each one of a–z 0–9
// . _ - :, starting with a letter or a digit, and not starting with
// ReservedKeyIDPrefix. Lower case only, so that two ids never differ by
// case alone; the first byte rule keeps ".", ".." and hidden-file names out.
func ValidateKeyID(id string) error {
	if err := checkKeyID([]byte(id)); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidKey, err)
	}
	return nil
}

// checkKeyID is ValidateKeyID without the wrapping, for Parse.
func checkKeyID(id []byte) error {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return fmt.Errorf("key id must be 1 to %d bytes, got %d", MaxKeyIDLen, len(id))
	}
	if c := id[0]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return errors.New("key id must start with a-z or 0-9")
	}
	for i, c := range id {
		if !keyIDByte(c) {
			return fmt.Errorf("key id has a byte outside a-z 0-9 . _ - : at offset %d", i)
		}
	}
	if bytes.HasPrefix(id, []byte(ReservedKeyIDPrefix)) {
		return fmt.Errorf("key id %q is reserved", ReservedKeyIDPrefix)
	}
	return nil
}

func keyIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':'
}
