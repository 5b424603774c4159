package main

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/internal/testdb"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	raw, dsn := testdb.SQLite(t)
	check(t, raw, Options{Driver: "sqlite", DSN: dsn, Dir: t.TempDir()})
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	raw, dsn := testdb.Postgres(t, "pgx")
	check(t, raw, Options{Driver: "pgx", DSN: dsn, Dir: t.TempDir()})
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	raw, dsn := testdb.MySQL(t)
	check(t, raw, Options{Driver: "mysql", DSN: dsn, Dir: t.TempDir()})
}

func check(t *testing.T, raw *sql.DB, o Options) {
	var out strings.Builder
	require.NoError(t, run(&out, o))
	s := out.String()
	section := func(title string) string {
		i := strings.Index(s, title)
		require.GreaterOrEqual(t, i, 0, title)
		j := strings.Index(s[i:], "\n\n")
		if j < 0 {
			return s[i:]
		}
		return s[i : i+j]
	}

	stored := section("Stored (raw handle")
	assert.Regexp(t, `id_no=gmf2:\S+\n  phone=gmf2:\S+\n  phone_bidx=[0-9a-f]{32}`, stored)
	assert.Contains(t, section("Select * as admin"), "id=1 id_no=11010519491231002X phone=13800138000 name=张三 city=北京")
	assert.Contains(t, section("Select * as admin"), "id=3 id_no=310101200001010012 phone=NULL name=欧阳娜娜")
	clerk := section("Select * as clerk")
	assert.Contains(t, clerk, "id=1 id_no=110105********002X phone=138****8000 name=张* city=北京")
	assert.Contains(t, clerk, "id=2 id_no=440301********1234 phone=139****5678 name=李* city=深圳")
	assert.Contains(t, clerk, "id=3 id_no=310101********0012 phone=NULL name=欧***")
	assert.NotContains(t, clerk, "13800138000")
	assert.Contains(t, section("Get by phone"), "id=2 id_no=440301********1234 phone=139****5678 name=李*")
	assert.Contains(t, s, "In by id_no (admin): id=1 name=张三 id=3 name=欧阳娜娜\n")
	assert.Contains(t, section("Updated id=3"), "id=3 id_no=310101********0012 phone=186****1234 name=欧***")
	assert.Contains(t, s, "Deleted by phone 13800138000: 1 row; 2 left\n")

	// At rest: every protected value is an envelope, every search column
	// a blind index, and no plaintext anywhere in the table.
	rows := testdb.Dump(t, raw, `SELECT * FROM sqlx_citizen ORDER BY id`)
	require.Len(t, rows, 2)
	plain := []string{"18600001234"}
	for _, c := range citizens {
		plain = append(plain, string(c.IDNo), c.Name)
		if c.Phone != nil {
			plain = append(plain, *c.Phone)
		}
	}
	for _, r := range rows {
		for _, col := range []string{"id_no", "phone", "name"} {
			assert.True(t, strings.HasPrefix(r[col], "gmf2:"), "%s at rest is not an envelope", col)
		}
		assert.Regexp(t, `^[0-9a-f]{32}$`, r["phone_bidx"])
		assert.Regexp(t, `^[0-9a-f]{32}$`, r["id_no_bidx"])
		for col, v := range r {
			for i, p := range plain {
				assert.False(t, strings.Contains(v, p), "plaintext #%d in column %s", i, col)
			}
		}
	}
}
