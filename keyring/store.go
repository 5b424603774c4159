package keyring

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gmfield/gmfield/crypto"
)

// State is the life-cycle state of a DEK.
type State string

const (
	// StateActive: the DEK seals new values of its keyspace.
	StateActive State = "active"
	// StateDecryptOnly: the DEK was rotated out; it opens old values.
	StateDecryptOnly State = "decrypt-only"
	// StateDestroyed: the DEK's key material is gone; its values are
	// unreadable.
	StateDestroyed State = "destroyed"
)

// Record is a stored DEK: its id and keyspace, state, the KEK that wrapped
// it, the wrapped key (nil once destroyed), and how many seals have been
// reserved under it.
type Record struct {
	ID        string    `json:"id"`
	Keyspace  string    `json:"keyspace"`
	State     State     `json:"state"`
	Created   time.Time `json:"created"`
	Retired   time.Time `json:"retired,omitzero"`
	Destroyed time.Time `json:"destroyed,omitzero"`
	// KEK names the key-encryption key (and its version, where the
	// provider has versions) that wrapped the DEK.
	KEK string `json:"kek"`
	// Wrapped is the provider's ciphertext of the 16-byte DEK.
	Wrapped []byte `json:"wrapped,omitempty"`
	// Seals is the high-water mark of seals reserved under the DEK by all
	// processes; it only grows.
	Seals uint64 `json:"seals"`
	// Sig is, under a provider that signs records (RecordSigner: SM2),
	// the signature of RecordMessage by the private key; nil otherwise,
	// and on records made by a process that holds only the public key.
	Sig []byte `json:"sig,omitempty"`
	// Rev is the record's revision, for compare-and-swap updates.
	Rev uint64 `json:"rev"`
}

// RecordMessage is what a RecordSigner signs for a record:
// "gmfield:record:v1" ‖ LP(id) ‖ LP(keyspace) ‖ LP(wrapped)
// (docs/format.md §8.5).
func RecordMessage(id, keyspace string, wrapped []byte) []byte {
	return labelled("gmfield:record:v1", []byte(id), []byte(keyspace), wrapped)
}

// labelled is label ‖ LP(field) ‖ …, LP being a 4-byte big-endian length
// and the bytes.
func labelled(label string, fields ...[]byte) []byte {
	n := len(label)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, label...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// Validate checks a record a Store read back under id: the id matches,
// the id and keyspace follow docs/format.md §8.1–8.2 and agree (a DEK id
// with a DEK keyspace, a root's reserved id with its reserved keyspace),
// the creation time and revision are set, and the state is known,
// with a wrapped key unless destroyed and none once destroyed. Every Store
// calls it, so a damaged record is ErrCorrupt wherever it is kept.
func (r Record) Validate(id string) error {
	bad := func(why string) error { return fmt.Errorf("%w: key %s: %s", ErrCorrupt, id, why) }
	switch {
	case r.ID != id:
		return bad("id does not match its name")
	case r.Keyspace == "":
		return bad("no keyspace")
	case checkRecordNames(r.ID, r.Keyspace) != nil:
		return bad(checkRecordNames(r.ID, r.Keyspace).Error())
	case r.Created.IsZero():
		return bad("no creation time")
	case r.Rev == 0:
		return bad("no revision")
	}
	switch r.State {
	case StateActive, StateDecryptOnly:
		if len(r.Wrapped) == 0 {
			return bad("no wrapped key")
		}
	case StateDestroyed:
		if len(r.Wrapped) != 0 {
			return bad("destroyed key still holds key material")
		}
		if len(r.Sig) != 0 {
			return bad("destroyed key still holds a signature")
		}
	default:
		return bad("unknown state " + string(r.State))
	}
	return nil
}

// Store persists wrapped DEKs. Implementations must be safe for
// concurrent use; Update is a compare-and-swap: it stores r only if the
// stored revision equals r.Rev, storing r.Rev+1, and otherwise returns
// ErrConflict.
type Store interface {
	// Create stores a new record (Rev 0 is stored as 1), or returns
	// ErrExists.
	Create(ctx context.Context, r Record) error
	// Update replaces a record if its revision still equals r.Rev.
	Update(ctx context.Context, r Record) error
	// Get returns a record, or an error wrapping ErrKeyNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// List returns every record.
	List(ctx context.Context) ([]Record, error)
}

// Provider wraps and unwraps DEKs with a key-encryption key. It has the
// method set of tink.AEAD, so any Tink AEAD (cloud KMS clients, Vault
// through tink-go-hcvault) is a Provider. Errors caused by an unreachable
// or sealed KMS should wrap ErrProviderUnavailable.
type Provider interface {
	Encrypt(plaintext, associatedData []byte) ([]byte, error)
	Decrypt(ciphertext, associatedData []byte) ([]byte, error)
}

// KEKNamer is implemented by providers that can name the KEK (and version)
// a wrapped key was made with; the name is recorded in Record.KEK.
type KEKNamer interface {
	KEKName(wrapped []byte) string
}

// RecordSigner is implemented by providers whose wrapping does not show
// who made a record, because a public key wraps (SM2). A keyring whose
// provider holds the private key signs every record it creates or rewraps,
// seals new values only under DEKs whose signature verifies, and uses only
// signed blind-index roots (docs/keys.md, "Trust model").
type RecordSigner interface {
	// SignRecord signs msg (RecordMessage). A provider that holds only the
	// public key returns an error wrapping ErrCannotUnwrap.
	SignRecord(msg []byte) ([]byte, error)
	// VerifyRecord reports whether sig is the provider's signature of msg.
	VerifyRecord(msg, sig []byte) bool
}

// Rewrapper is implemented by providers that can move a wrapped key to
// their newest KEK version without revealing it (Vault Transit rewrap).
type Rewrapper interface {
	Rewrap(wrapped, associatedData []byte) ([]byte, error)
}

// AssociatedData returns the associated data that binds a wrapped DEK to
// its id and keyspace: "gmfield:dek:v1" ‖ LP(id) ‖ LP(keyspace), LP being a
// 4-byte big-endian length and the bytes (docs/format.md §8).
func AssociatedData(id, keyspace string) []byte {
	return labelled("gmfield:dek:v1", []byte(id), []byte(keyspace))
}

// openOnlyAD is the associated data of a record rewrapped from a KEK
// that signs (SM2) to one that does not, when it was not signed:
// "gmfield:dek-open:v1" ‖ LP(id) ‖ LP(keyspace) (docs/format.md §8.5). The
// new KEK then authenticates that the record only opens values: no
// keyring seals under it or uses it as a blind-index root, and nobody
// without the KEK can turn it into an ordinary record.
func openOnlyAD(id, keyspace string) []byte {
	return labelled("gmfield:dek-open:v1", []byte(id), []byte(keyspace))
}

// PrefixAD returns SM3(associatedData) ‖ key: what a provider whose
// encryption takes no associated data (SM2, Vault Transit) encrypts, so
// that the associated data is still bound (docs/format.md §8).
func PrefixAD(key, associatedData []byte) []byte {
	h := sm3.Sum(associatedData)
	return append(h[:], key...)
}

// StripAD checks that msg starts with SM3(associatedData), in constant
// time, and returns the key after it; a mismatch (a wrapped key moved to
// another id or keyspace) returns crypto.ErrAuthentication.
func StripAD(msg, associatedData []byte) ([]byte, error) {
	h := sm3.Sum(associatedData)
	if len(msg) <= len(h) || subtle.ConstantTimeCompare(msg[:len(h)], h[:]) != 1 {
		return nil, fmt.Errorf("%w: wrapped key belongs to another id or keyspace", crypto.ErrAuthentication)
	}
	return msg[len(h):], nil
}
