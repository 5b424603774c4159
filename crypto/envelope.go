package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	fastb64 "github.com/gmfield/gmfield/crypto/internal/b64"
)

const (
	// Version2 is the envelope format version this package writes: byte 0
	// of every binary envelope (docs/format.md §1).
	Version2 byte = 0x02
	// Version1 is the first envelope version, still read where that is
	// safe (docs/format.md §4.1) and never written.
	Version1 byte = 0x01
	// TextPrefix starts the text form of a version 2 envelope; the standard
	// padded base64 of the binary envelope follows it.
	TextPrefix = "gmf2:"
	// TextPrefixV1 starts the text form of a version 1 envelope.
	TextPrefixV1 = "gmf1:"
	// MaxPlaintextSize is the largest value Seal accepts (64 MiB).
	MaxPlaintextSize = 64 << 20

	// aadLabel opens the associated data of every version 2 envelope;
	// aadLabelV1 that of version 1.
	aadLabel   = "gmfield:aad:v2"
	aadLabelV1 = "gmfield:aad:v1"
	// fixedHeaderLen is version, algorithm and key id length.
	fixedHeaderLen = 3
	// minBinaryLen is the shortest well-formed envelope: a 1-byte key id
	// and an empty plaintext.
	minBinaryLen = fixedHeaderLen + 1 + NonceSize + TagSize
)

var b64 = base64.StdEncoding.Strict()

// Location names where a value is stored. It is bound into the associated
// data of the envelope, so a value opens only at the Location it was sealed
// for (docs/format.md §3).
//
// Keyspace is the keyspace the place maps to under the deployment's key
// scope: a Key seals and opens only Locations of its own keyspace (key
// rings compute it; see keyring.Scope). Schema is the schema or database
// the table declares, or empty. Table and Column must be non-empty UTF-8;
// callers that treat SQL identifiers case-insensitively pass them in one
// canonical case (the sqldriver uses lower case). RowKey is optional: an
// empty RowKey binds no row, and a value sealed with one opens only with
// the same one.
type Location struct {
	Keyspace string
	Schema   string
	Table    string
	Column   string
	RowKey   string
}

func (l *Location) validate() error {
	if l.Table == "" || l.Column == "" {
		return fmt.Errorf("%w: table and column must be non-empty", ErrInvalidLocation)
	}
	return nil
}

// appendAAD appends the associated data of docs/format.md §3 for an
// envelope of the header's version:
//
//	v2: label ‖ header ‖ LP(keyspace) ‖ LP(schema) ‖ LP(table) ‖ LP(column) ‖ LP(row key)
//	v1: label ‖ header ‖ LP(table) ‖ LP(column) ‖ LP(row key)
func appendAAD(dst, header []byte, loc Location) []byte {
	return appendLP(appendAADPlace(dst, header, loc), loc.RowKey)
}

// appendAADPlace appends the associated data up to the row key: what the
// values of one column under one key share.
func appendAADPlace(dst, header []byte, loc Location) []byte {
	if header[0] == Version1 {
		dst = append(dst, aadLabelV1...)
		dst = append(dst, header...)
	} else {
		dst = append(dst, aadLabel...)
		dst = append(dst, header...)
		dst = appendLP(dst, loc.Keyspace)
		dst = appendLP(dst, loc.Schema)
	}
	dst = appendLP(dst, loc.Table)
	return appendLP(dst, loc.Column)
}

// appendLP appends a 4-byte big-endian length and the bytes of s.
func appendLP(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// scratch holds reusable buffers for associated data and intermediate
// binary envelopes, so that sealing allocates only its output. Nothing
// secret is ever kept in them: associated data and ciphertext only.
type scratchBufs struct {
	aad, bin []byte
	ctr      []byte // counter blocks and keystream of gcm.open
}

var scratch = sync.Pool{New: func() any {
	return &scratchBufs{aad: make([]byte, 0, 256), bin: make([]byte, 0, 256), ctr: make([]byte, 0, 256)}
}}

const maxPooled = 64 << 10

func getScratch() *scratchBufs { return scratch.Get().(*scratchBufs) }

// put returns s to the pool, keeping aad and bin as their new buffers
// unless one has grown past maxPooled.
func (s *scratchBufs) put(aad, bin []byte) {
	if cap(aad) > maxPooled || cap(bin) > maxPooled || cap(s.ctr) > maxPooled {
		return
	}
	s.aad, s.bin = aad[:0], bin[:0]
	scratch.Put(s)
}

// BinaryLen returns the length of the binary envelope of an n-byte value
// sealed under a key whose id has idLen bytes.
func BinaryLen(idLen, n int) int { return fixedHeaderLen + idLen + NonceSize + n + TagSize }

// TextLen returns the length of the text form of an n-byte value sealed
// under a key whose id has idLen bytes.
func TextLen(idLen, n int) int {
	return len(TextPrefix) + b64.EncodedLen(BinaryLen(idLen, n))
}

// Seal encrypts plaintext for loc with a fresh random nonce and appends the
// binary envelope to dst, returning the extended slice. dst and plaintext
// must not overlap. Use the binary form for binary (BLOB, BYTEA) columns.
func (k *Key) Seal(dst []byte, loc Location, plaintext []byte) ([]byte, error) {
	sc := getScratch()
	out, err := k.seal(dst, sc, loc, plaintext, nil)
	sc.put(sc.aad, sc.bin)
	return out, err
}

// SealText is Seal followed by the text encoding: it appends TextPrefix and
// the base64 of the binary envelope to dst. Use it for text columns.
func (k *Key) SealText(dst []byte, loc Location, plaintext []byte) ([]byte, error) {
	return k.sealText(dst, loc, plaintext, nil)
}

func (k *Key) sealText(dst []byte, loc Location, plaintext, nonce []byte) ([]byte, error) {
	sc := getScratch()
	bin, err := k.seal(sc.bin[:0], sc, loc, plaintext, nonce)
	if err != nil {
		sc.put(sc.aad, sc.bin)
		return nil, err
	}
	dst = appendText(dst, bin)
	sc.put(sc.aad, bin)
	return dst, nil
}

// appendText appends the text form of the binary envelope bin: the prefix
// of its version and the base64.
func appendText(dst, bin []byte) []byte {
	prefix := TextPrefix
	if len(bin) > 0 && bin[0] == Version1 {
		prefix = TextPrefixV1
	}
	ret, out := sliceForAppend(dst, len(prefix)+b64.EncodedLen(len(bin)))
	copy(out, prefix)
	b64.Encode(out[len(prefix):], bin)
	return ret
}

// seal does the work of Seal, with sc's buffers for the additional data
// and the SM4 blocks (sc keeps them, grown, for reuse). A nil nonce draws
// a fresh one from crypto/rand; only tests pass a nonce, to reproduce the
// format vectors.
func (k *Key) seal(dst []byte, sc *scratchBufs, loc Location, plaintext, nonce []byte) ([]byte, error) {
	if err := k.check(&loc, len(plaintext)); err != nil {
		return nil, err
	}
	ret, env := sliceForAppend(dst, BinaryLen(len(k.id), len(plaintext)))
	hdrLen := k.putHeader(env)
	n := env[hdrLen : hdrLen+NonceSize]
	if nonce == nil {
		// crypto/rand.Read never returns an error since Go 1.24: it
		// crashes the program rather than return a short read.
		_, _ = rand.Read(n)
	} else {
		copy(n, nonce)
	}
	sc.aad = appendAAD(sc.aad[:0], env[:hdrLen], loc)
	out := env[hdrLen+NonceSize:]
	if len(out) <= maxBatched {
		sc.ctr = k.gcm.seal(out, n, plaintext, sc.aad, sc.ctr)
	} else {
		k.aead.Seal(out[:0], n, plaintext, sc.aad)
	}
	return ret, nil
}

// check reports whether k may seal an n-byte value at loc.
func (k *Key) check(loc *Location, n int) error {
	if err := loc.validate(); err != nil {
		return err
	}
	if loc.Keyspace != k.keyspace {
		return fmt.Errorf("%w: key %s does not belong to keyspace %q of %s.%s", ErrKeyMismatch, k.id, loc.Keyspace, loc.Table, loc.Column)
	}
	if n > MaxPlaintextSize {
		return fmt.Errorf("%w: %s.%s: %d bytes, limit %d", ErrTooLarge, loc.Table, loc.Column, n, MaxPlaintextSize)
	}
	return nil
}

// putHeader writes k's version 2 envelope header to the start of env and
// returns its length.
func (k *Key) putHeader(env []byte) int {
	env[0] = Version2
	env[1] = byte(k.alg)
	env[2] = byte(len(k.id))
	return fixedHeaderLen + copy(env[fixedHeaderLen:], k.id)
}

// sliceForAppend extends in by n bytes, reallocating at most once, and
// returns the whole slice and the new tail (the crypto/cipher idiom).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	// slices.Grow grows as append does, so that a buffer appended to again
	// and again (a batch) is copied a constant number of times per byte.
	head = slices.Grow(in, n)[:len(in)+n]
	tail = head[len(in):]
	return
}

// Envelope is a parsed binary envelope. Its Nonce and Ciphertext alias the
// bytes it was parsed from.
type Envelope struct {
	// Version is the format version (Version2, or Version1).
	Version byte
	// Algorithm is the AEAD that sealed the value.
	Algorithm Algorithm
	// KeyID names the data key that sealed the value.
	KeyID string
	// Nonce is the 12-byte GCM nonce.
	Nonce []byte
	// Ciphertext is the GCM ciphertext followed by the 16-byte tag.
	Ciphertext []byte

	header []byte
}

// Parse decodes a binary envelope without opening it. It checks the
// structure only: version, algorithm, key id and lengths. Any deviation
// returns an error wrapping ErrMalformed, ErrUnsupportedVersion or
// ErrUnsupportedAlgorithm.
func Parse(b []byte) (Envelope, error) {
	var e Envelope
	err := parse(&e, b, nil)
	return e, err
}

// parse is Parse into e, which must be zero; ids, when set, are key ids
// seen before, whose string is reused for an envelope naming one of them
// (no allocation).
func parse(e *Envelope, b []byte, ids []string) error {
	if len(b) < 1 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != Version2 && b[0] != Version1 {
		return fmt.Errorf("%w: version 0x%02x", ErrUnsupportedVersion, b[0])
	}
	if len(b) < minBinaryLen {
		return fmt.Errorf("%w: %d bytes is shorter than the minimum %d", ErrMalformed, len(b), minBinaryLen)
	}
	alg := Algorithm(b[1])
	if alg != SM4GCM {
		return fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, alg)
	}
	idLen := int(b[2])
	if idLen == 0 || idLen > MaxKeyIDLen {
		return fmt.Errorf("%w: key id length %d", ErrMalformed, idLen)
	}
	hdrLen := fixedHeaderLen + idLen
	if len(b) < hdrLen+NonceSize+TagSize {
		return fmt.Errorf("%w: truncated", ErrMalformed)
	}
	if len(b)-hdrLen-NonceSize-TagSize > MaxPlaintextSize {
		return fmt.Errorf("%w: ciphertext longer than the limit", ErrMalformed)
	}
	id := b[fixedHeaderLen:hdrLen]
	for _, have := range ids {
		if have == string(id) { // compared without a copy; checked before
			e.KeyID = have
			break
		}
	}
	if e.KeyID == "" {
		if err := checkKeyID(id); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		e.KeyID = string(id)
	}
	e.Version = b[0]
	e.Algorithm = alg
	e.header = b[:hdrLen:hdrLen]
	e.Nonce = b[hdrLen : hdrLen+NonceSize : hdrLen+NonceSize]
	e.Ciphertext = b[hdrLen+NonceSize:]
	return nil
}

// IsText reports whether s starts with TextPrefix or TextPrefixV1, that is
// whether it looks like the text form of an envelope. It does not validate
// the rest.
func IsText(s []byte) bool {
	return bytes.HasPrefix(s, []byte(TextPrefix)) || bytes.HasPrefix(s, []byte(TextPrefixV1))
}

// ParseText decodes the text form of an envelope (its version's prefix and
// canonical padded base64, nothing else: no white space, no line breaks)
// and parses the binary envelope inside it.
func ParseText(s []byte) (Envelope, error) {
	bin, err := decodeText(nil, s)
	if err != nil {
		return Envelope{}, err
	}
	return Parse(bin)
}

// decodeText appends the binary envelope inside the text form s to dst.
// The prefix must agree with the version byte it decodes to.
func decodeText(dst, s []byte) ([]byte, error) {
	var version byte
	switch {
	case bytes.HasPrefix(s, []byte(TextPrefix)):
		version = Version2
	case bytes.HasPrefix(s, []byte(TextPrefixV1)):
		version = Version1
	default:
		return nil, fmt.Errorf("%w: missing %q prefix", ErrMalformed, TextPrefix)
	}
	body := s[len(TextPrefix):]
	if len(body)%4 != 0 || len(body) > b64.EncodedLen(BinaryLen(MaxKeyIDLen, MaxPlaintextSize)) {
		return nil, fmt.Errorf("%w: text form has a bad length", ErrMalformed)
	}
	ret, out := sliceForAppend(dst, b64.DecodedLen(len(body)))
	m, err := fastb64.Decode(out, body) // b64's decoding, faster
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	// The decoder skips CR and LF; the canonical form has none, so its
	// length must be exactly the encoded length of what it decoded to.
	if b64.EncodedLen(m) != len(body) {
		return nil, fmt.Errorf("%w: text form is not canonical base64", ErrMalformed)
	}
	if m > 0 && out[0] != version {
		return nil, fmt.Errorf("%w: text prefix does not match version 0x%02x", ErrMalformed, out[0])
	}
	return ret[:len(dst)+m], nil
}

// Open authenticates and decrypts the binary envelope b sealed for loc,
// finding its key in keys, and appends the plaintext to dst. A value whose
// key belongs to another keyspace than loc's returns an error wrapping
// ErrKeyMismatch, without decrypting; a value that was altered, or sealed
// for another Location, an error wrapping ErrAuthentication.
func Open(dst []byte, keys KeySource, loc Location, b []byte) ([]byte, error) {
	if err := loc.validate(); err != nil {
		return nil, err
	}
	e, err := Parse(b)
	if err != nil {
		return nil, err
	}
	sc := getScratch()
	out, err := e.open(dst, sc, keys, loc)
	sc.put(sc.aad, sc.bin)
	return out, err
}

// OpenText is Open for the text form of an envelope.
func OpenText(dst []byte, keys KeySource, loc Location, s []byte) ([]byte, error) {
	if err := loc.validate(); err != nil {
		return nil, err
	}
	sc := getScratch()
	bin, err := decodeText(sc.bin, s)
	if err != nil {
		sc.put(sc.aad, sc.bin)
		return nil, err
	}
	e, err := Parse(bin)
	if err != nil {
		sc.put(sc.aad, bin)
		return nil, err
	}
	out, err := e.open(dst, sc, keys, loc)
	sc.put(sc.aad, bin)
	return out, err
}

// Open authenticates and decrypts e, sealed for loc, with its key from keys
// and appends the plaintext to dst.
func (e Envelope) Open(dst []byte, keys KeySource, loc Location) ([]byte, error) {
	if err := loc.validate(); err != nil {
		return nil, err
	}
	if (e.Version != Version2 && e.Version != Version1) || e.header == nil || e.header[0] != e.Version ||
		len(e.Nonce) != NonceSize || len(e.Ciphertext) < TagSize || len(e.Ciphertext)-TagSize > MaxPlaintextSize {
		return nil, fmt.Errorf("%w: envelope was not produced by Parse", ErrMalformed)
	}
	sc := getScratch()
	out, err := e.open(dst, sc, keys, loc)
	sc.put(sc.aad, sc.bin)
	return out, err
}

// open opens e at loc with its key from keys, appending the plaintext to
// dst, with sc's buffers for the additional data and the SM4 blocks (sc
// keeps them, grown, for reuse).
func (e Envelope) open(dst []byte, sc *scratchBufs, keys KeySource, loc Location) ([]byte, error) {
	k, aad, err := e.keyFor(sc.aad, keys, loc)
	sc.aad = aad
	if err != nil {
		return nil, err
	}
	if len(e.Ciphertext) <= maxBatched {
		out, ctr, ok := k.gcm.open(dst, e.Nonce, e.Ciphertext, aad, sc.ctr)
		sc.ctr = ctr
		if !ok {
			return nil, e.authError(loc)
		}
		return out, nil
	}
	out, err := k.aead.Open(dst, e.Nonce, e.Ciphertext, aad)
	if err != nil {
		return nil, e.authError(loc)
	}
	return out, nil
}

func (e Envelope) authError(loc Location) error {
	return fmt.Errorf("%w: %s.%s under key %s", ErrAuthentication, loc.Table, loc.Column, e.KeyID)
}

// keyFor finds e's key in keys and checks that it may open e at loc, and
// appends e's additional data for loc to aadBuf.
func (e *Envelope) keyFor(aadBuf []byte, keys KeySource, loc Location) (*Key, []byte, error) {
	k, err := e.key(keys, &loc)
	if err != nil {
		return nil, aadBuf, err
	}
	return k, appendAAD(aadBuf[:0], e.header, loc), nil
}

// key finds e's key in keys and checks that it may open e at loc: the
// checks of every opening, one value or a batch.
func (e *Envelope) key(keys KeySource, loc *Location) (*Key, error) {
	k, err := keys.Key(e.KeyID)
	if err != nil {
		// A KeySource names the id it could not give (the key ring does);
		// it is added for one that does not, and never twice.
		if !strings.Contains(err.Error(), e.KeyID) {
			err = fmt.Errorf("key %s: %w", e.KeyID, err)
		}
		return nil, fmt.Errorf("%s.%s: %w", loc.Table, loc.Column, err)
	}
	if k == nil || k.id != e.KeyID {
		return nil, fmt.Errorf("%s.%s: key %s: %w", loc.Table, loc.Column, e.KeyID, ErrKeyNotFound)
	}
	if k.keyspace != loc.Keyspace {
		return nil, fmt.Errorf("%s.%s: %w: key %s does not belong to keyspace %q", loc.Table, loc.Column, ErrKeyMismatch, e.KeyID, loc.Keyspace)
	}
	if k.alg != e.Algorithm {
		return nil, fmt.Errorf("%w: key %s is %s, envelope is %s", ErrAuthentication, e.KeyID, k.alg, e.Algorithm)
	}
	if e.Version == Version1 && loc.Schema != "" {
		return nil, fmt.Errorf("%w: %s.%s: a version 1 value binds no schema and cannot open where schema %q is declared", ErrUnsupportedVersion, loc.Table, loc.Column, loc.Schema)
	}
	return k, nil
}
