package sqldriver

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// KeyKind is the declared type of a row-key column.
type KeyKind int

// Row-key types (docs/format.md §3.1).
const (
	// KeyInteger: integer columns (INTEGER, BIGINT, SERIAL). The default.
	KeyInteger KeyKind = iota
	// KeyText: text columns compared byte for byte (see docs/config.md on
	// MySQL collations).
	KeyText
	// KeyUUID: UUID columns, or CHAR(36)/BINARY(16) holding UUIDs.
	KeyUUID
	// KeyDecimal: NUMERIC/DECIMAL columns with KeyType.Scale fraction digits.
	KeyDecimal
	// KeyTimestamp: timestamp columns with KeyType.Precision fraction digits.
	KeyTimestamp
)

var keyKindNames = map[KeyKind]string{KeyInteger: "integer", KeyText: "text", KeyUUID: "uuid", KeyDecimal: "decimal", KeyTimestamp: "timestamp"}

// String returns the kind's name in the configuration.
func (k KeyKind) String() string {
	if n, ok := keyKindNames[k]; ok {
		return n
	}
	return "KeyKind(" + strconv.Itoa(int(k)) + ")"
}

// KeyType is the declared type of a table's row key. The row key is bound
// into each protected value's AAD as the canonical text of this type, so
// that the value a caller binds and the value the database stores (and
// returns) always give the same text: "0012" bound for an integer key is
// row 12, and is bound as "12".
type KeyType struct {
	Kind KeyKind
	// Scale is the number of fraction digits of a KeyDecimal (0–38).
	Scale int
	// Precision is the number of fraction digits of a KeyTimestamp's
	// seconds (0–9; 6 for PostgreSQL and MySQL DATETIME(6)).
	Precision int
}

// errKey is wrapped by every canonicalization error.
var errKey = errors.New("row key")

func (t KeyType) validate() error {
	switch t.Kind {
	case KeyInteger, KeyText, KeyUUID:
	case KeyDecimal:
		if t.Scale < 0 || t.Scale > 38 {
			return fmt.Errorf("decimal scale must be 0 to 38, got %d", t.Scale)
		}
	case KeyTimestamp:
		if t.Precision < 0 || t.Precision > 9 {
			return fmt.Errorf("timestamp precision must be 0 to 9, got %d", t.Precision)
		}
	default:
		return fmt.Errorf("unknown row key type %d", int(t.Kind))
	}
	return nil
}

// Canonical returns the canonical text of a row-key value as bound by a
// caller or returned by a database driver (docs/format.md §3.1). Values it
// cannot canonicalize without guessing how the database would read them
// (an integer key given 6.5 or "12abc", a boolean, a timestamp key given a
// string to write) are errors; so is NULL.
func (t KeyType) Canonical(v driver.Value) (string, error) {
	return t.canonical(v, true)
}

// canonical is Canonical; write is false for values read back from the
// database, which may come as text in the database's own format.
func (t KeyType) canonical(v driver.Value, write bool) (string, error) {
	v, err := argValue(v)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errKey, err)
	}
	if v == nil {
		return "", fmt.Errorf("%w: NULL", errKey)
	}
	switch t.Kind {
	case KeyInteger:
		c, err := canonicalInteger(v)
		if err != nil && !write {
			// NUMERIC and DECIMAL columns return 12 as "12.0" or "12.00".
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []byte:
				s = string(x)
			}
			if r, perr := parseDecimal(s); perr == nil && r.IsInt() {
				return integerText(r.Num().String())
			}
		}
		return c, err
	case KeyText:
		var t string
		switch x := v.(type) {
		case string:
			t = x
		case []byte:
			t = string(x)
		default:
			i, ok := asInt(v)
			if !ok {
				return "", fmt.Errorf("%w: a %T cannot be a text key", errKey, v)
			}
			t = i
		}
		// Databases that pad (CHAR(n), PAD SPACE collations) read trailing
		// spaces differently: a key never has them.
		if write {
			if strings.HasSuffix(t, " ") {
				return "", fmt.Errorf("%w: a text row key may not end with a space", errKey)
			}
			return t, nil
		}
		return strings.TrimRight(t, " "), nil
	case KeyUUID:
		return canonicalUUID(v)
	case KeyDecimal:
		return t.canonicalDecimal(v)
	case KeyTimestamp:
		return t.canonicalTime(v, write)
	}
	return "", fmt.Errorf("%w: a %T cannot be a %s key", errKey, v, t.Kind)
}

// canonicalLiteral is Canonical for a literal of the SQL text.
func (t KeyType) canonicalLiteral(v sqlplan.Value) (string, error) {
	switch {
	case v.Null:
		return "", fmt.Errorf("%w: NULL", errKey)
	case v.Kind == sqlplan.LitBool:
		return "", fmt.Errorf("%w: a boolean cannot be a %s key", errKey, t.Kind)
	case v.Kind == sqlplan.LitNumber:
		switch t.Kind {
		case KeyInteger, KeyDecimal:
			r, err := parseDecimal(v.Literal)
			if err != nil {
				return "", err
			}
			if t.Kind == KeyInteger {
				// 9007199254740993.0 is compared and stored as a double by
				// SQLite and MySQL: above 2⁵³ only plain integers are exact.
				if strings.ContainsAny(v.Literal, ".eE") && new(big.Rat).Abs(r).Cmp(maxExactFloat) >= 0 {
					return "", fmt.Errorf("%w: a number written with a point or an exponent above 2^53", errKey)
				}
				return ratInteger(r)
			}
			return t.ratDecimal(r)
		case KeyText:
			if _, err := strconv.ParseInt(v.Literal, 10, 64); err == nil {
				return v.Literal, nil
			}
			return "", fmt.Errorf("%w: a non-integer number for a text key", errKey)
		}
		return "", fmt.Errorf("%w: a number cannot be a %s key", errKey, t.Kind)
	}
	if t.Kind == KeyTimestamp {
		return "", fmt.Errorf("%w: a timestamp key must be bound as a time.Time, not written as text", errKey)
	}
	return t.canonical(v.Literal, true)
}

// asInt formats Go integer types in decimal.
func asInt(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

func canonicalInteger(v driver.Value) (string, error) {
	if s, ok := asInt(v); ok {
		return s, nil
	}
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return "", fmt.Errorf("%w: %v is not an integer", errKey, x)
	case string:
		return integerText(x)
	case []byte:
		return integerText(string(x))
	}
	return "", fmt.Errorf("%w: a %T cannot be an integer key", errKey, v)
}

// integerText canonicalizes [+-]?[0-9]+ within the 64-bit ranges.
func integerText(s string) (string, error) {
	body := strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if body == "" || strings.Trim(body, "0123456789") != "" || len(s)-len(body) > 1 {
		return "", fmt.Errorf("%w: %d-byte text that is not a decimal integer", errKey, len(s))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), nil
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64); err == nil {
		return strconv.FormatUint(n, 10), nil
	}
	return "", fmt.Errorf("%w: integer out of the 64-bit range", errKey)
}

// ratInteger canonicalizes an exact number that must be an integer.
func ratInteger(r *big.Rat) (string, error) {
	if !r.IsInt() {
		return "", fmt.Errorf("%w: a number with a fraction for an integer key", errKey)
	}
	return integerText(r.Num().String())
}

func canonicalUUID(v driver.Value) (string, error) {
	var s string
	switch x := v.(type) {
	case []byte:
		if len(x) == 16 {
			s = hex.EncodeToString(x)
		} else {
			s = string(x)
		}
	case string:
		s = x
	default:
		return "", fmt.Errorf("%w: a %T cannot be a uuid key", errKey, v)
	}
	s = strings.ToLower(s)
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) == 36 {
		for _, i := range []int{8, 13, 18, 23} {
			if s[i] != '-' {
				return "", fmt.Errorf("%w: not a UUID", errKey)
			}
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: not a UUID", errKey)
	}
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:], nil
}

func (t KeyType) canonicalDecimal(v driver.Value) (string, error) {
	var r *big.Rat
	if s, ok := asInt(v); ok {
		r, _ = new(big.Rat).SetString(s)
	} else {
		switch x := v.(type) {
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return "", fmt.Errorf("%w: not a number", errKey)
			}
			// The shortest decimal that reads back as x: what a database
			// receives when the driver sends the float as text.
			var err error
			if r, err = parseDecimal(strconv.FormatFloat(x, 'g', -1, 64)); err != nil {
				return "", err
			}
		case string:
			var err error
			if r, err = parseDecimal(x); err != nil {
				return "", err
			}
		case []byte:
			var err error
			if r, err = parseDecimal(string(x)); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("%w: a %T cannot be a decimal key", errKey, v)
		}
	}
	return t.ratDecimal(r)
}

// decimalRE is a plain decimal number as SQL writes one (no hexadecimal,
// no fractions, no digit separators).
var decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$`)

// parseDecimal reads a decimal number exactly; the exponent is bounded so
// that no input can make the reader allocate without limit.
func parseDecimal(s string) (*big.Rat, error) {
	if len(s) > 100 || !decimalRE.MatchString(s) {
		return nil, fmt.Errorf("%w: %d-byte text that is not a decimal number", errKey, len(s))
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%w: not a decimal number", errKey)
	}
	return r, nil
}

// maxExactFloat is 2⁵³, below which every integer is exact as a double.
var maxExactFloat = new(big.Rat).SetInt64(1 << 53)

// maxDecimalDigits is how many significant digits a decimal key may have:
// SQLite keeps NUMERIC values as doubles, exact to 15 digits.
const maxDecimalDigits = 15

// ratDecimal formats r with exactly Scale fraction digits, refusing a
// value that would need rounding, or that has more significant digits
// than a double keeps.
func (t KeyType) ratDecimal(r *big.Rat) (string, error) {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil)))
	if !scaled.IsInt() {
		return "", fmt.Errorf("%w: more than %d fraction digits", errKey, t.Scale)
	}
	s := r.FloatString(t.Scale)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // -0.00 is 0.00
	}
	if digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(s), "0"); len(digits) > maxDecimalDigits {
		return "", fmt.Errorf("%w: more than %d significant digits", errKey, maxDecimalDigits)
	}
	return s, nil
}

// timeLayouts are the text forms databases return for timestamps.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

func (t KeyType) canonicalTime(v driver.Value, write bool) (string, error) {
	var tm time.Time
	switch x := v.(type) {
	case time.Time:
		// A database column without a time zone keeps the wall clock of
		// what it is given: only UTC reads back as the same instant.
		if write && x.Location() != time.UTC {
			return "", fmt.Errorf("%w: bind timestamp row keys in UTC (t.UTC())", errKey)
		}
		tm = x
	case string, []byte:
		if write {
			return "", fmt.Errorf("%w: a timestamp key must be bound as a time.Time", errKey)
		}
		s := fmt.Sprint(x)
		if b, ok := x.([]byte); ok {
			s = string(b)
		}
		var err error
		for _, layout := range timeLayouts {
			if tm, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			return "", fmt.Errorf("%w: not a timestamp", errKey)
		}
	default:
		return "", fmt.Errorf("%w: a %T cannot be a timestamp key", errKey, v)
	}
	tm = tm.UTC()
	unit := int(math.Pow10(9 - t.Precision))
	if tm.Nanosecond()%unit != 0 {
		return "", fmt.Errorf("%w: finer than %d fraction digits", errKey, t.Precision)
	}
	layout := "2006-01-02T15:04:05"
	if t.Precision > 0 {
		layout += "." + strings.Repeat("0", t.Precision)
	}
	return tm.Format(layout + "Z"), nil
}

// typed returns the canonical text of a row key as the value to bind for
// a comparison with the row-key column: an integer as int64 (uint64 above
// the signed range), a timestamp as time.Time, the rest as text.
func (t KeyType) typed(text string) (driver.Value, error) {
	switch t.Kind {
	case KeyInteger:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: integer out of range", errKey)
		}
		return n, nil
	case KeyTimestamp:
		tm, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return nil, fmt.Errorf("%w: not a timestamp", errKey)
		}
		return tm, nil
	}
	return text, nil
}

// Value returns the value to bind for a comparison with the row-key
// column from the key's canonical text (Canonical's result): an integer
// as int64, a timestamp as time.Time, the rest as text. The lifecycle
// jobs keep their position in a table as canonical text.
func (t KeyType) Value(canonical string) (driver.Value, error) { return t.typed(canonical) }
