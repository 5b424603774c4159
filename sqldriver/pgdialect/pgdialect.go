// Package pgdialect analyzes PostgreSQL and SQLite statements for the gmfield
// driver with the real PostgreSQL grammar (libpg_query): by default through
// github.com/wasilibs/go-pgquery, which runs it on the pure-Go wazero
// runtime, so that gmfield builds without cgo and cross-compiles (linux/arm64,
// linux/loong64); with the build tag pgquery_cgo, through cgo.
//
// Importing the package registers the dialects "postgres" (alias
// "postgresql"; detected for pgx and lib/pq) and "sqlite" (detected for
// modernc.org/sqlite and mattn/go-sqlite3) with sqlplan.
//
// It only translates the parser's syntax tree into gmfield's neutral form;
// the rules are applied by the driver's analysis layer, once for every
// dialect. SQLite's DML (upserts with ON CONFLICT … DO UPDATE, RETURNING,
// "?" placeholders) is PostgreSQL's; SQLite text is read with each "?"
// turned into "$n" outside strings and comments, as PostgreSQL's own lexer
// finds them, and constructs the two read differently are refused.
package pgdialect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/wasilibs/go-pgquery/parser"

	"github.com/gmfield/gmfield/sqldriver/internal/analysis"
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
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

func init() {
	sqlplan.Register(PostgreSQL, []string{"postgresql"}, "pgx", "lib/pq", "postgres")
	sqlplan.Register(SQLite, nil, "sqlite")
}

// Name implements sqlplan.Dialect.
func (d Dialect) Name() string {
	if d.sqlite {
		return "sqlite"
	}
	return "postgres"
}

// Statistics catalogs, which keep samples of stored values (a protected
// column's ciphertexts and blind indexes, with their frequencies), and
// SQLite's page reader: statements naming them are refused.
var (
	pgStatistics     = []string{"pg_stats", "pg_statistic", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic_ext_data"}
	sqliteStatistics = []string{"sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4", "sqlite_dbpage"}
)

// nameLimit is PostgreSQL's identifier length: longer names are truncated.
const nameLimit = 63

func refuse(reason error, detail string) error { return sqlplan.Refuse(reason, "", "", detail) }

// Analyze implements sqlplan.Dialect. It never panics: an internal error
// on a statement is a refusal.
func (d Dialect) Analyze(cat sqlplan.Catalog, sql string) (plan *sqlplan.Plan, err error) {
	truncate := nameLimit
	if d.sqlite {
		truncate = 0
	}
	cats := pgStatistics
	if d.sqlite {
		cats = sqliteStatistics
	}
	if c := analysis.Statistics(sql, cats); c != "" {
		return nil, refuse(sqlplan.ErrUnsupportedStatement, c+" keeps samples of stored values")
	}
	if !analysis.Mentions(cat, sql, truncate, markers) {
		return sqlplan.PassThrough(sql), nil
	}
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, refuse(sqlplan.ErrUnparsable, "internal error while analyzing the statement")
		}
	}()
	src, toks, params, numInput, err := d.read(sql)
	if err != nil {
		return nil, err
	}
	tree, err := parse(src)
	if err != nil {
		return nil, parseRefusal(err)
	}
	if len(tree.Stmts) != 1 {
		return nil, refuse(sqlplan.ErrMultiStatement, fmt.Sprintf("%d statements", len(tree.Stmts)))
	}
	st := translate(src, toks, tree.Stmts[0])
	p, err := analysis.Analyze(cat, st, d.options(params, numInput))
	if err != nil {
		return nil, err
	}
	if !p.Protected {
		return sqlplan.PassThrough(sql), nil
	}
	if err := d.verify(cat, st, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (d Dialect) options(params []sqlir.Param, numInput int) analysis.Options {
	o := analysis.Options{Params: params, NumInput: numInput, Placeholder: sqlplan.Dollar,
		Inserted: func(col string) string { return "excluded." + col }, ExactText: [2]string{"", ` COLLATE "C"`}}
	if d.sqlite {
		o.Placeholder, o.ExactText = sqlplan.Question, [2]string{"", ` COLLATE "BINARY"`}
	}
	return o
}

// parseRefusal names where the parser stopped, never its message (which
// quotes the statement).
func parseRefusal(err error) error {
	var pe *pgparser.Error
	if errors.As(err, &pe) && pe.Cursorpos > 0 {
		return refuse(sqlplan.ErrUnparsable, fmt.Sprintf("syntax error at byte %d", pe.Cursorpos-1))
	}
	return refuse(sqlplan.ErrUnparsable, "syntax error")
}

// read returns the text to parse, its tokens, its placeholders and the
// number of arguments the caller binds. For SQLite, every "?" outside
// strings and comments becomes "$n" and backquoted names become
// double-quoted ones. Constructs the server could read differently from
// the parser are refused (lex).
func (d Dialect) read(sql string) (string, *tokens, []sqlir.Param, int, error) {
	src, numInput := sql, 0
	var dq map[int]bool
	if d.sqlite {
		var err error
		if src, numInput, dq, err = sqliteSource(sql); err != nil {
			return "", nil, nil, 0, err
		}
	}
	scan, err := scan(src)
	if err != nil {
		return "", nil, nil, 0, refuse(sqlplan.ErrUnparsable, "the scanner rejects the statement")
	}
	if err := d.lex(src, scan.Tokens); err != nil {
		return "", nil, nil, 0, err
	}
	if n := nestingEstimate(scan.Tokens); n > maxNesting {
		return "", nil, nil, 0, refuse(sqlplan.ErrUnparsable, fmt.Sprintf("nesting deeper than %d", maxNesting))
	}
	toks := newTokens(src, scan.Tokens)
	toks.dq = dq
	var params []sqlir.Param
	maxArg := 0
	for _, t := range toks.toks {
		if t.Token != pg.Token_PARAM {
			continue
		}
		n, err := strconv.Atoi(src[t.Start+1 : t.End])
		if err != nil || n < 1 || n > 65535 {
			return "", nil, nil, 0, refuse(sqlplan.ErrUnparsable, fmt.Sprintf("placeholder at byte %d", t.Start))
		}
		maxArg = max(maxArg, n)
		params = append(params, sqlir.Param{Span: sqlir.Span{Start: int(t.Start), End: int(t.End)}, Arg: n - 1})
	}
	if !d.sqlite {
		numInput = maxArg
	}
	return src, toks, params, numInput, nil
}

// lex refuses constructs whose reading depends on the server's settings or
// differs between the parser and the server:
//   - PostgreSQL: a backslash in a standard string '…' (read as an escape
//     when standard_conforming_strings is off);
//   - SQLite: comments that nest (/* /* */ closes at the first */ in
//     SQLite), "--" comments ended by a carriage return (SQLite ends them
//     at a line feed only), and PostgreSQL's E'…', $$…$$, U&'…' and B'…'
//     strings, which SQLite does not have.
func (d Dialect) lex(src string, all []*pg.ScanToken) error {
	for _, t := range all {
		raw := src[t.Start:t.End]
		bad := ""
		switch t.Token {
		case pg.Token_SCONST:
			switch {
			case d.sqlite && raw[0] != '\'':
				bad = "a PostgreSQL-only string form"
			case !d.sqlite && raw[0] == '\'' && strings.IndexByte(raw, '\\') >= 0:
				bad = "a backslash in a string (its reading depends on standard_conforming_strings): bind the value"
			}
		case pg.Token_USCONST, pg.Token_UIDENT, pg.Token_BCONST:
			if d.sqlite {
				bad = "a PostgreSQL-only string or name form"
			}
		case pg.Token_ASCII_91:
			// SQLite reads [ … ] as a name, whatever it holds; the
			// PostgreSQL scanner reads on inside it.
			if d.sqlite {
				bad = "a [bracketed] name (SQLite reads what it holds as a name): quote names with \" or `"
			}
		case pg.Token_C_COMMENT:
			if d.sqlite && strings.Contains(raw[2:], "/*") {
				bad = "a nested comment"
			}
		case pg.Token_SQL_COMMENT:
			// PostgreSQL ends a -- comment at a carriage return too.
			if d.sqlite && int(t.End) < len(src) && src[t.End] == '\r' {
				bad = "a carriage return ending a -- comment"
			}
		}
		if bad != "" {
			return refuse(sqlplan.ErrUnparsable, fmt.Sprintf("%s at byte %d, read differently by the server", bad, t.Start))
		}
	}
	return nil
}

// verify parses the rewritten statement again: it must be one statement of
// the same kind, with one placeholder per slot and the planned number of
// result columns.
func (d Dialect) verify(cat sqlplan.Catalog, orig *sqlir.Stmt, plan *sqlplan.Plan) error {
	src, toks, params, _, err := d.read(plan.SQL)
	if err != nil {
		return analysis.ErrRewrite
	}
	tree, err := parse(src)
	if err != nil || len(tree.Stmts) != 1 {
		return analysis.ErrRewrite
	}
	return analysis.Check(orig, translate(src, toks, tree.Stmts[0]), len(params), plan)
}

// sqliteSource returns sql with every "?" outside strings and comments, as
// PostgreSQL's lexer finds them, replaced by " $n ", backquoted names as
// double-quoted ones, the number of "?", and where in the result the
// tokens start that sql wrote in double quotes: SQLite reads one as a
// string when no column has its name, so the statement's shape must not
// show it as a name.
func sqliteSource(sql string) (string, int, map[int]bool, error) {
	sql, dqStarts, err := backquotes(sql)
	if err != nil {
		return "", 0, nil, err
	}
	scan, err := scan(sql)
	if err != nil {
		return "", 0, nil, refuse(sqlplan.ErrUnparsable, "the scanner rejects the statement")
	}
	type edit struct{ at, added int }
	var edits []edit
	var b strings.Builder
	pos, n := 0, 0
	for i, t := range scan.Tokens {
		switch t.Token {
		case pg.Token_PARAM:
			// "$1" in SQLite is a named parameter "$1", not positional.
			return "", 0, nil, refuse(sqlplan.ErrUnparsable, fmt.Sprintf("SQLite named parameter at byte %d", t.Start))
		case pg.Token_Op, pg.Token_ASCII_63:
		default:
			continue
		}
		for j := t.Start; j < t.End; j++ {
			if sql[j] != '?' {
				continue
			}
			if j+1 == t.End && i+1 < len(scan.Tokens) && scan.Tokens[i+1].Start == t.End && scan.Tokens[i+1].Token == pg.Token_ICONST {
				return "", 0, nil, refuse(sqlplan.ErrUnparsable, "numbered SQLite parameter ?NNN")
			}
			n++
			b.WriteString(sql[pos:j])
			before := b.Len()
			b.WriteString(" $")
			b.WriteString(strconv.Itoa(n))
			b.WriteString(" ")
			edits = append(edits, edit{int(j), b.Len() - before - 1})
			pos = int(j) + 1
		}
	}
	b.WriteString(sql[pos:])
	var dq map[int]bool
	if len(dqStarts) > 0 {
		dq = make(map[int]bool, len(dqStarts))
		k, shift := 0, 0
		for _, p := range dqStarts {
			for k < len(edits) && edits[k].at < p {
				shift += edits[k].added
				k++
			}
			dq[p+shift] = true
		}
	}
	return b.String(), n, dq, nil
}

// backquotes turns SQLite's (and GORM's) `name` identifiers into "name",
// byte for byte, so that positions do not move, and returns where the
// tokens written in double quotes start. It skips strings, quoted names
// and comments; a backquoted name holding a double quote is refused.
func backquotes(sql string) (string, []int, error) {
	if strings.IndexByte(sql, '`') < 0 && strings.IndexByte(sql, '"') < 0 {
		return sql, nil, nil
	}
	var dq []int
	b := []byte(sql)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\'' || c == '"':
			if c == '"' {
				dq = append(dq, i)
			}
			for i++; i < len(b) && b[i] != c; i++ {
			}
		case c == '-' && i+1 < len(b) && b[i+1] == '-':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return "", nil, refuse(sqlplan.ErrUnparsable, "unterminated comment")
			}
			i += j + 3
		case c == '`':
			j := strings.IndexByte(sql[i+1:], '`')
			if j < 0 || strings.IndexByte(sql[i+1:i+1+j], '"') >= 0 {
				return "", nil, refuse(sqlplan.ErrUnparsable, "backquoted name")
			}
			b[i], b[i+1+j] = '"', '"'
			i += j + 1
		}
	}
	return string(b), dq, nil
}
