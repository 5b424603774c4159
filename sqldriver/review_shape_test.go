package sqldriver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
)

// TestReviewShapeSQLiteBracketName: SQLite reads [ … ] as a name (any
// bytes but "]"), PostgreSQL's scanner, which the SQLite dialect uses,
// reads "[" as a bracket and goes on tokenizing inside. A '"' in a
// bracketed name starts, for the scanner, a quoted name that ends inside
// the statement's string literal, so the rest of that literal is read as
// tokens: its words reach the shape (lower-cased), in a statement that
// is planned (Protected) and that SQLite runs.
func TestReviewShapeSQLiteBracketName(t *testing.T) {
	for _, q := range []string{
		`SELECT id [x."] FROM citizen WHERE city = '"] AS Hangzhou77 FROM citizen x --'`,
		`SELECT id [x."] FROM citizen WHERE name = '"] AS 张三 FROM citizen x --'`,
	} {
		_, err := attackShape(t, pgdialect.SQLite, q)
		assert.ErrorIs(t, err, sqldriver.ErrUnparsable, "SQLite reads [ … ] otherwise than the parser: refused")
	}
}

// TestReviewSQLiteBracketRunsAnotherStatement: the same divergence makes
// the driver plan one statement and SQLite run another. The plan sees
// `UPDATE citizen SET city = (SELECT (1)[y '…'])`; SQLite sees
// `… [y'] ), phone = 13800138000 WHERE id = 1` and writes a plain phone
// number into the protected column, unsealed and without its blind
// indexes, and the audit event records no write of citizen.phone.
// pgdialect.lex: "Constructs the server could read differently from the
// parser are refused".
func TestReviewSQLiteBracketRunsAnotherStatement(t *testing.T) {
	b := sqliteBackend
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, CheckpointEvery: -1})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	raw, db := b.open(t, cfg)
	seed(t, b, db)

	_, err = db.ExecContext(as("admin"), `UPDATE citizen SET city = (SELECT (1) [y']), phone = 13800138000 WHERE id = 1 --'])`)
	require.ErrorIs(t, err, sqldriver.ErrUnparsable)
	var phone string
	require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen WHERE id = 1`).Scan(&phone))
	assert.True(t, strings.HasPrefix(phone, "gmf2:"), "citizen.phone still sealed")
	err = db.QueryRowContext(as("clerk"), `SELECT id [x."] FROM citizen WHERE name = '"] AS 张三 FROM citizen x --'`).Scan(new(int64))
	require.ErrorIs(t, err, sqldriver.ErrUnparsable)
	require.NoError(t, db.Close())
	raw2, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(raw2), "张三"), "a literal's text is in log.jsonl")
}

// TestReviewShapeSQLiteDeclaredNameAsString: the double-quote rule keeps
// a "…" token that names any declared column of any protected table; on
// SQLite it is a string when the statement's tables have no such column:
// here contact's "email" compared with citizen.city is the value 'email'.
// (Low: only values spelled like a declared name; the whole-catalog check
// also keeps `"""phone"""`, the value "phone" with its quotes.)
func TestReviewShapeSQLiteDeclaredNameAsString(t *testing.T) {
	for _, q := range []string{
		`SELECT id FROM citizen WHERE city = "email"`,
		`SELECT id FROM citizen WHERE city = """phone"""`,
	} {
		shape, err := attackShape(t, pgdialect.SQLite, q)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(shape, `= "?"`), "SQLite %s\nshape: %s", q, shape)
	}
}
