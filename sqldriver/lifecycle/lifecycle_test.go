package lifecycle_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// backend is a database the lifecycle tests run on.
type backend struct {
	name    string // dialect
	driver  string
	connect func(t testing.TB) (*sql.DB, string)
	ph      func(string) string
	idType  string
}

var backends = []backend{
	{name: "sqlite", driver: "sqlite", connect: testdb.SQLite, ph: same, idType: "INTEGER"},
	{name: "postgres", driver: "pgx", connect: func(t testing.TB) (*sql.DB, string) { return testdb.Postgres(t, "pgx") }, ph: dollar, idType: "BIGINT"},
	{name: "mysql", driver: "mysql", connect: testdb.MySQL, ph: same, idType: "BIGINT"},
}

func same(q string) string { return q }

func dollar(q string) string { return testdb.Dollar(q) }

func each(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// configDoc is a citizen table with three protected columns and two
// blind indexes, as a plaintext system has it before gmfield.
const configDoc = `
keyring: {provider: local-sm4, dir: ./keys}
%s
tables:
  citizen:
    row_key: id
%s
    columns:
      id_no: {mask: id_card, max_len: 18, index: {id_no_bidx: full}%[3]s}
      phone: {mask: mobile, max_len: 20, index: {phone_bidx: full}%[3]s}
      name:  {mask: chinese_name, max_len: 40%[3]s}
roles:
  admin: {default: plain}
  clerk: {default: mask}
`

// env is one test's database, key ring and configuration.
type env struct {
	b    backend
	raw  *sql.DB
	dsn  string
	dir  string // holds gmfield.yaml and keys/
	cfg  *sqldriver.Config
	path string
}

type opts struct {
	migrating bool
	tenant    bool
}

func newEnv(t testing.TB, b backend, o opts) *env {
	t.Helper()
	raw, dsn := b.connect(t)
	dir := t.TempDir()
	_, err := local.Init(context.Background(), filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	scope, tcol, mig := "", "", ""
	if o.tenant {
		scope, tcol = "key_scope: tenant", "    tenant_column: tenant"
	}
	if o.migrating {
		mig = ", migrating: true"
	}
	doc := fmt.Sprintf(configDoc, scope, tcol, mig)
	path := filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
	cfg, err := config.Load(path)
	require.NoError(t, err)
	e := &env{b: b, raw: raw, dsn: dsn, dir: dir, cfg: cfg, path: path}
	_, err = raw.Exec(fmt.Sprintf(`CREATE TABLE citizen (id %s PRIMARY KEY, tenant VARCHAR(32), id_no VARCHAR(18), phone VARCHAR(20), name VARCHAR(40), city VARCHAR(20))`, b.idType))
	require.NoError(t, err)
	return e
}

// parseConfig parses a configuration over a fresh SM4 key directory.
func parseConfig(t testing.TB, doc string) *sqldriver.Config {
	t.Helper()
	dir := t.TempDir()
	_, err := local.Init(t.Context(), filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	cfg, err := config.Parse([]byte(doc), dir)
	require.NoError(t, err)
	return cfg
}

// reload reads the configuration again (after editing it).
func (e *env) reload(t testing.TB, edit func(string) string) {
	t.Helper()
	doc, err := os.ReadFile(e.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.path, []byte(edit(string(doc))), 0o600))
	cfg, err := config.Load(e.path)
	require.NoError(t, err)
	e.cfg = cfg
}

func (e *env) ddl(t testing.TB) {
	t.Helper()
	stmts, err := lifecycle.DDL(t.Context(), e.raw, e.cfg, e.b.name, "")
	require.NoError(t, err)
	for _, s := range stmts {
		_, err := e.raw.Exec(s)
		require.NoError(t, err, s)
	}
}

// migrated is newEnv with n rows, ready and migrated.
func migrated(t testing.TB, b backend, o opts, n int) *env {
	t.Helper()
	e := newEnv(t, b, o)
	e.fill(t, 1, n)
	e.ddl(t)
	_, err := e.job().Migrate(t.Context())
	require.NoError(t, err)
	return e
}

func (e *env) job() *lifecycle.Job {
	return &lifecycle.Job{DB: e.raw, Config: e.cfg, Dialect: e.b.name, Table: "citizen", Batch: 64}
}

// person is row i's plaintext.
func person(i int) (idNo, phone, name string) {
	return fmt.Sprintf("11010519491231%04d", i%10000), fmt.Sprintf("1380013%04d", i), fmt.Sprintf("张%d", i)
}

func tenantOf(i int) string { return []string{"t-a", "t-b"}[i%2] }

// fill inserts n plaintext rows through the raw handle.
func (e *env) fill(t testing.TB, from, n int) {
	t.Helper()
	tx, err := e.raw.Begin()
	require.NoError(t, err)
	for i := from; i < from+n; i++ {
		idNo, phone, name := person(i)
		_, err := tx.Exec(e.b.ph(`INSERT INTO citizen (id, tenant, id_no, phone, name, city) VALUES (?, ?, ?, ?, ?, 'bj')`), i, tenantOf(i), idNo, phone, name)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
}

// wrapped opens the table through the gmfield driver.
func (e *env) wrapped(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sqldriver.Open(e.b.driver, e.dsn, e.cfg)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func admin(ctx context.Context, tenant string) context.Context {
	ctx = sqldriver.WithRoles(ctx, "test", "admin")
	if tenant != "" {
		ctx = sqldriver.WithTenant(ctx, tenant)
	}
	return ctx
}

// readAll reads every row's plaintext through the driver.
func (e *env) readAll(t testing.TB, db *sql.DB, tenant string) map[int64][3]string {
	t.Helper()
	q := `SELECT id, id_no, phone, name FROM citizen`
	var args []any
	if tenant != "" {
		q += ` WHERE tenant = ?`
		args = append(args, tenant)
	}
	rows, err := db.QueryContext(admin(t.Context(), tenant), e.b.ph(q), args...)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64][3]string{}
	for rows.Next() {
		var id int64
		var v [3]sql.NullString
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2]))
		out[id] = [3]string{v[0].String, v[1].String, v[2].String}
	}
	require.NoError(t, rows.Err())
	return out
}

// stored returns the raw stored values of every row.
func (e *env) stored(t testing.TB) map[int64][5]sql.NullString {
	t.Helper()
	rows, err := e.raw.Query(`SELECT id, id_no, id_no_bidx, phone, phone_bidx, name FROM citizen`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64][5]sql.NullString{}
	for rows.Next() {
		var id int64
		var v [5]sql.NullString
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4]))
		out[id] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func assertAllSealed(t *testing.T, e *env) {
	t.Helper()
	for id, v := range e.stored(t) {
		for _, i := range []int{0, 2, 4} {
			require.Truef(t, strings.HasPrefix(v[i].String, "gmf2:"), "row %d column %d not sealed", id, i)
		}
		for _, i := range []int{1, 3} {
			require.Lenf(t, v[i].String, 32, "row %d index %d", id, i)
		}
	}
}

func TestMigrateVerifyAndRerun(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{})
		e.fill(t, 1, 300)
		e.ddl(t)
		again, err := lifecycle.DDL(t.Context(), e.raw, e.cfg, b.name, "citizen")
		require.NoError(t, err)
		assert.Empty(t, again, "ddl on a ready table prints nothing")

		dry := e.job()
		dry.DryRun = true
		sum, err := dry.Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(300), sum.Changed)
		assert.Equal(t, int64(900), sum.Values)
		assert.True(t, strings.HasPrefix(e.stored(t)[1][2].String, "1380013"), "a dry run writes nothing")

		rep, err := e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.False(t, rep.OK())
		assert.Equal(t, int64(300), rep.Columns[1].Plaintext)

		sum, err = e.job().Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(300), sum.Scanned)
		assert.Equal(t, int64(300), sum.Changed)
		assert.Equal(t, int64(900), sum.Values)
		assertAllSealed(t, e)

		got := e.readAll(t, e.wrapped(t), "")
		require.Len(t, got, 300)
		for i := 1; i <= 300; i++ {
			idNo, phone, name := person(i)
			require.Equal(t, [3]string{idNo, phone, name}, got[int64(i)])
		}
		// The blind index answers searches.
		var id int64
		_, phone, _ := person(42)
		require.NoError(t, e.wrapped(t).QueryRowContext(admin(t.Context(), ""), b.ph(`SELECT id FROM citizen WHERE phone = ?`), phone).Scan(&id))
		assert.Equal(t, int64(42), id)

		sum, err = e.job().Migrate(t.Context())
		require.NoError(t, err)
		assert.Zero(t, sum.Changed, "a rerun is a no-op")
		assert.Equal(t, int64(300), sum.Skipped)

		rep, err = e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
		assert.Equal(t, int64(300), rep.Rows)
		for _, c := range rep.Columns {
			assert.Equal(t, int64(300), c.Opened)
			assert.Len(t, c.Keys, 1)
		}
		rep, err = e.job().Verify(t.Context(), 50)
		require.NoError(t, err)
		assert.True(t, rep.OK())
		assert.Less(t, rep.Rows, int64(300))
	})
}

func TestMigratingColumnReadsBothForms(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{migrating: true})
		e.fill(t, 1, 10)
		e.ddl(t)
		db := e.wrapped(t)
		ctx := admin(t.Context(), "")
		// Plaintext reads as plaintext, and masks.
		got := e.readAll(t, db, "")
		idNo, phone, name := person(3)
		assert.Equal(t, [3]string{idNo, phone, name}, got[3])
		var masked string
		require.NoError(t, db.QueryRowContext(sqldriver.WithRoles(t.Context(), "c", "clerk"), b.ph(`SELECT phone FROM citizen WHERE id = ?`), 3).Scan(&masked))
		assert.NotEqual(t, phone, masked)
		assert.Contains(t, masked, "*")
		// A write seals.
		i11, p11, n11 := person(11)
		_, err := db.ExecContext(ctx, b.ph(`INSERT INTO citizen (id, id_no, phone, name) VALUES (?, ?, ?, ?)`), 11, i11, p11, n11)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(e.stored(t)[11][2].String, "gmf2:"))
		// = matches both forms.
		for _, want := range []int64{3, 11} {
			_, p, _ := person(int(want))
			var id int64
			require.NoError(t, db.QueryRowContext(ctx, b.ph(`SELECT id FROM citizen WHERE phone = ?`), p).Scan(&id))
			assert.Equal(t, want, id)
			require.NoError(t, db.QueryRowContext(ctx, b.ph(`SELECT id FROM citizen WHERE '`+p+`' = phone`)).Scan(&id))
			assert.Equal(t, want, id)
		}
		_, err = db.QueryContext(ctx, b.ph(`SELECT id FROM citizen WHERE phone IN (?, ?)`), p11, phone)
		assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)
		_, err = db.QueryContext(ctx, b.ph(`SELECT id FROM citizen WHERE phone <> ?`), p11)
		assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)

		// Without migrating, the plaintext row fails to open.
		e.reload(t, func(s string) string { return strings.ReplaceAll(s, ", migrating: true", "") })
		_, err = e.wrapped(t).QueryContext(ctx, b.ph(`SELECT phone FROM citizen WHERE id = ?`), 3)
		if err == nil {
			rows, _ := e.wrapped(t).QueryContext(ctx, b.ph(`SELECT phone FROM citizen WHERE id = ?`), 3)
			defer rows.Close()
			rows.Next()
			var s string
			err = rows.Scan(&s)
		}
		assert.ErrorIs(t, err, sqldriver.ErrOpen)
	})
}

func TestReencryptAfterRotation(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := migrated(t, b, opts{}, 200)
		var err error
		before, err := e.job().KeyUsage(t.Context())
		require.NoError(t, err)
		require.Len(t, before, 3) // one DEK per column
		for _, ks := range []string{"citizen.id_no", "citizen.phone", "citizen.name"} {
			_, err := e.cfg.Keyring.Rotate(t.Context(), keyspaceOf(t, e, ks))
			require.NoError(t, err)
		}
		storedBefore := e.stored(t)
		sum, err := e.job().Reencrypt(t.Context(), lifecycle.Selection{})
		require.NoError(t, err)
		assert.Equal(t, int64(200), sum.Changed)
		assert.Equal(t, int64(600), sum.Values)
		after, err := e.job().KeyUsage(t.Context())
		require.NoError(t, err)
		require.Len(t, after, 3)
		for id := range after {
			assert.NotContains(t, before, id)
		}
		for id, v := range e.stored(t) {
			assert.Equal(t, storedBefore[id][1], v[1], "blind indexes unchanged")
			assert.NotEqual(t, storedBefore[id][2], v[2])
		}
		// Old keys can go: verify stays clean.
		for id := range before {
			require.NoError(t, e.cfg.Keyring.Destroy(t.Context(), id))
		}
		rep, err := e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
		sum, err = e.job().Reencrypt(t.Context(), lifecycle.Selection{})
		require.NoError(t, err)
		assert.Zero(t, sum.Changed)
	})
}

func keyspaceOf(t testing.TB, e *env, col string) string {
	codec, err := sqldriver.NewCodec(t.Context(), e.cfg)
	require.NoError(t, err)
	tc := strings.Split(col, ".")
	ks, err := codec.Keyspace(sqldriver.Place{Table: tc[0], Column: tc[1]})
	require.NoError(t, err)
	return ks
}

func TestFailClosed(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := migrated(t, b, opts{}, 100)
		var err error
		usage, err := e.job().KeyUsage(t.Context())
		require.NoError(t, err)
		// Destroy the phone column's key, then ask for a re-encryption.
		phoneKey := currentKey(t, e, "citizen.phone")
		require.Contains(t, usage, phoneKey)
		_, err = e.cfg.Keyring.Rotate(t.Context(), keyspaceOf(t, e, "citizen.phone"))
		require.NoError(t, err)
		require.NoError(t, e.cfg.Keyring.Destroy(t.Context(), phoneKey))
		sum, err := e.job().Reencrypt(t.Context(), lifecycle.Selection{})
		var re *lifecycle.RowError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
		assert.Equal(t, "citizen", re.Table)
		assert.Equal(t, "phone", re.Column)
		assert.Equal(t, "1", re.RowKey)
		assert.NotContains(t, err.Error(), "13800130001")
		assert.NotContains(t, err.Error(), "gmf2:")
		assert.Zero(t, sum.Changed)
		// The checkpoint stays a valid place to resume from.
		var state string
		require.NoError(t, e.raw.QueryRow(`SELECT state FROM gmfield_jobs WHERE kind = 'reencrypt'`).Scan(&state))
		assert.Equal(t, "running", state)

		rep, err := e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.False(t, rep.OK())
		assert.Equal(t, int64(100), rep.Columns[1].Failed)
		require.NotEmpty(t, rep.Failures)
		assert.Equal(t, "key destroyed", rep.Failures[0].Reason)
	})
}

// currentKey is the id of the current DEK of a column ("table.column").
func currentKey(t testing.TB, e *env, col string) string {
	k, err := e.cfg.Keyring.Current(t.Context(), keyspaceOf(t, e, col))
	require.NoError(t, err)
	return k.ID()
}

func mustList(t testing.TB, kr *keyring.Keyring) []keyring.Record {
	recs, err := kr.List(t.Context())
	require.NoError(t, err)
	return recs
}

func TestVerifyFindsMovedValues(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := migrated(t, b, opts{}, 20)
		var err error
		st := e.stored(t)
		// Swap two rows' phones (ciphertext and index): the row key catches it.
		_, err = e.raw.Exec(b.ph(`UPDATE citizen SET phone = ?, phone_bidx = ? WHERE id = 5`), st[6][2].String, st[6][3].String)
		require.NoError(t, err)
		// A stale index on row 7.
		_, err = e.raw.Exec(b.ph(`UPDATE citizen SET id_no_bidx = ? WHERE id = 7`), st[8][1].String)
		require.NoError(t, err)
		rep, err := e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.False(t, rep.OK())
		assert.Equal(t, int64(1), rep.Columns[1].Failed)
		assert.Equal(t, int64(1), rep.Columns[0].IndexMismatch)
		require.Len(t, rep.Failures, 2)
		assert.Equal(t, lifecycle.Failure{Column: "phone", RowKey: "5", Reason: "authentication failed (altered, or moved from another row or column)"}, rep.Failures[0])
		assert.Equal(t, "7", rep.Failures[1].RowKey)
	})
}

func TestShred(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{tenant: true})
		e.fill(t, 1, 120)
		e.ddl(t)
		sum, err := e.job().Migrate(t.Context())
		require.NoError(t, err)
		require.Equal(t, int64(120), sum.Changed)
		db := e.wrapped(t)
		require.Len(t, e.readAll(t, db, "t-a"), 60)
		_, phoneA, _ := person(2) // an t-a row
		var id int64
		require.NoError(t, db.QueryRowContext(admin(t.Context(), "t-a"), b.ph(`SELECT id FROM citizen WHERE phone = ?`), phoneA).Scan(&id))

		dry := e.job()
		dry.DryRun = true
		sum, err = dry.Shred(t.Context(), lifecycle.ShredTarget{Tenant: "t-a"})
		require.NoError(t, err)
		assert.Equal(t, int64(60), sum.Changed)
		require.Len(t, e.readAll(t, db, "t-a"), 60)

		sum, err = e.job().Shred(t.Context(), lifecycle.ShredTarget{Tenant: "t-a"})
		require.NoError(t, err)
		assert.Equal(t, int64(60), sum.Changed)
		for id, v := range e.stored(t) {
			for i := range v {
				if tenantOf(int(id)) == "t-a" {
					assert.Falsef(t, v[i].Valid, "row %d column %d kept", id, i)
				} else {
					assert.True(t, v[i].Valid)
				}
			}
		}
		// Found neither by its index (its root is gone) nor otherwise.
		err = db.QueryRowContext(admin(t.Context(), "t-a"), b.ph(`SELECT id FROM citizen WHERE phone = ?`), phoneA).Scan(&id)
		assert.True(t, errors.Is(err, sql.ErrNoRows) || errors.Is(err, keyring.ErrKeyDestroyed), "%v", err)
		got := e.readAll(t, db, "t-b")
		require.Len(t, got, 60)
		idNo, phone, name := person(3)
		assert.Equal(t, [3]string{idNo, phone, name}, got[3])
		for _, r := range mustList(t, e.cfg.Keyring) {
			if strings.Contains(r.Keyspace, "t-a") {
				assert.Equal(t, keyring.StateDestroyed, r.State, r.ID)
			}
		}
	})
}

func TestShredKey(t *testing.T) {
	e := migrated(t, backends[0], opts{}, 50)
	var err error
	ks := keyspaceOf(t, e, "citizen.phone")
	old := currentKey(t, e, "citizen.phone")
	_, err = e.cfg.Keyring.Rotate(t.Context(), ks)
	require.NoError(t, err)
	_, p51, _ := person(51)
	_, err = e.wrapped(t).ExecContext(admin(t.Context(), ""), `INSERT INTO citizen (id, id_no, phone, name) VALUES (51, 'x', ?, 'y')`, p51)
	require.NoError(t, err)
	sum, err := e.job().Shred(t.Context(), lifecycle.ShredTarget{KeyID: old})
	require.NoError(t, err)
	assert.Equal(t, int64(50), sum.Changed)
	st := e.stored(t)
	assert.False(t, st[1][2].Valid)
	assert.False(t, st[1][3].Valid)
	assert.True(t, st[1][0].Valid, "other columns keep their values")
	assert.True(t, st[51][2].Valid, "values under the new key stay")
	_, err = e.cfg.Keyring.KeyContext(t.Context(), old)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
}

func TestJobErrors(t *testing.T) {
	e := newEnv(t, backends[0], opts{})
	for _, tc := range []struct {
		name string
		job  lifecycle.Job
		want error
	}{
		{"unknown table", lifecycle.Job{DB: e.raw, Config: e.cfg, Dialect: "sqlite", Table: "nope"}, lifecycle.ErrInvalid},
		{"bad dialect", lifecycle.Job{DB: e.raw, Config: e.cfg, Dialect: "oracle", Table: "citizen"}, lifecycle.ErrInvalid},
		{"no db", lifecycle.Job{Config: e.cfg, Dialect: "sqlite", Table: "citizen"}, lifecycle.ErrInvalid},
		{"missing index column", lifecycle.Job{DB: e.raw, Config: e.cfg, Dialect: "sqlite", Table: "citizen"}, lifecycle.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.job.Migrate(t.Context())
			assert.ErrorIs(t, err, tc.want)
		})
	}
	_, err := e.job().Shred(t.Context(), lifecycle.ShredTarget{})
	assert.ErrorIs(t, err, lifecycle.ErrInvalid)
	_, err = lifecycle.DDL(t.Context(), nil, e.cfg, "sqlite", "nope")
	assert.ErrorIs(t, err, lifecycle.ErrInvalid)
}

// TestBinaryColumn migrates a binary-form column whose plaintext holds
// the bytes that need quoting in each database's literals.
func TestBinaryColumn(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		raw, dsn := b.connect(t)
		cfg := parseConfig(t, `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  doc:
    row_key: {column: k, type: text}
    columns:
      body: {mask: mask_all, form: binary}
      title: {mask: mask_all, index: {title_bidx: full}}
roles:
  admin: {default: plain}
`)
		var err error
		blob := map[string]string{"sqlite": "BLOB", "postgres": "BYTEA", "mysql": "LONGBLOB"}[b.name]
		_, err = raw.Exec(`CREATE TABLE doc (k VARCHAR(20) PRIMARY KEY, body ` + blob + `, title VARCHAR(50))`)
		require.NoError(t, err)
		values := map[string][]byte{"a": []byte(`x"y\z{},'` + "\x00\xff"), "b\"\\": {}, "c": nil}
		for k, v := range values {
			var body any = v
			if v == nil {
				body = nil
			}
			_, err = raw.Exec(b.ph(`INSERT INTO doc VALUES (?, ?, ?)`), k, body, `t"i\t{l}e`+k)
			require.NoError(t, err)
		}
		stmts, err := lifecycle.DDL(t.Context(), raw, cfg, b.name, "")
		require.NoError(t, err)
		for _, s := range stmts {
			_, err := raw.Exec(s)
			require.NoError(t, err, s)
		}
		sum, err := (&lifecycle.Job{DB: raw, Config: cfg, Dialect: b.name, Table: "doc"}).Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(3), sum.Changed)
		db, err := sqldriver.Open(b.driver, dsn, cfg)
		require.NoError(t, err)
		defer db.Close()
		for k, v := range values {
			var body []byte
			var title string
			require.NoError(t, db.QueryRowContext(admin(t.Context(), ""), b.ph(`SELECT body, title FROM doc WHERE k = ?`), k).Scan(&body, &title))
			if v == nil {
				assert.Nil(t, body, k)
			} else {
				assert.Equal(t, string(v), string(body), k)
			}
			assert.Equal(t, `t"i\t{l}e`+k, title)
		}
		rep, err := (&lifecycle.Job{DB: raw, Config: cfg, Dialect: b.name, Table: "doc"}).Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
	})
}

// TestPrimaryKeyOrder migrates a table without a row key, ordered by its
// text primary key.
func TestPrimaryKeyOrder(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		raw, _ := b.connect(t)
		cfg := parseConfig(t, `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  contact:
    columns:
      email: {mask: email, index: {email_bidx: lower}}
roles:
  admin: {default: plain}
`)
		var err error
		_, err = raw.Exec(`CREATE TABLE contact (code VARCHAR(20) PRIMARY KEY, email VARCHAR(300), email_bidx CHAR(32))`)
		require.NoError(t, err)
		for i := 0; i < 150; i++ {
			_, err = raw.Exec(b.ph(`INSERT INTO contact (code, email) VALUES (?, ?)`), fmt.Sprintf("c-%03d", i), fmt.Sprintf("u%d@example.cn", i))
			require.NoError(t, err)
		}
		job := &lifecycle.Job{DB: raw, Config: cfg, Dialect: b.name, Table: "contact", Batch: 40}
		sum, err := job.Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(150), sum.Changed)
		rep, err := job.Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
		assert.Equal(t, int64(150), rep.Rows)
	})
}
