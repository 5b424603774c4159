package analysis

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

func TestMentions(t *testing.T) {
	cat := sqlplantest.Catalog()
	long := sqlplan.NewCatalog(&sqlplan.Table{Name: strings.Repeat("t", 63)})
	for _, c := range []struct {
		cat      sqlplan.Catalog
		q        string
		truncate int
		markers  []string
		want     bool
	}{
		{cat, "SELECT * FROM citizen", 0, nil, true},
		{cat, `SELECT * FROM "CITIZEN"`, 0, nil, true},
		{cat, "SELECT * FROM `Citizen`", 0, nil, true},
		{cat, "SELECT * FROM s.citizen c", 0, nil, true},
		{cat, "SELECT citizenship FROM people", 0, nil, false},
		{cat, "SELECT * FROM my_citizen", 0, nil, false},
		{cat, "SELECT * FROM citizen2", 0, nil, false},
		{cat, `SELECT * FROM U&"\0063itizen"`, 0, nil, true},
		{cat, "SELECT 1", 0, nil, false},
		{cat, "select * from x join citizen on", 0, nil, true},
		{cat, "DO $$ BEGIN NULL; END $$", 0, []string{"do"}, true},
		{cat, "SELECT done FROM x", 0, []string{"do"}, false},
		// PostgreSQL truncates a longer name to 63 bytes: the pre-filter
		// must not be less inclusive than the server (issue 10 class 5).
		{long, "INSERT INTO " + strings.Repeat("t", 63) + "_x (a) VALUES (1)", 63, nil, true},
		{long, "INSERT INTO " + strings.Repeat("t", 63) + "_x (a) VALUES (1)", 0, nil, false},
		{long, "INSERT INTO " + strings.Repeat("t", 62) + " (a) VALUES (1)", 63, nil, false},
	} {
		assert.Equal(t, c.want, Mentions(c.cat, c.q, c.truncate, c.markers), c.q)
	}
}

func TestBuild(t *testing.T) {
	var w rewriter
	w.replaceText(sqlir.Span{Start: 22, End: 23}, "b_idx")
	w.replace(sqlir.Span{Start: 26, End: 27}, sqlplan.Slot{Value: sqlplan.ArgValue(0), Op: sqlplan.OpIndex}, true)
	w.insert(8, text(", t.id"))
	src := "SELECT a FROM t WHERE b = ? AND c = ?"
	params := []sqlir.Param{{Span: sqlir.Span{Start: 26, End: 27}, Arg: 0}, {Span: sqlir.Span{Start: 36, End: 37}, Arg: 1}}
	var p sqlplan.Plan
	require.NoError(t, w.build(src, params, sqlplan.Dollar, &p))
	assert.Equal(t, "SELECT a, t.id FROM t WHERE b_idx = $1 AND c = $2", p.SQL)
	require.Len(t, p.Slots, 2)
	assert.Equal(t, sqlplan.OpIndex, p.Slots[0].Op)
	assert.Equal(t, 1, p.Slots[1].Value.Arg)

	w.replaceText(sqlir.Span{Start: 20, End: 24}, "")
	assert.ErrorIs(t, w.build(src, params, sqlplan.Question, &sqlplan.Plan{}), sqlplan.ErrUnparsable, "overlapping edits are refused")
}

func TestFinishResults(t *testing.T) {
	tab := sqlplantest.Catalog().Table("citizen")
	e := &entry{name: "citizen", ref: "c", table: tab}
	phone := newItem()
	phone.entry = e
	phone.Result.Table, phone.Column = "citizen", "phone"
	id := newItem()
	id.entry, id.key = e, true
	res, hidden := finishResults([]item{phone, id})
	assert.Equal(t, sqlplan.ColumnRef{Hidden: -1, Item: 1}, res[0].RowKey, "the selected row key is used")
	assert.Equal(t, []string{"c.phone_bidx"}, hidden, "hash needs the equality index")
	res, hidden = finishResults([]item{phone})
	assert.Equal(t, []string{"c.id", "c.phone_bidx"}, hidden)
	assert.Equal(t, 0, res[0].RowKey.Hidden)
	res, hidden = finishResults([]item{id})
	assert.Nil(t, res)
	assert.Nil(t, hidden)
}
