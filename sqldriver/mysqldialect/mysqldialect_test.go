package mysqldialect_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/mysqldialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

func TestRewrites(t *testing.T) {
	cat := sqlplantest.Catalog()
	cases := []struct {
		in, out string
		ops     []sqlplan.Op
		input   int
		hidden  int
	}{
		{"INSERT INTO `citizen` (`id`, phone) VALUES (?, ?), (2, '13800138000')",
			"INSERT INTO `citizen` (`id`, phone, phone_bidx, phone_last4_bidx) VALUES (?, ?, ?, ?), (2, ?, ?, ?)",
			[]sqlplan.Op{sqlplan.OpPass, sqlplan.OpSeal, sqlplan.OpIndex, sqlplan.OpIndex, sqlplan.OpSeal, sqlplan.OpIndex, sqlplan.OpIndex}, 2, 0},
		{"SELECT c.`Name` AS n FROM citizen AS c WHERE c.phone = 'it''s' /* ? */ AND id = ?",
			"SELECT c.`Name` AS n , c.id FROM citizen AS c WHERE c.phone_bidx = ? /* ? */ AND id = ?",
			[]sqlplan.Op{sqlplan.OpIndex, sqlplan.OpPass}, 1, 1},
		{"UPDATE citizen SET phone = ? WHERE id = ? # trailing comment",
			"UPDATE citizen SET phone = ?, phone_bidx = ?, phone_last4_bidx = ? WHERE ( id = ?) AND citizen.id = ? # trailing comment",
			[]sqlplan.Op{sqlplan.OpSeal, sqlplan.OpIndex, sqlplan.OpIndex, sqlplan.OpPass, sqlplan.OpRowKey}, 2, 0},
		{"DELETE FROM citizen WHERE id_no IN (?, ?) OR phone LIKE ?",
			"DELETE FROM citizen WHERE id_no_bidx IN (?, ?) OR phone_last4_bidx = ?",
			[]sqlplan.Op{sqlplan.OpIndex, sqlplan.OpIndex, sqlplan.OpLikeLast4}, 3, 0},
	}
	for _, c := range cases {
		p, err := mysqldialect.MySQL.Analyze(cat, c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.out, p.SQL, c.in)
		var got []sqlplan.Op
		for _, s := range p.Slots {
			got = append(got, s.Op)
		}
		assert.Equal(t, c.ops, got, c.in)
		assert.Equal(t, c.input, p.NumInput, c.in)
		assert.Equal(t, c.hidden, p.Hidden, c.in)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		q    string
		want error
	}{
		{"SELECT phone FROM citizen ORDER BY phone", sqlplan.ErrUnsupportedUse},
		{"SELECT id FROM citizen WHERE phone <=> ?", sqlplan.ErrUnsupportedUse},
		{"SELECT id FROM citizen WHERE phone LIKE '%1' ESCAPE '!'", sqlplan.ErrUnsupportedUse},
		{"SELECT id FROM citizen WHERE phone = 'a' 'b'", sqlplan.ErrUnsupportedUse},
		{"UPDATE citizen c JOIN o ON o.id = c.id SET c.phone = ? WHERE c.id = 1", sqlplan.ErrUnsupportedStatement},
		{"INSERT INTO citizen SET id = 1, phone = '1'", sqlplan.ErrUnsupportedStatement},
		{"LOAD DATA INFILE 'x' INTO TABLE citizen", sqlplan.ErrUnsupportedStatement},
		{"SELECT /*!50000 phone, */ id FROM citizen", sqlplan.ErrUnparsable},
		{"SELECT id FROM citizen WHERE phone = 'unterminated", sqlplan.ErrUnparsable},
		{"SELECT id FROM citizen; SELECT 1", sqlplan.ErrMultiStatement},
		{"SELECT phone FROM citizen INTO OUTFILE '/tmp/x'", sqlplan.ErrUnsupportedStatement},
	}
	for _, c := range cases {
		_, err := mysqldialect.MySQL.Analyze(sqlplantest.Catalog(), c.q)
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
		for _, cat := range cats {
			p, err := mysqldialect.MySQL.Analyze(cat, q)
			sqlplantest.CheckPlan(t, q, p, err)
		}
	})
}

func TestMigratingSearch(t *testing.T) {
	cat := sqlplantest.MigratingCatalog()
	p, err := mysqldialect.MySQL.Analyze(cat, "SELECT id FROM citizen AS c WHERE `c`.phone = ? OR id = 2")
	require.NoError(t, err)
	assert.Equal(t, "SELECT id FROM citizen AS c WHERE ((`c`.phone_bidx IS NOT NULL AND `c`.phone_bidx = ?) OR (`c`.phone_bidx IS NULL AND `c`.phone = ?)) OR id = 2", p.SQL)
	require.Len(t, p.Slots, 2)
	assert.True(t, p.Slots[1].Text)
	for _, q := range []string{"SELECT id FROM citizen WHERE phone = (?)", "SELECT id FROM citizen WHERE phone != ?", "SELECT id FROM citizen WHERE phone LIKE ?"} {
		_, err := mysqldialect.MySQL.Analyze(cat, q)
		assert.ErrorIs(t, err, sqlplan.ErrUnsupportedUse, q)
	}
}
