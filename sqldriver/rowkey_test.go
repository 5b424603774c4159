package sqldriver

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type namedString string

func TestKeyTypeCanonical(t *testing.T) {
	i64 := int64(42)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.FixedZone("CST", 8*3600))
	integer, text, uuid := KeyType{}, KeyType{Kind: KeyText}, KeyType{Kind: KeyUUID}
	dec2, ts3 := KeyType{Kind: KeyDecimal, Scale: 2}, KeyType{Kind: KeyTimestamp, Precision: 3}
	ok := []struct {
		typ  KeyType
		in   any
		want string
	}{
		{integer, int64(12), "12"}, {integer, "0012", "12"}, {integer, "+12", "12"}, {integer, "-0", "0"}, {integer, "-07", "-7"},
		{integer, 12.0, "12"}, {integer, []byte("12"), "12"}, {integer, uint64(18446744073709551615), "18446744073709551615"},
		{integer, "18446744073709551615", "18446744073709551615"}, {integer, &i64, "42"}, {integer, sql.NullInt64{Int64: 5, Valid: true}, "5"},
		{integer, int32(-3), "-3"},
		{text, "doc-0001", "doc-0001"}, {text, []byte("a b"), "a b"}, {text, namedString("x"), "x"}, {text, int64(7), "7"},
		{uuid, "3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"},
		{uuid, "3f2a1b4c5d6e4f708a9b0c1d2e3f4a5b", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"},
		{uuid, "{3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b}", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"},
		{uuid, []byte{0x3f, 0x2a, 0x1b, 0x4c, 0x5d, 0x6e, 0x4f, 0x70, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b}, "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"},
		{uuid, [16]byte{0x3f, 0x2a, 0x1b, 0x4c, 0x5d, 0x6e, 0x4f, 0x70, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b}, "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"},
		{dec2, "5.5", "5.50"}, {dec2, 5.5, "5.50"}, {dec2, "+005.500", "5.50"}, {dec2, int64(5), "5.00"}, {dec2, "-0.00", "0.00"},
		{dec2, "-1.25", "-1.25"}, {dec2, "1e2", "100.00"}, {dec2, []byte("12.30"), "12.30"},
		{ts3, ts.UTC(), "2026-01-01T19:04:05.600Z"},
	}
	for _, c := range ok {
		got, err := c.typ.Canonical(c.in)
		if assert.NoError(t, err, "%s %T %v", c.typ.Kind, c.in, c.in) {
			assert.Equal(t, c.want, got, "%s %T %v", c.typ.Kind, c.in, c.in)
		}
	}
	bad := []struct {
		typ KeyType
		in  any
	}{
		{integer, nil}, {integer, "12abc"}, {integer, " 12"}, {integer, "12 "}, {integer, "1e1"}, {integer, "1.0"}, {integer, 12.5},
		{integer, true}, {integer, "18446744073709551616"}, {integer, "--1"}, {integer, "+-1"}, {integer, ""}, {integer, ts},
		{integer, sql.NullInt64{}}, {integer, (*int64)(nil)},
		{text, 1.5}, {text, true}, {text, nil},
		{uuid, "3f2a1b4c"}, {uuid, int64(7)}, {uuid, "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5g"}, {uuid, "3f2a1b4c05d6e04f7008a9b00c1d2e3f4a5b"},
		{dec2, "5.555"}, {dec2, 5.555}, {dec2, "abc"}, {dec2, "0x10"}, {dec2, "1/2"}, {dec2, "1e9999"}, {dec2, " 5"}, {dec2, true},
		{ts3, "2026-01-02 03:04:05"}, {ts3, ts.UTC().Add(time.Microsecond)}, {ts3, int64(1)},
		{ts3, ts}, // a zone other than UTC: a column without one would keep the wall clock
		{text, "abc "}, {dec2, "12345678901234567.01"}, {dec2, 1e17},
	}
	for _, c := range bad {
		_, err := c.typ.Canonical(c.in)
		assert.ErrorIs(t, err, errKey, "%s %T %v", c.typ.Kind, c.in, c.in)
	}
	// Read back, timestamps come as the database's text too.
	got, err := ts3.canonical("2026-01-01 19:04:05.6", false)
	assert.NoError(t, err)
	assert.Equal(t, "2026-01-01T19:04:05.600Z", got)
	got, err = ts3.canonical([]byte("2026-01-02 03:04:05.6+08:00"), false)
	assert.NoError(t, err)
	assert.Equal(t, "2026-01-01T19:04:05.600Z", got)

	// Databases that pad text keys (CHAR(n)) return trailing spaces: a
	// read trims them, and a write never has them.
	got, err = text.canonical("abc   ", false)
	assert.NoError(t, err)
	assert.Equal(t, "abc", got)

	// Literals of the SQL text.
	lits := []struct {
		typ  KeyType
		v    sqlplan.Value
		want string
	}{
		{integer, sqlplan.LiteralValue("05"), "5"}, {integer, sqlplan.NumberValue("6.0"), "6"}, {integer, sqlplan.NumberValue("1e2"), "100"},
		{dec2, sqlplan.NumberValue("5.5"), "5.50"}, {text, sqlplan.NumberValue("12"), "12"}, {text, sqlplan.LiteralValue("a"), "a"},
		{integer, sqlplan.NumberValue("9007199254740993"), "9007199254740993"},
	}
	for _, c := range lits {
		got, err := c.typ.canonicalLiteral(c.v)
		if assert.NoError(t, err, "%v", c.v) {
			assert.Equal(t, c.want, got)
		}
	}
	for _, c := range []struct {
		typ KeyType
		v   sqlplan.Value
	}{
		{integer, sqlplan.NumberValue("6.5")}, {integer, sqlplan.BoolValue(true)}, {integer, sqlplan.NullValue()}, {integer, sqlplan.LiteralValue("x2")},
		{text, sqlplan.NumberValue("1.5")}, {ts3, sqlplan.LiteralValue("2026-01-01")}, {uuid, sqlplan.NumberValue("7")},
		// SQLite and MySQL compare 9007199254740993.0 as a double: row 9007199254740992.
		{integer, sqlplan.NumberValue("9007199254740993.0")}, {integer, sqlplan.NumberValue("9.007199254740993e15")},
	} {
		_, err := c.typ.canonicalLiteral(c.v)
		assert.ErrorIs(t, err, errKey, "%v", c.v)
	}
}

// FuzzRowKey: canonicalization never panics, and a canonical text is a
// fixed point: canonicalizing it again gives itself, so the text bound
// on write and the text computed from the stored value agree.
func FuzzRowKey(f *testing.F) {
	for _, s := range []string{"0012", "-0", "5.555", "3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B", "1e2", "2026-01-02 03:04:05.6", "", "+", "９"} {
		for k := range 5 {
			f.Add(uint8(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, s string) {
		typ := KeyType{Kind: KeyKind(kind % 5), Scale: 2, Precision: 6}
		for _, write := range []bool{true, false} {
			c, err := typ.canonical(s, write)
			if err != nil {
				continue
			}
			again, err := typ.canonical(c, false)
			if err != nil || again != c {
				t.Fatalf("%s: %q -> %q -> %q (%v)", typ.Kind, s, c, again, err)
			}
		}
		_, _ = typ.canonicalLiteral(sqlplan.NumberValue(s))
		_, _ = typ.canonicalLiteral(sqlplan.LiteralValue(s))
	})
}
