// Package mysqldialect analyzes MySQL and MariaDB statements for the gmfield
// driver with the TiDB parser (github.com/pingcap/tidb/pkg/parser).
//
// The parser reports where each expression starts; a small token list
// (scan.go) finds where literals, column names and parenthesized lists end.
// Every rewritten statement is parsed again and must have the same kind and
// one placeholder per bound value, or the statement is refused. Statements
// with executable comments ("/*! … */") are refused on protected tables.
// The server's sql_mode must not include ANSI_QUOTES or
// NO_BACKSLASH_ESCAPES (the defaults of MySQL and MariaDB).
package mysqldialect

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type dialect struct{}

// MySQL is the dialect of MySQL and MariaDB ("?" placeholders).
var MySQL sqlplan.Dialect = dialect{}

// Name implements sqlplan.Dialect.
func (dialect) Name() string { return "mysql" }

// Parsers are not safe for concurrent use and cost microseconds to create.
var parsers = sync.Pool{New: func() any { return parser.New() }}

func parse(sql string) ([]ast.StmtNode, error) {
	p := parsers.Get().(*parser.Parser)
	defer parsers.Put(p)
	stmts, _, err := p.Parse(sql, "", "")
	return stmts, err
}

// Analyze implements sqlplan.Dialect.
func (dialect) Analyze(cat sqlplan.Catalog, sql string) (*sqlplan.Plan, error) {
	if !cat.Mentions(sql) {
		return sqlplan.PassThrough(sql), nil
	}
	stmts, err := parse(sql)
	if err != nil {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", firstLine(err.Error()))
	}
	if len(stmts) != 1 {
		return nil, sqlplan.Refuse(sqlplan.ErrMultiStatement, "", "", fmt.Sprintf("%d statements", len(stmts)))
	}
	toks, ok := tokenize(sql)
	if !ok {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "unterminated string or comment, or an executable comment")
	}
	a := &analyzer{cat: cat, src: sql, toks: toks, paramOrd: map[int]int{}}
	for _, t := range toks {
		if t.kind == tkParam {
			a.paramOrd[t.start] = len(a.paramOrd)
		}
	}
	a.Out.Source = sql
	if err := a.statement(stmts[0]); err != nil {
		return nil, err
	}
	if !a.Out.Protected {
		return sqlplan.PassThrough(sql), nil
	}
	n := 0
	for _, t := range toks {
		if t.kind != tkParam {
			continue
		}
		if !a.Handled(t.start) {
			a.Out.Params = append(a.Out.Params, sqlplan.Param{Start: t.start, End: t.end, Arg: n})
		}
		n++
	}
	a.Out.NumInput = n
	if got := countParams(stmts[0]); got != n {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "placeholders")
	}
	plan, err := sqlplan.Build(&a.Out, sqlplan.Question)
	if err != nil {
		return nil, err
	}
	if err := verify(stmts[0], plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// verify parses the rewritten statement again: it must be one statement of
// the same kind with one placeholder per slot.
func verify(orig ast.StmtNode, plan *sqlplan.Plan) error {
	stmts, err := parse(plan.SQL)
	if err != nil || len(stmts) != 1 || fmt.Sprintf("%T", stmts[0]) != fmt.Sprintf("%T", orig) || countParams(stmts[0]) != len(plan.Slots) ||
		fields(stmts[0]) != fields(orig)+plan.Hidden {
		return sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "the rewritten statement does not check")
	}
	return nil
}

// fields returns the number of result columns of a SELECT.
func fields(n ast.StmtNode) int {
	if sel, ok := n.(*ast.SelectStmt); ok && sel.Fields != nil {
		return len(sel.Fields.Fields)
	}
	return 0
}

type paramCounter struct{ n int }

func (c *paramCounter) Enter(n ast.Node) (ast.Node, bool) {
	if _, ok := n.(*driver.ParamMarkerExpr); ok {
		c.n++
	}
	return n, false
}

func (c *paramCounter) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func countParams(n ast.Node) int {
	c := &paramCounter{}
	n.Accept(c)
	return c.n
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
