package main

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/internal/testdb"
)

// The tests run one after another: the migration hook changes the
// package variables of ent/migrate (see indexColumns).
func TestSQLite(t *testing.T) {
	raw, dsn := testdb.SQLite(t)
	check(t, raw, Options{Driver: "sqlite", DSN: dsn, Dir: t.TempDir()})
}

func TestPostgres(t *testing.T) {
	raw, dsn := testdb.Postgres(t, "pgx")
	check(t, raw, Options{Driver: "pgx", DSN: dsn, Dir: t.TempDir()})
}

func TestMySQL(t *testing.T) {
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

	assert.Contains(t, s, "CreateBulk: 3 citizens\n")
	assert.Regexp(t, `id_no=gmf2:\S+\n  phone=gmf2:\S+\n  phone_bidx=[0-9a-f]{32}`, section("Stored (raw handle"))
	admin := section("Query as admin")
	assert.Contains(t, admin, "id_no=11010519491231002X phone=13800138000 name=张三 city=北京")
	assert.Contains(t, admin, "id_no=310101200001010012 phone=NULL name=欧阳娜娜 city=上海")
	clerk := section("Query as clerk")
	assert.Contains(t, clerk, "id_no=110105********002X phone=138****8000 name=张* city=北京")
	assert.Contains(t, clerk, "id_no=440301********1234 phone=139****5678 name=李* city=深圳")
	assert.Contains(t, clerk, "id_no=310101********0012 phone=NULL name=欧***")
	assert.Equal(t, 3, strings.Count(clerk, "\n  "), "three rows")
	assert.Contains(t, section("Only by phone"), "id_no=440301********1234 phone=139****5678 name=李* city=深圳")
	assert.Contains(t, s, "Where IDNoIn (admin): 欧阳娜娜 张三\n")
	assert.Contains(t, section("UpdateOne (phone, name)"), "(city, 1 row); found by the new phone (clerk):\n  id_no=310101********0012 phone=186****1234 name=欧** city=杭州")
	assert.Contains(t, s, "DeleteOneID, then Delete where phone = 13800138000 (1 row): 1 left\n")
	assert.Contains(t, s, "Refused: Order(ent.Asc(citizen.FieldPhone)): errors.Is(err, sqldriver.ErrUnsupportedUse) = true\n"+
		"Refused: citizen.PhoneHasPrefix(\"139\"): errors.Is(err, sqldriver.ErrUnsupportedUse) = true\n")
	assert.True(t, strings.HasSuffix(s, "Ticket (row key = auto-increment id): Create\n"+
		"  gmfield/sqldriver: row key required: ent_ticket.id (INSERT without the row key column)\n"+
		"  errors.Is(err, sqldriver.ErrRowKeyRequired) = true\n"), "the refused ticket")

	// At rest: envelopes and blind indexes, no plaintext in any table.
	plain := []string{"18600001234", "13700004444", "欧阳娜"}
	for _, c := range citizens {
		plain = append(plain, string(c.idNo), c.name)
		if c.phone != nil {
			plain = append(plain, *c.phone)
		}
	}
	rows := testdb.Dump(t, raw, `SELECT * FROM ent_citizen`)
	require.Len(t, rows, 1)
	assert.Empty(t, testdb.Dump(t, raw, `SELECT * FROM ent_ticket`))
	for _, r := range rows {
		for col, v := range r {
			switch col {
			case "id_no", "phone", "name":
				assert.True(t, strings.HasPrefix(v, "gmf2:"), "%s at rest is not an envelope", col)
			case "id_no_bidx", "phone_bidx":
				assert.Regexp(t, `^[0-9a-f]{32}$`, v)
			}
			for i, p := range plain {
				assert.False(t, strings.Contains(v, p), "plaintext #%d in column %s", i, col)
			}
		}
	}
}
