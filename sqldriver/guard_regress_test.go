package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
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
		raw, db := guarded(t, b)
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
		_, db := guarded(t, b)
		_, err := db.QueryContext(as("clerk"), `SELECT name FROM citizen WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id > 0)`)
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
		_, db := guarded(t, b)
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
		_, err := db.QueryContext(as("clerk"), `SELECT name FROM citizen LIMIT ?`, unlimited)
		assert.ErrorIs(t, err, guard.ErrHighRisk, "a placeholder bound to no limit")
		rows, err := db.QueryContext(as("clerk"), `SELECT name FROM citizen LIMIT ?`, 2)
		require.NoError(t, err, "a placeholder bound to a limit")
		require.NoError(t, rows.Close())
	})
}

// TestGuardSelfJoinRestrictsOtherAlias (a second hostile read): a second
// reference to the protected table (USING citizen c2, FROM citizen c2,
// JOIN citizen c2) whose alias the WHERE restricts made the WHERE count
// for the target, whose rows it does not restrict: every citizen was
// updated or deleted.
func TestGuardSelfJoinRestrictsOtherAlias(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		raw, db := guarded(t, b)
		var stmts []string
		switch b.name {
		case "sqlite":
			stmts = []string{`UPDATE citizen SET city = 'x' FROM citizen c2 WHERE c2.id = 1`}
		case "postgres", "libpq":
			stmts = []string{`UPDATE citizen SET city = 'x' FROM citizen c2 WHERE c2.id = 1`, `DELETE FROM citizen USING citizen c2 WHERE c2.id = 1`}
		case "mysql":
			stmts = []string{`DELETE c FROM citizen c JOIN citizen c2 WHERE c2.id = 1`}
		}
		for _, q := range stmts {
			res, err := db.ExecContext(as("clerk"), q)
			n := int64(-1)
			if err == nil {
				n, _ = res.RowsAffected()
			}
			assert.ErrorIs(t, err, guard.ErrHighRisk, "%s: changed %d rows (all of citizen), no permission", q, n)
		}
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM citizen WHERE city <> 'x'`).Scan(&n))
		assert.Equal(t, 3, n, "a clerk changed or deleted every citizen")
	})
}

// TestGuardBulkSelectSelfJoin (a second hostile read): bulk: false was
// passed by a self-join whose other alias the WHERE restricts, and by a
// join whose WHERE restricts only the other protected table.
func TestGuardBulkSelectSelfJoin(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := guarded(t, b)
		for _, q := range []string{
			`SELECT c.name FROM citizen c JOIN citizen c2 ON 1 = 1 WHERE c2.id = 1`,
			`SELECT email FROM contact, citizen WHERE citizen.id = 1`,
		} {
			n, err := countRows(db.QueryContext(as("clerk"), q))
			assert.ErrorIs(t, err, guard.ErrHighRisk, "%s: every row, %d rows", q, n)
		}
		var name string
		require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT c.name FROM citizen c JOIN orders o ON o.citizen_id = c.id WHERE c.id = ?`, 1).Scan(&name), "the table read is restricted")
		_, err := db.QueryContext(as("clerk"), `SELECT c.name FROM citizen c JOIN citizen c2 ON c2.id = c.id WHERE c.id = ?`, 1)
		assert.ErrorIs(t, err, guard.ErrHighRisk, "a self-join needs each alias restricted (docs/guard.md)")
	})
}

// TestGuardYAMLBudgetNone (a second hostile read): budget: none for a
// principal was refused for its window.
func TestGuardYAMLBudgetNone(t *testing.T) {
	doc := testConfig + "guard:\n  roles:\n    clerk: {budget: 300/1h}\n  principals:\n    nightly-phone-check: {budget: none}\n"
	_, err := config.Parse([]byte(doc), keyDir(t))
	assert.NoError(t, err)
}

// TestGuardYAMLRoleCase (a second hostile read): roles Clerk and clerk
// passed the loader's duplicate-key check, and the guard kept one at
// random.
func TestGuardYAMLRoleCase(t *testing.T) {
	doc := testConfig + "guard:\n  roles:\n    clerk: {per_statement: 1}\n    Clerk: {per_statement: 1000}\n"
	_, err := config.Parse([]byte(doc), keyDir(t))
	assert.Error(t, err, "two entries for role clerk")
}

// flip is a driver.Valuer whose first Value (the guard's boundsRows)
// is a limit and whose next (the inner driver's) is no limit.
type flip struct {
	n    *atomic.Int32
	then driver.Value
}

func (f flip) Value() (driver.Value, error) {
	if f.n.Add(1) == 1 {
		return int64(1), nil
	}
	return f.then, nil
}

// TestGuardLimitValuerReadOnce (a second hostile read): the guard read a
// LIMIT argument's Valuer once and the inner driver (pgx, whose
// CheckNamedValue passes every value through) again, which could give
// no limit; the value read is now the one sent.
func TestGuardLimitValuerReadOnce(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := guarded(t, b)
		var none driver.Value = int64(-1)
		if b.name != "sqlite" {
			none = nil
		}
		for name, arg := range map[string]any{
			"flip Valuer": flip{n: new(atomic.Int32), then: none},
		} {
			n, err := countRows(db.QueryContext(as("clerk"), `SELECT name FROM citizen LIMIT ?`, arg))
			t.Logf("%s: err=%v rows=%d", name, err, n)
			if err == nil {
				assert.Less(t, n, 3, "%s: LIMIT ? bound to %v returned every row", name, arg)
			}
		}
	})
}

// TestGuardFetchWithTies (a second hostile read): FETCH FIRST 1 ROWS WITH
// TIES counted as a LIMIT that bounds the rows, but with an ORDER BY on
// which every row ties it returns all of them (PostgreSQL 13+).
func TestGuardFetchWithTies(t *testing.T) {
	for _, b := range []backend{postgresBackend} {
		_, db := guarded(t, b)
		for _, q := range []string{
			`SELECT name FROM citizen ORDER BY id > 0 FETCH FIRST 1 ROWS WITH TIES`,
			`SELECT name FROM citizen ORDER BY city IS NULL FETCH FIRST 1 ROW WITH TIES`,
		} {
			n, err := countRows(db.QueryContext(as("clerk"), q))
			t.Logf("%s: err=%v rows=%d", q, err, n)
			if err == nil {
				assert.Less(t, n, 2, "%s: bulk_select passed, %d rows", q, n)
			} else {
				assert.ErrorIs(t, err, guard.ErrHighRisk)
			}
		}
	}
}

// guarded opens backend b through the driver with the suite's guard
// roles (guardRoles), seeded; raw is the unwrapped handle.
func guarded(t *testing.T, b backend) (*sql.DB, tdb) {
	t.Helper()
	g, err := guard.New(guard.Config{Roles: guardRoles()})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Guard = g
	raw, db := b.open(t, cfg)
	seed(t, b, db)
	return raw, db
}

// countRows reads a result to its end and closes it, returning the rows
// read and the query's error; 0 and err when the query failed.
func countRows(rows *sql.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, nil
}
