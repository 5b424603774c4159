package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/text/unicode/norm"
)

const (
	// IndexRootSize is the size in bytes of a blind-index root key.
	IndexRootSize = 32
	// DefaultIndexSize is the default length in bytes of a blind index.
	DefaultIndexSize = 16
	// MinIndexSize and MaxIndexSize bound the configurable index length.
	MinIndexSize = 8
	MaxIndexSize = 32

	indexInfoLabel = "gmfield:bidx:v1"
	indexKeySize   = 32
)

// Transform is how a value is normalized before it is indexed. Each
// transform of a column is a separate index with its own derived key.
type Transform string

// The transforms of docs/format.md §5. All of them first apply Unicode NFKC
// (full-width digits and letters become ASCII) and trim leading and
// trailing white space.
const (
	// TransformFull indexes the whole normalized value, case-sensitively.
	TransformFull Transform = "full"
	// TransformLower lower-cases the value (e-mail addresses).
	TransformLower Transform = "lower"
	// TransformUpper upper-cases the value (resident IDs ending in X,
	// licence plates, credit codes).
	TransformUpper Transform = "upper"
	// TransformDigits keeps only the ASCII digits 0–9 (phone numbers
	// written with spaces, dashes or a +86 prefix).
	TransformDigits Transform = "digits"
	// TransformLast4 keeps the last four digits (all of them if fewer),
	// for suffix search such as LIKE '%1234'.
	TransformLast4 Transform = "last4"
)

// ParseTransform returns the Transform named s, or an error wrapping
// ErrInvalidInput.
func ParseTransform(s string) (Transform, error) {
	switch t := Transform(s); t {
	case TransformFull, TransformLower, TransformUpper, TransformDigits, TransformLast4:
		return t, nil
	}
	return "", fmt.Errorf("%w: unknown index transform %q", ErrInvalidInput, s)
}

// Normalize appends the normalized form of value to dst. value must be
// valid UTF-8.
func (t Transform) Normalize(dst, value []byte) ([]byte, error) {
	if !utf8.Valid(value) {
		return nil, fmt.Errorf("%w: index input is not UTF-8", ErrInvalidInput)
	}
	start := len(dst)
	if isASCII(value) {
		// ASCII is invariant under NFKC.
		dst = append(dst, value...)
	} else {
		dst = norm.NFKC.Append(dst, value...)
	}
	v := trimSpace(dst[start:])
	switch t {
	case TransformFull:
	case TransformLower:
		v = foldCase(v, unicode.ToLower, 'A', 'Z', 'a'-'A')
	case TransformUpper:
		v = foldCase(v, unicode.ToUpper, 'a', 'z', 'A'-'a')
	case TransformDigits, TransformLast4:
		w := 0
		for _, c := range v {
			if c >= '0' && c <= '9' {
				v[w] = c
				w++
			}
		}
		v = v[:w]
		if t == TransformLast4 && len(v) > 4 {
			v = v[len(v)-4:]
		}
	default:
		return nil, fmt.Errorf("%w: unknown index transform %q", ErrInvalidInput, string(t))
	}
	// v lies inside dst[start:] or is a fresh slice; append copies with
	// memmove semantics, so the overlap is safe.
	return append(dst[:start], v...), nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[n:]
	}
	for len(b) > 0 {
		r, n := utf8.DecodeLastRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[:len(b)-n]
	}
	return b
}

// foldCase maps the case of b in place when it is ASCII, and through
// strings.Map otherwise (the mapped text may change length).
func foldCase(b []byte, f func(rune) rune, lo, hi byte, delta int) []byte {
	if isASCII(b) {
		for i, c := range b {
			if c >= lo && c <= hi {
				b[i] = byte(int(c) + delta)
			}
		}
		return b
	}
	return []byte(strings.Map(f, string(b)))
}

// IndexRoot is the root key from which every column's blind-index key is
// derived with HKDF-SM3. It is safe for concurrent use.
type IndexRoot struct {
	secret []byte
}

// NewIndexRoot returns an IndexRoot for a secret of IndexRootSize bytes.
// The secret is copied.
func NewIndexRoot(secret []byte) (*IndexRoot, error) {
	if len(secret) != IndexRootSize {
		return nil, fmt.Errorf("%w: index root key must be %d bytes, got %d", ErrInvalidKey, IndexRootSize, len(secret))
	}
	return &IndexRoot{secret: append([]byte(nil), secret...)}, nil
}

// IndexSpec names one blind index: the column it indexes, its transform
// and its length in bytes (0 means DefaultIndexSize).
type IndexSpec struct {
	Table     string
	Column    string
	Transform Transform
	Size      int
}

// Index computes one blind index: HMAC-SM3 under the index's derived key
// of the normalized value, truncated. It is safe for concurrent use.
type Index struct {
	spec IndexSpec
	pool sync.Pool // of *indexState
}

type indexState struct {
	mac  hash.Hash
	norm []byte
	sum  []byte
}

// Index derives the key of the index spec names and returns the Index.
func (r *IndexRoot) Index(spec IndexSpec) (*Index, error) {
	if spec.Size == 0 {
		spec.Size = DefaultIndexSize
	}
	if spec.Size < MinIndexSize || spec.Size > MaxIndexSize {
		return nil, fmt.Errorf("%w: index size must be %d to %d bytes, got %d", ErrInvalidInput, MinIndexSize, MaxIndexSize, spec.Size)
	}
	if _, err := ParseTransform(string(spec.Transform)); err != nil {
		return nil, err
	}
	loc := Location{Table: spec.Table, Column: spec.Column}
	if err := loc.validate(); err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sm3.New, r.secret, nil, indexInfo(spec), indexKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving index key for %s.%s: %v", ErrInvalidKey, spec.Table, spec.Column, err)
	}
	ix := &Index{spec: spec}
	ix.pool.New = func() any {
		return &indexState{mac: hmac.New(sm3.New, key), norm: make([]byte, 0, 64), sum: make([]byte, 0, sm3.Size)}
	}
	return ix, nil
}

// indexInfo is the HKDF info of docs/format.md §5:
// label ‖ LP(table) ‖ LP(column) ‖ LP(transform).
func indexInfo(spec IndexSpec) string {
	b := []byte(indexInfoLabel)
	b = appendLP(b, spec.Table)
	b = appendLP(b, spec.Column)
	b = appendLP(b, string(spec.Transform))
	return string(b)
}

// Spec returns the index's specification, with Size filled in.
func (ix *Index) Spec() IndexSpec { return ix.spec }

// Sum appends the blind index of value (Size raw bytes) to dst. value must
// be valid UTF-8.
func (ix *Index) Sum(dst, value []byte) ([]byte, error) {
	st := ix.pool.Get().(*indexState)
	defer ix.pool.Put(st)
	n, err := ix.spec.Transform.Normalize(st.norm[:0], value)
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %w", ix.spec.Table, ix.spec.Column, err)
	}
	if cap(n) <= maxPooled {
		st.norm = n[:0]
	}
	st.mac.Reset()
	st.mac.Write(n)
	st.sum = st.mac.Sum(st.sum[:0])
	clear(n)
	return append(dst, st.sum[:ix.spec.Size]...), nil
}

// SumHex appends the blind index of value as lower-case hex (2×Size
// characters), the form stored in a text index column.
func (ix *Index) SumHex(dst, value []byte) ([]byte, error) {
	var raw [MaxIndexSize]byte
	s, err := ix.Sum(raw[:0], value)
	if err != nil {
		return nil, err
	}
	return hex.AppendEncode(dst, s), nil
}
