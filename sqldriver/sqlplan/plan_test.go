package sqlplan_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

// TestLastFourPattern: a last4 index answers exactly "%" and four digits.
// Regression: "%12" missed rows ending in 12, "%12345" returned rows ending
// in 92345, "%a" was accepted.
func TestLastFourPattern(t *testing.T) {
	for p, want := range map[string]string{"%1234": "1234", "%8000": "8000", "%0000": "0000"} {
		got, ok := sqlplan.LastFourPattern(p)
		assert.True(t, ok, p)
		assert.Equal(t, want, got)
	}
	for _, p := range []string{"", "%", "%a", "%12", "%123", "%12345", "%92345", "1234%", "%12%", "%1_2", `%1\2`, "12", "%１２３４", "%123a", "% 1234", "%%1234"} {
		_, ok := sqlplan.LastFourPattern(p)
		assert.False(t, ok, p)
	}
}

func TestMentions(t *testing.T) {
	cat := sqlplantest.Catalog()
	for q, want := range map[string]bool{
		"SELECT * FROM citizen":           true,
		`SELECT * FROM "CITIZEN"`:         true,
		"SELECT * FROM `Citizen`":         true,
		"SELECT * FROM s.citizen c":       true,
		"SELECT citizenship FROM people":  false,
		"SELECT * FROM my_citizen":        false,
		"SELECT * FROM citizen2":          false,
		`SELECT * FROM U&"\0063itizen"`:   true,
		"SELECT 1":                        false,
		"select * from x join citizen on": true,
	} {
		assert.Equal(t, want, cat.Mentions(q), q)
	}
}

func TestBuild(t *testing.T) {
	a := &sqlplan.Analysis{Source: "SELECT a FROM t WHERE b = ? AND c = ?", NumInput: 2, Protected: true,
		Params: []sqlplan.Param{{Start: 36, End: 37, Arg: 1}},
		Edits: []sqlplan.Edit{
			{Start: 22, End: 23, Pieces: []sqlplan.Piece{sqlplan.Text("b_idx")}},
			{Start: 26, End: 27, Pieces: []sqlplan.Piece{sqlplan.SlotPiece(sqlplan.Slot{Value: sqlplan.ArgValue(0), Op: sqlplan.OpIndex})}},
			{Start: 8, End: 8, Pieces: []sqlplan.Piece{sqlplan.Text(", t.id")}},
		}}
	p, err := sqlplan.Build(a, sqlplan.Dollar)
	require.NoError(t, err)
	assert.Equal(t, "SELECT a, t.id FROM t WHERE b_idx = $1 AND c = $2", p.SQL)
	require.Len(t, p.Slots, 2)
	assert.Equal(t, sqlplan.OpIndex, p.Slots[0].Op)
	assert.Equal(t, 1, p.Slots[1].Value.Arg)

	a.Edits = append(a.Edits, sqlplan.Edit{Start: 20, End: 24})
	_, err = sqlplan.Build(a, sqlplan.Question)
	assert.ErrorIs(t, err, sqlplan.ErrUnparsable, "overlapping edits are refused")
}

func TestRefusalNamesColumnNotValue(t *testing.T) {
	err := sqlplan.Refuse(sqlplan.ErrUnsupportedUse, "citizen", "phone", "ORDER BY")
	assert.Equal(t, "gmfield/sqldriver: unsupported use of a protected column: citizen.phone (ORDER BY)", err.Error())
	assert.ErrorIs(t, err, sqlplan.ErrRefused)
	var r *sqlplan.Refusal
	require.True(t, errors.As(err, &r))
	assert.Equal(t, "phone", r.Column)
}

func TestFinishResults(t *testing.T) {
	cat := sqlplantest.Catalog()
	tab := cat.Table("citizen")
	entry := new(int)
	phone := sqlplan.NewItem()
	phone.Entry, phone.Ref, phone.Table = entry, "c", tab
	phone.Result.Table, phone.Column = "citizen", "phone"
	id := sqlplan.NewItem()
	id.Entry, id.Ref, id.Table, id.Key = entry, "c", tab, true
	res, hidden := sqlplan.FinishResults([]sqlplan.Item{phone, id})
	assert.Equal(t, sqlplan.ColumnRef{Hidden: -1, Item: 1}, res[0].RowKey, "the selected row key is used")
	assert.Equal(t, []string{"c.phone_bidx"}, hidden, "hash needs the equality index")
	res, hidden = sqlplan.FinishResults([]sqlplan.Item{phone})
	assert.Equal(t, []string{"c.id", "c.phone_bidx"}, hidden)
	assert.Equal(t, 0, res[0].RowKey.Hidden)
	res, hidden = sqlplan.FinishResults([]sqlplan.Item{id})
	assert.Nil(t, res)
	assert.Nil(t, hidden)
}
