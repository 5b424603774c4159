package keyring

import (
	"errors"

	"github.com/gmfield/gmfield/crypto"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrKeyNotFound reports a DEK id the store does not hold. It is
	// crypto.ErrKeyNotFound, so either name matches.
	ErrKeyNotFound = crypto.ErrKeyNotFound
	// ErrKeyDestroyed reports a DEK that was destroyed: the values it
	// sealed can no longer be read.
	ErrKeyDestroyed = errors.New("gmfield/keyring: key destroyed")
	// ErrProviderUnavailable reports a KEK provider that cannot be reached
	// or is sealed. Providers wrap their transport errors with it.
	ErrProviderUnavailable = errors.New("gmfield/keyring: key provider unavailable")
	// ErrCannotUnwrap reports a provider that can wrap but not unwrap, such
	// as an SM2 provider holding only the public key.
	ErrCannotUnwrap = errors.New("gmfield/keyring: provider cannot unwrap")
	// ErrUnwrapFailed reports a wrapped DEK or blind-index root that fails
	// authentication under the key ring's KEK: most often the KEK (master
	// key file or environment variable, SM2 key, Transit key, KMS key) is
	// not the one the key ring was made with, else the record was edited.
	// The error names the KEK (its description and fingerprint, never key
	// bytes) and wraps the provider's error (crypto.ErrAuthentication).
	ErrUnwrapFailed = errors.New("gmfield/keyring: wrapped key does not authenticate")
	// ErrConflict reports a record changed by someone else since it was
	// read (a failed compare-and-swap); the keyring retries.
	ErrConflict = errors.New("gmfield/keyring: record changed concurrently")
	// ErrExists reports a record id that is already stored.
	ErrExists = errors.New("gmfield/keyring: key already exists")
	// ErrCorrupt reports stored key material that cannot be read back: a
	// truncated, half-written or edited record.
	ErrCorrupt = errors.New("gmfield/keyring: corrupt key record")
)
