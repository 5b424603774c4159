package sqldriver_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// testConfig is the configuration of the behavioural suite.
const testConfig = `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
      name:  {mask: chinese_name}
      note:  {mask: redact, on_error: "null"}
      photo: {mask: mask_all, form: binary}
  contact:
    columns:
      email: {mask: email, index: {email_bidx: lower}}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  auditor: {default: mask, columns: {citizen.phone: plain}}
  analyst: {default: hash}
  guard:   {default: mask, columns: {citizen.id_no: deny}}
  default: {default: "null"}
`

// backend is a database the suite runs on.
type backend struct {
	name string
	// driver is the inner driver's registered name.
	driver string
	// connect returns the raw (unwrapped) handle of a fresh, private
	// database or schema, removed when the test ends, and the DSN that
	// opens it.
	connect func(t testing.TB) (raw *sql.DB, dsn string)
	// maxConns, when set, bounds both handles' open connections.
	maxConns int
	// types of the id, text, short-text (indexed) and binary columns
	id, text, short, blob string
	// upsert is the dialect's form of "update email from the new row".
	upsert string
	// returning reports whether INSERT … RETURNING works.
	returning bool
	// ph turns "?" placeholders into the backend's raw placeholders.
	ph func(string) string
}

// keyDir returns a fresh directory holding an SM4 key ring in ./keys.
func keyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	_, err := local.Init(context.Background(), filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	return dir
}

func newConfig(t testing.TB, doc string) *sqldriver.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), keyDir(t))
	require.NoError(t, err)
	return cfg
}

func suffix() string { return testdb.Suffix() }

func dollar(q string) string { return testdb.Dollar(q) }

func same(q string) string { return q }

var sqliteBackend = backend{
	name: "sqlite", driver: "sqlite", id: "INTEGER", text: "TEXT", short: "TEXT", blob: "BLOB", returning: true, ph: same,
	upsert:  "ON CONFLICT (k) DO UPDATE SET email = excluded.email",
	connect: testdb.SQLite,
}

var postgresBackend = backend{
	name: "postgres", driver: "pgx", id: "BIGINT", text: "TEXT", short: "TEXT", blob: "BYTEA", returning: true, ph: dollar,
	upsert:  "ON CONFLICT (k) DO UPDATE SET email = excluded.email",
	connect: func(t testing.TB) (*sql.DB, string) { return testdb.Postgres(t, "pgx") },
}

// libpqBackend is PostgreSQL through github.com/lib/pq instead of pgx.
var libpqBackend = func() backend {
	b := postgresBackend
	b.name, b.driver = "libpq", "postgres"
	return b
}()

var mysqlBackend = backend{
	name: "mysql", driver: "mysql", id: "BIGINT", text: "LONGTEXT", short: "VARCHAR(64)", blob: "LONGBLOB", ph: same,
	upsert:  "ON DUPLICATE KEY UPDATE email = VALUES(email)",
	connect: testdb.MySQL,
}

var backends = []backend{sqliteBackend, postgresBackend, libpqBackend, mysqlBackend}

// schema creates the suite's tables through the wrapped handle (DDL passes).
func (b backend) schema(t testing.TB, db tdb) {
	t.Helper()
	for _, ddl := range []string{
		fmt.Sprintf(`CREATE TABLE citizen (id %s PRIMARY KEY, id_no %s, id_no_bidx %s, phone %s, phone_bidx %s, phone_last4_bidx %s, name %s, note %s, photo %s, city %s)`,
			b.id, b.text, b.short, b.text, b.short, b.short, b.text, b.text, b.blob, b.short),
		fmt.Sprintf(`CREATE TABLE contact (k %s PRIMARY KEY, email %s, email_bidx %s)`, b.short, b.text, b.short),
		fmt.Sprintf(`CREATE TABLE orders (id %s PRIMARY KEY, citizen_id %s, item %s)`, b.id, b.id, b.short),
	} {
		_, err := db.Exec(ddl)
		require.NoError(t, err)
	}
}

// each runs f on every backend, in parallel subtests.
func each(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// open returns the raw handle and the wrapped one, which takes queries
// written with "?" and sends them in the backend's placeholder style.
func (b backend) open(t testing.TB, cfg *sqldriver.Config) (*sql.DB, tdb) {
	raw, db, _ := b.openMore(t, cfg)
	return raw, db
}

// openMore is open, and also returns a function that wraps the same
// database with another configuration (another application, say).
func (b backend) openMore(t testing.TB, cfg *sqldriver.Config) (*sql.DB, tdb, func(*sqldriver.Config) tdb) {
	raw, dsn := b.connect(t)
	wrap := func(cfg *sqldriver.Config) tdb {
		db, err := sqldriver.Open(b.driver, dsn, cfg)
		require.NoError(t, err)
		if b.maxConns > 0 {
			db.SetMaxOpenConns(b.maxConns)
		}
		t.Cleanup(func() { db.Close() })
		return tdb{DB: db, ph: b.ph}
	}
	if b.maxConns > 0 {
		raw.SetMaxOpenConns(b.maxConns)
	}
	return raw, wrap(cfg), wrap
}

type tdb struct {
	*sql.DB
	ph func(string) string
}

func (d tdb) Exec(q string, args ...any) (sql.Result, error) { return d.DB.Exec(d.ph(q), args...) }
func (d tdb) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.ph(q), args...)
}
func (d tdb) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.ph(q), args...)
}
func (d tdb) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.ph(q), args...)
}
func (d tdb) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return d.DB.PrepareContext(ctx, d.ph(q))
}
func (d tdb) BeginTx(ctx context.Context, o *sql.TxOptions) (ttx, error) {
	tx, err := d.DB.BeginTx(ctx, o)
	return ttx{Tx: tx, ph: d.ph}, err
}

type ttx struct {
	*sql.Tx
	ph func(string) string
}

func (x ttx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.Tx.ExecContext(ctx, x.ph(q), args...)
}
func (x ttx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return x.Tx.QueryRowContext(ctx, x.ph(q), args...)
}
func (x ttx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return x.Tx.PrepareContext(ctx, x.ph(q))
}
