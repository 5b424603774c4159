package sqlplan

import "strings"

// MapCatalog is a Catalog over a fixed set of tables.
type MapCatalog struct {
	tables map[string]*Table
}

// NewCatalog returns a catalog of tables (names in lower case).
func NewCatalog(tables ...*Table) *MapCatalog {
	c := &MapCatalog{tables: make(map[string]*Table, len(tables))}
	for _, t := range tables {
		c.tables[t.Name] = t
	}
	return c
}

// Table implements Catalog.
func (c *MapCatalog) Table(name string) *Table {
	if t, ok := c.tables[name]; ok {
		return t
	}
	return c.tables[strings.ToLower(name)]
}

// Mentions implements Catalog: it reports whether a protected table's name
// appears in sql as a word (case-insensitively, quoted or not), or whether
// sql holds an escaped identifier that could spell one (U&"…").
func (c *MapCatalog) Mentions(sql string) bool {
	lower := strings.ToLower(sql)
	if strings.Contains(lower, `u&"`) || strings.Contains(lower, "u&'") {
		return true
	}
	for name := range c.tables {
		for i := 0; ; {
			j := strings.Index(lower[i:], name)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(name)
			if (start == 0 || !wordByte(lower[start-1])) && (end == len(lower) || !wordByte(lower[end])) {
				return true
			}
			i = start + 1
		}
	}
	return false
}

func wordByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}

// Entry is a FROM item of a statement: a table (protected or not), a
// derived table or a CTE, as the statement refers to it.
type Entry struct {
	Name  string // lower-case table name (or alias of a derived table)
	Ref   string // how columns are qualified: the alias, else the name
	Table *Table // the protected table, or nil
}

// Scope is the FROM items of one query level; Parent holds the enclosing
// query's, for correlated subqueries.
type Scope struct {
	Parent  *Scope
	Entries []*Entry
	CTEs    map[string]bool
}

// Child returns a scope nested in s.
func (s *Scope) Child() *Scope { return &Scope{Parent: s} }

// IsCTE reports whether name is a CTE visible from s.
func (s *Scope) IsCTE(name string) bool {
	for ; s != nil; s = s.Parent {
		if s.CTEs[name] {
			return true
		}
	}
	return false
}

// AddCTE makes name a CTE of s.
func (s *Scope) AddCTE(name string) {
	if s.CTEs == nil {
		s.CTEs = map[string]bool{}
	}
	s.CTEs[name] = true
}

// AddTable adds the table name (with alias, both lower case) to s, looking
// it up in cat unless a CTE of that name hides it (qualified names are
// never CTEs).
func (s *Scope) AddTable(cat Catalog, name, alias string, qualified bool) *Entry {
	e := &Entry{Name: name, Ref: name}
	if alias != "" {
		e.Ref = alias
	}
	if qualified || !s.IsCTE(name) {
		e.Table = cat.Table(name)
	}
	s.Entries = append(s.Entries, e)
	return e
}

// Resolved is what a column reference names.
type Resolved struct {
	Entry  *Entry  // the FROM item of a protected table, or nil
	Column *Column // the protected column, or nil
	Index  bool    // a blind-index column of Entry
	Key    bool    // Entry's row key
}

// Resolve finds the column col (qualified by qual, or "") in s or its
// parents. A name no protected table claims resolves to nothing; one that
// two protected tables of a level claim is refused as ambiguous.
func (s *Scope) Resolve(qual, col string) (Resolved, error) {
	for sc := s; sc != nil; sc = sc.Parent {
		var found []Resolved
		for _, e := range sc.Entries {
			if qual != "" && qual != e.Ref {
				continue
			}
			if e.Table == nil {
				if qual != "" {
					return Resolved{}, nil
				}
				continue
			}
			r := Resolved{Entry: e, Column: e.Table.Columns[col], Key: col == e.Table.RowKey}
			_, r.Index = e.Table.IndexColumns[col]
			if r.Column != nil || r.Index || r.Key || qual != "" {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			for _, r := range found {
				if r.Column != nil {
					return Resolved{}, Refuse(ErrUnsupportedUse, r.Entry.Name, col, "ambiguous column")
				}
			}
		}
		if len(found) > 0 {
			return found[0], nil
		}
	}
	return Resolved{}, nil
}

// Protected reports whether any entry of s (not its parents) is protected.
func (s *Scope) Protected() bool {
	for _, e := range s.Entries {
		if e.Table != nil {
			return true
		}
	}
	return false
}
