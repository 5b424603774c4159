package masking

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Kind names a kind of personal data a detector recognizes. Each kind is
// also the name of the masking function for it.
type Kind string

// The kinds Detect recognizes.
const (
	KindIDCard   Kind = "id_card"
	KindUSCC     Kind = "uscc"
	KindBankCard Kind = "bank_card"
	KindMobile   Kind = "mobile"
	KindLandline Kind = "landline"
	KindEmail    Kind = "email"
	KindPlate    Kind = "plate"
	KindPassport Kind = "passport"
	KindIPv4     Kind = "ipv4"
	KindIPv6     Kind = "ipv6"
	// KindChineseName is a personal name in Han characters (a known
	// surname, 2 to 4 characters, or a dotted transliteration).
	KindChineseName Kind = "chinese_name"
	// KindAddress is a postal address (province, city, district, street
	// and number markers).
	KindAddress Kind = "address"
)

// kinds is every kind in the order Detect tries them.
var kinds = [...]Kind{KindIDCard, KindUSCC, KindBankCard, KindMobile, KindLandline, KindEmail, KindPlate, KindPassport, KindIPv4, KindIPv6,
	KindChineseName, KindAddress}

// Kinds returns every kind, in the order Detect tries them (a new slice
// each call).
func Kinds() []Kind { return append([]Kind(nil), kinds[:]...) }

// Match is one kind a value may be, with a confidence in (0, 1].
type Match struct {
	Kind       Kind
	Confidence float64
}

// Detect returns every kind value may be, most confident first. A value
// can match several kinds (an 18-digit resident ID may also pass the Luhn
// check of a bank card); the confidences say which is likelier.
func Detect(value string) []Match {
	var ms []Match
	for _, k := range kinds {
		if c := Validate(k, value); c > 0 {
			ms = append(ms, Match{k, c})
		}
	}
	slices.SortStableFunc(ms, func(a, b Match) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	return ms
}

// Validate returns the confidence (0 to 1) that value is of kind k:
// checksums and calendar dates that verify score high, a bare shape low,
// anything else 0. Full-width digits and letters are accepted.
func Validate(k Kind, value string) float64 {
	var buf [64]byte
	v := strings.TrimSpace(value)
	switch k {
	case KindIDCard:
		b, ok := canonical(buf[:0], v, func(rune) bool { return false })
		return idConfidence(b, ok)
	case KindUSCC:
		b, ok := canonical(buf[:0], v, func(rune) bool { return false })
		return usccConfidence(b, ok)
	case KindBankCard:
		b, ok := canonical(buf[:0], v, func(r rune) bool { return r == ' ' || r == '-' })
		if !ok || len(b) < 12 || len(b) > 19 || countAllDigits(b) != len(b) || !luhnValid(b) {
			return 0
		}
		switch {
		case b[0] == '6' && b[1] == '2': // China UnionPay
			return 0.9
		case b[0] == '4' || b[0] == '5' || b[0] == '3':
			return 0.8
		}
		return 0.5
	case KindMobile:
		n, ok := countDigits(v, isPhoneSep)
		if !ok {
			return 0
		}
		p := mobilePrefix(v, n)
		b, _ := canonical(buf[:0], v, isPhoneSep)
		if n-p != 11 || b[p] != '1' || b[p+1] < '3' {
			return 0
		}
		return 0.95
	case KindLandline:
		return landlineConfidence(v)
	case KindEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || a.Name != "" {
			return 0
		}
		if at := strings.LastIndexByte(v, '@'); !strings.Contains(v[at:], ".") {
			return 0.5
		}
		return 0.95
	case KindPlate:
		return plateConfidence(v)
	case KindPassport:
		b, ok := canonical(buf[:0], v, func(rune) bool { return false })
		if !ok {
			return 0
		}
		return passportConfidence(b)
	case KindIPv4:
		if a, ok := parseIP(v); ok && a.Is4() {
			return 0.95
		}
	case KindIPv6:
		if a, ok := parseIP(v); ok && a.Is6() && !a.Is4In6() {
			return 0.95
		}
	case KindChineseName:
		return nameConfidence(v)
	case KindAddress:
		return addressConfidence(v)
	}
	return 0
}

func idConfidence(b []byte, ok bool) float64 {
	if !ok || !idShape(b) || b[0] == '0' {
		return 0
	}
	if len(b) == 15 {
		if !validDate(append([]byte("19"), b[6:12]...)) {
			return 0
		}
		return 0.7
	}
	if !validDate(b[6:14]) {
		return 0
	}
	if idCheck(b) != b[17] {
		return 0.3
	}
	return 0.99
}

func validDate(b []byte) bool {
	if len(b) != 8 || !allDigits(b) {
		return false
	}
	_, _, ok := dateInts(b[:4], b[4:6], b[6:])
	if !ok {
		return false
	}
	t := time.Date(atoi(b[:4]), time.Month(atoi(b[4:6])), atoi(b[6:]), 0, 0, 0, 0, time.UTC)
	return t.Year() >= 1880 && !t.After(time.Now())
}

func usccConfidence(b []byte, ok bool) float64 {
	if !ok || len(b) != 18 {
		return 0
	}
	for _, c := range b {
		if usccValue(c) < 0 {
			return 0
		}
	}
	if usccCheck(b) != b[17] {
		return 0
	}
	if countAllDigits(b[2:8]) == 6 && orgCodeCheck(b[8:16]) == b[16] {
		return 0.99
	}
	return 0.9
}

// landlineConfidence: an area code (0 and 2–3 more digits) and a 7- or
// 8-digit local number, optionally with a 1–6 digit extension.
func landlineConfidence(v string) float64 {
	n, ok := countDigits(v, isPhoneSep)
	if !ok || n < 10 || n > 18 {
		return 0
	}
	var buf [32]byte
	b, _ := canonical(buf[:0], v, isPhoneSep)
	if b[0] != '0' || b[1] == '0' {
		return 0
	}
	area := 4
	if b[1] == '2' || b[1] == '1' && b[2] == '0' {
		area = 3
	}
	local := len(b) - area
	if local < 7 || local > 8+6 {
		return 0
	}
	if strings.ContainsAny(v, "-() ") {
		return 0.85
	}
	if local > 8 {
		return 0.3
	}
	return 0.6
}

// plateProvinces are the one-character province abbreviations that start a
// Chinese licence plate.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

func plateConfidence(v string) float64 {
	var rs [10]rune
	n := 0
	for _, c := range v {
		if isNameSep(c) {
			continue
		}
		if n == len(rs) {
			return 0
		}
		rs[n] = fold(c)
		n++
	}
	if n != 7 && n != 8 || !strings.ContainsRune(plateProvinces, rs[0]) || rs[1] < 'A' || rs[1] > 'Z' {
		return 0
	}
	for _, c := range rs[2 : n-1] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'O' {
			return 0
		}
	}
	last := rs[n-1]
	if !(last >= '0' && last <= '9' || last >= 'A' && last <= 'Z' || strings.ContainsRune("挂学警港澳领使", last)) {
		return 0
	}
	if n == 8 {
		// New-energy plates: D or F (small cars) after the city letter,
		// or in the last place (large vehicles).
		if rs[2] == 'D' || rs[2] == 'F' || last == 'D' || last == 'F' {
			return 0.9
		}
		return 0.4
	}
	return 0.9
}

func passportConfidence(b []byte) float64 {
	switch {
	case len(b) == 9 && (b[0] == 'E' || b[0] == 'G') && countAllDigits(b[1:]) == 8:
		return 0.85
	case len(b) == 9 && b[0] == 'E' && b[1] >= 'A' && b[1] <= 'Z' && countAllDigits(b[2:]) == 7:
		return 0.8
	case len(b) >= 7 && len(b) <= 9 && b[0] >= 'A' && b[0] <= 'Z' && countAllDigits(b[len(b)-6:]) == 6:
		return 0.3
	}
	return 0
}
