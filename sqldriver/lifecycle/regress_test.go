package lifecycle_test

import (
	"database/sql"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// Regression tests for the breaks an independent hostile read found.

// A row that moves to another tenant between the shred's read and its
// write is read again, and then belongs to the other tenant: kept.
func TestShredKeepsRowMovedToOtherTenant(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := migrated(t, b, opts{tenant: true}, 10)
		var err error
		once := sync.Once{}
		defer lifecycle.SetDecided(func() {
			once.Do(func() {
				_, err := e.raw.Exec(b.ph(`UPDATE citizen SET tenant = 't-b', phone = 'owned-by-t-b' WHERE id = 2`))
				require.NoError(t, err)
			})
		})()
		_, err = e.job().Shred(t.Context(), lifecycle.ShredTarget{Tenant: "t-a"})
		require.NoError(t, err)
		var tenant string
		var phone sql.NullString
		require.NoError(t, e.raw.QueryRow(`SELECT tenant, phone FROM citizen WHERE id = 2`).Scan(&tenant, &phone))
		assert.Equal(t, "t-b", tenant)
		assert.Equal(t, "owned-by-t-b", phone.String, "shred of t-a cleared a value of t-b")
	})
}

// Tenants are case-sensitive: a case-insensitive collation does not make
// T-A's rows t-a's.
func TestShredTenantIsExact(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{tenant: true})
		e.fill(t, 1, 4)
		_, err := e.raw.Exec(`UPDATE citizen SET tenant = 'T-A' WHERE id = 3`)
		require.NoError(t, err)
		e.ddl(t)
		_, err = e.job().Migrate(t.Context())
		require.NoError(t, err)
		_, err = e.job().Shred(t.Context(), lifecycle.ShredTarget{Tenant: "t-a"})
		require.NoError(t, err)
		got := e.readAll(t, e.wrapped(t), "T-A")
		idNo, phone, name := person(3)
		assert.Equal(t, [3]string{idNo, phone, name}, got[3], "T-A's row was shredded with t-a")
	})
}

// A row whose tenant changes during the migration is sealed under its new
// tenant's keys.
func TestMigrateFollowsTenantChange(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{tenant: true})
		e.fill(t, 1, 10)
		e.ddl(t)
		once := sync.Once{}
		defer lifecycle.SetDecided(func() {
			once.Do(func() {
				_, err := e.raw.Exec(b.ph(`UPDATE citizen SET tenant = 't-b' WHERE id = 2`))
				require.NoError(t, err)
			})
		})()
		sum, err := e.job().Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(1), sum.Retried)
		rep, err := e.job().Verify(t.Context(), 0)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep.Failures)
	})
}

// A column too narrow for its envelopes is refused before anything is
// written (PostgreSQL would truncate in the cast), and a value that
// would not fit stops the job.
func TestNarrowColumnRefused(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		if b.name == "sqlite" {
			t.Skip("SQLite does not limit lengths")
		}
		e := newEnv(t, b, opts{})
		e.fill(t, 1, 3)
		for _, c := range []string{"id_no_bidx", "phone_bidx"} {
			_, err := e.raw.Exec(`ALTER TABLE citizen ADD COLUMN ` + c + ` CHAR(32)`)
			require.NoError(t, err)
		}
		_, err := e.job().Migrate(t.Context())
		assert.ErrorIs(t, err, lifecycle.ErrInvalid)
		assert.Contains(t, err.Error(), "run gmfield ddl")
		assert.Equal(t, "13800130001", e.stored(t)[1][2].String, "nothing written")
		// Without max_len the job finds out per value.
		e.reload(t, func(s string) string {
			return strings.NewReplacer(", max_len: 18", "", ", max_len: 20", "", ", max_len: 40", "").Replace(s)
		})
		_, err = e.job().Migrate(t.Context())
		var re *lifecycle.RowError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, lifecycle.ErrInvalid)
		assert.Equal(t, "1", re.RowKey)
		assert.Equal(t, "13800130001", e.stored(t)[1][2].String, "nothing written")
	})
}

// A database's error at a write does not carry the values written.
func TestWriteErrorHidesValues(t *testing.T) {
	b := backends[1]
	e := newEnv(t, b, opts{})
	e.fill(t, 1, 3)
	e.ddl(t)
	_, err := e.raw.Exec(`ALTER TABLE citizen ALTER COLUMN name TYPE INTEGER USING id`)
	require.NoError(t, err)
	_, err = e.job().Migrate(t.Context())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "gmf2:")
	assert.Contains(t, err.Error(), "SQLSTATE")
}

// migratingEnv has rows 1–5 in plaintext and 6–10 sealed by the driver.
func migratingEnv(t *testing.T, b backend) (*env, *sql.DB) {
	e := newEnv(t, b, opts{migrating: true})
	e.fill(t, 1, 5)
	e.ddl(t)
	db := e.wrapped(t)
	for i := 6; i <= 10; i++ {
		idNo, phone, name := person(i)
		_, err := db.ExecContext(admin(t.Context(), ""), b.ph(`INSERT INTO citizen (id, id_no, phone, name, city) VALUES (?, ?, ?, ?, 'bj')`), i, idNo, phone, name)
		require.NoError(t, err)
	}
	return e, db
}

func ids(t *testing.T, db *sql.DB, b backend, q string, args ...any) ([]int64, error) {
	t.Helper()
	rows, err := db.QueryContext(admin(t.Context(), ""), b.ph(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, rows.Err()
}

// A search on a migrating column keeps its meaning under NOT, with a
// bound number (MySQL compares '…' = 0 as numbers) and in a DELETE.
func TestMigratingSearchSemantics(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := migratingEnv(t, b)
		_, p1, _ := person(1)
		_, p7, _ := person(7)
		for _, tc := range []struct {
			q    string
			arg  any
			want []int64
		}{
			{`SELECT id FROM citizen WHERE phone = ?`, p1, []int64{1}},
			{`SELECT id FROM citizen WHERE phone = ?`, p7, []int64{7}},
			{`SELECT id FROM citizen WHERE NOT phone = ?`, p1, []int64{2, 3, 4, 5, 6, 7, 8, 9, 10}},
			{`SELECT id FROM citizen WHERE NOT phone = ?`, p7, []int64{1, 2, 3, 4, 5, 6, 8, 9, 10}},
			{`SELECT id FROM citizen WHERE phone = ?`, 0, nil},
			{`SELECT id FROM citizen WHERE phone = ? OR id = 2`, int64(13800130003), []int64{2, 3}},
		} {
			got, err := ids(t, db, b, tc.q, tc.arg)
			require.NoError(t, err, tc.q)
			assert.Equal(t, tc.want, got, "%s %v", tc.q, tc.arg)
		}
		res, err := db.ExecContext(admin(t.Context(), ""), b.ph(`DELETE FROM citizen WHERE phone = ?`), 0)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		assert.Zero(t, n, "DELETE … WHERE phone = 0 deleted sealed rows")
	})
}

// Shred refuses a key the configuration does not declare, and a blind-
// index root, and destroys nothing when the job cannot run.
func TestShredChecksBeforeDestroying(t *testing.T) {
	e := newEnv(t, backends[0], opts{})
	e.fill(t, 1, 3)
	other, err := e.cfg.Keyring.Current(t.Context(), "payroll.salary")
	require.NoError(t, err)
	phone := currentKey(t, e, "citizen.phone")
	// Not ready (no index columns): nothing destroyed.
	_, err = e.job().Shred(t.Context(), lifecycle.ShredTarget{KeyID: phone})
	assert.ErrorIs(t, err, lifecycle.ErrInvalid)
	assert.Equal(t, phone, currentKey(t, e, "citizen.phone"), "the key survived")
	e.ddl(t)
	for _, id := range []string{other.ID(), "index-root", "k0000000000000000"} {
		_, err = e.job().Shred(t.Context(), lifecycle.ShredTarget{KeyID: id})
		assert.ErrorIs(t, err, lifecycle.ErrInvalid, id)
	}
	_, err = e.cfg.Keyring.KeyContext(t.Context(), other.ID())
	assert.NoError(t, err, "an undeclared keyspace's key survived")
	_, err = e.cfg.Keyring.IndexRoot(t.Context())
	assert.NoError(t, err, "the index root survived")
}
