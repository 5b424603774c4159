package masking

import (
	"crypto/hkdf"
	"crypto/hmac"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
)

// keyedState holds the HMAC-SM3 subkey of a hash or pseudonym rule.
type keyedState struct {
	pool   sync.Pool // of *macState
	size   int
	base32 bool
	ptype  string
}

type macState struct {
	mac  hash.Hash
	in   []byte
	sum  []byte
	work [24]byte
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newKeyedState derives the rule's subkey: HKDF-SM3(key, salt "",
// info "gmfield:mask:hash:v1" or "gmfield:mask:pseudonym:v1:" + type).
func newKeyedState(r *Rule, key []byte, ptype string) (*keyedState, error) {
	info := "gmfield:mask:hash:v1"
	if r.kind == kPseudonym {
		info = "gmfield:mask:pseudonym:v1:" + ptype
	}
	sub, err := hkdf.Key(sm3.New, key, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: deriving key: %v", ErrMissingKey, r.name, err)
	}
	k := &keyedState{size: r.size, base32: r.text == "base32", ptype: ptype}
	k.pool.New = func() any { return &macState{mac: hmac.New(sm3.New, sub)} }
	return k, nil
}

// hash appends the keyed pseudonym of v: HMAC-SM3(subkey, v) truncated to
// size bytes, lower-case hex or unpadded RFC 4648 base32.
func (k *keyedState) hash(dst []byte, v string) []byte {
	st := k.pool.Get().(*macState)
	defer k.pool.Put(st)
	st.in = append(st.in[:0], v...)
	st.mac.Reset()
	st.mac.Write(st.in)
	st.sum = st.mac.Sum(st.sum[:0])
	if k.base32 {
		return b32.AppendEncode(dst, st.sum[:k.size])
	}
	return hex.AppendEncode(dst, st.sum[:k.size])
}

// digitSource yields keyed pseudo-random decimal digits from
// HMAC-SM3(subkey, canonical input ‖ u32be(block)), rejecting bytes ≥ 250
// so that every digit is uniform.
type digitSource struct {
	st    *macState
	block uint32
	pos   int
}

func (k *keyedState) source(st *macState, canonical []byte, attempt uint32) digitSource {
	st.in = append(st.in[:0], canonical...)
	st.in = binary.BigEndian.AppendUint32(st.in, attempt<<16)
	s := digitSource{st: st, block: attempt << 16}
	s.refill()
	return s
}

func (s *digitSource) refill() {
	s.st.in = binary.BigEndian.AppendUint32(s.st.in[:len(s.st.in)-4], s.block)
	s.st.mac.Reset()
	s.st.mac.Write(s.st.in)
	s.st.sum = s.st.mac.Sum(s.st.sum[:0])
	s.block++
	s.pos = 0
}

func (s *digitSource) byte() byte {
	if s.pos == len(s.st.sum) {
		s.refill()
	}
	b := s.st.sum[s.pos]
	s.pos++
	return b
}

func (s *digitSource) digit() byte {
	for {
		if b := s.byte(); b < 250 {
			return '0' + b%10
		}
	}
}

// uniform returns a value in [0, n) for n ≤ 2¹⁶, without modulo bias.
func (s *digitSource) uniform(n uint32) uint32 {
	limit := (1 << 16) / n * n
	for {
		v := uint32(s.byte())<<8 | uint32(s.byte())
		if v < limit {
			return v % n
		}
	}
}

// pseudonym appends a keyed, deterministic replacement of v that has the
// format and valid check digits of its type. Values that are not
// well-formed for the type are masked entirely.
func (k *keyedState) pseudonym(dst []byte, v string, r *Rule) []byte {
	st := k.pool.Get().(*macState)
	defer k.pool.Put(st)
	switch k.ptype {
	case "id_card":
		return k.pseudoIDCard(dst, v, r, st)
	case "mobile":
		return k.pseudoDigits(dst, v, r, st, false)
	case "bank_card":
		return k.pseudoDigits(dst, v, r, st, true)
	case "uscc":
		return k.pseudoUSCC(dst, v, r, st)
	}
	return maskAll(dst, v, r.char)
}

// canonical appends v folded to upper-case ASCII, keeping only letters and
// digits; ok is false if v has other non-separator runes.
func canonical(dst []byte, v string, sep func(rune) bool) ([]byte, bool) {
	for _, c := range v {
		f := fold(c)
		switch {
		case f >= '0' && f <= '9', f >= 'A' && f <= 'Z':
		case f >= 'a' && f <= 'z':
			f -= 'a' - 'A'
		case sep(c):
			continue
		default:
			return dst, false
		}
		dst = append(dst, byte(f))
	}
	return dst, true
}

var (
	idBirthStart18 = time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	idBirthEnd18   = time.Date(2009, 12, 31, 0, 0, 0, 0, time.UTC)
	idBirthEnd15   = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// pseudoIDCard keeps the 6-digit region code and the sex digit's parity,
// draws a birth date (1940–2009; 1940–1999 for the 15-digit form) and a
// sequence number, and computes the MOD 11-2 check character.
func (k *keyedState) pseudoIDCard(dst []byte, v string, r *Rule, st *macState) []byte {
	in, ok := canonical(st.work[:0], v, func(rune) bool { return false })
	if !ok || !idShape(in) {
		return maskAll(dst, v, r.char)
	}
	n := len(in)
	end := idBirthEnd18
	if n == 15 {
		end = idBirthEnd15
	}
	span := uint32(end.Sub(idBirthStart18).Hours()/24) + 1
	parity := (in[n-2] - '0') % 2
	if n == 15 {
		parity = (in[14] - '0') % 2
	}
	var out [18]byte
	for attempt := uint32(0); ; attempt++ {
		src := k.source(st, in, attempt)
		birth := idBirthStart18.AddDate(0, 0, int(src.uniform(span)))
		seq := src.uniform(500)*2 + uint32(parity)
		o := append(out[:0], in[:6]...)
		if n == 18 {
			o = birth.AppendFormat(o, "20060102")
		} else {
			o = birth.AppendFormat(o, "060102")
		}
		o = append(o, byte('0'+seq/100), byte('0'+seq/10%10), byte('0'+seq%10))
		if n == 18 {
			o = append(o, idCheck(o))
		}
		if string(o) != string(in) {
			return append(dst, o...)
		}
	}
}

// pseudoDigits replaces the digits of a mobile number after its first 3
// (and any +86 prefix), or of a bank card after its 6-digit BIN with a
// fresh Luhn check digit; separators stay as given.
func (k *keyedState) pseudoDigits(dst []byte, v string, r *Rule, st *macState, card bool) []byte {
	in, ok := canonical(st.work[:0], v, isPhoneSep)
	if !ok || len(in) != countAllDigits(in) {
		return maskAll(dst, v, r.char)
	}
	n := len(in)
	keepN := 0
	switch {
	case card && n >= 12 && n <= 19:
		keepN = 6
	case !card:
		p := mobilePrefix(v, n)
		if n-p != 11 {
			return maskAll(dst, v, r.char)
		}
		keepN = p + 3
	default:
		return maskAll(dst, v, r.char)
	}
	var out [19]byte
	for attempt := uint32(0); ; attempt++ {
		src := k.source(st, in, attempt)
		o := append(out[:0], in[:keepN]...)
		for len(o) < n {
			o = append(o, src.digit())
		}
		if card {
			o[n-1] = luhnCheck(o[:n-1])
		}
		if string(o) == string(in) {
			continue
		}
		i := 0
		for _, c := range v {
			if _, d := digit(c); d {
				dst = append(dst, o[i])
				i++
			} else {
				dst = utf8.AppendRune(dst, c)
			}
		}
		return dst
	}
}

func countAllDigits(b []byte) int {
	n := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// pseudoUSCC keeps the registration authority, category and region code
// (the first 8 characters), draws an 8-digit organization code body, and
// computes its GB 11714 check character and the GB 32100 check character.
func (k *keyedState) pseudoUSCC(dst []byte, v string, r *Rule, st *macState) []byte {
	in, ok := canonical(st.work[:0], v, func(rune) bool { return false })
	if !ok || len(in) != 18 {
		return maskAll(dst, v, r.char)
	}
	for _, c := range in {
		if usccValue(c) < 0 {
			return maskAll(dst, v, r.char)
		}
	}
	var out [18]byte
	for attempt := uint32(0); ; attempt++ {
		src := k.source(st, in, attempt)
		o := append(out[:0], in[:8]...)
		for range 8 {
			o = append(o, src.digit())
		}
		o = append(o, orgCodeCheck(o[8:16]))
		o = append(o, usccCheck(o))
		if string(o) != string(in) {
			return append(dst, o...)
		}
	}
}
