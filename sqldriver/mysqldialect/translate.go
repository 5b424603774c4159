package mysqldialect

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
)

// maxDepth bounds the nesting the translator follows.
const maxDepth = 500

// translator turns one parsed statement into its neutral form.
type translator struct {
	t     *tokens
	st    *sqlir.Stmt
	ord   map[int]int // each "?" (by offset) → the caller's argument
	depth int
}

func translate(t *tokens, n ast.StmtNode, ord map[int]int) *sqlir.Stmt {
	tr := &translator{t: t, st: &sqlir.Stmt{Source: t.src, Tokens: t.classify()}, ord: ord}
	tr.scanAll(n)
	tr.stmt(n)
	return tr.st
}

func (tr *translator) unsupported(pos int, what string) {
	tr.st.Unsupported = append(tr.st.Unsupported, sqlir.Unsupported{Span: sqlir.Span{Start: pos, End: pos}, What: what})
}

// visitor adapts a function to ast.Visitor; f returns false to skip
// children.
type visitor struct {
	f     func(ast.Node) bool
	depth int
	deep  bool
}

func (v *visitor) Enter(n ast.Node) (ast.Node, bool) {
	v.depth++
	if v.depth > maxDepth {
		v.deep = true
		return n, true
	}
	return n, !v.f(n)
}

func (v *visitor) Leave(n ast.Node) (ast.Node, bool) {
	v.depth--
	return n, true
}

// scanAll walks the whole tree, whatever the statement kind: every table
// it names, SQL carried in strings, and every string given to a function.
func (tr *translator) scanAll(n ast.Node) {
	v := &visitor{f: func(x ast.Node) bool {
		switch y := x.(type) {
		case *ast.TableName:
			tr.st.Names = append(tr.st.Names, tableName(y))
		case *ast.PrepareStmt:
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "PREPARE"})
		case *ast.ExecuteStmt:
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "EXECUTE"})
		case *ast.ProcedureInfo:
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "CREATE PROCEDURE"})
		case *ast.FuncCallExpr:
			for _, arg := range y.Args {
				tr.strings(arg)
			}
		}
		return true
	}}
	n.Accept(v)
	if v.deep {
		tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
}

// strings records the string constants of a function argument.
func (tr *translator) strings(n ast.Node) {
	n.Accept(&visitor{f: func(x ast.Node) bool {
		if ve, ok := x.(*driver.ValueExpr); ok && (ve.Kind() == driver.KindString || ve.Kind() == driver.KindBytes) {
			tr.st.Strings = append(tr.st.Strings, &sqlir.Literal{Span: sqlir.Span{Start: ve.OriginTextPosition()}, Kind: sqlir.LitString, Value: ve.GetString()})
		}
		return true
	}})
}

func tableName(tn *ast.TableName) *sqlir.TableName {
	return &sqlir.TableName{Schema: tn.Schema.L, Name: tn.Name.L}
}

// kindName names a syntax-tree node by its Go type (a fixed word of the
// parser's, never text of the statement).
func kindName(n ast.Node) string {
	if n == nil {
		return "empty node"
	}
	t := reflect.TypeOf(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func (tr *translator) stmt(n ast.StmtNode) {
	st := tr.st
	switch x := n.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		st.Kind = sqlir.KindSelect
		st.Query = tr.query(x.(ast.ResultSetNode))
		if sel, ok := x.(*ast.SelectStmt); ok {
			st.Query.ItemsEnd = tr.itemsEnd(sel)
		}
	case *ast.InsertStmt:
		st.Kind = sqlir.KindInsert
		st.Insert = tr.insert(x)
	case *ast.UpdateStmt:
		st.Kind = sqlir.KindUpdate
		st.Update = tr.update(x)
	case *ast.DeleteStmt:
		st.Kind = sqlir.KindDelete
		st.Delete = tr.delete(x)
	case *ast.CreateTableStmt, *ast.AlterTableStmt, *ast.CreateIndexStmt, *ast.DropIndexStmt, *ast.DropTableStmt,
		*ast.TruncateTableStmt, *ast.CreateViewStmt, *ast.RenameTableStmt:
		st.Kind = sqlir.KindDDL
		st.DDL = tr.ddl(x)
	case *ast.SetStmt, *ast.SetDefaultRoleStmt, *ast.SetRoleStmt, *ast.SetPwdStmt:
		st.Kind = sqlir.KindSet
	case *ast.BeginStmt, *ast.CommitStmt, *ast.RollbackStmt, *ast.SavepointStmt, *ast.ReleaseSavepointStmt:
		st.Kind = sqlir.KindTransaction
	default:
		st.Kind = sqlir.KindOther
	}
}

func (tr *translator) with(w *ast.WithClause) *sqlir.With {
	if w == nil {
		return nil
	}
	out := &sqlir.With{Recursive: w.IsRecursive}
	for _, cte := range w.CTEs {
		c := &sqlir.CTE{Name: cte.Name.L, Query: &sqlir.Query{}}
		if cte.Query != nil {
			c.Query = tr.query(cte.Query.Query)
		}
		out.CTEs = append(out.CTEs, c)
	}
	return out
}

// query translates a SELECT, a set operation, TABLE t or VALUES.
func (tr *translator) query(n ast.ResultSetNode) *sqlir.Query {
	q := &sqlir.Query{}
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
		return q
	}
	switch x := n.(type) {
	case *ast.SelectStmt:
		return tr.selectStmt(x)
	case *ast.SetOprStmt:
		q.With = tr.with(x.With)
		if x.SelectList == nil || len(x.SelectList.Selects) == 0 {
			tr.unsupported(0, "set operation")
			return q
		}
		out := tr.setList(x.SelectList)
		if q.With != nil {
			// The outer WITH of a set operation scopes the whole of it.
			out = &sqlir.Query{With: q.With, SetOp: "union", Left: out, Right: &sqlir.Query{}}
		}
		if x.OrderBy != nil {
			out.OrderBy = append(out.OrderBy, tr.byItems(x.OrderBy.Items)...)
		}
		if x.Limit != nil {
			out.Limit, out.Offset = tr.limit(x.Limit.Count), tr.e(x.Limit.Offset)
		}
		return out
	}
	tr.unsupported(0, "query "+kindName(n))
	return q
}

// setList folds the selects of a set operation into a left-deep tree.
func (tr *translator) setList(l *ast.SetOprSelectList) *sqlir.Query {
	var out *sqlir.Query
	for _, s := range l.Selects {
		var q *sqlir.Query
		switch x := s.(type) {
		case *ast.SelectStmt:
			q = tr.selectStmt(x)
		case *ast.SetOprSelectList:
			q = tr.setList(x)
		default:
			tr.unsupported(0, "set operation arm")
			q = &sqlir.Query{}
		}
		if out == nil {
			out = q
			continue
		}
		out = &sqlir.Query{SetOp: "union", Left: out, Right: q}
	}
	if out == nil {
		out = &sqlir.Query{}
	}
	if l.With != nil {
		out = &sqlir.Query{With: tr.with(l.With), SetOp: "union", Left: out, Right: &sqlir.Query{}}
	}
	if l.OrderBy != nil {
		out.OrderBy = append(out.OrderBy, tr.byItems(l.OrderBy.Items)...)
	}
	if l.Limit != nil {
		out.Limit, out.Offset = tr.limit(l.Limit.Count), tr.e(l.Limit.Offset)
	}
	return out
}

func (tr *translator) byItems(items []*ast.ByItem) []sqlir.Expr {
	var out []sqlir.Expr
	for _, b := range items {
		out = append(out, tr.e(b.Expr))
	}
	return out
}

func (tr *translator) selectStmt(sel *ast.SelectStmt) *sqlir.Query {
	q := &sqlir.Query{With: tr.with(sel.With)}
	switch sel.Kind {
	case ast.SelectStmtKindTable:
		if sel.From != nil && sel.From.TableRefs != nil {
			if ts, ok := sel.From.TableRefs.Left.(*ast.TableSource); ok {
				if tn, ok := ts.Source.(*ast.TableName); ok {
					q.Table = tableName(tn)
					return q
				}
			}
		}
		tr.unsupported(0, "TABLE statement")
		return q
	case ast.SelectStmtKindValues:
		for _, row := range sel.Lists {
			q.Values = append(q.Values, tr.list(row.Values))
		}
		return q
	}
	if sel.Fields != nil {
		for _, f := range sel.Fields.Fields {
			it := &sqlir.Item{Span: sqlir.Span{Start: f.Offset}, Alias: f.AsName.L}
			if f.WildCard != nil {
				cr := &sqlir.ColumnRef{Star: true}
				if f.WildCard.Table.L != "" {
					cr.Qual = []string{f.WildCard.Table.L}
				}
				it.Expr = cr
			} else {
				it.Expr = tr.e(f.Expr)
			}
			q.Items = append(q.Items, it)
		}
	}
	if sel.From != nil && sel.From.TableRefs != nil {
		q.From = append(q.From, tr.from(sel.From.TableRefs))
	}
	q.Where = tr.e(sel.Where)
	if sel.GroupBy != nil {
		if sel.GroupBy.Rollup {
			tr.unsupported(0, "WITH ROLLUP")
		}
		q.GroupBy = tr.byItems(sel.GroupBy.Items)
	}
	if sel.Having != nil {
		q.Having = tr.e(sel.Having.Expr)
	}
	for i := range sel.WindowSpecs {
		q.Windows = append(q.Windows, tr.window(&sel.WindowSpecs[i])...)
	}
	if sel.OrderBy != nil {
		q.OrderBy = tr.byItems(sel.OrderBy.Items)
	}
	if sel.Limit != nil {
		q.Limit, q.Offset = tr.limit(sel.Limit.Count), tr.e(sel.Limit.Offset)
	}
	q.Distinct = sel.Distinct
	q.Into = sel.SelectIntoOpt != nil
	return q
}

func (tr *translator) window(w *ast.WindowSpec) []sqlir.Expr {
	if w == nil {
		return nil
	}
	var out []sqlir.Expr
	if w.PartitionBy != nil {
		out = append(out, tr.byItems(w.PartitionBy.Items)...)
	}
	if w.OrderBy != nil {
		out = append(out, tr.byItems(w.OrderBy.Items)...)
	}
	if w.Frame != nil {
		out = append(out, tr.e(w.Frame.Extent.Start.Expr), tr.e(w.Frame.Extent.End.Expr))
	}
	return out
}

// itemsEnd returns where the select list ends: the first clause keyword
// at the depth of the last item, or the end of the statement.
func (tr *translator) itemsEnd(sel *ast.SelectStmt) int {
	if sel.Fields == nil || len(sel.Fields.Fields) == 0 || sel.Kind != ast.SelectStmtKindSelect {
		return -1
	}
	t := tr.t
	i := t.after(sel.Fields.Fields[len(sel.Fields.Fields)-1].Offset)
	if i >= len(t.toks) {
		return -1
	}
	d := t.depth[i]
	for ; i < len(t.toks); i++ {
		if t.depth[i] < d {
			return t.toks[i].start
		}
		if t.depth[i] > d {
			continue
		}
		if t.punct(i, ';') {
			return t.toks[i].start
		}
		if t.toks[i].kind == tkWord {
			switch strings.ToLower(t.src[t.toks[i].start:t.toks[i].end]) {
			case "from", "into", "where", "group", "having", "window", "order", "limit", "for", "lock", "union", "except", "intersect":
				return t.toks[i].start
			}
		}
	}
	return t.end(-1)
}

func (tr *translator) from(n ast.ResultSetNode) *sqlir.From {
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
		return &sqlir.From{Kind: sqlir.FromFunc}
	}
	switch x := n.(type) {
	case *ast.Join:
		if x.Right == nil {
			return tr.from(x.Left)
		}
		f := &sqlir.From{Kind: sqlir.FromJoin, Left: tr.from(x.Left), Right: tr.from(x.Right), Natural: x.NaturalJoin}
		if x.On != nil {
			f.On = tr.e(x.On.Expr)
		}
		for _, u := range x.Using {
			f.Using = append(f.Using, u.Name.L)
		}
		return f
	case *ast.TableSource:
		switch src := x.Source.(type) {
		case *ast.TableName:
			if src.TableSample != nil || src.AsOf != nil {
				tr.unsupported(0, "TABLESAMPLE or AS OF")
			}
			return &sqlir.From{Kind: sqlir.FromTable, Table: tableName(src), Alias: x.AsName.L, ColumnAliases: len(x.ColumnNames) > 0}
		case *ast.SelectStmt, *ast.SetOprStmt:
			return &sqlir.From{Kind: sqlir.FromQuery, Query: tr.query(src), Alias: x.AsName.L, Lateral: x.Lateral}
		case *ast.Join:
			f := tr.from(src)
			if x.AsName.L != "" {
				tr.unsupported(0, "an alias of a JOIN")
			}
			return f
		}
	}
	tr.unsupported(0, "FROM item "+kindName(n))
	return &sqlir.From{Kind: sqlir.FromFunc, Func: &sqlir.Bad{What: "FROM item"}}
}

func (tr *translator) list(list []ast.ExprNode) []sqlir.Expr {
	out := make([]sqlir.Expr, 0, len(list))
	for _, e := range list {
		out = append(out, tr.e(e))
	}
	return out
}

// e translates an expression; nil stays nil.
func (tr *translator) e(n ast.ExprNode) sqlir.Expr {
	if n == nil {
		return nil
	}
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		return &sqlir.Bad{What: "nesting deeper than " + strconv.Itoa(maxDepth)}
	}
	switch x := n.(type) {
	case *ast.ParenthesesExpr:
		return tr.e(x.Expr)
	case *ast.ColumnNameExpr:
		return tr.columnRef(x)
	case *driver.ParamMarkerExpr:
		i := tr.t.at(x.Offset)
		if i < 0 || tr.t.toks[i].kind != tkParam {
			return &sqlir.Bad{What: "placeholder"}
		}
		p := &sqlir.Param{Span: sqlir.Span{Start: x.Offset, End: x.Offset + 1}, Arg: tr.ord[x.Offset]}
		return p
	case *driver.ValueExpr:
		return tr.value(x)
	case *ast.BinaryOperationExpr:
		l, r := tr.e(x.L), tr.e(x.R)
		switch x.Op {
		case opcode.LogicAnd:
			return &sqlir.Bool{Op: sqlir.And, Args: []sqlir.Expr{l, r}}
		case opcode.LogicOr:
			return &sqlir.Bool{Op: sqlir.Or, Args: []sqlir.Expr{l, r}}
		case opcode.LogicXor:
			return &sqlir.Bool{Op: sqlir.Xor, Args: []sqlir.Expr{l, r}}
		case opcode.EQ:
			return &sqlir.Compare{Op: "=", L: l, R: r}
		case opcode.NE:
			return &sqlir.Compare{Op: "<>", L: l, R: r}
		}
		return &sqlir.Op{What: "operator", Args: []sqlir.Expr{l, r}}
	case *ast.UnaryOperationExpr:
		if x.Op == opcode.Not || x.Op == opcode.Not2 {
			return &sqlir.Bool{Op: sqlir.Not, Args: []sqlir.Expr{tr.e(x.V)}}
		}
		return &sqlir.Op{What: "operator", Args: []sqlir.Expr{tr.e(x.V)}}
	case *ast.PatternInExpr:
		in := &sqlir.In{Expr: tr.e(x.Expr), Not: x.Not}
		if x.Sel != nil {
			sq, ok := x.Sel.(*ast.SubqueryExpr)
			if !ok {
				return &sqlir.Bad{What: "IN source", Args: []sqlir.Expr{in.Expr}}
			}
			in.Query = tr.query(sq.Query)
			return in
		}
		in.List = tr.list(x.List)
		return in
	case *ast.PatternLikeOrIlikeExpr:
		lk := &sqlir.Like{Expr: tr.e(x.Expr), Pattern: tr.e(x.Pattern), Not: x.Not, Insensitive: !x.IsLike, Esc: x.Escape != '\\'}
		// The LIKE keyword follows the column name of a bare column.
		if cr, ok := lk.Expr.(*sqlir.ColumnRef); ok {
			i := tr.t.at(cr.NameSpan.Start)
			if tr.t.word(i+1, "like") {
				lk.OpSpan = sqlir.Span{Start: tr.t.toks[i+1].start, End: tr.t.toks[i+1].end}
			} else {
				lk.Esc = true // refused: the keyword is not where a rewrite could find it
			}
		}
		return lk
	case *ast.IsNullExpr:
		return &sqlir.IsNull{Expr: tr.e(x.Expr), Not: x.Not}
	case *ast.FuncCallExpr:
		return &sqlir.Func{Span: sqlir.Span{Start: x.OriginTextPosition()}, Name: x.FnName.L, Schema: x.Schema.L, Args: tr.list(x.Args)}
	case *ast.AggregateFuncExpr:
		f := &sqlir.Func{Name: strings.ToLower(x.F), Args: tr.list(x.Args)}
		if x.Order != nil {
			f.Args = append(f.Args, tr.byItems(x.Order.Items)...)
		}
		return f
	case *ast.WindowFuncExpr:
		f := &sqlir.Func{Name: strings.ToLower(x.Name), Args: tr.list(x.Args)}
		f.Args = append(f.Args, tr.window(&x.Spec)...)
		return f
	case *ast.FuncCastExpr:
		return &sqlir.Op{What: "cast", Args: []sqlir.Expr{tr.e(x.Expr)}}
	case *ast.BetweenExpr:
		return &sqlir.Op{What: "BETWEEN", Args: []sqlir.Expr{tr.e(x.Expr), tr.e(x.Left), tr.e(x.Right)}}
	case *ast.PatternRegexpExpr:
		return &sqlir.Op{What: "REGEXP", Args: []sqlir.Expr{tr.e(x.Expr), tr.e(x.Pattern)}}
	case *ast.IsTruthExpr:
		return &sqlir.Op{What: "IS TRUE or IS FALSE", Args: []sqlir.Expr{tr.e(x.Expr)}}
	case *ast.CaseExpr:
		args := []sqlir.Expr{tr.e(x.Value), tr.e(x.ElseClause)}
		for _, w := range x.WhenClauses {
			args = append(args, tr.e(w.Expr), tr.e(w.Result))
		}
		return &sqlir.Op{What: "CASE", Args: args}
	case *ast.SubqueryExpr:
		if x.Exists {
			return &sqlir.Subquery{Kind: sqlir.SubExists, Query: tr.query(x.Query)}
		}
		return &sqlir.Subquery{Kind: sqlir.SubScalar, Query: tr.query(x.Query)}
	case *ast.ExistsSubqueryExpr:
		sq, ok := x.Sel.(*ast.SubqueryExpr)
		if !ok {
			return &sqlir.Bad{What: "EXISTS source"}
		}
		return &sqlir.Subquery{Kind: sqlir.SubExists, Query: tr.query(sq.Query)}
	case *ast.CompareSubqueryExpr:
		sq, ok := x.R.(*ast.SubqueryExpr)
		if !ok {
			return &sqlir.Bad{What: "ANY or ALL source", Args: []sqlir.Expr{tr.e(x.L)}}
		}
		return &sqlir.Subquery{Kind: sqlir.SubQuantified, Query: tr.query(sq.Query), Left: tr.e(x.L)}
	case *ast.RowExpr:
		return &sqlir.Op{What: "ROW", Args: tr.list(x.Values)}
	case *ast.DefaultExpr:
		return &sqlir.Default{}
	case *ast.ValuesExpr:
		if x.Column == nil {
			return &sqlir.Bad{What: "VALUES()"}
		}
		ins := &sqlir.Inserted{Column: x.Column.Name.Name.L}
		i := tr.t.at(x.OriginTextPosition())
		if i >= 0 && tr.t.punct(i+1, '(') && tr.t.match[i+1] >= 0 {
			ins.Span = sqlir.Span{Start: tr.t.toks[i].start, End: tr.t.toks[tr.t.match[i+1]].end}
		}
		return ins
	case *ast.VariableExpr:
		if x.Value != nil {
			// @v := expr keeps a value where a later statement, which
			// names no protected table, reads it back.
			return &sqlir.Bad{What: "an assignment to a variable", Args: []sqlir.Expr{tr.e(x.Value)}}
		}
		return &sqlir.Var{Name: strings.ToLower(x.Name), Span: sqlir.Span{Start: x.OriginTextPosition()}}
	case *ast.PositionExpr:
		return &sqlir.Literal{Kind: sqlir.LitNumber, Value: strconv.Itoa(x.N)}
	case *ast.MatchAgainst:
		args := []sqlir.Expr{tr.e(x.Against)}
		for _, cn := range x.ColumnNames {
			args = append(args, tr.columnName(cn, -1))
		}
		return &sqlir.Func{Name: "match", Args: args}
	case *ast.SetCollationExpr:
		return &sqlir.Op{What: "COLLATE", Args: []sqlir.Expr{tr.e(x.Expr)}}
	case *ast.TimeUnitExpr, *ast.TrimDirectionExpr, *ast.GetFormatSelectorExpr, *ast.MaxValueExpr:
		return &sqlir.Literal{Kind: sqlir.LitOther}
	}
	return &sqlir.Bad{What: kindName(n)}
}

func (tr *translator) columnRef(x *ast.ColumnNameExpr) sqlir.Expr {
	return tr.columnName(x.Name, x.OriginTextPosition())
}

// columnName translates a column name that starts at pos (-1: unknown,
// when it cannot be renamed).
func (tr *translator) columnName(cn *ast.ColumnName, pos int) sqlir.Expr {
	out := &sqlir.ColumnRef{Name: cn.Name.L, NameSpan: sqlir.Span{Start: -1, End: -1}}
	if cn.Schema.L != "" {
		out.Qual = append(out.Qual, cn.Schema.L)
	}
	if cn.Table.L != "" {
		out.Qual = append(out.Qual, cn.Table.L)
	}
	if pos < 0 {
		return out
	}
	i := tr.t.at(pos)
	for i >= 0 && tr.t.punct(i+1, '.') && i+2 < len(tr.t.toks) {
		i += 2
	}
	if i < 0 || (tr.t.toks[i].kind != tkWord && tr.t.toks[i].kind != tkQuoted) {
		return &sqlir.Bad{What: "name position"}
	}
	name := tr.t.src[tr.t.toks[i].start:tr.t.toks[i].end]
	if tr.t.toks[i].kind == tkQuoted {
		name = strings.ReplaceAll(name[1:len(name)-1], "``", "`")
	}
	if !strings.EqualFold(name, cn.Name.O) {
		return &sqlir.Bad{What: "name position"}
	}
	out.Span = sqlir.Span{Start: pos}
	out.NameSpan = sqlir.Span{Start: tr.t.toks[i].start, End: tr.t.toks[i].end}
	return out
}

// value translates a literal (or NULL) at its single token.
// limit translates a LIMIT count: the parser gives a number there
// without its position in the text, so it is read from its value (MySQL
// takes only a non-negative integer or a placeholder).
func (tr *translator) limit(n ast.ExprNode) sqlir.Expr {
	if ve, ok := n.(*driver.ValueExpr); ok {
		switch ve.Kind() {
		case driver.KindInt64:
			return &sqlir.Literal{Kind: sqlir.LitNumber, Value: strconv.FormatInt(ve.GetInt64(), 10)}
		case driver.KindUint64:
			return &sqlir.Literal{Kind: sqlir.LitNumber, Value: strconv.FormatUint(ve.GetUint64(), 10)}
		}
	}
	return tr.e(n)
}

func (tr *translator) value(x *driver.ValueExpr) sqlir.Expr {
	i := tr.t.at(x.OriginTextPosition())
	if i < 0 {
		return &sqlir.Literal{Kind: sqlir.LitOther}
	}
	tk := tr.t.toks[i]
	lit := &sqlir.Literal{Span: sqlir.Span{Start: tk.start, End: tk.end}}
	switch x.Kind() {
	case driver.KindNull:
		lit.Kind = sqlir.LitNull
		if tk.kind != tkWord || !strings.EqualFold(tr.t.src[tk.start:tk.end], "null") {
			lit.Kind = sqlir.LitOther
		}
	case driver.KindString, driver.KindBytes:
		lit.Kind, lit.Value = sqlir.LitString, x.GetString()
		// A charset introducer (_binary'…'), N'…' or 'a' 'b' concatenation
		// is not a plain string.
		if tk.kind != tkString || (i+1 < len(tr.t.toks) && tr.t.toks[i+1].kind == tkString) {
			lit.Kind = sqlir.LitOther
		}
	case driver.KindInt64, driver.KindUint64, driver.KindMysqlDecimal, driver.KindFloat64:
		lit.Kind, lit.Value = sqlir.LitNumber, tr.t.src[tk.start:tk.end]
		if tk.kind != tkNumber {
			lit.Kind = sqlir.LitOther
		}
	default:
		lit.Kind = sqlir.LitOther
	}
	return lit
}

// assigns translates SET lists (UPDATE, ON DUPLICATE KEY UPDATE).
func (tr *translator) assigns(list []*ast.Assignment) []*sqlir.Assign {
	var out []*sqlir.Assign
	for _, as := range list {
		a := &sqlir.Assign{Column: as.Column.Name.L, Qual: as.Column.Table.L, Value: tr.e(as.Expr), ValueEnd: -1}
		switch v := a.Value.(type) {
		case *sqlir.Param:
			a.ValueEnd = v.End
		case *sqlir.Literal:
			a.ValueEnd = v.End
		case *sqlir.Inserted:
			if v.End > 0 {
				a.ValueEnd = v.End
			}
		}
		out = append(out, a)
	}
	return out
}

// target returns the single table of an INSERT's TableRefsClause.
func target(refs *ast.TableRefsClause) (*ast.TableName, string) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, ""
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, ""
	}
	tn, _ := ts.Source.(*ast.TableName)
	return tn, ts.AsName.L
}

func (tr *translator) insert(ins *ast.InsertStmt) *sqlir.Insert {
	out := &sqlir.Insert{ColumnsClose: -1, Replace: ins.IsReplace}
	tn, alias := target(ins.Table)
	if tn == nil {
		tr.unsupported(0, "INSERT target")
		out.Table = &sqlir.TableName{}
		return out
	}
	out.Table, out.Alias = tableName(tn), alias
	if len(tn.PartitionNames) > 0 {
		tr.unsupported(0, "INSERT … PARTITION")
	}
	if ins.Setlist {
		out.Set = []*sqlir.Assign{} // INSERT … SET: refused on protected tables
	}
	for _, c := range ins.Columns {
		out.Columns = append(out.Columns, &sqlir.Ident{Name: c.Name.L})
	}
	t := tr.t
	// The column list is the first parenthesized list after the target.
	into := t.find(0, 0, "into")
	if into < 0 {
		into = 0
	}
	if len(ins.Columns) > 0 {
		for i := into; i < len(t.toks); i++ {
			if t.depth[i] == 0 && t.punct(i, '(') {
				if t.match[i] >= 0 {
					out.ColumnsClose = t.toks[t.match[i]].start
				}
				break
			}
		}
	}
	if ins.Select != nil {
		out.Query = tr.query(ins.Select)
	} else if len(ins.Lists) > 0 {
		// The rows are the "(" groups at depth 0 after VALUES (or VALUE).
		from := into
		if out.ColumnsClose >= 0 {
			from = t.after(out.ColumnsClose)
		}
		v := t.find(from, 0, "values")
		if v < 0 {
			v = t.find(from, 0, "value")
		}
		var closes []int
		for i := v + 1; v >= 0 && i < len(t.toks); i++ {
			if t.depth[i] != 0 {
				continue
			}
			if t.punct(i, '(') && t.match[i] >= 0 {
				closes = append(closes, t.toks[t.match[i]].start)
				i = t.match[i]
				continue
			}
			if t.word(i, "row") {
				continue
			}
			if !t.punct(i, ',') {
				break
			}
		}
		for k, row := range ins.Lists {
			r := &sqlir.Row{Values: tr.list(row), Close: -1}
			if len(closes) == len(ins.Lists) {
				r.Close = closes[k]
			}
			out.Rows = append(out.Rows, r)
		}
	} else if len(ins.Columns) == 0 {
		out.DefaultValues = true
	}
	out.OnDuplicate = tr.assigns(ins.OnDuplicate)
	return out
}

func (tr *translator) update(up *ast.UpdateStmt) *sqlir.Update {
	out := &sqlir.Update{With: tr.with(up.With), WhereStart: -1, WhereEnd: -1}
	tn, alias := target(up.TableRefs)
	if tn == nil || up.MultipleTable {
		// A multi-table UPDATE: every table is a target.
		if up.TableRefs != nil && up.TableRefs.TableRefs != nil {
			out.Targets = []*sqlir.From{tr.from(up.TableRefs.TableRefs)}
		}
		out.Table = &sqlir.TableName{}
	} else {
		out.Table, out.Alias = tableName(tn), alias
	}
	out.Set = tr.assigns(up.List)
	out.Where = tr.e(up.Where)
	if up.Order != nil {
		out.OrderBy = tr.byItems(up.Order.Items)
	}
	if up.Limit != nil {
		out.Limit = tr.limit(up.Limit.Count)
	}
	if out.Where != nil {
		t := tr.t
		if w := t.find(t.find(0, 0, "set"), 0, "where"); w >= 0 {
			out.WhereStart = t.toks[w].end
			stop := t.find(w, 0, "order")
			if stop < 0 {
				stop = t.find(w, 0, "limit")
			}
			out.WhereEnd = t.end(stop)
		}
	}
	return out
}

func (tr *translator) delete(del *ast.DeleteStmt) *sqlir.Delete {
	out := &sqlir.Delete{With: tr.with(del.With)}
	if del.IsMultiTable {
		if del.Tables != nil {
			for _, tn := range del.Tables.Tables {
				out.Tables = append(out.Tables, tableName(tn))
			}
		}
		if del.TableRefs != nil && del.TableRefs.TableRefs != nil {
			out.Using = []*sqlir.From{tr.from(del.TableRefs.TableRefs)}
		}
	} else if tn, alias := target(del.TableRefs); tn != nil {
		out.Table, out.Alias = tableName(tn), alias
	} else {
		tr.unsupported(0, "DELETE target")
	}
	out.Where = tr.e(del.Where)
	if del.Order != nil {
		out.OrderBy = tr.byItems(del.Order.Items)
	}
	if del.Limit != nil {
		out.Limit = tr.limit(del.Limit.Count)
	}
	return out
}

func (tr *translator) ddl(n ast.StmtNode) *sqlir.DDL {
	d := &sqlir.DDL{}
	switch x := n.(type) {
	case *ast.CreateTableStmt:
		d.Op = sqlir.DDLCreateTable
		d.Tables = []*sqlir.TableName{tableName(x.Table)}
		if x.ReferTable != nil {
			d.From = append(d.From, tableName(x.ReferTable))
		}
		if x.Select != nil {
			d.Op = sqlir.DDLCreateTableAs
			d.Query = tr.query(x.Select)
		}
		for _, c := range x.Cols {
			d.Actions = append(d.Actions, tr.columnDef(c, sqlir.ActColumn))
		}
		for _, c := range x.Constraints {
			d.Actions = append(d.Actions, tr.constraint(c))
		}
	case *ast.AlterTableStmt:
		d.Op = sqlir.DDLAlterTable
		d.Tables = []*sqlir.TableName{tableName(x.Table)}
		for _, sp := range x.Specs {
			d.Actions = append(d.Actions, tr.alterSpec(sp)...)
		}
	case *ast.CreateIndexStmt:
		d.Op = sqlir.DDLCreateIndex
		d.Tables = []*sqlir.TableName{tableName(x.Table)}
		act := &sqlir.Action{Kind: sqlir.ActIndex}
		for _, p := range x.IndexPartSpecifications {
			if p.Column != nil {
				act.Columns = append(act.Columns, p.Column.Name.L)
			}
			act.Exprs = append(act.Exprs, tr.e(p.Expr))
		}
		d.Actions = []*sqlir.Action{act}
	case *ast.DropIndexStmt:
		d.Op = sqlir.DDLDropIndex
		d.Tables = []*sqlir.TableName{tableName(x.Table)}
	case *ast.DropTableStmt:
		d.Op = sqlir.DDLDropTable
		for _, tn := range x.Tables {
			d.Tables = append(d.Tables, tableName(tn))
		}
	case *ast.TruncateTableStmt:
		d.Op = sqlir.DDLTruncate
		d.Tables = []*sqlir.TableName{tableName(x.Table)}
	case *ast.CreateViewStmt:
		d.Op = sqlir.DDLCreateView
		if rs, ok := x.Select.(ast.ResultSetNode); ok {
			d.Query = tr.query(rs)
		}
	case *ast.RenameTableStmt:
		d.Op = sqlir.DDLAlterTable
		for _, tt := range x.TableToTables {
			d.Tables = append(d.Tables, tableName(tt.OldTable))
			d.Actions = append(d.Actions, &sqlir.Action{Kind: sqlir.ActRename})
		}
	default:
		d.Op = sqlir.DDLOther
	}
	return d
}

func (tr *translator) columnDef(c *ast.ColumnDef, kind sqlir.ActionKind) *sqlir.Action {
	act := &sqlir.Action{Kind: kind, Column: c.Name.Name.L}
	for _, o := range c.Options {
		switch o.Tp {
		case ast.ColumnOptionDefaultValue, ast.ColumnOptionGenerated, ast.ColumnOptionOnUpdate, ast.ColumnOptionAutoIncrement:
			act.Value = true
			act.Exprs = append(act.Exprs, tr.e(o.Expr))
		case ast.ColumnOptionCheck:
			act.Exprs = append(act.Exprs, tr.e(o.Expr))
		case ast.ColumnOptionComment, ast.ColumnOptionCollate, ast.ColumnOptionColumnFormat, ast.ColumnOptionStorage,
			ast.ColumnOptionNull, ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey, ast.ColumnOptionUniqKey:
		default:
			// ALTER COLUMN … SET DEFAULT gives its value as an option of
			// no type; any other option with an expression is a value too.
			if o.Expr != nil {
				act.Value = true
				act.Exprs = append(act.Exprs, tr.e(o.Expr))
			}
		}
	}
	return act
}

func (tr *translator) constraint(c *ast.Constraint) *sqlir.Action {
	switch c.Tp {
	case ast.ConstraintPrimaryKey, ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex, ast.ConstraintFulltext:
		act := &sqlir.Action{Kind: sqlir.ActIndex}
		for _, k := range c.Keys {
			if k.Column != nil {
				act.Columns = append(act.Columns, k.Column.Name.L)
			}
			act.Exprs = append(act.Exprs, tr.e(k.Expr))
		}
		return act
	case ast.ConstraintCheck:
		return &sqlir.Action{Kind: sqlir.ActConstraint, Exprs: []sqlir.Expr{tr.e(c.Expr)}}
	case ast.ConstraintForeignKey:
		return &sqlir.Action{Kind: sqlir.ActConstraint}
	}
	return &sqlir.Action{Kind: sqlir.ActOther, What: fmt.Sprintf("constraint type %d", int(c.Tp))}
}

func (tr *translator) alterSpec(sp *ast.AlterTableSpec) []*sqlir.Action {
	switch sp.Tp {
	case ast.AlterTableAddColumns:
		var out []*sqlir.Action
		for _, c := range sp.NewColumns {
			out = append(out, tr.columnDef(c, sqlir.ActColumn))
		}
		for _, c := range sp.NewConstraints {
			out = append(out, tr.constraint(c))
		}
		return out
	case ast.AlterTableDropColumn:
		return []*sqlir.Action{{Kind: sqlir.ActDropColumn, Column: sp.OldColumnName.Name.L}}
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		var out []*sqlir.Action
		for _, c := range sp.NewColumns {
			act := tr.columnDef(c, sqlir.ActAlterType)
			if sp.OldColumnName != nil {
				act.Column, act.NewName = sp.OldColumnName.Name.L, c.Name.Name.L
			}
			out = append(out, act)
		}
		return out
	case ast.AlterTableRenameColumn:
		return []*sqlir.Action{{Kind: sqlir.ActRename, Column: sp.OldColumnName.Name.L, NewName: sp.NewColumnName.Name.L}}
	case ast.AlterTableRenameTable:
		return []*sqlir.Action{{Kind: sqlir.ActRename}}
	case ast.AlterTableAlterColumn:
		var out []*sqlir.Action
		for _, c := range sp.NewColumns {
			act := tr.columnDef(c, sqlir.ActDropDefault)
			if act.Value {
				act.Kind = sqlir.ActSetDefault
			}
			out = append(out, act)
		}
		return out
	case ast.AlterTableAddConstraint:
		return []*sqlir.Action{tr.constraint(sp.Constraint)}
	case ast.AlterTableDropPrimaryKey, ast.AlterTableDropIndex, ast.AlterTableDropForeignKey, ast.AlterTableDropCheck:
		return []*sqlir.Action{{Kind: sqlir.ActDropConstraint}}
	}
	return []*sqlir.Action{{Kind: sqlir.ActOther, What: fmt.Sprintf("ALTER TABLE form %d", int(sp.Tp))}}
}
