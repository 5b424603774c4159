package sqldriver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
)

// TestGuardDeleteAllThroughOtherTable (a hostile read's finding): a WHERE
// (or USING, FROM, JOIN) that reads only another table's columns, or
// SQLite's WHERE "1", passed delete_all and update_all, and changed
// every row of the protected table.
func TestGuardDeleteAllThroughOtherTable(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		g, err := guard.New(guard.Config{Roles: guardRoles()})
		require.NoError(t, err)
		cfg := newConfig(t, testConfig)
		cfg.Guard = g
		raw, db := b.open(t, cfg)
		seed(t, b, db)
		stmts := []string{
			`UPDATE citizen SET city = 'x' WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id > 0)`,
			`DELETE FROM citizen WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id > 0)`,
		}
		switch b.name {
		case "sqlite":
			stmts = append(stmts, `UPDATE citizen SET city = 'x' FROM orders WHERE orders.id > 0`, `DELETE FROM citizen WHERE "1"`)
		case "postgres", "libpq":
			stmts = append(stmts, `UPDATE citizen SET city = 'x' FROM orders WHERE orders.id > 0`, `DELETE FROM citizen USING orders WHERE orders.id > 0`)
		case "mysql":
			stmts = append(stmts, `DELETE citizen FROM orders JOIN citizen ON 1=1 WHERE orders.id > 0`)
		}
		for _, q := range stmts {
			_, err := db.ExecContext(as("clerk"), q)
			assert.ErrorIs(t, err, guard.ErrHighRisk, "%s: every row of citizen, no permission", q)
		}
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM citizen`).Scan(&n))
		assert.Equal(t, 3, n, "a clerk deleted every citizen")
	})
}

// TestGuardBulkSelectThroughOtherTable (a hostile read's finding): a
// WHERE that reads only a subquery's columns passed bulk: false.
func TestGuardBulkSelectThroughOtherTable(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		g, err := guard.New(guard.Config{Roles: guardRoles()})
		require.NoError(t, err)
		cfg := newConfig(t, testConfig)
		cfg.Guard = g
		_, db := b.open(t, cfg)
		seed(t, b, db)
		_, err = db.QueryContext(as("clerk"), `SELECT name FROM citizen WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id > 0)`)
		assert.ErrorIs(t, err, guard.ErrHighRisk, "every row of citizen, no WHERE on it, no LIMIT")
	})
}

// TestGuardWhitelistSQLiteQuotedNames (a hostile read's finding): on
// SQLite, "city" and "zzz" share a shape ("?"), so a whitelist of a
// lookup by city admitted a statement that compares the string 'zzz'
// with its argument and returns every row. The whitelist matches the
// exact fingerprint.
func TestGuardWhitelistSQLiteQuotedNames(t *testing.T) {
	b := sqliteBackend
	allowed := `SELECT name FROM citizen WHERE "city" = ?`
	acfg := newConfig(t, testConfig)
	acfg.Dialect = pgdialect.SQLite
	plan, err := sqldriver.Analyze(acfg, allowed)
	require.NoError(t, err)
	require.NotEmpty(t, plan.ExactFingerprint)
	require.NotEqual(t, plan.Fingerprint, plan.ExactFingerprint)
	other, err := sqldriver.Analyze(acfg, `SELECT name FROM citizen WHERE "zzz" = ?`)
	require.NoError(t, err)
	assert.Equal(t, plan.Fingerprint, other.Fingerprint, "one shape, for the audit log")
	assert.NotEqual(t, plan.ExactFingerprint, other.ExactFingerprint)
	doc := testConfig + fmt.Sprintf("guard:\n  whitelist: enforce\n  roles:\n    clerk: {statements: [%s]}\n", plan.ExactFingerprint)
	keys := keyDir(t)
	cfg, err := config.Parse([]byte(doc), keys)
	require.NoError(t, err)
	noGuard, err := config.Parse([]byte(testConfig), keys)
	require.NoError(t, err)
	_, plain, wrap := b.openMore(t, noGuard)
	seed(t, b, plain)
	db := wrap(cfg)
	ctx := sqldriver.WithRoles(context.Background(), "c1", "clerk")
	var one string
	require.NoError(t, db.QueryRowContext(ctx, allowed, "北京").Scan(&one), "the whitelisted statement runs")
	var names []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM citizen WHERE "zzz" = ?`, "zzz")
	if err == nil {
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			names = append(names, s)
		}
		rows.Close()
	}
	assert.ErrorIs(t, err, guard.ErrNotAllowed, "not the whitelisted statement; it returned %d rows", len(names))
}

// TestGuardBulkSelectNoLimitLimit (a hostile read's finding): a LIMIT that
// limits nothing (SQLite LIMIT -1, PostgreSQL LIMIT ALL, LIMIT NULL, a
// placeholder bound to either) passed bulk: false.
func TestGuardBulkSelectNoLimitLimit(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		var qs []string
		switch b.name {
		case "sqlite":
			qs = []string{`SELECT name FROM citizen LIMIT -1`}
		case "postgres", "libpq":
			qs = []string{`SELECT name FROM citizen LIMIT ALL`, `SELECT name FROM citizen LIMIT NULL`}
		default:
			t.Skip("MySQL has no unlimited LIMIT")
		}
		g, err := guard.New(guard.Config{Roles: guardRoles()})
		require.NoError(t, err)
		cfg := newConfig(t, testConfig)
		cfg.Guard = g
		_, db := b.open(t, cfg)
		seed(t, b, db)
		for _, q := range qs {
			rows, err := db.QueryContext(as("clerk"), q)
			if err == nil {
				rows.Close()
			}
			assert.ErrorIs(t, err, guard.ErrHighRisk, "%s: every row, no limit", q)
		}
		unlimited := any(int64(-1))
		if b.name != "sqlite" {
			unlimited = nil
		}
		_, err = db.QueryContext(as("clerk"), `SELECT name FROM citizen LIMIT ?`, unlimited)
		assert.ErrorIs(t, err, guard.ErrHighRisk, "a placeholder bound to no limit")
		rows, err := db.QueryContext(as("clerk"), `SELECT name FROM citizen LIMIT ?`, 2)
		require.NoError(t, err, "a placeholder bound to a limit")
		require.NoError(t, rows.Close())
	})
}
