package pgdialect

import (
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

var _ sqlplan.SessionChecker = Dialect{}

// SessionQuery implements sqlplan.SessionChecker: PostgreSQL converts a
// statement from the client encoding before it parses it, so the driver
// reads client_encoding. SQLite always reads UTF-8: it needs nothing.
func (d Dialect) SessionQuery() string {
	if d.sqlite {
		return ""
	}
	return "SELECT current_setting('client_encoding')"
}

// CheckSession implements sqlplan.SessionChecker. The lexical rules
// (no backslash in a standard string, so standard_conforming_strings does
// not matter) make an ASCII statement read the same under any setting; a
// statement with other bytes needs client_encoding UTF8, the encoding the
// parser reads: under GBK, SJIS or BIG5 a multibyte character can end
// with the byte of a backslash or a quote.
func (d Dialect) CheckSession(row []string, nonASCII bool) error {
	if !nonASCII || len(row) == 1 && strings.EqualFold(row[0], "UTF8") {
		return nil
	}
	enc := "unknown"
	if len(row) == 1 && len(row[0]) <= 32 {
		enc = row[0]
	}
	return sqlplan.Refuse(sqlplan.ErrSession, "", "", fmt.Sprintf("client_encoding is %s, and the statement has non-ASCII text: use UTF8, or bind the values", enc))
}

// Unsettles implements sqlplan.SessionChecker: nothing else is read.
func (d Dialect) Unsettles(string) bool { return false }
