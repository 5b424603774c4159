package analysis

import (
	"encoding/hex"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Shape is the normalized text of a statement, the same for every
// statement that differs only in its literals, placeholders, comments,
// spacing and the case of its keywords and unquoted names
// (docs/format.md, "Statement fingerprint"): its tokens joined by single
// spaces, every literal and placeholder written "?", keywords and
// unquoted names in lower case, quoted names as written; a list of two or
// more "?" separated by commas is written "?", and so is a list of two or
// more "( ? )" groups written "( ? )". A quoted name the server may read
// as a string (SQLite's double quotes) is written as itself only when it
// names a protected table the statement names or one of its declared
// columns, else "\"?\"".
// A shape holds no value of the statement.
func Shape(cat sqlplan.Catalog, st *sqlir.Stmt) string {
	shape, _ := shapes(cat, st)
	return shape
}

// shapes returns st's Shape and, when Shape hides a quoted name the
// server may read as a string, its exact shape: the same with every
// such name written as itself ("" when there is none). The exact shape
// is what the guard's whitelist matches; its text may hold a value, so
// only its hash is kept.
func shapes(cat sqlplan.Catalog, st *sqlir.Stmt) (shape, exact string) {
	var tables []*sqlplan.Table // the protected tables the statement names
	walkTables(st, func(tn *sqlir.TableName) {
		if t := cat.Table(tn.Name); t != nil {
			tables = append(tables, t)
		}
	})
	hidden := false
	words := make([]string, 0, len(st.Tokens))
	exactWords := make([]string, 0, len(st.Tokens))
	for _, t := range st.Tokens {
		raw := st.Source[t.Start:t.End]
		word := raw
		switch t.Kind {
		case sqlir.TokValue:
			word = "?"
		case sqlir.TokWord:
			word = strings.ToLower(raw)
		case sqlir.TokMaybeString:
			name := strings.ReplaceAll(raw[1:len(raw)-1], `""`, `"`)
			if !declared(tables, strings.ToLower(name)) {
				hidden, word = true, `"?"`
			}
		}
		words = append(words, word)
		if t.Kind == sqlir.TokMaybeString {
			word = raw
		}
		exactWords = append(exactWords, word)
	}
	if !hidden {
		return join(words), ""
	}
	return join(words), join(exactWords)
}

// join collapses lists of placeholders and joins the words.
func join(words []string) string {
	words = collapse(words, []string{"?"})
	words = collapse(words, []string{"(", "?", ")"})
	return strings.Join(words, " ")
}

// declared reports whether name is one of tables, or a protected
// column, blind-index column or row key of one.
func declared(tables []*sqlplan.Table, name string) bool {
	for _, t := range tables {
		if t.Name == name || t.RowKey == name || t.Columns[name] != nil || t.IndexColumns[name] != nil {
			return true
		}
	}
	return false
}

// collapse writes a run of two or more unit sequences separated by ","
// as one unit.
func collapse(words, unit []string) []string {
	at := func(i int) bool {
		if i+len(unit) > len(words) {
			return false
		}
		for k, u := range unit {
			if words[i+k] != u {
				return false
			}
		}
		return true
	}
	out := words[:0]
	for i := 0; i < len(words); {
		if !at(i) {
			out = append(out, words[i])
			i++
			continue
		}
		out = append(out, unit...)
		i += len(unit)
		for i < len(words) && words[i] == "," && at(i+1) {
			i += 1 + len(unit)
		}
	}
	return out
}

// Fingerprint is the hex SM3 hash of a shape.
func Fingerprint(shape string) string {
	h := sm3.Sum([]byte(shape))
	return hex.EncodeToString(h[:])
}
