package sqldriver_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
)

type phoneNumber string

type citizenID int64

// upper is a driver.Valuer with a value receiver: a nil *upper is NULL,
// as database/sql's default converter has it.
type upper struct{ s string }

func (u upper) Value() (driver.Value, error) { return u.s, nil }

// failing is a Valuer whose Value fails.
type failing struct{}

func (failing) Value() (driver.Value, error) { return nil, errors.New("no value") }

// refusingID is a Valuer over uint64 whose Value fails; refusingUUID the
// same over a 16-byte array; rawUUID gives a type that is not a
// driver.Value. None may have its underlying value sealed instead.
type refusingID uint64

func (refusingID) Value() (driver.Value, error) { return nil, errors.New("refused") }

type refusingUUID [16]byte

func (refusingUUID) Value() (driver.Value, error) { return nil, errors.New("refused") }

type rawUUID [16]byte

func (u rawUUID) Value() (driver.Value, error) { return [16]byte(u), nil }

// badValuer returns a type that is not a driver.Value.
type badValuer struct{}

func (badValuer) Value() (driver.Value, error) { return struct{}{}, nil }

// TestArgumentConversion binds the Go types ORMs bind (pointers, named
// types, sql.Null*, Valuers) for protected columns, row keys and searches,
// on every backend: pgx accepts any argument in CheckNamedValue, so
// database/sql does not convert them before the driver sees them.
func TestArgumentConversion(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		phone := "13800138000"
		var nilString *string
		var nilUpper *upper
		id := citizenID(7)
		ok := []struct {
			name        string
			id          any
			phone, note any
			wantPhone   sql.NullString
			wantNote    sql.NullString
		}{
			{"pointers", &id, &phone, nilString, sql.NullString{String: phone, Valid: true}, sql.NullString{}},
			{"named types", citizenID(8), phoneNumber("13912345678"), phoneNumber("n"), sql.NullString{String: "13912345678", Valid: true}, sql.NullString{String: "n", Valid: true}},
			{"sql.Null", sql.NullInt64{Int64: 9, Valid: true}, sql.NullString{String: "13700000000", Valid: true}, sql.NullString{}, sql.NullString{String: "13700000000", Valid: true}, sql.NullString{}},
			{"valuers", int32(10), upper{"13600000000"}, nilUpper, sql.NullString{String: "13600000000", Valid: true}, sql.NullString{}},
			{"pointer to pointer", int64(11), &[]*string{&phone}[0], &nilString, sql.NullString{String: phone, Valid: true}, sql.NullString{}},
		}
		for _, c := range ok {
			_, err := db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone, note) VALUES (?, ?, ?)`, c.id, c.phone, c.note)
			require.NoError(t, err, c.name)
			var gotPhone, gotNote sql.NullString
			require.NoError(t, db.QueryRowContext(as("admin"), `SELECT phone, note FROM citizen WHERE id = ?`, c.id).Scan(&gotPhone, &gotNote), c.name)
			assert.Equal(t, c.wantPhone, gotPhone, c.name)
			assert.Equal(t, c.wantNote, gotNote, c.name)
			// a search binds the same types
			var n int
			require.NoError(t, db.QueryRowContext(as("admin"), `SELECT count(*) FROM citizen WHERE phone = ? AND id = ?`, c.phone, c.id).Scan(&n), c.name)
			assert.Equal(t, 1, n, c.name)
		}
		_, err := db.ExecContext(as("admin"), `UPDATE citizen SET phone = ? WHERE id = ?`, &[]phoneNumber{"13500000000"}[0], &id)
		require.NoError(t, err)
		var got string
		require.NoError(t, db.QueryRowContext(as("admin"), `SELECT phone FROM citizen WHERE phone = ?`, phoneNumber("13500000000")).Scan(&got))
		assert.Equal(t, "13500000000", got)

		bad := []struct {
			name string
			v    any
		}{
			{"struct", struct{ A int }{1}},
			{"failing valuer", failing{}},
			{"valuer of a non-value", badValuer{}},
			{"map", map[string]string{}},
			{"uint64 Valuer that fails", refusingID(13800138000)},
			{"pointer to a uint64 Valuer that fails", &[]refusingID{13800138001}[0]},
			{"16-byte Valuer that fails", refusingUUID{'1', '3', '8'}},
			{"16-byte Valuer giving a non-value", rawUUID{'1', '3', '9'}},
		}
		for _, c := range bad {
			_, err := db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 100, c.v)
			require.Error(t, err, c.name)
			if !errors.Is(err, sqldriver.ErrBadValue) {
				// database/sql's own converter may refuse it first (drivers
				// without a NamedValueChecker)
				assert.NotContains(t, err.Error(), "13", c.name)
			}
		}
		var n int
		require.NoError(t, db.QueryRowContext(as("admin"), `SELECT count(*) FROM citizen WHERE id = ?`, 100).Scan(&n))
		assert.Zero(t, n, "nothing written for a value that cannot be sealed")
	})
}
