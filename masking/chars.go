package masking

import "unicode/utf8"

// digit returns the value of an ASCII or full-width (U+FF10–U+FF19) digit.
func digit(r rune) (int, bool) {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0'), true
	case r >= '０' && r <= '９':
		return int(r - '０'), true
	}
	return 0, false
}

// fold maps a full-width ASCII variant (U+FF01–U+FF5E) and the ideographic
// space to its ASCII form and leaves every other rune alone.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// isAlnum reports whether r is an ASCII or full-width letter or digit.
func isAlnum(r rune) bool {
	r = fold(r)
	return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
}

// isPhoneSep reports whether r may separate the digits of a phone or card
// number: space, - . ( ) + / and their full-width forms.
func isPhoneSep(r rune) bool {
	switch fold(r) {
	case ' ', '-', '.', '(', ')', '+', '/', '\t':
		return true
	}
	return r == '—' || r == '－'
}

// isNameSep reports whether r separates parts of a name or plate: the
// middle dots used in transliterated names and plates, and spaces.
func isNameSep(r rune) bool {
	switch r {
	case '·', '•', '・', '‧', ' ', '\u3000', '-', '.':
		return true
	}
	return false
}

// maskAll appends one mask character per rune of v.
func maskAll(dst []byte, v string, c rune) []byte {
	n := utf8.RuneCountInString(v)
	for range n {
		dst = appendMask(dst, c)
	}
	return dst
}

// digitsOnly reports whether every rune of v is a digit or a separator
// accepted by sep, and returns the number of digits.
func countDigits(v string, sep func(rune) bool) (n int, ok bool) {
	for _, r := range v {
		if _, d := digit(r); d {
			n++
		} else if !sep(r) {
			return n, false
		}
	}
	return n, true
}

// appendMask appends the mask character c.
func appendMask(dst []byte, c rune) []byte {
	if c < utf8.RuneSelf {
		return append(dst, byte(c))
	}
	return utf8.AppendRune(dst, c)
}

// The mask helpers below take valid UTF-8 (Rule.Append checks it) and copy
// kept runs of v as substrings.

// maskDigitRange appends v with the digits whose index (counting digits
// only) is in [lo, hi) replaced by c; every other rune is kept as given.
func maskDigitRange(dst []byte, v string, lo, hi int, c rune) []byte {
	return maskSignificant(dst, v, isDigit, lo, hi, c)
}

func isDigit(r rune) bool {
	_, ok := digit(r)
	return ok
}

// maskSignificant appends v with the significant runes (those sig accepts)
// whose index among significant runes is in [lo, hi) replaced by c.
func maskSignificant(dst []byte, v string, sig func(rune) bool, lo, hi int, c rune) []byte {
	i, seg := 0, 0
	for pos, r := range v {
		if sig(r) {
			if i >= lo && i < hi {
				dst = append(dst, v[seg:pos]...)
				dst = appendMask(dst, c)
				seg = pos + utf8.RuneLen(r)
			}
			i++
		}
	}
	return append(dst, v[seg:]...)
}

// maskRuneRange appends v with the runes whose index is in [lo, hi)
// replaced by c.
func maskRuneRange(dst []byte, v string, lo, hi int, c rune) []byte {
	i, seg := 0, 0
	for pos, r := range v {
		if i >= hi {
			break
		}
		if i >= lo {
			dst = append(dst, v[seg:pos]...)
			dst = appendMask(dst, c)
			seg = pos + utf8.RuneLen(r)
		}
		i++
	}
	return append(dst, v[seg:]...)
}
