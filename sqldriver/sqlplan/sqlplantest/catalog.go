// Package sqlplantest holds the catalog and statements the dialect
// analyzers' tests and fuzz targets share.
package sqlplantest

import (
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Catalog returns a catalog with one protected table:
//
//	citizen (row key id): id_no (index id_no_bidx full), phone (phone_bidx
//	full, phone_last4_bidx last4), name (no index); hash possible on all.
func Catalog() *sqlplan.MapCatalog { return catalog(false) }

// MigratingCatalog is Catalog with phone marked migrating (its equality
// searches match the index or the plaintext).
func MigratingCatalog() *sqlplan.MapCatalog { return catalog(true) }

func catalog(migrating bool) *sqlplan.MapCatalog {
	t := &sqlplan.Table{Name: "citizen", RowKey: "id", Columns: map[string]*sqlplan.Column{}, IndexColumns: map[string]*sqlplan.Column{}}
	add := func(name string, idx ...sqlplan.Index) {
		c := &sqlplan.Column{Table: "citizen", Name: name, Indexes: idx, Hash: true}
		t.Columns[name] = c
		for _, i := range idx {
			t.IndexColumns[i.Column] = c
		}
	}
	add("id_no", sqlplan.Index{Column: "id_no_bidx", Transform: crypto.TransformFull})
	add("phone", sqlplan.Index{Column: "phone_bidx", Transform: crypto.TransformFull}, sqlplan.Index{Column: "phone_last4_bidx", Transform: crypto.TransformLast4})
	add("name")
	t.Columns["phone"].Migrating = migrating
	return sqlplan.NewCatalog(t)
}

// Seeds are statements for fuzz corpora: "?" placeholders.
var Seeds = []string{
	"INSERT INTO citizen (id, id_no, phone, name) VALUES (?, ?, ?, 'x'), (2, '1101', NULL, ?)",
	"SELECT c.name, phone AS p FROM citizen c JOIN orders o ON o.cid = c.id WHERE c.phone = ? AND id_no IN (?, '1') OR phone LIKE '%1234'",
	"SELECT * FROM citizen WHERE phone LIKE ?",
	"UPDATE citizen SET phone = ?, name = 'x' WHERE id = ?",
	"DELETE FROM citizen WHERE phone <> ?",
	"SELECT name FROM citizen ORDER BY name",
	"SELECT id FROM orders WHERE cid IN (SELECT id FROM citizen WHERE phone = ?)",
	"SELECT 1 FROM orders",
	"WITH x AS (SELECT id FROM citizen WHERE phone = ?) SELECT * FROM x",
	"SELECT id FROM citizen; SELECT 2",
	"INSERT INTO citizen (id, phone) VALUES (1, '1') ON CONFLICT (id) DO UPDATE SET phone = excluded.phone",
	"INSERT INTO citizen (id, phone) VALUES (1, '1') ON DUPLICATE KEY UPDATE phone = VALUES(phone)",
}

// CheckPlan fails t if the plan of q breaks an invariant every dialect
// keeps. Fuzz targets call it on whatever Analyze returns:
//   - a statement passed through is unchanged;
//   - every slot that seals or indexes names its column, and no slot binds
//     an argument the caller does not give;
//   - what the driver authorizes covers what the plan does: a result read
//     from a protected column is a UseRead of it, one read from a
//     blind-index column a UseIndex, a search slot a UseSearch, a sealing
//     slot a UseWrite (the driver decides every Use for the caller's role
//     before the statement runs, so nothing outside them reaches a result);
//   - a literal the plan seals no longer appears in the text sent as often
//     as in the text given: it was taken out and bound.
func CheckPlan(t testing.TB, q string, p *sqlplan.Plan, err error) {
	t.Helper()
	if err != nil {
		return
	}
	if !p.Protected {
		if p.SQL != q {
			t.Fatalf("pass-through changed the statement: %q", p.SQL)
		}
		return
	}
	uses := map[sqlplan.Use]bool{}
	for _, u := range p.Uses {
		uses[u] = true
	}
	need := func(table, column string, kind sqlplan.UseKind, what string) {
		t.Helper()
		if !uses[sqlplan.Use{Table: table, Column: column, Kind: kind}] {
			t.Fatalf("%s of %s.%s without its use (%v) in %q", what, table, column, p.Uses, q)
		}
	}
	sealed := map[string]int{}
	for _, s := range p.Slots {
		if s.Op != sqlplan.OpPass && (s.Table == "" || (s.Column == "" && s.Op != sqlplan.OpRowKey)) {
			t.Fatalf("slot without a column: %+v", s)
		}
		if s.Value.Arg >= p.NumInput {
			t.Fatalf("slot binds argument %d of %d", s.Value.Arg, p.NumInput)
		}
		switch s.Op {
		case sqlplan.OpPass:
			if s.Text {
				need(s.Table, s.Column, sqlplan.UseSearch, "the plaintext half of a migrating search")
			}
		case sqlplan.OpSeal:
			need(s.Table, s.Column, sqlplan.UseWrite, "a sealed value")
			if s.Value.Arg < 0 && !s.Value.Null && s.Value.Literal != "" {
				sealed[s.Value.Literal]++
			}
		case sqlplan.OpIndex, sqlplan.OpLikeLast4:
			if s.Search {
				need(s.Table, s.Column, sqlplan.UseSearch, "a search")
			}
		}
	}
	for _, r := range p.Results {
		if r.Column != "" {
			need(r.Table, r.Column, sqlplan.UseRead, "a result")
		}
		if r.IndexOf != "" {
			need(r.Table, r.IndexOf, sqlplan.UseIndex, "a blind index in a result")
		}
	}
	cat := Catalog()
	for _, r := range p.Results {
		if !r.Star {
			continue
		}
		tables := r.StarTables
		if len(tables) == 0 {
			tables = p.Tables
		}
		for _, name := range tables {
			if tb := cat.Table(name); tb != nil {
				for col := range tb.Columns {
					need(tb.Name, col, sqlplan.UseRead, "a * over a protected table")
				}
			}
		}
	}
	for lit, n := range sealed {
		if c := strings.Count(q, lit); len(lit) >= 3 && c >= n && strings.Count(p.SQL, lit) > c-n {
			t.Fatalf("a sealed literal %q is still in the statement sent: %q", lit, p.SQL)
		}
	}
}
