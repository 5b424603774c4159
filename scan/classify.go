package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/masking"
)

// Kinds the scanner reports beyond masking's value detectors. They are
// found by a column's name (and, for birth dates, its values' shape):
// their values alone do not tell them apart from other data.
const (
	// KindBirthDate is a date of birth (出生日期).
	KindBirthDate masking.Kind = "birth_date"
	// KindHealth is health or medical information (诊断, 病历).
	KindHealth masking.Kind = "health"
	// KindBiometric is biometric data: fingerprints, face images or
	// templates, iris or voice prints.
	KindBiometric masking.Kind = "biometric"
	// KindLocation is a precise location or track (经纬度, 轨迹).
	KindLocation masking.Kind = "location"
	// KindFreeText is free text in which personal information is embedded
	// (a note holding a mobile or resident ID number).
	KindFreeText masking.Kind = "free_text"
)

// Thresholds of Classify: the share of sampled values that must match a
// kind for the column to be that kind.
const (
	shareAlone   = 0.6  // no name hint
	shareName    = 0.8  // Chinese names with no name hint: common words pass the surname rule
	shareHinted  = 0.3  // the name agrees
	shareEmbed   = 0.05 // free text holding personal information
	minValues    = 5    // fewer non-empty values than this: the name decides
	denseSpan    = 1e5  // numbers closer than this on average are a sequence
	protectShare = 0.8  // values that are gmfield envelopes: already protected
)

// Classification is what Classify finds in one column.
type Classification struct {
	// Kind is what the column holds, "" for nothing personal.
	Kind masking.Kind `json:"kind,omitempty"`
	// Confidence is in [0, 1]: how sure the scanner is of Kind.
	Confidence float64 `json:"confidence"`
	// Evidence says what Kind rests on.
	Evidence Evidence `json:"evidence"`
	// Review is set when a person should look at the column: the evidence
	// is weak, or the name and the values disagree.
	Review bool `json:"review,omitempty"`
	// Protected is set when the values are already gmfield envelopes.
	Protected bool `json:"protected,omitempty"`
	// Minors counts sampled values (resident IDs or birth dates) of people
	// under 14 at the time of the scan.
	Minors int `json:"minors,omitempty"`
}

// Evidence is what a classification rests on.
type Evidence struct {
	// Values is the number of non-empty sampled values.
	Values int `json:"values"`
	// Matched is the number of them that matched Kind.
	Matched int `json:"matched"`
	// Share is Matched / Values.
	Share float64 `json:"share"`
	// NameHint lists the kinds the column's name suggests.
	NameHint []masking.Kind `json:"name_hint,omitempty"`
	// Notes are reasons in words: why a match was set aside, what the
	// name suggested.
	Notes []string `json:"notes,omitempty"`
}

// Classify classifies one column from its name, its declared type and a
// sample of its values (as text). It is pure: the same input gives the
// same result. Values are looked at, never kept.
func Classify(name, typ string, values []string) Classification {
	var c Classification
	h, negative := nameHint(name)
	c.Evidence.NameHint = h.kinds
	typ = strings.ToLower(typ)

	vals := make([]string, 0, len(values))
	envelopes := 0
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, crypto.TextPrefix) || strings.HasPrefix(v, crypto.TextPrefixV1) {
			envelopes++
		}
		vals = append(vals, v)
	}
	n := len(vals)
	c.Evidence.Values = n
	note := func(format string, a ...any) { c.Evidence.Notes = append(c.Evidence.Notes, fmt.Sprintf(format, a...)) }

	if n > 0 && float64(envelopes) >= protectShare*float64(n) {
		c.Protected = true
		note("%d of %d values are gmfield envelopes: the column is already encrypted", envelopes, n)
		if len(h.kinds) > 0 {
			c.Kind, c.Confidence = h.kinds[0], 0.6
		}
		return c
	}
	if binaryType(typ) {
		// Bytes are not sampled: only the name can tell.
		if len(h.kinds) > 0 && h.strong {
			c.Kind, c.Confidence, c.Review = h.kinds[0], 0.6, true
			note("binary column: classified by its name only")
		}
		return c
	}

	// Value detectors: the share of values each kind matches.
	type tally struct {
		matched int
		conf    float64
	}
	var counts map[masking.Kind]*tally
	if n > 0 {
		counts = map[masking.Kind]*tally{}
		for _, v := range vals {
			for _, m := range masking.Detect(v) {
				if m.Confidence < 0.5 {
					continue
				}
				t := counts[m.Kind]
				if t == nil {
					t = &tally{}
					counts[m.Kind] = t
				}
				t.matched++
				t.conf += m.Confidence
			}
		}
	}
	best, bestShare, bestConf := masking.Kind(""), 0.0, 0.0
	for _, k := range masking.Kinds() { // a fixed order: ties go to the earlier kind
		t := counts[k]
		if t == nil {
			continue
		}
		s := float64(t.matched) / float64(n)
		if s > bestShare {
			best, bestShare, bestConf = k, s, t.conf/float64(t.matched)
		}
	}
	need := shareAlone
	switch {
	case hasKind(h.kinds, best):
		need = shareHinted
	case best == masking.KindChineseName:
		need = shareName
	}
	if best != "" && bestShare >= need {
		c.Evidence.Matched, c.Evidence.Share = counts[best].matched, round(bestShare)
		switch {
		case negative && !hasKind(h.kinds, best):
			note("%.0f%% of values are shaped like %s, but the name says it holds no person's data", 100*bestShare, best)
			c.Review = true
			return c
		case (best == masking.KindMobile || best == masking.KindBankCard || best == masking.KindLandline) && dense(vals):
			note("values are shaped like %s but form a sequence (%d values close together): numbers issued in order, not people's", best, n)
			c.Review = true
			return c
		}
		c.Kind = best
		c.Confidence = bestShare * bestConf
		if hasKind(h.kinds, best) {
			c.Confidence = min(0.99, c.Confidence+0.1)
		} else if len(h.kinds) > 0 {
			note("the name suggests %s; the values say %s", kindList(h.kinds), best)
			c.Review = true
		}
		if bestShare < 0.8 {
			c.Review = true
		}
		if n < minValues {
			note("only %d non-empty values were sampled", n)
			c.Review = true
		}
		c.Confidence = round(c.Confidence)
		if best == masking.KindIDCard {
			c.Minors = minorsByID(vals, time.Now())
		}
		return c
	}

	// Kinds a name tells, and dates of birth.
	if hasKind(h.kinds, KindBirthDate) {
		d := 0
		for _, v := range vals {
			if _, ok := birthDate(v); ok {
				d++
			}
		}
		switch {
		case n > 0 && float64(d) >= 0.8*float64(n):
			c.Kind, c.Evidence.Matched, c.Evidence.Share = KindBirthDate, d, round(float64(d)/float64(n))
			c.Confidence = round(0.6 + 0.35*c.Evidence.Share)
			c.Minors = minorsByDate(vals, time.Now())
			return c
		case n < minValues || dateType(typ):
			c.Kind, c.Confidence, c.Review = KindBirthDate, 0.6, true
			note("classified by its name: too few dates of birth in the sample")
			return c
		}
	}
	for _, k := range []masking.Kind{KindHealth, KindBiometric, KindLocation} {
		if hasKind(h.kinds, k) && h.strong {
			c.Kind, c.Confidence, c.Review = k, 0.7, true
			note("classified by its name: values of this kind cannot be recognized")
			return c
		}
	}
	if e := embedded(vals); n >= minValues && float64(e) >= shareEmbed*float64(n) {
		c.Kind, c.Evidence.Matched, c.Evidence.Share = KindFreeText, e, round(float64(e)/float64(n))
		c.Confidence, c.Review = round(min(0.9, 0.5+c.Evidence.Share)), true
		note("%d of %d values hold a mobile, resident ID, bank card number or e-mail address inside longer text", e, n)
		return c
	}
	if len(h.kinds) > 0 {
		switch {
		case n < minValues && h.strong && !negative:
			c.Kind, c.Confidence, c.Review = h.kinds[0], 0.5, true
			note("classified by its name: only %d non-empty values were sampled", n)
		case best != "":
			c.Review = h.strong
			note("the name suggests %s, but only %.0f%% of values match %s", kindList(h.kinds), 100*bestShare, best)
		case h.strong:
			c.Review = true
			note("the name suggests %s, but no sampled value matches", kindList(h.kinds))
		}
	}
	return c
}

func kindList(ks []masking.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, " or ")
}

func round(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// dense reports whether numeric values lie so close together that they
// were issued in sequence: mobile numbers sampled from people spread over
// billions, order numbers shaped like them over thousands.
func dense(vals []string) bool {
	if len(vals) < 20 {
		return false
	}
	ns := make([]uint64, 0, len(vals))
	for _, v := range vals {
		var x uint64
		digits := 0
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= '0' && c <= '9' {
				if digits++; digits > 19 {
					return false
				}
				x = x*10 + uint64(c-'0')
			}
		}
		ns = append(ns, x)
	}
	slices.Sort(ns)
	span := ns[len(ns)-1] - ns[0]
	return float64(span) < denseSpan*float64(len(ns))
}

// embedded counts values that hold a mobile, resident ID or bank card
// number, or an e-mail address, inside longer text.
func embedded(vals []string) int {
	n := 0
	for _, v := range vals {
		if utf8.RuneCountInString(v) < 12 {
			continue
		}
		if holdsPI(v) {
			n++
		}
	}
	return n
}

func holdsPI(v string) bool {
	for i := 0; i < len(v); {
		c := v[i]
		j := i
		switch {
		case c >= '0' && c <= '9':
			for j < len(v) && (v[j] >= '0' && v[j] <= '9' || v[j] == 'X' || v[j] == 'x') {
				j++
			}
			tok := v[i:j]
			if masking.Validate(masking.KindMobile, tok) >= 0.9 || masking.Validate(masking.KindIDCard, tok) >= 0.9 || masking.Validate(masking.KindBankCard, tok) >= 0.9 {
				return true
			}
		case c == '@':
			s, e := i, i+1
			for s > 0 && emailByte(v[s-1]) {
				s--
			}
			for e < len(v) && emailByte(v[e]) {
				e++
			}
			if masking.Validate(masking.KindEmail, v[s:e]) >= 0.9 {
				return true
			}
			j = i + 1
		default:
			j = i + 1
		}
		i = j
	}
	return false
}

func emailByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+'
}

// birthDate parses a date of birth: 2006-01-02 (with - / . or nothing
// between), optionally followed by a time, in years 1900 to now.
func birthDate(v string) (time.Time, bool) {
	if len(v) > 10 {
		if i := strings.IndexAny(v, " T"); i >= 8 {
			v = v[:i]
		}
	}
	var t time.Time
	var err error
	switch len(v) {
	case 8:
		t, err = time.Parse("20060102", v)
	case 10:
		s := []byte(v)
		if s[4] != s[7] || (s[4] != '-' && s[4] != '/' && s[4] != '.') {
			return t, false
		}
		s[4], s[7] = '-', '-'
		t, err = time.Parse(time.DateOnly, string(s))
	default:
		return t, false
	}
	if err != nil || t.Year() < 1900 || t.After(time.Now()) {
		return t, false
	}
	return t, true
}

// minorsByID counts resident IDs of people under 14 at now.
func minorsByID(vals []string, now time.Time) int {
	n := 0
	for _, v := range vals {
		if masking.Validate(masking.KindIDCard, v) < 0.9 || len(v) != 18 {
			continue
		}
		if t, ok := birthDate(v[6:14]); ok && under14(t, now) {
			n++
		}
	}
	return n
}

// minorsByDate counts dates of birth of people under 14 at now.
func minorsByDate(vals []string, now time.Time) int {
	n := 0
	for _, v := range vals {
		if t, ok := birthDate(v); ok && under14(t, now) {
			n++
		}
	}
	return n
}

func under14(birth, now time.Time) bool { return birth.AddDate(14, 0, 0).After(now) }

func binaryType(t string) bool {
	return strings.Contains(t, "bytea") || strings.Contains(t, "blob") || strings.Contains(t, "binary")
}

func dateType(t string) bool {
	return strings.HasPrefix(t, "date") || strings.HasPrefix(t, "timestamp")
}
