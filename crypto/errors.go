package crypto

import "errors"

// Sentinel errors returned (wrapped) by this package. Test for them with
// errors.Is; the wrapping error adds the key id, table and column, never
// plaintext, key bytes or whole ciphertexts.
var (
	// ErrMalformed reports an envelope, text form or key encoding that does
	// not follow the format: truncated, extended, bad prefix, bad base64,
	// bad key id.
	ErrMalformed = errors.New("gmfield/crypto: malformed envelope")
	// ErrUnsupportedVersion reports an envelope whose format version this
	// package does not implement.
	ErrUnsupportedVersion = errors.New("gmfield/crypto: unsupported envelope version")
	// ErrUnsupportedAlgorithm reports an algorithm id that is unknown or
	// reserved but not implemented.
	ErrUnsupportedAlgorithm = errors.New("gmfield/crypto: unsupported algorithm")
	// ErrAuthentication reports a value that failed authentication: it was
	// tampered with, opened under the wrong table, column or row key, or
	// sealed under other key material with the same id.
	ErrAuthentication = errors.New("gmfield/crypto: message authentication failed")
	// ErrKeyNotFound is returned by a KeySource that has no key with the
	// requested id.
	ErrKeyNotFound = errors.New("gmfield/crypto: key not found")
	// ErrInvalidKey reports key material of the wrong size or form, or an
	// invalid key id.
	ErrInvalidKey = errors.New("gmfield/crypto: invalid key")
	// ErrKeyMismatch reports a DEK used outside its keyspace: a value whose
	// envelope names a DEK of another keyspace than the one its Location
	// maps to, or a seal with a DEK of another keyspace. Readers refuse it
	// before decrypting (docs/format.md §4 step 4).
	ErrKeyMismatch = errors.New("gmfield/crypto: key belongs to another keyspace")
	// ErrInvalidLocation reports a Location with an empty
	// table or column name.
	ErrInvalidLocation = errors.New("gmfield/crypto: invalid location")
	// ErrTooLarge reports a plaintext larger than MaxPlaintextSize.
	ErrTooLarge = errors.New("gmfield/crypto: value too large")
	// ErrInvalidInput reports input a function cannot take: an empty SM2
	// message, a blind-index value that is not valid UTF-8, an unknown
	// transform or index size.
	ErrInvalidInput = errors.New("gmfield/crypto: invalid input")
)
