// Package masking holds role-aware dynamic masking for Chinese personal
// data: masking functions (names, resident IDs, phone numbers, bank cards,
// addresses, plates, credit codes, IPs, dates and generic rules), keyed
// pseudonyms, detectors that recognize PII, and the role policy that
// decides, per principal and column, between plain, mask, hash, null and
// deny.
//
// Masking never decrypts: it works on plaintext handed to it, and the
// policy lets a caller decide before decrypting whether a value will be
// shown at all. Every function counts characters (runes), accepts
// full-width digits and letters, and never returns a non-empty input
// unchanged: a value too short or malformed for its rule is masked
// entirely.
package masking
