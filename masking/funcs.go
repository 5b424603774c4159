package masking

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func notNameSep(r rune) bool { return !isNameSep(r) }

// maskName keeps the first keepFirst characters of a name (separators such
// as the middle dot of transliterated names are kept as given).
func maskName(dst []byte, v string, r *Rule) []byte {
	n := 0
	for _, c := range v {
		if !isNameSep(c) {
			n++
		}
	}
	if n <= r.keepFirst {
		return maskAll(dst, v, r.char)
	}
	return maskSignificant(dst, v, notNameSep, r.keepFirst, n, r.char)
}

// maskIDCard masks a resident ID: 18 characters (17 digits and a digit or
// X) or the legacy 15 digits; anything else is masked entirely.
func maskIDCard(dst []byte, v string, r *Rule) []byte {
	if isASCIIString(v) {
		return maskIDCardASCII(dst, v, r)
	}
	n := 0
	for _, c := range v {
		_, d := digit(c)
		if !d {
			if f := fold(c); n != 17 || (f != 'X' && f != 'x') {
				return maskAll(dst, v, r.char)
			}
		}
		n++
	}
	if (n != 18 && n != 15) || n <= r.keepFirst+r.keepLast {
		return maskAll(dst, v, r.char)
	}
	return maskRuneRange(dst, v, r.keepFirst, n-r.keepLast, r.char)
}

func maskIDCardASCII(dst []byte, v string, r *Rule) []byte {
	n := len(v)
	if n != 18 && n != 15 || n <= r.keepFirst+r.keepLast {
		return maskAll(dst, v, r.char)
	}
	for i := 0; i < n; i++ {
		if c := v[i]; (c < '0' || c > '9') && (i != 17 || c != 'X' && c != 'x') {
			return maskAll(dst, v, r.char)
		}
	}
	dst = append(dst, v[:r.keepFirst]...)
	for range n - r.keepFirst - r.keepLast {
		dst = appendMask(dst, r.char)
	}
	return append(dst, v[n-r.keepLast:]...)
}

// mobilePrefix returns how many leading digits of a number with n digits
// form a country prefix: 86 or 0086 before an 11-digit number.
func mobilePrefix(v string, n int) int {
	var first [4]int
	i := 0
	for _, c := range v {
		if d, ok := digit(c); ok {
			first[i] = d
			if i++; i == 4 {
				break
			}
		}
	}
	switch {
	case n == 13 && first[0] == 8 && first[1] == 6:
		return 2
	case n == 15 && first[0] == 0 && first[1] == 0 && first[2] == 8 && first[3] == 6:
		return 4
	}
	return 0
}

// maskMobile keeps the first 3 and last 4 digits of an 11-digit mobile
// number; a +86, 86 or 0086 prefix and separators are kept as given.
func maskMobile(dst []byte, v string, r *Rule) []byte {
	if len(v) == 11 && allDigits([]byte(v)) {
		// The common case: 11 ASCII digits, no prefix, no separators.
		dst = append(dst, v[:r.keepFirst]...)
		for range 11 - r.keepFirst - r.keepLast {
			dst = appendMask(dst, r.char)
		}
		return append(dst, v[11-r.keepLast:]...)
	}
	n, ok := countDigits(v, isPhoneSep)
	if !ok {
		return maskAll(dst, v, r.char)
	}
	p := mobilePrefix(v, n)
	if n-p != 11 {
		return maskAll(dst, v, r.char)
	}
	return maskDigitRange(dst, v, p+r.keepFirst, n-r.keepLast, r.char)
}

// maskLandline keeps the area code (010 and 02X: 3 digits, other 0XXX: 4),
// separators as given, and the last keepLast digits.
func maskLandline(dst []byte, v string, r *Rule) []byte {
	n, ok := countDigits(v, isPhoneSep)
	if !ok || n < 7 {
		return maskAll(dst, v, r.char)
	}
	var d [3]int
	i := 0
	for _, c := range v {
		if x, ok := digit(c); ok {
			d[i] = x
			if i++; i == 3 {
				break
			}
		}
	}
	area := 0
	if d[0] == 0 {
		area = 4
		if d[1] == 2 || d[1] == 1 && d[2] == 0 {
			area = 3
		}
	}
	local := n - area
	if local < 5 || local > 12 || local <= r.keepLast {
		return maskAll(dst, v, r.char)
	}
	return maskDigitRange(dst, v, area, n-r.keepLast, r.char)
}

// maskBankCard keeps the first 6 and last 4 digits of a 12- to 19-digit
// card number; separators are kept as given.
func maskBankCard(dst []byte, v string, r *Rule) []byte {
	n, ok := countDigits(v, isPhoneSep)
	if !ok || n < 12 || n > 19 {
		return maskAll(dst, v, r.char)
	}
	return maskDigitRange(dst, v, r.keepFirst, n-r.keepLast, r.char)
}

// maskEmail keeps keepFirst characters of the local part, writes three mask
// characters, and keeps the @ and the domain.
func maskEmail(dst []byte, v string, r *Rule) []byte {
	at := strings.LastIndexAny(v, "@＠")
	if at <= 0 {
		return maskAll(dst, v, r.char)
	}
	local := v[:at]
	_, atLen := utf8.DecodeRuneInString(v[at:])
	domain := v[at+atLen:]
	if domain == "" || strings.ContainsAny(domain, "@＠") {
		return maskAll(dst, v, r.char)
	}
	keep := r.keepFirst
	if utf8.RuneCountInString(local) <= keep {
		keep = 0 // showing the whole local part would hide nothing
	}
	end := 0
	for range keep {
		_, sz := utf8.DecodeRuneInString(local[end:])
		end += sz
	}
	dst = append(dst, local[:end]...)
	for range 3 {
		dst = utf8.AppendRune(dst, r.char)
	}
	dst = append(dst, v[at:at+atLen]...)
	return append(dst, domain...)
}

// maskPlate masks characters 3–5 of a 7-character plate and 3–6 of an
// 8-character new-energy plate (0-based, separators not counted).
func maskPlate(dst []byte, v string, r *Rule) []byte {
	n := 0
	for _, c := range v {
		if !isNameSep(c) {
			n++
		}
	}
	switch n {
	case 7:
		return maskSignificant(dst, v, notNameSep, 3, 6, r.char)
	case 8:
		return maskSignificant(dst, v, notNameSep, 3, 7, r.char)
	}
	return maskAll(dst, v, r.char)
}

// maskFixedLen keeps the first and last characters of an alphanumeric code
// of min to max characters (USCC: exactly 18; passport).
func maskFixedLen(dst []byte, v string, r *Rule, min, max int) []byte {
	n := 0
	for _, c := range v {
		if !isAlnum(c) {
			return maskAll(dst, v, r.char)
		}
		n++
	}
	if n < min || n > max || n <= r.keepFirst+r.keepLast {
		return maskAll(dst, v, r.char)
	}
	return maskRuneRange(dst, v, r.keepFirst, n-r.keepLast, r.char)
}

// foldASCII appends v with full-width forms folded to ASCII; it reports
// false if v has any other non-ASCII rune.
func foldASCII(dst []byte, v string) ([]byte, bool) {
	for _, c := range v {
		c = fold(c)
		if c >= utf8.RuneSelf {
			return dst, false
		}
		dst = append(dst, byte(c))
	}
	return dst, true
}

func parseIP(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if isASCIIString(v) {
		a, err := netip.ParseAddr(v)
		return a, err == nil
	}
	var buf [64]byte
	b, ok := foldASCII(buf[:0], v)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	return a, err == nil
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maskIPv4 keeps the first groups octets: 192.168.*.*.
func maskIPv4(dst []byte, v string, r *Rule) []byte {
	a, ok := parseIP(v)
	if !ok || !a.Is4() {
		return maskAll(dst, v, r.char)
	}
	b := a.As4()
	for i := range 4 {
		if i > 0 {
			dst = append(dst, '.')
		}
		if i < r.groups {
			dst = strconv.AppendUint(dst, uint64(b[i]), 10)
		} else {
			dst = utf8.AppendRune(dst, r.char)
		}
	}
	return dst
}

// maskIPv6 keeps the first groups 16-bit groups: 2001:db8:*:*:*:*:*:*.
func maskIPv6(dst []byte, v string, r *Rule) []byte {
	a, ok := parseIP(v)
	if !ok || !a.Is6() {
		return maskAll(dst, v, r.char)
	}
	b := a.As16()
	for i := range 8 {
		if i > 0 {
			dst = append(dst, ':')
		}
		if i < r.groups {
			dst = strconv.AppendUint(dst, uint64(b[2*i])<<8|uint64(b[2*i+1]), 16)
		} else {
			dst = utf8.AppendRune(dst, r.char)
		}
	}
	return dst
}

// maskDate generalizes a date to its year (or year and month). It reads
// YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD and YYYY年M月D日, with an
// optional time after a space or T; anything else is masked entirely.
func maskDate(dst []byte, v string, r *Rule) []byte {
	var buf [64]byte
	b := buf[:0]
	chinese := false
	for _, c := range strings.TrimSpace(v) {
		switch c = fold(c); c {
		case '年', '月':
			chinese = true
			c = '-'
		case '日':
			continue
		}
		if c >= utf8.RuneSelf || len(b) == len(buf) {
			return maskAll(dst, v, r.char)
		}
		b = append(b, byte(c))
	}
	for i := 8; i < len(b); i++ {
		if b[i] == ' ' || b[i] == 'T' {
			b = b[:i]
			break
		}
	}
	var y, m, d []byte
	var sep byte
	switch {
	case len(b) == 8 && allDigits(b):
		y, m, d = b[:4], b[4:6], b[6:]
	case len(b) > 5:
		sep = b[4]
		if sep != '-' && sep != '/' && sep != '.' {
			return maskAll(dst, v, r.char)
		}
		y, rest := b[:4], b[5:]
		i := indexByte(rest, sep)
		if i < 0 || indexByte(rest[i+1:], sep) >= 0 {
			return maskAll(dst, v, r.char)
		}
		m, d = rest[:i], rest[i+1:]
		return appendDate(dst, v, r, y, m, d, sep, chinese)
	default:
		return maskAll(dst, v, r.char)
	}
	return appendDate(dst, v, r, y, m, d, sep, chinese)
}

func appendDate(dst []byte, v string, r *Rule, y, m, d []byte, sep byte, chinese bool) []byte {
	yi, mi, ok := dateInts(y, m, d)
	if !ok {
		return maskAll(dst, v, r.char)
	}
	dst = strconv.AppendInt(dst, int64(yi), 10)
	if !r.month {
		return dst
	}
	switch {
	case chinese:
		dst = append(dst, "年"...)
	case sep != 0:
		dst = append(dst, sep)
	}
	if mi < 10 {
		dst = append(dst, '0')
	}
	dst = strconv.AppendInt(dst, int64(mi), 10)
	if chinese {
		dst = append(dst, "月"...)
	}
	return dst
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// dateInts parses and validates a calendar date (year 1000–9999) and
// returns its year and month.
func dateInts(y, m, d []byte) (int, int, bool) {
	if len(y) != 4 || !allDigits(y) || len(m) < 1 || len(m) > 2 || !allDigits(m) || len(d) < 1 || len(d) > 2 || !allDigits(d) {
		return 0, 0, false
	}
	yi, mi, di := atoi(y), atoi(m), atoi(d)
	if yi < 1000 || mi < 1 || mi > 12 || di < 1 {
		return 0, 0, false
	}
	if t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC); t.Day() != di {
		return 0, 0, false
	}
	return yi, mi, true
}

// keepFirstLast keeps the first and last characters, masks the middle; a
// value with no middle is masked entirely.
func keepFirstLast(dst []byte, v string, first, last int, c rune) []byte {
	n := utf8.RuneCountInString(v)
	if n <= first+last {
		return maskAll(dst, v, c)
	}
	return maskRuneRange(dst, v, first, n-last, c)
}

func maskFirstLast(dst []byte, v string, r *Rule) []byte {
	n := utf8.RuneCountInString(v)
	if n <= r.keepFirst+r.keepLast {
		return maskAll(dst, v, r.char)
	}
	i := 0
	for _, c := range v {
		if i < r.keepFirst || i >= n-r.keepLast {
			c = r.char
		}
		dst = utf8.AppendRune(dst, c)
		i++
	}
	return dst
}

func keepRange(dst []byte, v string, r *Rule) []byte {
	n := utf8.RuneCountInString(v)
	if r.from == 0 && n <= r.to {
		return maskAll(dst, v, r.char)
	}
	i := 0
	for _, c := range v {
		if i < r.from || i >= r.to {
			c = r.char
		}
		dst = utf8.AppendRune(dst, c)
		i++
	}
	return dst
}

func maskRange(dst []byte, v string, r *Rule) []byte {
	n := utf8.RuneCountInString(v)
	if n <= r.from {
		return maskAll(dst, v, r.char)
	}
	return maskRuneRange(dst, v, r.from, r.to, r.char)
}

func maskBefore(dst []byte, v string, r *Rule) []byte {
	i := strings.IndexRune(v, r.at)
	if i <= 0 {
		return maskAll(dst, v, r.char)
	}
	dst = maskAll(dst, v[:i], r.char)
	return append(dst, v[i:]...)
}

func maskAfter(dst []byte, v string, r *Rule) []byte {
	i := strings.IndexRune(v, r.at)
	end := i + utf8.RuneLen(r.at)
	if i < 0 || end >= len(v) {
		return maskAll(dst, v, r.char)
	}
	dst = append(dst, v[:end]...)
	return maskAll(dst, v[end:], r.char)
}
