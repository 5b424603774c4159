// Package pgdialect analyzes PostgreSQL and SQLite statements for the gmfield
// driver with the real PostgreSQL grammar (github.com/pganalyze/pg_query_go).
//
// SQLite's DML (upserts with ON CONFLICT … DO UPDATE, RETURNING, "?"
// placeholders) is PostgreSQL's; SQLite text is read with each "?" turned
// into a "$n" outside strings and comments, as PostgreSQL's own lexer finds
// them. SQLite forms outside the PostgreSQL grammar (INSERT OR REPLACE,
// "?NNN", ":name", INDEXED BY, backquoted names) are refused on protected
// tables and passed through elsewhere.
package pgdialect

import (
	"fmt"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Dialect is a PostgreSQL-grammar dialect.
type Dialect struct {
	sqlite bool
}

// PostgreSQL is the dialect of PostgreSQL ($n placeholders).
var PostgreSQL sqlplan.Dialect = Dialect{}

// SQLite is the dialect of SQLite ("?" placeholders).
var SQLite sqlplan.Dialect = Dialect{sqlite: true}

// Name implements sqlplan.Dialect.
func (d Dialect) Name() string {
	if d.sqlite {
		return "sqlite"
	}
	return "postgres"
}

// Analyze implements sqlplan.Dialect.
func (d Dialect) Analyze(cat sqlplan.Catalog, sql string) (*sqlplan.Plan, error) {
	if !cat.Mentions(sql) {
		return sqlplan.PassThrough(sql), nil
	}
	src, numInput, err := d.source(sql)
	if err != nil {
		return nil, err
	}
	tree, err := pg.Parse(src)
	if err != nil {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", firstLine(err.Error()))
	}
	if len(tree.Stmts) != 1 {
		return nil, sqlplan.Refuse(sqlplan.ErrMultiStatement, "", "", fmt.Sprintf("%d statements", len(tree.Stmts)))
	}
	scan, err := pg.Scan(src)
	if err != nil {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", firstLine(err.Error()))
	}
	a := &analyzer{cat: cat, src: src, toks: scan.Tokens}
	a.Out.Source = src
	if err := a.statement(tree.Stmts[0]); err != nil {
		return nil, err
	}
	if !a.Out.Protected {
		return sqlplan.PassThrough(sql), nil
	}
	maxArg := -1
	for _, t := range a.toks {
		if t.Token != pg.Token_PARAM {
			continue
		}
		n, err := strconv.Atoi(src[t.Start+1 : t.End])
		if err != nil || n < 1 {
			return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "placeholder "+src[t.Start:t.End])
		}
		maxArg = max(maxArg, n-1)
		if !a.Handled(int(t.Start)) {
			a.Out.Params = append(a.Out.Params, sqlplan.Param{Start: int(t.Start), End: int(t.End), Arg: n - 1})
		}
	}
	if d.sqlite {
		a.Out.NumInput = numInput
	} else {
		a.Out.NumInput = maxArg + 1
	}
	ph := sqlplan.Dollar
	if d.sqlite {
		ph = sqlplan.Question
	}
	plan, err := sqlplan.Build(&a.Out, ph)
	if err != nil {
		return nil, err
	}
	if err := d.verify(tree.Stmts[0], plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// verify parses the rewritten statement again: it must be one statement
// of the same kind, with one placeholder per slot and the planned number
// of result columns.
func (d Dialect) verify(orig *pg.RawStmt, plan *sqlplan.Plan) error {
	bad := sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "the rewritten statement does not check")
	src, n, err := d.source(plan.SQL)
	if err != nil {
		return bad
	}
	tree, err := pg.Parse(src)
	if err != nil || len(tree.Stmts) != 1 {
		return bad
	}
	if !d.sqlite {
		scan, err := pg.Scan(src)
		if err != nil {
			return bad
		}
		n = 0
		for _, t := range scan.Tokens {
			if t.Token == pg.Token_PARAM {
				n++
			}
		}
	}
	k1, t1 := shape(orig)
	k2, t2 := shape(tree.Stmts[0])
	if n != len(plan.Slots) || k1 != k2 || t2 != t1+plan.Hidden {
		return bad
	}
	return nil
}

// shape returns a statement's kind and number of result columns.
func shape(raw *pg.RawStmt) (string, int) {
	switch n := raw.Stmt; {
	case n.GetSelectStmt() != nil:
		return "select", len(n.GetSelectStmt().TargetList)
	case n.GetInsertStmt() != nil:
		return "insert", len(n.GetInsertStmt().ReturningList)
	case n.GetUpdateStmt() != nil:
		return "update", len(n.GetUpdateStmt().ReturningList)
	case n.GetDeleteStmt() != nil:
		return "delete", len(n.GetDeleteStmt().ReturningList)
	}
	return "other", 0
}

// source returns the text to parse: for SQLite, sql with every "?" outside
// strings and comments replaced by "$n", and the number of them.
func (d Dialect) source(sql string) (string, int, error) {
	if !d.sqlite {
		return sql, 0, nil
	}
	sql, err := backquotes(sql)
	if err != nil {
		return "", 0, err
	}
	scan, err := pg.Scan(sql)
	if err != nil {
		return "", 0, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", firstLine(err.Error()))
	}
	var b strings.Builder
	pos, n := 0, 0
	for i, t := range scan.Tokens {
		switch t.Token {
		case pg.Token_PARAM:
			// "$1" in SQLite is a named parameter "$1", not positional.
			return "", 0, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "SQLite parameter "+sql[t.Start:t.End])
		case pg.Token_Op, pg.Token_ASCII_63:
		default:
			continue
		}
		for j := t.Start; j < t.End; j++ {
			if sql[j] != '?' {
				continue
			}
			if j+1 == t.End && i+1 < len(scan.Tokens) && scan.Tokens[i+1].Start == t.End && scan.Tokens[i+1].Token == pg.Token_ICONST {
				return "", 0, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "numbered SQLite parameter ?NNN")
			}
			n++
			b.WriteString(sql[pos:j])
			b.WriteString(" $")
			b.WriteString(strconv.Itoa(n))
			b.WriteString(" ")
			pos = int(j) + 1
		}
	}
	b.WriteString(sql[pos:])
	return b.String(), n, nil
}

// backquotes turns SQLite's (and GORM's) `name` identifiers into "name",
// byte for byte, so that positions do not move. It skips strings, quoted
// names and comments; a backquoted name holding a double quote is refused.
func backquotes(sql string) (string, error) {
	if strings.IndexByte(sql, '`') < 0 {
		return sql, nil
	}
	b := []byte(sql)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(b) && b[i] != c; i++ {
			}
		case c == '-' && i+1 < len(b) && b[i+1] == '-':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return "", sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "unterminated comment")
			}
			i += j + 3
		case c == '`':
			j := strings.IndexByte(sql[i+1:], '`')
			if j < 0 || strings.IndexByte(sql[i+1:i+1+j], '"') >= 0 {
				return "", sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "backquoted name")
			}
			b[i], b[i+1+j] = '"', '"'
			i += j + 1
		}
	}
	return string(b), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
