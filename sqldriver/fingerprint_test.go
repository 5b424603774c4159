package sqldriver_test

import (
	"encoding/hex"
	"errors"
	"regexp"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/mysqldialect"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// TestFingerprint checks the statement fingerprint on every dialect:
// statements that differ only in values, comments, spacing and keyword
// case share it; any other difference changes it; no value reaches the
// shape.
func TestFingerprint(t *testing.T) {
	dialects := []struct {
		d  sqlplan.Dialect
		ph func(string) string
	}{{pgdialect.SQLite, same}, {pgdialect.PostgreSQL, dollar}, {mysqldialect.MySQL, same}}
	same := [][2]string{
		{`SELECT name FROM citizen WHERE id_no = ?`, `select  NAME from Citizen /* 110101199003077777 */ where id_no=?`},
		{`SELECT name FROM citizen WHERE id_no = ?`, `SELECT name FROM citizen WHERE id_no = '110101199003077777'`},
		{`SELECT name FROM citizen WHERE id = 5`, `SELECT name FROM citizen WHERE id = 123456`},
		{`SELECT name FROM citizen WHERE id_no IN (?)`, `SELECT name FROM citizen WHERE id_no IN (?, ?, '13800138000')`},
		{`INSERT INTO citizen (id, name) VALUES (?, ?)`, `INSERT INTO citizen (id, name) VALUES (1, '张三'), (2, '李四')`},
		{`SELECT name FROM citizen LIMIT 10`, `SELECT name FROM citizen LIMIT 20`},
	}
	differ := [][2]string{
		{`SELECT name FROM citizen WHERE id_no = ?`, `SELECT phone FROM citizen WHERE id_no = ?`},
		{`SELECT name FROM citizen WHERE id = ?`, `SELECT name FROM citizen WHERE id > ?`},
		{`SELECT name FROM citizen WHERE id = ?`, `SELECT name FROM citizen`},
		{`SELECT name FROM citizen WHERE id = ? AND city = ?`, `SELECT name FROM citizen WHERE id = ? OR city = ?`},
		{`DELETE FROM citizen WHERE id = ?`, `DELETE FROM citizen`},
	}
	secret := regexp.MustCompile(`110101199003077777|13800138000|123456|张三|李四|'`)
	for _, dl := range dialects {
		cfg := newConfig(t, testConfig)
		cfg.Dialect = dl.d
		plan := func(q string) *sqlplan.Plan {
			p, err := sqldriver.Analyze(cfg, dl.ph(q))
			require.NoError(t, err, "%s: %s", dl.d.Name(), q)
			require.True(t, p.Protected)
			assert.NotRegexp(t, secret, p.Shape, "%s: %s", dl.d.Name(), q)
			sum := sm3.Sum([]byte(p.Shape))
			require.Len(t, p.Fingerprint, 64)
			assert.Equal(t, sum[:], mustHex(t, p.Fingerprint), "the fingerprint is SM3 of the shape")
			return p
		}
		for _, c := range same {
			a, b := plan(c[0]), plan(c[1])
			assert.Equal(t, a.Fingerprint, b.Fingerprint, "%s: %q and %q\n%s\n%s", dl.d.Name(), c[0], c[1], a.Shape, b.Shape)
		}
		for _, c := range differ {
			a, b := plan(c[0]), plan(c[1])
			assert.NotEqual(t, a.Fingerprint, b.Fingerprint, "%s: %q and %q", dl.d.Name(), c[0], c[1])
		}
		// A refusal carries the fingerprint too, for the audit log.
		_, err := sqldriver.Analyze(cfg, dl.ph(`SELECT name FROM citizen ORDER BY id_no`))
		var r *sqlplan.Refusal
		require.True(t, errors.As(err, &r), "%v", err)
		assert.Len(t, r.Fingerprint, 64)
		assert.NotContains(t, r.Error(), r.Shape)
	}
	// The shape on PostgreSQL, for docs/format.md's example.
	cfg := newConfig(t, testConfig)
	cfg.Dialect = pgdialect.PostgreSQL
	p, err := sqldriver.Analyze(cfg, `SELECT name, phone FROM citizen WHERE id_no = $1 AND city IN ('北京', '上海')`)
	require.NoError(t, err)
	assert.Equal(t, `select name , phone from citizen where id_no = ? and city in ( ? )`, p.Shape)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// TestPlanWhereAndSchema: what the guard reads of a plan, on every
// dialect: a WHERE counts only when it reads a column, and schema
// statements say what they do.
func TestPlanWhereAndSchema(t *testing.T) {
	dialects := []struct {
		d  sqlplan.Dialect
		ph func(string) string
	}{{pgdialect.SQLite, same}, {pgdialect.PostgreSQL, dollar}, {mysqldialect.MySQL, same}}
	cases := []struct {
		sql          string
		where, limit bool
		schema       sqlplan.SchemaOp
		notSQLite    bool
		notMySQL     bool
		notPG        bool
		sqliteNot    bool // where is false on SQLite, which reads "x" as a string when no column is x
	}{
		{sql: `SELECT name FROM citizen WHERE id = ?`, where: true},
		{sql: `SELECT name FROM citizen WHERE 1 = 1`},
		{sql: `SELECT name FROM citizen WHERE TRUE`},
		{sql: `SELECT name FROM citizen WHERE ? = ?`},
		{sql: `SELECT name FROM citizen WHERE id IN (SELECT citizen_id FROM orders)`, where: true},
		{sql: `SELECT name FROM citizen LIMIT 5`, limit: true},
		{sql: `SELECT name FROM citizen`},
		{sql: `UPDATE citizen SET city = ? WHERE id = ?`, where: true},
		{sql: `UPDATE citizen SET city = ? WHERE 1 = 1`},
		{sql: `UPDATE citizen SET city = ?`},
		{sql: `DELETE FROM citizen WHERE city = ?`, where: true},
		{sql: `DELETE FROM citizen WHERE 2 > 1`},
		{sql: `DELETE FROM citizen WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id > 0)`},
		{sql: `DELETE FROM citizen WHERE id IN (SELECT citizen_id FROM orders)`, where: true},
		{sql: `SELECT c.name FROM citizen c JOIN orders o ON o.citizen_id = c.id WHERE o.item = ?`},
		{sql: `SELECT c.name FROM citizen c JOIN orders o ON o.citizen_id = c.id WHERE c.city = ?`, where: true},
		{sql: `SELECT c.name FROM citizen c JOIN orders o ON o.citizen_id = c.id WHERE phone = ?`, where: true},
		{sql: `SELECT name FROM citizen WHERE "citizen"."city" = ?`, where: true, notMySQL: true},
		{sql: `SELECT name FROM citizen WHERE "phone" = ?`, where: true, notMySQL: true},
		{sql: `SELECT name FROM citizen WHERE "city" = ?`, where: true, sqliteNot: true, notMySQL: true},
		{sql: `SELECT name FROM citizen WHERE "1"`, where: true, sqliteNot: true, notMySQL: true},
		{sql: `SELECT name FROM citizen LIMIT ALL`, notMySQL: true, notSQLite: true},
		{sql: `SELECT name FROM citizen LIMIT NULL`, notMySQL: true, notSQLite: true},
		{sql: `SELECT name FROM citizen LIMIT -1`, notMySQL: true, notPG: true},
		{sql: `SELECT name FROM citizen LIMIT ?`, limit: true},
		{sql: `DROP TABLE citizen`, schema: sqlplan.SchemaDrop},
		{sql: `TRUNCATE TABLE citizen`, schema: sqlplan.SchemaTruncate, notSQLite: true},
		{sql: `ALTER TABLE citizen ADD COLUMN extra TEXT`, schema: sqlplan.SchemaAlter},
		{sql: `CREATE INDEX citizen_city ON citizen (city)`, schema: sqlplan.SchemaIndex},
		{sql: `CREATE TABLE contact (k TEXT, email TEXT, email_bidx TEXT)`, schema: sqlplan.SchemaCreate},
	}
	for _, dl := range dialects {
		cfg := newConfig(t, testConfig)
		cfg.Dialect = dl.d
		for _, c := range cases {
			if c.notSQLite && dl.d == pgdialect.SQLite || c.notMySQL && dl.d == mysqldialect.MySQL || c.notPG && dl.d == pgdialect.PostgreSQL {
				continue
			}
			p, err := sqldriver.Analyze(cfg, dl.ph(c.sql))
			require.NoError(t, err, "%s: %s", dl.d.Name(), c.sql)
			where := c.where && !(c.sqliteNot && dl.d == pgdialect.SQLite)
			assert.Equal(t, where, p.Where, "%s: %s", dl.d.Name(), c.sql)
			assert.Equal(t, c.limit, p.Limit, "%s: %s", dl.d.Name(), c.sql)
			assert.Equal(t, c.schema, p.Schema, "%s: %s", dl.d.Name(), c.sql)
		}
	}
}
