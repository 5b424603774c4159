package masking

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Params holds a masking function's parameters by name, as a YAML policy
// or the CLI's --param k=v gives them.
type Params map[string]string

// Rule is one configured masking function. Build it with NewRule; it is
// immutable and safe for concurrent use.
type Rule struct {
	name string
	kind kind
	char rune
	// keepFirst and keepLast are counts of kept characters; from and to a
	// rune range; at the anchor of mask_before and mask_after.
	keepFirst, keepLast int
	from, to            int
	at                  rune
	text                string // redact
	month               bool   // date: generalize to year-month
	groups              int    // ipv4, ipv6: groups kept
	size                int    // hash: bytes of the HMAC kept
	keyed               *keyedState
}

type kind int

const (
	kChineseName kind = iota + 1
	kIDCard
	kMobile
	kLandline
	kBankCard
	kEmail
	kAddress
	kPlate
	kUSCC
	kPassport
	kIPv4
	kIPv6
	kDate
	kAddressRegion
	kKeepFirstLast
	kMaskFirstLast
	kKeepRange
	kMaskRange
	kMaskBefore
	kMaskAfter
	kMaskAll
	kRedact
	kEmpty
	kNull
	kHash
	kPseudonym
)

// paramSpec describes one parameter: its kind, its default ("" means
// required when required is set, absent otherwise) and its bounds.
type paramSpec struct {
	typ      string // "int", "char", "text", or "a|b|c" for an enum
	def      string
	required bool
	min, max int
}

type funcSpec struct {
	kind   kind
	params map[string]paramSpec
	// keepsLength reports whether the output has as many runes as a
	// well-formed input.
	keepsLength bool
	doc         string
}

var charParam = paramSpec{typ: "char", def: "*"}

func keep(first, last int) map[string]paramSpec {
	return map[string]paramSpec{
		"char":       charParam,
		"keep_first": {typ: "int", def: strconv.Itoa(first), max: 64},
		"keep_last":  {typ: "int", def: strconv.Itoa(last), max: 64},
	}
}

var funcs = map[string]funcSpec{
	"chinese_name": {kChineseName, map[string]paramSpec{"char": charParam, "keep_first": {typ: "int", def: "1", max: 8}}, true, "keep the first character: 张三 → 张*"},
	"id_card":      {kIDCard, keep(6, 4), true, "resident ID (18 or 15): keep first 6 and last 4"},
	"mobile":       {kMobile, keep(3, 4), true, "keep first 3 and last 4 digits; a +86/86 prefix is kept as given"},
	"landline":     {kLandline, map[string]paramSpec{"char": charParam, "keep_last": {typ: "int", def: "2", max: 4}}, true, "keep the area code, separators and the last 2 digits"},
	"bank_card": {kBankCard, map[string]paramSpec{
		"char":       charParam,
		"keep_first": {typ: "int", def: "6", max: 6},
		"keep_last":  {typ: "int", def: "4", max: 4},
	}, true, "keep first 6 and last 4 digits (the PCI DSS maximum)"},
	"email":    {kEmail, map[string]paramSpec{"char": charParam, "keep_first": {typ: "int", def: "1", max: 8}}, false, "first character of the local part, ***, then @domain"},
	"address":  {kAddress, map[string]paramSpec{"char": charParam, "keep_first": {typ: "int", def: "6", max: 64}}, true, "keep the first 6 characters"},
	"plate":    {kPlate, map[string]paramSpec{"char": charParam}, true, "licence plate: 7 characters mask 3–5, 8 (new energy) mask 3–6 (0-based)"},
	"uscc":     {kUSCC, keep(2, 4), true, "unified social credit code: keep first 2 and last 4"},
	"passport": {kPassport, keep(1, 3), true, "keep first 1 and last 3"},
	"ipv4":     {kIPv4, map[string]paramSpec{"char": charParam, "keep_groups": {typ: "int", def: "2", max: 3}}, false, "keep the first two groups: 192.168.*.*"},
	"ipv6":     {kIPv6, map[string]paramSpec{"char": charParam, "keep_groups": {typ: "int", def: "2", max: 7}}, false, "keep the first two groups: 2001:db8:*:*:*:*:*:*"},
	"address_region": {kAddressRegion, map[string]paramSpec{"char": charParam, "to": {typ: "province|city|district", def: "district"}}, false,
		"generalize an address to its district (or city, province): 北京市朝阳区建国路88号 → 北京市朝阳区"},
	"date": {kDate, map[string]paramSpec{"char": charParam, "to": {typ: "year|month", def: "year"}}, false, "generalize to the year (or year-month): 1990-03-07 → 1990"},
	"keep_first_last": {kKeepFirstLast, map[string]paramSpec{
		"char": charParam, "first": {typ: "int", required: true, max: 1 << 20}, "last": {typ: "int", required: true, max: 1 << 20},
	}, true, "keep the first N and last M characters, mask the rest"},
	"mask_first_last": {kMaskFirstLast, map[string]paramSpec{
		"char": charParam, "first": {typ: "int", required: true, max: 1 << 20}, "last": {typ: "int", required: true, max: 1 << 20},
	}, true, "mask the first N and last M characters, keep the rest"},
	"keep_range": {kKeepRange, map[string]paramSpec{
		"char": charParam, "from": {typ: "int", required: true, max: 1 << 20}, "to": {typ: "int", required: true, max: 1 << 20},
	}, true, "keep characters [from, to) (0-based), mask the rest"},
	"mask_range": {kMaskRange, map[string]paramSpec{
		"char": charParam, "from": {typ: "int", required: true, max: 1 << 20}, "to": {typ: "int", required: true, max: 1 << 20},
	}, true, "mask characters [from, to) (0-based), keep the rest"},
	"mask_before": {kMaskBefore, map[string]paramSpec{"char": charParam, "at": {typ: "char", required: true}}, true, "mask everything before the first `at` character"},
	"mask_after":  {kMaskAfter, map[string]paramSpec{"char": charParam, "at": {typ: "char", required: true}}, true, "mask everything after the first `at` character"},
	"mask_all":    {kMaskAll, map[string]paramSpec{"char": charParam}, true, "mask every character"},
	"redact":      {kRedact, map[string]paramSpec{"text": {typ: "text", def: "***"}}, false, "replace the value with a fixed text (***)"},
	"empty":       {kEmpty, nil, false, "replace the value with the empty string"},
	"null":        {kNull, nil, false, "replace the value with SQL NULL"},
	"hash": {kHash, map[string]paramSpec{
		"length":   {typ: "int", def: "16", min: 8, max: 32},
		"encoding": {typ: "hex|base32", def: "hex"},
	}, false, "keyed HMAC-SM3 pseudonym, fixed length, hex or base32"},
	"pseudonym": {kPseudonym, map[string]paramSpec{"type": {typ: "id_card|mobile|bank_card|uscc", required: true}}, true,
		"keyed, deterministic, format- and checksum-preserving replacement"},
}

// Functions returns the names of all masking functions, sorted.
func Functions() []string {
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Describe returns a one-line description of the function name and its
// parameters with their defaults, or "" for an unknown name.
func Describe(name string) string {
	f, ok := funcs[name]
	if !ok {
		return ""
	}
	var ps []string
	for _, p := range slices.Sorted(mapKeys(f.params)) {
		s := f.params[p]
		switch {
		case s.required:
			ps = append(ps, p+"=("+s.typ+", required)")
		default:
			ps = append(ps, p+"="+s.def)
		}
	}
	return fmt.Sprintf("%s: %s [%s]", name, f.doc, strings.Join(ps, " "))
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Option configures NewRule.
type Option func(*options)

type options struct {
	key      []byte
	maskChar rune
}

// WithKey supplies the secret (at least 16 bytes) that keys the hash and
// pseudonym functions. Each function derives its own subkey from it with
// HKDF-SM3; the key is copied.
func WithKey(key []byte) Option {
	return func(o *options) { o.key = append([]byte(nil), key...) }
}

// WithMaskChar sets the mask character used when a rule's params do not
// name one.
func WithMaskChar(c rune) Option { return func(o *options) { o.maskChar = c } }

// NewRule returns the masking function name configured with params.
// Unknown names, unknown parameters, missing required parameters and bad
// values return errors wrapping ErrUnknownFunction or ErrBadParameter.
func NewRule(name string, params Params, opts ...Option) (*Rule, error) {
	f, ok := funcs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	for p := range params {
		if _, ok := f.params[p]; !ok {
			return nil, &ParamError{p, fmt.Errorf("%w: %s has no parameter %q", ErrBadParameter, name, p)}
		}
	}
	r := &Rule{name: name, kind: f.kind, char: '*'}
	if o.maskChar != 0 {
		r.char = o.maskChar
	}
	get := func(p string) (string, bool, error) {
		s := f.params[p]
		v, given := params[p]
		if !given {
			if s.required {
				return "", false, fmt.Errorf("%w: %s needs parameter %q", ErrBadParameter, name, p)
			}
			if p == "char" && o.maskChar != 0 {
				return string(o.maskChar), false, nil
			}
			return s.def, false, nil
		}
		return v, true, nil
	}
	for p, s := range f.params {
		v, _, err := get(p)
		if err != nil {
			return nil, err
		}
		if err := r.set(name, p, s, v); err != nil {
			return nil, err
		}
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	if r.kind == kHash || r.kind == kPseudonym {
		if len(o.key) < 16 {
			return nil, fmt.Errorf("%w: %s (at least 16 bytes)", ErrMissingKey, name)
		}
		ks, err := newKeyedState(r, o.key, params["type"])
		if err != nil {
			return nil, err
		}
		r.keyed = ks
	}
	return r, nil
}

// ParamError is NewRule's error for a bad or unknown parameter: it names
// the parameter, so that a loader can point at its line. It wraps
// ErrBadParameter.
type ParamError struct {
	Param string
	Err   error
}

// Error describes the bad parameter.
func (e *ParamError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ParamError) Unwrap() error { return e.Err }

func (r *Rule) set(name, p string, s paramSpec, v string) error {
	bad := func(why string) error {
		return &ParamError{p, fmt.Errorf("%w: %s parameter %s=%q: %s", ErrBadParameter, name, p, v, why)}
	}
	switch {
	case s.typ == "int":
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return bad("not an integer")
		}
		if n < s.min || n > s.max {
			return bad(fmt.Sprintf("must be %d to %d", s.min, s.max))
		}
		switch p {
		case "keep_first", "first":
			r.keepFirst = n
		case "keep_last", "last":
			r.keepLast = n
		case "from":
			r.from = n
		case "to":
			r.to = n
		case "keep_groups":
			r.groups = n
		case "length":
			r.size = n
		}
	case s.typ == "char":
		if utf8.RuneCountInString(v) != 1 || v == string(utf8.RuneError) {
			return bad("must be exactly one character")
		}
		c, _ := utf8.DecodeRuneInString(v)
		if p == "char" {
			r.char = c
		} else {
			r.at = c
		}
	case s.typ == "text":
		if !utf8.ValidString(v) {
			return bad("not UTF-8")
		}
		r.text = v
	default: // enum
		if !slices.Contains(strings.Split(s.typ, "|"), v) {
			return bad("must be one of " + s.typ)
		}
		switch p {
		case "to":
			r.month = v == "month"
			r.text = v
		case "encoding":
			r.text = v
		case "type":
			r.text = v
		}
	}
	return nil
}

// check rejects configurations that would hide nothing.
func (r *Rule) check() error {
	bad := func(msg string) error { return fmt.Errorf("%w: %s: %s", ErrBadParameter, r.name, msg) }
	switch r.kind {
	case kMaskFirstLast:
		if r.keepFirst+r.keepLast == 0 {
			return bad("first + last must be at least 1, or nothing is masked")
		}
	case kKeepRange, kMaskRange:
		if r.from >= r.to {
			return bad("from must be less than to")
		}
	case kRedact:
		if r.text == "" {
			return bad("text must not be empty (use the empty function)")
		}
	}
	return nil
}

// Name returns the function's name.
func (r *Rule) Name() string { return r.name }

// Null reports whether the rule replaces every value with SQL NULL (the
// null function). Mask and Append return "" for it.
func (r *Rule) Null() bool { return r.kind == kNull }

// KeepsLength reports whether the rule's output has as many characters as
// a well-formed input.
func (r *Rule) KeepsLength() bool { return funcs[r.name].keepsLength }

// Mask returns the masked form of value. It allocates at most once.
func (r *Rule) Mask(value string) string {
	var buf [128]byte
	return string(r.Append(buf[:0], value))
}

// Append appends the masked form of value to dst. A non-empty value never
// comes back unchanged: if a rule's output would equal its input (a value
// already masked), every character is masked instead, and a value made
// only of mask characters gets one more. Input that is not valid UTF-8 is
// masked entirely; the output is always valid UTF-8.
func (r *Rule) Append(dst []byte, value string) []byte {
	start := len(dst)
	if !utf8.ValidString(value) {
		// Not text: malformed for every rule. One mask character per
		// byte that is not part of a valid rune.
		if r.kind == kNull || r.kind == kEmpty {
			return dst
		}
		return maskAll(dst, value, r.char)
	}
	dst = r.apply(dst, value)
	if value != "" && string(dst[start:]) == value && r.kind != kNull {
		dst = maskAll(dst[:start], value, r.char)
		if string(dst[start:]) == value {
			dst = utf8.AppendRune(dst, r.char)
		}
	}
	return dst
}

// AppendBytes is Append of the bytes of value, read without a copy: a
// plaintext masked from a decryption buffer is never copied to a string
// of its own. value is only read, and only during the call.
func (r *Rule) AppendBytes(dst, value []byte) []byte {
	return r.Append(dst, unsafe.String(unsafe.SliceData(value), len(value)))
}

func (r *Rule) apply(dst []byte, v string) []byte {
	switch r.kind {
	case kChineseName:
		return maskName(dst, v, r)
	case kIDCard:
		return maskIDCard(dst, v, r)
	case kMobile:
		return maskMobile(dst, v, r)
	case kLandline:
		return maskLandline(dst, v, r)
	case kBankCard:
		return maskBankCard(dst, v, r)
	case kEmail:
		return maskEmail(dst, v, r)
	case kAddress, kKeepFirstLast:
		return keepFirstLast(dst, v, r.keepFirst, r.keepLast, r.char)
	case kPlate:
		return maskPlate(dst, v, r)
	case kUSCC:
		return maskFixedLen(dst, v, r, 18, 18)
	case kPassport:
		return maskFixedLen(dst, v, r, r.keepFirst+r.keepLast+1, 20)
	case kIPv4:
		return maskIPv4(dst, v, r)
	case kIPv6:
		return maskIPv6(dst, v, r)
	case kDate:
		return maskDate(dst, v, r)
	case kAddressRegion:
		return maskAddressRegion(dst, v, r)
	case kMaskFirstLast:
		return maskFirstLast(dst, v, r)
	case kKeepRange:
		return keepRange(dst, v, r)
	case kMaskRange:
		return maskRange(dst, v, r)
	case kMaskBefore:
		return maskBefore(dst, v, r)
	case kMaskAfter:
		return maskAfter(dst, v, r)
	case kMaskAll:
		return maskAll(dst, v, r.char)
	case kRedact:
		return append(dst, r.text...)
	case kEmpty, kNull:
		return dst
	case kHash:
		return r.keyed.hash(dst, v)
	case kPseudonym:
		return r.keyed.pseudonym(dst, v, r)
	}
	// Unreachable for rules built by NewRule; fail closed.
	return maskAll(dst, v, '*')
}
