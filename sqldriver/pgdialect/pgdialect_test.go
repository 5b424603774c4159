package pgdialect_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/pgdialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

func ops(p *sqlplan.Plan) []string {
	var out []string
	for _, s := range p.Slots {
		v := "lit"
		if s.Value.Arg >= 0 {
			v = "$" + string(rune('1'+s.Value.Arg))
		}
		if s.Value.Null {
			v = "null"
		}
		switch s.Op {
		case sqlplan.OpPass:
			out = append(out, "pass "+v)
		case sqlplan.OpSeal:
			out = append(out, "seal "+s.Column+" "+v)
		case sqlplan.OpIndex:
			out = append(out, string(s.Transform)+" "+s.Column+" "+v)
		case sqlplan.OpLikeLast4:
			out = append(out, "like "+s.Column+" "+v)
		case sqlplan.OpRowKey:
			out = append(out, "rowkey "+v)
		}
	}
	return out
}

func TestRewrites(t *testing.T) {
	cat := sqlplantest.Catalog()
	cases := []struct {
		d       sqlplan.Dialect
		in, out string
		ops     []string
		input   int
		hidden  int
	}{
		{pgdialect.PostgreSQL,
			`INSERT INTO citizen (id, phone) VALUES ($1, $2) RETURNING name`,
			`INSERT INTO citizen (id, phone, phone_bidx, phone_last4_bidx) VALUES ($1, $2, $3, $4) RETURNING name, citizen.id `,
			[]string{"pass $1", "seal phone $2", "full phone $2", "last4 phone $2"}, 2, 1},
		{pgdialect.PostgreSQL,
			`SELECT "Name" FROM Citizen c WHERE c."phone" = $2 AND id_no = $1`,
			`SELECT "Name" , c.id FROM Citizen c WHERE c.phone_bidx = $1 AND id_no_bidx = $2`,
			[]string{"full phone $2", "full id_no $1"}, 2, 1},
		{pgdialect.PostgreSQL,
			`UPDATE citizen SET name = $1 WHERE id = $2 AND phone LIKE '%5678'`,
			`UPDATE citizen SET name = $1 WHERE ( id = $2 AND phone_last4_bidx = $3) AND citizen.id = $4`,
			[]string{"seal name $1", "pass $2", "last4 phone lit", "rowkey $2"}, 2, 0},
		{pgdialect.PostgreSQL,
			`SELECT id, phone FROM citizen WHERE $1 = phone`,
			`SELECT id, phone , citizen.phone_bidx FROM citizen WHERE $1 = phone_bidx`,
			[]string{"full phone $1"}, 1, 1},
		{pgdialect.SQLite,
			`INSERT INTO citizen (id, name) VALUES (?, ?), (7, NULL) ON CONFLICT (id) DO UPDATE SET name = excluded.name`,
			`INSERT INTO citizen (id, name) VALUES ( ? ,  ? ), (7, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name`,
			[]string{"pass $1", "seal name $2", "seal name null"}, 2, 0},
		{pgdialect.SQLite,
			"SELECT `name` FROM `citizen` WHERE phone LIKE ?",
			`SELECT "name" , citizen.id FROM "citizen" WHERE phone_last4_bidx =  ? `,
			[]string{"like phone $1"}, 1, 1},
		{pgdialect.SQLite,
			`SELECT '?' AS q, id FROM citizen WHERE phone=? -- ?`,
			`SELECT '?' AS q, id FROM citizen WHERE phone_bidx= ?  -- ?`,
			[]string{"full phone $1"}, 1, 0},
	}
	for _, c := range cases {
		p, err := c.d.Analyze(cat, c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.out, p.SQL, c.in)
		assert.Equal(t, c.ops, ops(p), c.in)
		assert.Equal(t, c.input, p.NumInput, c.in)
		assert.Equal(t, c.hidden, p.Hidden, c.in)
		assert.True(t, p.Protected)
	}
}

func TestPassThrough(t *testing.T) {
	for _, q := range []string{`SELECT * FROM orders WHERE x = $1`, `this is not SQL`, `SELECT citizenship FROM people`} {
		p, err := pgdialect.PostgreSQL.Analyze(sqlplantest.Catalog(), q)
		require.NoError(t, err)
		assert.Equal(t, q, p.SQL)
		assert.False(t, p.Protected)
		assert.Equal(t, -1, p.NumInput)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		q    string
		want error
	}{
		{`SELECT phone FROM citizen ORDER BY phone`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen WHERE name = $1`, sqlplan.ErrNoIndex},
		{`SELECT id FROM citizen WHERE phone ILIKE '%1'`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen WHERE phone = $1::text`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen WHERE phone IS DISTINCT FROM $1`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen c JOIN other o USING (phone)`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen NATURAL JOIN other`, sqlplan.ErrUnsupportedUse},
		{`COPY citizen TO STDOUT`, sqlplan.ErrUnsupportedStatement},
		{`CREATE TABLE c2 AS SELECT * FROM citizen`, sqlplan.ErrUnsupportedStatement},
		{`EXPLAIN SELECT phone FROM citizen`, sqlplan.ErrUnsupportedStatement},
		{`WITH d AS (DELETE FROM citizen RETURNING id) SELECT * FROM d`, sqlplan.ErrUnsupportedStatement},
		{`INSERT INTO citizen (id, phone) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET phone = $3`, sqlplan.ErrUnsupportedUse},
		{`UPDATE citizen SET (phone, name) = ($1, $2) WHERE id = 1`, sqlplan.ErrUnsupportedUse},
		{`SELECT id FROM citizen; SELECT 1`, sqlplan.ErrMultiStatement},
		{`SELECT FROM WHERE citizen`, sqlplan.ErrUnparsable},
		{`SELECT phone INTO copy FROM citizen`, sqlplan.ErrUnsupportedStatement},
	}
	for _, c := range cases {
		_, err := pgdialect.PostgreSQL.Analyze(sqlplantest.Catalog(), c.q)
		assert.ErrorIs(t, err, c.want, c.q)
		assert.ErrorIs(t, err, sqlplan.ErrRefused, c.q)
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range sqlplantest.Seeds {
		f.Add(s)
	}
	cats := []*sqlplan.MapCatalog{sqlplantest.Catalog(), sqlplantest.MigratingCatalog()}
	f.Fuzz(func(t *testing.T, q string) {
		for _, d := range []sqlplan.Dialect{pgdialect.SQLite, pgdialect.PostgreSQL} {
			for _, cat := range cats {
				p, err := d.Analyze(cat, q)
				sqlplantest.CheckPlan(t, q, p, err)
			}
		}
	})
}

func TestHiddenColumnsAfterTrickyLastItem(t *testing.T) {
	// The last select item holds a FROM of its own: the hidden row key
	// must go after it, or the statement is refused; never spliced inside.
	p, err := pgdialect.PostgreSQL.Analyze(sqlplantest.Catalog(), `SELECT phone, 1 IS DISTINCT FROM 2 FROM citizen`)
	require.NoError(t, err)
	assert.Equal(t, `SELECT phone, 1 IS DISTINCT FROM 2 , citizen.id, citizen.phone_bidx FROM citizen`, p.SQL)
}

// TestDeepStatementsLeaveTheParserWorking: libpg_query under wazero
// overflows its stack on trees a few thousand levels deep, and the parser
// instance was then broken for every later statement of the process (a
// valid INSERT failed with "syntax error"). Such statements are refused
// from their tokens, before parsing; wide but flat ones still pass.
func TestDeepStatementsLeaveTheParserWorking(t *testing.T) {
	cat := sqlplantest.Catalog()
	deep := map[string]string{
		"subqueries": strings.Repeat("SELECT (", 2000) + "1" + strings.Repeat(")", 2000) + " FROM citizen",
		"plus chain": "SELECT id FROM citizen WHERE id = 1" + strings.Repeat("+1", 10000),
		"NOT chain":  "SELECT id FROM citizen WHERE " + strings.Repeat("NOT ", 5000) + "true",
		"casts":      "SELECT id FROM citizen WHERE id = 1" + strings.Repeat("::int", 5000),
		"joins":      "SELECT 1 FROM citizen" + strings.Repeat(" JOIN orders ON true", 5000),
		"concat":     "SELECT id FROM citizen WHERE note = 'a'" + strings.Repeat(" || 'a'", 5000),
		"parens":     "SELECT " + strings.Repeat("(", 3000) + "1" + strings.Repeat(")", 3000) + " FROM citizen",
	}
	for name, q := range deep {
		for _, d := range []sqlplan.Dialect{pgdialect.PostgreSQL, pgdialect.SQLite} {
			_, err := d.Analyze(cat, q)
			assert.ErrorIs(t, err, sqlplan.ErrUnparsable, name)
		}
	}
	wide := map[string]string{
		"8000 rows": "INSERT INTO citizen (id, phone) VALUES " + strings.TrimSuffix(strings.Repeat("(-1, $1),", 8000), ","),
		"ANDs":      "SELECT id FROM citizen WHERE id = 1" + strings.Repeat(" AND id = 1", 5000),
		"nested":    "SELECT id FROM citizen WHERE id IN " + strings.Repeat("(SELECT id FROM citizen WHERE id IN ", 100) + "(1)" + strings.Repeat(")", 100),
	}
	for name, q := range wide {
		_, err := pgdialect.PostgreSQL.Analyze(cat, q)
		assert.NoError(t, err, name)
	}
	p, err := pgdialect.PostgreSQL.Analyze(cat, `INSERT INTO citizen (id, phone) VALUES ($1, $2)`)
	require.NoError(t, err, "the parser still works")
	assert.True(t, p.Protected)
}

// TestMigratingSearch: on a migrating column = matches the index or the
// plaintext, bound as text; forms the OR could land inside are refused.
func TestMigratingSearch(t *testing.T) {
	cat := sqlplantest.MigratingCatalog()
	p, err := pgdialect.PostgreSQL.Analyze(cat, `SELECT id FROM citizen c WHERE c.phone = $1 AND id = 2`)
	require.NoError(t, err)
	assert.Equal(t, `SELECT id FROM citizen c WHERE ((c.phone_bidx IS NOT NULL AND c.phone_bidx = $1) OR (c.phone_bidx IS NULL AND c.phone = $2)) AND id = 2`, p.SQL)
	require.Len(t, p.Slots, 2)
	assert.Equal(t, sqlplan.OpIndex, p.Slots[0].Op)
	assert.True(t, p.Slots[1].Text)
	assert.Equal(t, 0, p.Slots[1].Value.Arg)
	p, err = pgdialect.PostgreSQL.Analyze(cat, `SELECT id FROM citizen WHERE '138' = phone`)
	require.NoError(t, err)
	assert.Equal(t, `SELECT id FROM citizen WHERE ((phone_bidx IS NOT NULL AND $1 = phone_bidx) OR (phone_bidx IS NULL AND phone = $2))`, p.SQL)
	for _, q := range []string{
		`SELECT id FROM citizen WHERE phone = ($1)`,
		`SELECT id FROM citizen WHERE (phone) = $1`,
		`SELECT id FROM citizen WHERE phone <> $1`,
		`SELECT id FROM citizen WHERE phone IN ($1, $2)`,
		`SELECT id FROM citizen WHERE phone LIKE '%1234'`,
	} {
		_, err := pgdialect.PostgreSQL.Analyze(cat, q)
		assert.ErrorIs(t, err, sqlplan.ErrUnsupportedUse, q)
	}
	// Other columns are not affected.
	p, err = pgdialect.PostgreSQL.Analyze(cat, `SELECT id FROM citizen WHERE id_no IN ($1, $2)`)
	require.NoError(t, err)
	assert.Equal(t, `SELECT id FROM citizen WHERE id_no_bidx IN ($1, $2)`, p.SQL)
}
