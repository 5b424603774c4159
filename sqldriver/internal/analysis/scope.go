package analysis

import (
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// entry is a FROM item of a query level: a table (protected or not), a
// derived table, a table function or a CTE, as the statement refers to it.
type entry struct {
	name     string         // table name (lower case), or the alias of a derived table
	ref      string         // how columns are qualified: the alias, else the name
	table    *sqlplan.Table // the protected table, or nil
	excluded bool           // the upsert's excluded (inserted) row of table
}

// scope is the FROM items of one query level; parent holds the enclosing
// query's, for correlated subqueries.
type scope struct {
	parent  *scope
	entries []*entry
	ctes    map[string]bool
}

func (s *scope) isCTE(name string) bool {
	for ; s != nil; s = s.parent {
		if s.ctes[name] {
			return true
		}
	}
	return false
}

// resolved is what a column reference names.
type resolved struct {
	entry    *entry
	col      *sqlplan.Column // a protected column, or nil
	index    *sqlplan.Column // for a blind-index column: the column it indexes
	key      bool            // entry's row key
	wholeRow bool            // the reference names a protected table's whole row
	star     bool            // a star over a protected table
}

// resolve finds what ref names in s or its parents. A name no protected
// table claims resolves to nothing; one that two protected tables of a
// level claim is refused as ambiguous. A bare name that is a protected
// table's alias (PostgreSQL's whole-row reference "c" for FROM citizen c)
// is reported as wholeRow.
func (s *scope) resolve(ref *sqlir.ColumnRef) (resolved, error) {
	var qual string
	if n := len(ref.Qual); n > 0 {
		qual = ref.Qual[n-1]
	}
	if ref.Star {
		return s.resolveStar(qual), nil
	}
	known := qual == ""
	for sc := s; sc != nil; sc = sc.parent {
		var found []resolved
		for _, e := range sc.entries {
			if qual != "" && qual != e.ref {
				continue
			}
			known = true
			if e.table == nil {
				if qual != "" {
					return resolved{}, nil // a column of an unprotected table
				}
				continue
			}
			r := classify(e, ref.Name)
			if r.col != nil || r.index != nil || r.key || qual != "" {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			for _, r := range found {
				if r.col != nil || r.index != nil {
					return resolved{}, refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, ref.Name, "ambiguous column")
				}
			}
		}
		if len(found) > 0 {
			return found[0], nil
		}
		if qual == "" && len(ref.Qual) == 0 {
			for _, e := range sc.entries {
				if e.table != nil && e.ref == ref.Name {
					return resolved{entry: e, wholeRow: true}, nil
				}
			}
		}
	}
	if !known {
		// Default-deny: a qualifier no level of the statement defines
		// means the server scopes it in a way this analysis does not
		// model.
		return resolved{}, refuse(sqlplan.ErrUnsupportedUse, "", ref.Name, "a column of "+qual+", which the statement does not define")
	}
	return resolved{}, nil
}

// resolveStar reports whether a star (qualified by qual, or bare) covers
// a protected table of the innermost level that has entries.
func (s *scope) resolveStar(qual string) resolved {
	for sc := s; sc != nil; sc = sc.parent {
		for _, e := range sc.entries {
			if e.table != nil && (qual == "" || qual == e.ref) {
				return resolved{entry: e, star: true}
			}
		}
		if qual == "" && len(sc.entries) > 0 {
			return resolved{}
		}
	}
	return resolved{}
}

// classify says what column name of e's protected table is.
func classify(e *entry, name string) resolved {
	t := e.table
	r := resolved{entry: e, col: t.Columns[name], key: name == t.RowKey}
	if ix := t.IndexColumns[name]; ix != nil {
		r.index = ix
	}
	return r
}

// starTables returns the protected tables a star item of a level covers.
//
// A qualified star may name a table of an enclosing query (a LATERAL
// subquery's SELECT c.*): it is looked up through the enclosing scopes,
// as a column reference would be. known is false for a qualifier no
// scope has.
func (s *scope) starTables(qual string) (out []string, known bool) {
	for sc := s; sc != nil; sc = sc.parent {
		for _, e := range sc.entries {
			if qual != "" && qual != e.ref {
				continue
			}
			known = true
			if e.table != nil && !e.excluded {
				out = append(out, e.table.Name)
			}
		}
		if qual == "" || known {
			return out, true
		}
	}
	return out, false
}
