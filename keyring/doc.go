// Package keyring manages data-encryption keys (DEKs): it hands out the
// current DEK of a keyspace and any DEK by id, stores DEKs only wrapped by
// a key-encryption key (KEK) from a Provider, caches unwrapped DEKs in
// memory with a TTL and a size bound, rotates DEKs (by hand, and by itself
// before a DEK has sealed crypto.MaxSealsPerKey values), rewraps every DEK
// under a new KEK without touching data, and destroys DEKs on purpose
// (crypto-shredding).
//
// Providers (local SM4 and SM2 master keys, Vault, Tink) live in
// subpackages; stores in this package (Dir) and its subpackages. The
// package knows nothing of SQL or masking.
package keyring
