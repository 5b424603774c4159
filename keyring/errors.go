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
	// ErrConflict reports a record changed by someone else since it was
	// read (a failed compare-and-swap); the keyring retries.
	ErrConflict = errors.New("gmfield/keyring: record changed concurrently")
	// ErrExists reports a record id that is already stored.
	ErrExists = errors.New("gmfield/keyring: key already exists")
	// ErrCorrupt reports stored key material that cannot be read back: a
	// truncated, half-written or edited record.
	ErrCorrupt = errors.New("gmfield/keyring: corrupt key record")
)
