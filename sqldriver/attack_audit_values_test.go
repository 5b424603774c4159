package sqldriver_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/mysqldialect"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// attackShape returns the shape Analyze gives q (plan or refusal).
func attackShape(t *testing.T, d sqlplan.Dialect, q string) (string, error) {
	t.Helper()
	cfg := newConfig(t, testConfig)
	cfg.Dialect = d
	p, err := sqldriver.Analyze(cfg, q)
	if err == nil {
		return p.Shape, nil
	}
	var r *sqlplan.Refusal
	if errors.As(err, &r) {
		return r.Shape, err
	}
	return "", err
}

// TestAttackShapeSQLiteDoubleQuotedString: SQLite reads "…" as a string
// literal when no column has that name (its double-quoted-string
// misfeature, on by default), but the shape keeps it as a quoted name.
// The protected value of a refused statement, or the value of an
// unprotected column in a statement that runs, lands in the audit event.
func TestAttackShapeSQLiteDoubleQuotedString(t *testing.T) {
	for _, q := range []string{
		`SELECT name FROM citizen WHERE phone = "13800138000"`,
		`UPDATE citizen SET phone = "13800138000" WHERE id = 1`,
		`INSERT INTO citizen (id, phone) VALUES (1, "13800138000")`,
		`SELECT name FROM citizen WHERE phone IN ("13800138000")`,
		`SELECT id FROM citizen WHERE city = "13800138000"`,
	} {
		shape, _ := attackShape(t, pgdialect.SQLite, q)
		assert.NotContains(t, shape, "13800138000", "SQLite %s\nshape: %s", q, shape)
	}
}

// TestAttackAuditSQLiteDoubleQuotedValue runs such statements on SQLite
// with a synchronous directory log: SQLite reads the "…" as a string (the
// row is found by its city), and the city of a statement that ran, and
// the phone number of a refused one, are written into log.jsonl.
func TestAttackAuditSQLiteDoubleQuotedValue(t *testing.T) {
	b := sqliteBackend
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, CheckpointEvery: -1})
	require.NoError(t, err)
	var slogOut syncBuffer
	cfg := newConfig(t, testConfig)
	cfg.Audit = audit.Fanout{log, audit.SlogSink{Logger: slog.New(slog.NewJSONHandler(&slogOut, nil))}}
	_, db := b.open(t, cfg)
	seed(t, b, db)

	// SQLite really reads "…" as a string here: the row of city 'Beijing-x' is found.
	_, err = db.Exec(`UPDATE citizen SET city = 'Hangzhou-77' WHERE id = 2`)
	require.NoError(t, err)
	var id int64
	require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT id FROM citizen WHERE city = "Hangzhou-77"`).Scan(&id))
	assert.EqualValues(t, 2, id, "SQLite compared city with the string")

	// A refused statement carrying a protected value.
	_, err = db.QueryContext(as("clerk"), `SELECT name FROM citizen WHERE phone = "13912345678"`)
	require.ErrorIs(t, err, sqldriver.ErrRefused)
	require.NoError(t, db.Close())

	raw, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	require.NoError(t, err)
	for _, secret := range []string{"Hangzhou-77", "13912345678"} {
		assert.False(t, strings.Contains(string(raw), secret), "the audit log holds the value %q:\n%s", secret, raw)
	}
}

// TestAttackShapeBooleanLiteralForProtectedColumn: TRUE/FALSE written to
// (or searched in) a protected column stays in the shape as written, on
// SQLite and PostgreSQL, where the statement is accepted and its value
// sealed.
func TestAttackShapeBooleanLiteralForProtectedColumn(t *testing.T) {
	for _, d := range []sqlplan.Dialect{pgdialect.SQLite, pgdialect.PostgreSQL} {
		for _, q := range []string{
			`INSERT INTO citizen (id, note) VALUES (1, TRUE)`,
			`UPDATE citizen SET note = FALSE WHERE id = 1`,
		} {
			if d == pgdialect.PostgreSQL {
				q = dollar(q)
			}
			shape, err := attackShape(t, d, q)
			require.NoError(t, err, "%s accepts %s", d.Name(), q)
			assert.NotRegexp(t, `\b(true|false)\b`, shape, "%s: the protected value written is in the shape: %s", d.Name(), shape)
		}
	}
}

// TestAttackShapeLiteralForms (regression, holds): literal forms of
// every dialect are written "?".
func TestAttackShapeLiteralForms(t *testing.T) {
	const v = "13800138000"
	cases := map[sqlplan.Dialect][]string{
		pgdialect.PostgreSQL: {
			`SELECT name FROM citizen WHERE city = E'13800138000\n'`,
			`SELECT name FROM citizen WHERE city = $$13800138000$$`,
			`SELECT name FROM citizen WHERE city = $t$13800138000$t$`,
			`SELECT name FROM citizen WHERE city = B'1010'`,
			`SELECT name FROM citizen WHERE city = X'13800138000'`,
			`SELECT name FROM citizen WHERE city = U&'13800138000'`,
			`SELECT name FROM citizen WHERE city = DATE '13800138000'`,
			`SELECT name FROM citizen WHERE city = INTERVAL '13800138000 days'`,
			`SELECT name FROM citizen WHERE city = '13800138000'::text`,
			`SELECT name FROM citizen WHERE id = -13800138000e-7`,
			`SELECT name FROM citizen WHERE id = 0x13800138000`,
			`SELECT name FROM citizen LIMIT 13800138000 OFFSET 13800138000`,
			`SELECT name FROM citizen WHERE city = 'x' /* 13800138000 */ -- 13800138000`,
			`SELECT name FROM citizen ORDER BY phone LIMIT 13800138000`,
		},
		mysqldialect.MySQL: {
			`SELECT name FROM citizen WHERE city = _utf8mb4'13800138000'`,
			`SELECT name FROM citizen WHERE city = N'13800138000'`,
			`SELECT name FROM citizen WHERE city = X'13800138000'`,
			`SELECT name FROM citizen WHERE city = 0x13800138000`,
			`SELECT name FROM citizen WHERE city = b'13800138000'`,
			`SELECT name FROM citizen WHERE id = -13800138000e-7`,
			`SELECT name FROM citizen LIMIT 13800138000, 13800138000`,
			`SELECT name FROM citizen WHERE city = 'x' # 13800138000`,
			`SELECT name FROM citizen WHERE city = 'x' --13800138000`,
			`SELECT name FROM citizen ORDER BY phone LIMIT 13800138000`,
		},
	}
	for d, qs := range cases {
		for _, q := range qs {
			shape, _ := attackShape(t, d, q)
			assert.NotContains(t, shape, v, "%s: %s", d.Name(), q)
		}
	}
}
