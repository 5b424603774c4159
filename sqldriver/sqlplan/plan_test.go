package sqlplan_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

// TestLastFourPattern: a last4 index answers exactly "%" and four digits.
// Regression: "%12" missed rows ending in 12, "%12345" returned rows ending
// in 92345, "%a" was accepted.
func TestLastFourPattern(t *testing.T) {
	for p, want := range map[string]string{"%1234": "1234", "%8000": "8000", "%0000": "0000"} {
		got, ok := sqlplan.LastFourPattern(p)
		assert.True(t, ok, p)
		assert.Equal(t, want, got)
	}
	for _, p := range []string{"", "%", "%a", "%12", "%123", "%12345", "%92345", "1234%", "%12%", "%1_2", `%1\2`, "12", "%１２３４", "%123a", "% 1234", "%%1234"} {
		_, ok := sqlplan.LastFourPattern(p)
		assert.False(t, ok, p)
	}
}

func TestRefusalNamesColumnNotValue(t *testing.T) {
	err := sqlplan.Refuse(sqlplan.ErrUnsupportedUse, "citizen", "phone", "ORDER BY")
	assert.Equal(t, "gmfield/sqldriver: unsupported use of a protected column: citizen.phone (ORDER BY)", err.Error())
	assert.ErrorIs(t, err, sqlplan.ErrRefused)
	var r *sqlplan.Refusal
	require.True(t, errors.As(err, &r))
	assert.Equal(t, "phone", r.Column)
}

func TestRegistry(t *testing.T) {
	d := fakeDialect("fake-reg")
	sqlplan.Register(d, []string{"fake-alias"}, "example.com/fakedriver")
	got, ok := sqlplan.Lookup("fake-alias")
	require.True(t, ok)
	assert.Equal(t, "fake-reg", got.Name())
	got, ok = sqlplan.Detect("example.com/fakedriver/v2.driver")
	require.True(t, ok)
	assert.Equal(t, "fake-reg", got.Name())
	_, ok = sqlplan.Detect("example.com/other.driver")
	assert.False(t, ok)
	assert.Contains(t, sqlplan.Names(), "fake-alias")
	assert.Panics(t, func() { sqlplan.Register(d, nil) }, "a name registered twice")
}

type fakeDialect string

func (f fakeDialect) Name() string { return string(f) }
func (f fakeDialect) Analyze(sqlplan.Catalog, string) (*sqlplan.Plan, error) {
	return nil, errors.New("fake")
}

func TestEqualityIndex(t *testing.T) {
	tab := sqlplantest.Catalog().Table("citizen")
	assert.Equal(t, "phone_bidx", tab.Columns["phone"].EqualityIndex().Column)
	assert.Nil(t, tab.Columns["name"].EqualityIndex())
	assert.Len(t, sqlplantest.Catalog().Tables(), 1)
}
