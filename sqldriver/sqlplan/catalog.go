package sqlplan

import (
	"sort"
	"strings"

	"github.com/gmfield/gmfield/crypto"
)

// Catalog tells an analyzer which tables and columns are protected. Names
// are looked up case-insensitively.
type Catalog interface {
	// Table returns the protected table named name, or nil.
	Table(name string) *Table
	// Tables returns every protected table.
	Tables() []*Table
}

// Table is a protected table as analyzers see it.
type Table struct {
	Name   string // lower case
	RowKey string // lower-case row-key column, or ""
	// RowKeyText is set when the row key compares as text: updates are
	// then pinned with an exact (binary) comparison of the key.
	RowKeyText bool
	Columns    map[string]*Column // protected columns by lower-case name
	// IndexColumns maps the lower-case names of the blind-index columns
	// to the protected column each indexes; statements may refer to them
	// (with the right to search that column) but not write them.
	IndexColumns map[string]*Column
}

// Column is a protected column.
type Column struct {
	Table   string
	Name    string
	Indexes []Index // blind indexes in declaration order
	// Hash is true when some role may get the hash action on this column;
	// reads then also fetch its full blind index.
	Hash bool
	// Migrating is true while the column may still hold plaintext: an
	// equality search then matches the blind index or the plaintext.
	Migrating bool
}

// Index is one blind index of a column, stored in a sibling column.
type Index struct {
	Column    string // lower-case sibling column
	Transform crypto.Transform
}

// IndexFor returns the column's index of transform t, or nil.
func (c *Column) IndexFor(t crypto.Transform) *Index {
	for i := range c.Indexes {
		if c.Indexes[i].Transform == t {
			return &c.Indexes[i]
		}
	}
	return nil
}

// EqualityIndex returns the index that answers =, <> and IN: the full
// index, or else the column's only lower, upper or digits index (equality
// then holds after that normalization), or nil.
func (c *Column) EqualityIndex() *Index {
	if ix := c.IndexFor(crypto.TransformFull); ix != nil {
		return ix
	}
	var found *Index
	for i := range c.Indexes {
		switch c.Indexes[i].Transform {
		case crypto.TransformLower, crypto.TransformUpper, crypto.TransformDigits:
			if found != nil {
				return nil
			}
			found = &c.Indexes[i]
		}
	}
	return found
}

// MapCatalog is a Catalog over a fixed set of tables.
type MapCatalog struct {
	tables map[string]*Table
	list   []*Table
}

// NewCatalog returns a catalog of tables (names in lower case).
func NewCatalog(tables ...*Table) *MapCatalog {
	c := &MapCatalog{tables: make(map[string]*Table, len(tables))}
	for _, t := range tables {
		c.tables[t.Name] = t
		c.list = append(c.list, t)
	}
	sort.Slice(c.list, func(i, j int) bool { return c.list[i].Name < c.list[j].Name })
	return c
}

// Table implements Catalog.
func (c *MapCatalog) Table(name string) *Table {
	if t, ok := c.tables[name]; ok {
		return t
	}
	return c.tables[strings.ToLower(name)]
}

// Tables implements Catalog.
func (c *MapCatalog) Tables() []*Table { return c.list }
