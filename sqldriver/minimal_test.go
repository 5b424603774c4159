package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
)

// minimalDriver hides every optional interface of the SQLite driver: its
// connections have only Prepare, Close and Begin, its statements only
// Exec and Query.
type minimalDriver struct{ d sqlite.Driver }

type minimalConn struct{ c driver.Conn }

type minimalStmt struct{ s driver.Stmt }

func (m *minimalDriver) Open(name string) (driver.Conn, error) {
	c, err := m.d.Open(name)
	return minimalConn{c}, err
}

func (c minimalConn) Prepare(q string) (driver.Stmt, error) {
	s, err := c.c.Prepare(q)
	return minimalStmt{s}, err
}
func (c minimalConn) Close() error { return c.c.Close() }
func (c minimalConn) Begin() (driver.Tx, error) {
	//lint:ignore SA1019 the point of the test
	return c.c.Begin()
}

func (s minimalStmt) Close() error  { return s.s.Close() }
func (s minimalStmt) NumInput() int { return s.s.NumInput() }
func (s minimalStmt) Exec(args []driver.Value) (driver.Result, error) {
	//lint:ignore SA1019 the point of the test
	return s.s.Exec(args)
}
func (s minimalStmt) Query(args []driver.Value) (driver.Rows, error) {
	//lint:ignore SA1019 the point of the test
	return s.s.Query(args)
}

// TestMinimalInnerDriver checks the paths taken when the inner driver has
// no ExecerContext, QueryerContext, ConnBeginTx or NamedValueChecker: the
// wrapper returns driver.ErrSkip and rewrites in PrepareContext instead.
func TestMinimalInnerDriver(t *testing.T) {
	cfg := newConfig(t, testConfig)
	cfg.Dialect = pgdialect.SQLite
	inner, wrapped := "gmfield-test-minimal-"+suffix(), "gmfield-test-wrapped-"+suffix()
	sql.Register(inner, &minimalDriver{})
	require.NoError(t, sqldriver.Register(wrapped, inner, cfg))
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sql.Open(wrapped, path)
	require.NoError(t, err)
	defer db.Close()
	tdb := tdb{DB: db, ph: same}
	sqliteBackend.schema(t, tdb)
	ctx := as("clerk")
	_, err = db.ExecContext(ctx, `INSERT INTO citizen (id, phone, name) VALUES (?, ?, ?)`, 1, "13800138000", "张三")
	require.NoError(t, err)
	var phone, name string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT phone, name FROM citizen WHERE phone = ?`, "13800138000").Scan(&phone, &name))
	assert.Equal(t, []string{"138****8000", "张*"}, []string{phone, name})
	tx, err := db.BeginTx(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	_, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	assert.Error(t, err, "options the inner driver cannot honour are refused")

	raw, err := sql.Open(inner, path)
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen`).Scan(&phone))
	assert.Contains(t, phone, "gmf2:")
}
