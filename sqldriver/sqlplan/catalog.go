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
