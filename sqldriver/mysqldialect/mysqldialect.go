// Package mysqldialect analyzes MySQL and MariaDB statements for the gmfield
// driver with the TiDB parser (github.com/pingcap/tidb/pkg/parser, pure Go).
//
// Importing the package registers the dialect "mysql" (alias "mariadb";
// detected for go-sql-driver/mysql) with sqlplan.
//
// It only translates the parser's syntax tree into gmfield's neutral form;
// the rules are applied by the driver's analysis layer, once for every
// dialect. The parser reports where each expression starts; a small token
// list (scan.go) finds where literals, names and parenthesized lists end,
// and refuses the constructs MySQL or MariaDB could read differently from
// the parser or under another sql_mode (backslashes, double quotes, "||",
// executable comments). Every rewritten statement is parsed again and must
// have the same kind and one placeholder per bound value, or it is refused.
package mysqldialect

import (
	"fmt"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/gmfield/gmfield/sqldriver/internal/analysis"
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type dialect struct{}

// MySQL is the dialect of MySQL and MariaDB ("?" placeholders).
var MySQL sqlplan.Dialect = dialect{}

func init() {
	sqlplan.Register(MySQL, []string{"mariadb"}, "mysql")
}

// Name implements sqlplan.Dialect.
func (dialect) Name() string { return "mysql" }

// markers are the words that start SQL carried in strings.
var markers = []string{"prepare", "execute", "procedure", "function", "trigger", "event"}

// statistics are the catalogs that keep samples of stored values
// (histograms): statements naming them are refused.
var statistics = []string{"column_statistics", "column_stats"}

// Parsers are not safe for concurrent use and cost microseconds to create.
var parsers = sync.Pool{New: func() any { return parser.New() }}

func parse(sql string) ([]ast.StmtNode, error) {
	p := parsers.Get().(*parser.Parser)
	defer parsers.Put(p)
	stmts, _, err := p.Parse(sql, "", "")
	return stmts, err
}

func refuse(reason error, detail string) error { return sqlplan.Refuse(reason, "", "", detail) }

// Analyze implements sqlplan.Dialect. It never panics: an internal error
// on a statement is a refusal.
func (d dialect) Analyze(cat sqlplan.Catalog, sql string) (plan *sqlplan.Plan, err error) {
	if c := analysis.Statistics(sql, statistics); c != "" {
		return nil, refuse(sqlplan.ErrUnsupportedStatement, c+" keeps samples of stored values")
	}
	if !analysis.Mentions(cat, sql, 0, markers) {
		return sqlplan.PassThrough(sql), nil
	}
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, refuse(sqlplan.ErrUnparsable, "internal error while analyzing the statement")
		}
	}()
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	stmts, err := parse(sql)
	if err != nil {
		// The parser's message quotes the statement: say only that it failed.
		return nil, refuse(sqlplan.ErrUnparsable, "syntax error")
	}
	if len(stmts) != 1 {
		return nil, refuse(sqlplan.ErrMultiStatement, fmt.Sprintf("%d statements", len(stmts)))
	}
	params, ord := placeholders(toks)
	if got := countParams(stmts[0]); got != len(params) {
		return nil, refuse(sqlplan.ErrUnparsable, "placeholders")
	}
	st := translate(toks, stmts[0], ord)
	p, err := analysis.Analyze(cat, st, options(params))
	if err != nil {
		return nil, err
	}
	if !p.Protected {
		return sqlplan.PassThrough(sql), nil
	}
	if err := verify(st, p); err != nil {
		return nil, err
	}
	return p, nil
}

func options(params []sqlir.Param) analysis.Options {
	return analysis.Options{Params: params, NumInput: len(params), Placeholder: sqlplan.Question,
		Inserted: func(col string) string { return "VALUES(" + col + ")" }, ExactText: [2]string{"CAST(", " AS BINARY)"}}
}

// placeholders returns every "?" and its argument (in order of appearance).
func placeholders(t *tokens) ([]sqlir.Param, map[int]int) {
	var params []sqlir.Param
	ord := map[int]int{}
	for _, tk := range t.toks {
		if tk.kind == tkParam {
			ord[tk.start] = len(params)
			params = append(params, sqlir.Param{Span: sqlir.Span{Start: tk.start, End: tk.end}, Arg: len(params)})
		}
	}
	return params, ord
}

// verify parses the rewritten statement again: it must be one statement of
// the same kind with one placeholder per slot and the planned results.
func verify(orig *sqlir.Stmt, plan *sqlplan.Plan) error {
	toks, err := tokenize(plan.SQL)
	if err != nil {
		return analysis.ErrRewrite
	}
	stmts, err := parse(plan.SQL)
	if err != nil || len(stmts) != 1 {
		return analysis.ErrRewrite
	}
	_, ord := placeholders(toks)
	if countParams(stmts[0]) != len(ord) {
		return analysis.ErrRewrite
	}
	return analysis.Check(orig, translate(toks, stmts[0], ord), len(ord), plan)
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
