package pgdialect

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
)

// maxDepth bounds the nesting the translator follows; deeper statements
// are refused (they are not written by applications).
const maxDepth = 500

// dynamicFuncs are functions that run SQL given as text, or read a table
// named by a string.
var dynamicFuncs = map[string]bool{
	"query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true,
	"table_to_xml": true, "table_to_xmlschema": true, "table_to_xml_and_xmlschema": true,
	"schema_to_xml": true, "schema_to_xmlschema": true, "schema_to_xml_and_xmlschema": true,
	"database_to_xml": true, "database_to_xmlschema": true, "database_to_xml_and_xmlschema": true,
	"dblink": true, "dblink_exec": true, "dblink_open": true, "dblink_send_query": true,
	"dblink_build_sql_insert": true, "dblink_build_sql_update": true, "dblink_build_sql_delete": true,
	"lo_import": true, "lo_export": true, "pg_read_file": true, "pg_read_binary_file": true,
}

// markers are the words that start SQL carried in strings: a statement
// holding one is parsed (and refused) even if it names no protected table.
var markers = func() []string {
	m := []string{"do", "execute", "prepare", "function", "procedure"}
	for f := range dynamicFuncs {
		m = append(m, f)
	}
	return m
}()

// translator turns one parsed statement into its neutral form.
type translator struct {
	t     *tokens
	st    *sqlir.Stmt
	depth int
}

func translate(src string, toks *tokens, raw *pg.RawStmt) *sqlir.Stmt {
	tr := &translator{t: toks, st: &sqlir.Stmt{Source: src, Tokens: toks.classify()}}
	tr.scanAll(raw.Stmt)
	tr.stmt(raw.Stmt)
	return tr.st
}

func (tr *translator) unsupported(loc int32, what string) {
	tr.st.Unsupported = append(tr.st.Unsupported, sqlir.Unsupported{Span: sqlir.Span{Start: int(loc), End: int(loc)}, What: what})
}

// scanAll walks the whole tree, whatever its statement kind: every table it
// names (so that no construct the structure below skips can hide one),
// every function that runs SQL from text, and every string given to a
// function.
func (tr *translator) scanAll(n *pg.Node) {
	walkTree(n, func(m protoreflect.Message, d int) bool {
		if d > maxDepth {
			tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
			return false
		}
		switch x := m.Interface().(type) {
		case *pg.RangeVar:
			tr.st.Names = append(tr.st.Names, tableName(x))
		case *pg.FuncCall:
			name, _ := funcName(x.Funcname)
			if dynamicFuncs[name] {
				tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{Span: sqlir.Span{Start: int(x.Location)}, What: "a function that runs SQL given as text"})
			}
			for _, arg := range x.Args {
				tr.strings(arg)
			}
		case *pg.DoStmt:
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "DO"})
		case *pg.ExecuteStmt, *pg.PrepareStmt:
			// A prepared statement runs SQL the EXECUTE does not show: the
			// driver's own, prepared by the inner driver under a name
			// (pgx's statement cache), or anyone's.
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "PREPARE or EXECUTE"})
		case *pg.CreateFunctionStmt:
			tr.st.Dynamic = append(tr.st.Dynamic, sqlir.Unsupported{What: "CREATE FUNCTION or PROCEDURE"})
		}
		return true
	})
}

// strings records the string constants of a function argument.
func (tr *translator) strings(n *pg.Node) {
	walkTree(n, func(m protoreflect.Message, d int) bool {
		if c, ok := m.Interface().(*pg.A_Const); ok && c.GetSval() != nil {
			tr.st.Strings = append(tr.st.Strings, &sqlir.Literal{Span: sqlir.Span{Start: int(c.Location), End: int(c.Location)}, Kind: sqlir.LitString, Value: c.GetSval().Sval})
		}
		return d <= maxDepth
	})
}

// walkTree calls visit on every message of n's tree, with its depth,
// depth first; visit returns false to skip a message's children.
func walkTree(n *pg.Node, visit func(m protoreflect.Message, depth int) bool) {
	var walk func(m protoreflect.Message, d int)
	walk = func(m protoreflect.Message, d int) {
		if !m.IsValid() || !visit(m, d) {
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Kind() != protoreflect.MessageKind {
				return true
			}
			if fd.IsList() {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					walk(l.Get(i).Message(), d+1)
				}
				return true
			}
			walk(v.Message(), d+1)
			return true
		})
	}
	walk(n.ProtoReflect(), 0)
}

func tableName(rv *pg.RangeVar) *sqlir.TableName {
	return &sqlir.TableName{Span: sqlir.Span{Start: int(rv.Location), End: int(rv.Location)}, Schema: strings.ToLower(rv.Schemaname), Name: strings.ToLower(rv.Relname)}
}

func funcName(names []*pg.Node) (name, schema string) {
	var parts []string
	for _, n := range names {
		parts = append(parts, strings.ToLower(n.GetString_().GetSval()))
	}
	if len(parts) == 0 {
		return "", ""
	}
	return parts[len(parts)-1], strings.Join(parts[:len(parts)-1], ".")
}

func aliasOf(a *pg.Alias) (string, bool) {
	if a == nil {
		return "", false
	}
	return strings.ToLower(a.Aliasname), len(a.Colnames) > 0
}

func (tr *translator) stmt(n *pg.Node) {
	st := tr.st
	switch x := n.Node.(type) {
	case *pg.Node_SelectStmt:
		st.Kind = sqlir.KindSelect
		st.Query = tr.query(x.SelectStmt)
		st.Query.ItemsEnd = tr.itemsEnd(x.SelectStmt)
	case *pg.Node_InsertStmt:
		st.Kind = sqlir.KindInsert
		st.Insert = tr.insert(x.InsertStmt)
	case *pg.Node_UpdateStmt:
		st.Kind = sqlir.KindUpdate
		st.Update = tr.update(x.UpdateStmt)
	case *pg.Node_DeleteStmt:
		st.Kind = sqlir.KindDelete
		st.Delete = tr.delete(x.DeleteStmt)
	case *pg.Node_CreateStmt, *pg.Node_AlterTableStmt, *pg.Node_IndexStmt, *pg.Node_DropStmt, *pg.Node_TruncateStmt,
		*pg.Node_ViewStmt, *pg.Node_CreateTableAsStmt, *pg.Node_RenameStmt:
		st.Kind = sqlir.KindDDL
		st.DDL = tr.ddl(n)
	case *pg.Node_VariableSetStmt:
		st.Kind = sqlir.KindSet
	case *pg.Node_TransactionStmt:
		st.Kind = sqlir.KindTransaction
	default:
		st.Kind = sqlir.KindOther
	}
}

// span returns the span of the token at loc (a literal, a parameter, a
// name), or an empty span at loc when no token starts there.
func (tr *translator) span(loc int32) sqlir.Span {
	if i := tr.t.at(loc); i >= 0 {
		return sqlir.Span{Start: int(tr.t.toks[i].Start), End: int(tr.t.toks[i].End)}
	}
	return sqlir.Span{Start: int(loc), End: int(loc)}
}

func (tr *translator) with(w *pg.WithClause) *sqlir.With {
	if w == nil {
		return nil
	}
	out := &sqlir.With{Recursive: w.Recursive}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			tr.unsupported(0, "WITH item")
			continue
		}
		c := &sqlir.CTE{Span: sqlir.Span{Start: int(cte.Location)}, Name: strings.ToLower(cte.Ctename)}
		if sel := cte.Ctequery.GetSelectStmt(); sel != nil {
			c.Query = tr.query(sel)
		} else {
			sub := &translator{t: tr.t, st: &sqlir.Stmt{Source: tr.st.Source}, depth: tr.depth}
			sub.stmt(cte.Ctequery)
			c.Stmt = sub.st
			tr.st.Unsupported = append(tr.st.Unsupported, sub.st.Unsupported...)
		}
		out.CTEs = append(out.CTEs, c)
	}
	return out
}

func (tr *translator) query(sel *pg.SelectStmt) *sqlir.Query {
	q := &sqlir.Query{}
	if sel == nil {
		return q
	}
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
		return q
	}
	q.With = tr.with(sel.WithClause)
	if sel.Op != pg.SetOperation_SETOP_NONE {
		q.SetOp = strings.ToLower(strings.TrimPrefix(sel.Op.String(), "SETOP_"))
		q.Left, q.Right = tr.query(sel.Larg), tr.query(sel.Rarg)
		q.OrderBy = tr.sortList(sel.SortClause)
		q.Limit, q.Offset = tr.limit(sel), tr.e(sel.LimitOffset)
		return q
	}
	for _, vl := range sel.ValuesLists {
		q.Values = append(q.Values, tr.list(vl.GetList().GetItems()))
	}
	for _, n := range sel.TargetList {
		rt := n.GetResTarget()
		if rt == nil {
			tr.unsupported(0, "select item")
			continue
		}
		q.Items = append(q.Items, &sqlir.Item{Span: sqlir.Span{Start: int(rt.Location)}, Expr: tr.e(rt.Val), Alias: strings.ToLower(rt.Name)})
	}
	for _, n := range sel.FromClause {
		q.From = append(q.From, tr.from(n))
	}
	q.Where = tr.e(sel.WhereClause)
	for _, g := range sel.GroupClause {
		if g.GetGroupingSet() != nil {
			tr.unsupported(0, "GROUPING SETS")
			continue
		}
		q.GroupBy = append(q.GroupBy, tr.e(g))
	}
	q.Having = tr.e(sel.HavingClause)
	for _, w := range sel.WindowClause {
		q.Windows = append(q.Windows, tr.window(w.GetWindowDef())...)
	}
	q.OrderBy = tr.sortList(sel.SortClause)
	if len(sel.DistinctClause) > 0 {
		q.Distinct = true
		for _, d := range sel.DistinctClause {
			if d.GetNode() != nil {
				q.DistinctOn = append(q.DistinctOn, tr.e(d))
			}
		}
	}
	q.Limit, q.Offset = tr.limit(sel), tr.e(sel.LimitOffset)
	q.Into = sel.IntoClause != nil
	return q
}

func (tr *translator) window(w *pg.WindowDef) []sqlir.Expr {
	if w == nil {
		return nil
	}
	out := tr.list(w.PartitionClause)
	out = append(out, tr.sortList(w.OrderClause)...)
	return append(out, tr.e(w.StartOffset), tr.e(w.EndOffset))
}

func (tr *translator) sortList(list []*pg.Node) []sqlir.Expr {
	var out []sqlir.Expr
	for _, n := range list {
		if sb := n.GetSortBy(); sb != nil {
			out = append(out, tr.e(sb.Node))
			continue
		}
		out = append(out, tr.e(n))
	}
	return out
}

func (tr *translator) list(list []*pg.Node) []sqlir.Expr {
	out := make([]sqlir.Expr, 0, len(list))
	for _, n := range list {
		out = append(out, tr.e(n))
	}
	return out
}

// itemsEnd returns where the select list of sel ends: the start of the
// first clause keyword after the last item at the item's depth (FROM,
// except the FROM of IS [NOT] DISTINCT FROM; INTO, WHERE, GROUP, …), or
// the end of the statement.
func (tr *translator) itemsEnd(sel *pg.SelectStmt) int {
	if len(sel.TargetList) == 0 || sel.Op != pg.SetOperation_SETOP_NONE {
		return -1
	}
	t := tr.t
	last := sel.TargetList[len(sel.TargetList)-1].GetResTarget()
	if last == nil {
		return -1
	}
	i := t.after(last.Location)
	if i >= len(t.toks) {
		return -1
	}
	d := t.depth[i]
	for ; i < len(t.toks); i++ {
		if t.depth[i] < d {
			return int(t.toks[i].Start)
		}
		if t.depth[i] > d {
			continue
		}
		switch t.toks[i].Token {
		case pg.Token_FROM:
			if i > 0 && t.toks[i-1].Token == pg.Token_DISTINCT {
				continue
			}
			return int(t.toks[i].Start)
		case pg.Token_INTO, pg.Token_WHERE, pg.Token_GROUP_P, pg.Token_HAVING, pg.Token_WINDOW, pg.Token_ORDER,
			pg.Token_LIMIT, pg.Token_OFFSET, pg.Token_FETCH, pg.Token_FOR, pg.Token_UNION, pg.Token_INTERSECT,
			pg.Token_EXCEPT, pg.Token_ASCII_59:
			return int(t.toks[i].Start)
		}
	}
	return t.end(-1)
}

func (tr *translator) from(n *pg.Node) *sqlir.From {
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		tr.unsupported(0, "nesting deeper than "+strconv.Itoa(maxDepth))
		return &sqlir.From{Kind: sqlir.FromFunc}
	}
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		rv := x.RangeVar
		alias, cols := aliasOf(rv.Alias)
		return &sqlir.From{Span: sqlir.Span{Start: int(rv.Location)}, Kind: sqlir.FromTable, Table: tableName(rv), Alias: alias, ColumnAliases: cols}
	case *pg.Node_RangeSubselect:
		rs := x.RangeSubselect
		alias, _ := aliasOf(rs.Alias)
		f := &sqlir.From{Kind: sqlir.FromQuery, Alias: alias, Lateral: rs.Lateral}
		if sel := rs.Subquery.GetSelectStmt(); sel != nil {
			f.Query = tr.query(sel)
		} else {
			tr.unsupported(0, "subquery in FROM")
			f.Query = &sqlir.Query{}
		}
		return f
	case *pg.Node_RangeFunction:
		rf := x.RangeFunction
		alias, _ := aliasOf(rf.Alias)
		var args []sqlir.Expr
		for _, fl := range rf.Functions {
			items := fl.GetList().GetItems()
			if len(items) > 0 {
				args = append(args, tr.e(items[0]))
			}
		}
		return &sqlir.From{Kind: sqlir.FromFunc, Alias: alias, Lateral: rf.Lateral, Func: &sqlir.Op{What: "function in FROM", Args: args}}
	case *pg.Node_JoinExpr:
		j := x.JoinExpr
		if j.Alias != nil || j.JoinUsingAlias != nil {
			tr.unsupported(0, "an alias of a JOIN")
		}
		f := &sqlir.From{Kind: sqlir.FromJoin, Left: tr.from(j.Larg), Right: tr.from(j.Rarg), On: tr.e(j.Quals), Natural: j.IsNatural}
		for _, u := range j.UsingClause {
			f.Using = append(f.Using, strings.ToLower(u.GetString_().GetSval()))
		}
		return f
	}
	tr.unsupported(0, "FROM item "+nodeName(n))
	return &sqlir.From{Kind: sqlir.FromFunc, Func: &sqlir.Bad{What: "FROM item"}}
}

// nodeName names a parse-tree node by its type (a fixed word of the
// parser's, never text of the statement).
func nodeName(n *pg.Node) string {
	if n == nil || n.Node == nil {
		return "empty node"
	}
	m := n.ProtoReflect()
	if od := m.WhichOneof(m.Descriptor().Oneofs().ByName("node")); od != nil {
		return string(od.Message().Name())
	}
	return "node"
}

// e translates an expression; nil stays nil.
func (tr *translator) e(n *pg.Node) sqlir.Expr {
	if n == nil || n.Node == nil {
		return nil
	}
	tr.depth++
	defer func() { tr.depth-- }()
	if tr.depth > maxDepth {
		return &sqlir.Bad{What: "nesting deeper than " + strconv.Itoa(maxDepth)}
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		return tr.columnRef(x.ColumnRef)
	case *pg.Node_ParamRef:
		i := tr.t.at(x.ParamRef.Location)
		if !tr.t.is(i, pg.Token_PARAM) {
			return &sqlir.Bad{What: "placeholder"}
		}
		p := &sqlir.Param{Span: tr.span(x.ParamRef.Location), Arg: int(x.ParamRef.Number) - 1}
		return p
	case *pg.Node_AConst:
		return tr.constant(x.AConst)
	case *pg.Node_TypeCast:
		return &sqlir.Op{What: "cast", Args: []sqlir.Expr{tr.e(x.TypeCast.Arg)}}
	case *pg.Node_AExpr:
		return tr.aexpr(x.AExpr)
	case *pg.Node_BoolExpr:
		b := &sqlir.Bool{Args: tr.list(x.BoolExpr.Args)}
		switch x.BoolExpr.Boolop {
		case pg.BoolExprType_AND_EXPR:
			b.Op = sqlir.And
		case pg.BoolExprType_OR_EXPR:
			b.Op = sqlir.Or
		default:
			b.Op = sqlir.Not
		}
		return b
	case *pg.Node_NullTest:
		return &sqlir.IsNull{Expr: tr.e(x.NullTest.Arg), Not: x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL}
	case *pg.Node_BooleanTest:
		return &sqlir.Op{What: "IS TRUE or IS FALSE", Args: []sqlir.Expr{tr.e(x.BooleanTest.Arg)}}
	case *pg.Node_SubLink:
		return tr.sublink(x.SubLink)
	case *pg.Node_FuncCall:
		fc := x.FuncCall
		name, schema := funcName(fc.Funcname)
		f := &sqlir.Func{Span: sqlir.Span{Start: int(fc.Location)}, Name: name, Schema: schema, Args: tr.list(fc.Args), Star: fc.AggStar}
		f.Args = append(f.Args, tr.sortList(fc.AggOrder)...)
		f.Args = append(f.Args, tr.e(fc.AggFilter))
		f.Args = append(f.Args, tr.window(fc.Over)...)
		return f
	case *pg.Node_CaseExpr:
		c := x.CaseExpr
		args := []sqlir.Expr{tr.e(c.Arg), tr.e(c.Defresult)}
		for _, w := range c.Args {
			if cw := w.GetCaseWhen(); cw != nil {
				args = append(args, tr.e(cw.Expr), tr.e(cw.Result))
			}
		}
		return &sqlir.Op{What: "CASE", Args: args}
	case *pg.Node_CoalesceExpr:
		return &sqlir.Op{What: "COALESCE", Args: tr.list(x.CoalesceExpr.Args)}
	case *pg.Node_MinMaxExpr:
		return &sqlir.Op{What: "GREATEST or LEAST", Args: tr.list(x.MinMaxExpr.Args)}
	case *pg.Node_RowExpr:
		return &sqlir.Op{What: "ROW", Args: tr.list(x.RowExpr.Args)}
	case *pg.Node_AArrayExpr:
		return &sqlir.Op{What: "ARRAY", Args: tr.list(x.AArrayExpr.Elements)}
	case *pg.Node_SqlvalueFunction:
		return &sqlir.Op{What: "SQL value function"}
	case *pg.Node_CollateClause:
		return &sqlir.Op{What: "COLLATE", Args: []sqlir.Expr{tr.e(x.CollateClause.Arg)}}
	case *pg.Node_AIndirection:
		f := &sqlir.Field{Base: tr.e(x.AIndirection.Arg)}
		for _, ind := range x.AIndirection.Indirection {
			if ai := ind.GetAIndices(); ai != nil {
				f.Args = append(f.Args, tr.e(ai.Lidx), tr.e(ai.Uidx))
			}
		}
		return f
	case *pg.Node_GroupingFunc:
		return &sqlir.Op{What: "GROUPING", Args: tr.list(x.GroupingFunc.Args)}
	case *pg.Node_SetToDefault:
		return &sqlir.Default{}
	case *pg.Node_NamedArgExpr:
		return tr.e(x.NamedArgExpr.Arg)
	case *pg.Node_AStar:
		return &sqlir.ColumnRef{Star: true}
	case *pg.Node_List:
		return &sqlir.Op{What: "list", Args: tr.list(x.List.Items)}
	}
	return &sqlir.Bad{What: nodeName(n)}
}

func (tr *translator) columnRef(cr *pg.ColumnRef) sqlir.Expr {
	out := &sqlir.ColumnRef{Span: sqlir.Span{Start: int(cr.Location)}}
	for i, f := range cr.Fields {
		if f.GetAStar() != nil {
			if i != len(cr.Fields)-1 {
				return &sqlir.Bad{What: "star in a name"}
			}
			out.Star = true
			return out
		}
		s := f.GetString_()
		if s == nil {
			return &sqlir.Bad{What: "name"}
		}
		if i == len(cr.Fields)-1 {
			out.Name = strings.ToLower(s.Sval)
		} else {
			out.Qual = append(out.Qual, strings.ToLower(s.Sval))
		}
	}
	i := tr.t.at(cr.Location)
	if i < 0 {
		return &sqlir.Bad{What: "name position"}
	}
	j := tr.t.lastName(i)
	out.NameSpan = sqlir.Span{Start: int(tr.t.toks[j].Start), End: int(tr.t.toks[j].End)}
	return out
}

// constant translates a literal. A negative number is written as "-" and
// the number: its span covers both.
// limit translates a SELECT's row count: FETCH … WITH TIES may return
// more rows than its count, so it is an expression that bounds nothing.
func (tr *translator) limit(sel *pg.SelectStmt) sqlir.Expr {
	count := tr.e(sel.LimitCount)
	if count != nil && sel.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES {
		return &sqlir.Op{What: "FETCH … WITH TIES", Args: []sqlir.Expr{count}}
	}
	return count
}

func (tr *translator) constant(c *pg.A_Const) sqlir.Expr {
	i := tr.t.at(c.Location)
	if i < 0 {
		return &sqlir.Bad{What: "constant position"}
	}
	sp := sqlir.Span{Start: int(tr.t.toks[i].Start), End: int(tr.t.toks[i].End)}
	tok := tr.t.toks[i].Token
	if tok == pg.Token_Op && tr.t.src[sp.Start:sp.End] == "-" && i+1 < len(tr.t.toks) {
		sp.End = int(tr.t.toks[i+1].End)
		tok = tr.t.toks[i+1].Token
	}
	lit := &sqlir.Literal{Span: sp}
	switch {
	case c.Isnull:
		lit.Kind = sqlir.LitNull
	case c.GetSval() != nil:
		lit.Kind, lit.Value = sqlir.LitString, c.GetSval().Sval
		if tok != pg.Token_SCONST && tok != pg.Token_USCONST {
			lit.Kind = sqlir.LitOther // a typed literal such as DATE '…'
		}
	case c.GetIval() != nil:
		lit.Kind, lit.Value = sqlir.LitNumber, strconv.FormatInt(int64(c.GetIval().Ival), 10)
	case c.GetFval() != nil:
		lit.Kind, lit.Value = sqlir.LitNumber, c.GetFval().Fval
	case c.GetBoolval() != nil:
		lit.Kind, lit.Value = sqlir.LitBool, strconv.FormatBool(c.GetBoolval().Boolval)
	default:
		lit.Kind = sqlir.LitOther
	}
	return lit
}

func opName(names []*pg.Node) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().GetSval())
	}
	return strings.Join(parts, ".")
}

func (tr *translator) aexpr(x *pg.A_Expr) sqlir.Expr {
	op := opName(x.Name)
	l, r := tr.e(x.Lexpr), tr.e(x.Rexpr)
	switch x.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if (op == "=" || op == "<>" || op == "!=") && l != nil && r != nil {
			return &sqlir.Compare{Op: op, L: l, R: r}
		}
		return &sqlir.Op{What: "operator", Args: []sqlir.Expr{l, r}}
	case pg.A_Expr_Kind_AEXPR_IN:
		in := &sqlir.In{Expr: l, Not: op == "<>"}
		if lst, ok := r.(*sqlir.Op); ok && lst.What == "list" {
			in.List = lst.Args
			return in
		}
		return &sqlir.Op{What: "IN", Args: []sqlir.Expr{l, r}}
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		lk := &sqlir.Like{Expr: l, Pattern: r, Not: strings.HasPrefix(op, "!"), Insensitive: x.Kind == pg.A_Expr_Kind_AEXPR_ILIKE}
		i := tr.t.at(x.Location)
		if tr.t.is(i, pg.Token_NOT_LA) || tr.t.is(i, pg.Token_NOT) {
			i++
		}
		if !tr.t.is(i, pg.Token_LIKE) && !tr.t.is(i, pg.Token_ILIKE) {
			return &sqlir.Bad{What: "LIKE written as an operator", Args: []sqlir.Expr{l, r}}
		}
		lk.OpSpan = sqlir.Span{Start: int(tr.t.toks[i].Start), End: int(tr.t.toks[i].End)}
		if fc, ok := r.(*sqlir.Func); ok && fc.Name == "like_escape" {
			lk.Esc = true
		}
		return lk
	}
	// DISTINCT FROM, NULLIF, ANY/ALL, SIMILAR TO, BETWEEN and the rest:
	// values computed from their operands.
	return &sqlir.Op{What: strings.ToLower(strings.TrimPrefix(x.Kind.String(), "AEXPR_")), Args: []sqlir.Expr{l, r}}
}

func (tr *translator) sublink(s *pg.SubLink) sqlir.Expr {
	sel := s.Subselect.GetSelectStmt()
	if sel == nil {
		return &sqlir.Bad{What: "subquery"}
	}
	q := tr.query(sel)
	switch s.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		return &sqlir.Subquery{Kind: sqlir.SubExists, Query: q}
	case pg.SubLinkType_EXPR_SUBLINK:
		return &sqlir.Subquery{Kind: sqlir.SubScalar, Query: q}
	case pg.SubLinkType_ARRAY_SUBLINK:
		return &sqlir.Subquery{Kind: sqlir.SubArray, Query: q}
	case pg.SubLinkType_ANY_SUBLINK:
		if name := opName(s.OperName); name == "" || name == "=" {
			return &sqlir.In{Expr: tr.e(s.Testexpr), Query: q}
		}
		return &sqlir.Subquery{Kind: sqlir.SubQuantified, Query: q, Left: tr.e(s.Testexpr)}
	case pg.SubLinkType_ALL_SUBLINK:
		return &sqlir.Subquery{Kind: sqlir.SubQuantified, Query: q, Left: tr.e(s.Testexpr)}
	}
	return &sqlir.Bad{What: "subquery " + strings.ToLower(s.SubLinkType.String()), Args: []sqlir.Expr{tr.e(s.Testexpr)}}
}

func (tr *translator) items(list []*pg.Node) []*sqlir.Item {
	var out []*sqlir.Item
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			tr.unsupported(0, "RETURNING item")
			continue
		}
		out = append(out, &sqlir.Item{Span: sqlir.Span{Start: int(rt.Location)}, Expr: tr.e(rt.Val), Alias: strings.ToLower(rt.Name)})
	}
	return out
}

// assigns translates SET lists (UPDATE, DO UPDATE).
func (tr *translator) assigns(list []*pg.Node) []*sqlir.Assign {
	var out []*sqlir.Assign
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			tr.unsupported(0, "SET item")
			continue
		}
		as := &sqlir.Assign{Span: sqlir.Span{Start: int(rt.Location)}, Column: strings.ToLower(rt.Name), Indirect: len(rt.Indirection) > 0, ValueEnd: -1}
		if m := rt.Val.GetMultiAssignRef(); m != nil {
			as.Multi = true
			as.Value = tr.e(m.Source)
		} else {
			as.Value = tr.e(rt.Val)
			as.ValueEnd = tr.valueEnd(as.Value)
		}
		out = append(out, as)
	}
	return out
}

// valueEnd returns where a single-token value (a literal, a placeholder,
// a dotted name) ends, or -1.
func (tr *translator) valueEnd(e sqlir.Expr) int {
	switch x := e.(type) {
	case *sqlir.Param:
		return x.End
	case *sqlir.Literal:
		return x.End
	case *sqlir.ColumnRef:
		return x.NameSpan.End
	}
	return -1
}

func (tr *translator) returning(list []*pg.Node) ([]*sqlir.Item, int) {
	if len(list) == 0 {
		return nil, -1
	}
	return tr.items(list), tr.t.end(-1)
}

func (tr *translator) insert(ins *pg.InsertStmt) *sqlir.Insert {
	out := &sqlir.Insert{With: tr.with(ins.WithClause), Table: tableName(ins.Relation), ColumnsClose: -1}
	out.Alias, _ = aliasOf(ins.Relation.Alias)
	for _, n := range ins.Cols {
		rt := n.GetResTarget()
		if rt == nil {
			tr.unsupported(0, "INSERT column")
			continue
		}
		if len(rt.Indirection) > 0 {
			tr.unsupported(rt.Location, "a subscripted INSERT column")
		}
		out.Columns = append(out.Columns, &sqlir.Ident{Span: sqlir.Span{Start: int(rt.Location)}, Name: strings.ToLower(rt.Name)})
	}
	t := tr.t
	into := t.find(0, 0, pg.Token_INTO)
	if len(ins.Cols) > 0 && into >= 0 {
		if open := t.find(into, 0, pg.Token_ASCII_40); open >= 0 && t.match[open] >= 0 {
			out.ColumnsClose = int(t.toks[t.match[open]].Start)
		}
	}
	sel := ins.SelectStmt.GetSelectStmt()
	switch {
	case ins.SelectStmt == nil:
		out.DefaultValues = true
	case sel != nil && len(sel.ValuesLists) > 0 && len(sel.FromClause) == 0 && sel.WithClause == nil && len(sel.SortClause) == 0 && sel.LimitCount == nil:
		// The rows are the "(" groups at depth 0 after VALUES.
		from := into
		if out.ColumnsClose >= 0 {
			from = t.after(int32(out.ColumnsClose))
		}
		v := t.find(from, 0, pg.Token_VALUES)
		var closes []int
		for i := v + 1; v >= 0 && i < len(t.toks); i++ {
			if t.depth[i] != 0 {
				continue
			}
			if t.toks[i].Token == pg.Token_ASCII_40 && t.match[i] >= 0 {
				closes = append(closes, int(t.toks[t.match[i]].Start))
				i = t.match[i]
				continue
			}
			if t.toks[i].Token != pg.Token_ASCII_44 {
				break
			}
		}
		for k, vl := range sel.ValuesLists {
			row := &sqlir.Row{Values: tr.list(vl.GetList().GetItems()), Close: -1}
			if len(closes) == len(sel.ValuesLists) {
				row.Close = closes[k]
			}
			out.Rows = append(out.Rows, row)
		}
	default:
		out.Query = tr.query(sel)
		if sel == nil {
			tr.unsupported(0, "INSERT source")
		}
	}
	if oc := ins.OnConflictClause; oc != nil {
		out.OnConflict = tr.onConflict(oc)
	}
	out.Returning, out.ReturningEnd = tr.returning(ins.ReturningList)
	return out
}

func (tr *translator) onConflict(oc *pg.OnConflictClause) *sqlir.OnConflict {
	out := &sqlir.OnConflict{WhereStart: -1, WhereEnd: -1, End: -1}
	if inf := oc.Infer; inf != nil {
		out.Constraint = inf.Conname != ""
		for _, n := range inf.IndexElems {
			ie := n.GetIndexElem()
			if ie == nil || ie.Name == "" {
				tr.unsupported(0, "an expression as conflict target")
				continue
			}
			out.Targets = append(out.Targets, strings.ToLower(ie.Name))
		}
		out.TargetWhere = tr.e(inf.WhereClause)
	}
	if oc.Action != pg.OnConflictAction_ONCONFLICT_UPDATE {
		return out
	}
	out.Update = true
	out.Set = tr.assigns(oc.TargetList)
	out.Where = tr.e(oc.WhereClause)
	// Positions: after DO UPDATE SET, the WHERE at depth 0; the clause
	// ends at RETURNING or the end of the statement.
	t := tr.t
	do := t.find(t.find(0, 0, pg.Token_CONFLICT), 0, pg.Token_DO)
	ret := t.find(do, 0, pg.Token_RETURNING)
	out.End = t.end(ret)
	if out.Where != nil {
		if w := t.find(do, 0, pg.Token_WHERE); w >= 0 {
			out.WhereStart, out.WhereEnd = int(t.toks[w].End), out.End
		}
	}
	return out
}

func (tr *translator) update(up *pg.UpdateStmt) *sqlir.Update {
	out := &sqlir.Update{With: tr.with(up.WithClause), Table: tableName(up.Relation), WhereStart: -1, WhereEnd: -1}
	out.Alias, _ = aliasOf(up.Relation.Alias)
	out.Set = tr.assigns(up.TargetList)
	for _, n := range up.FromClause {
		out.From = append(out.From, tr.from(n))
	}
	out.Where = tr.e(up.WhereClause)
	if out.Where != nil {
		t := tr.t
		if w := t.find(t.find(0, 0, pg.Token_SET), 0, pg.Token_WHERE); w >= 0 {
			out.WhereStart = int(t.toks[w].End)
			out.WhereEnd = t.end(t.find(w, 0, pg.Token_RETURNING))
		}
	}
	out.Returning, out.ReturningEnd = tr.returning(up.ReturningList)
	return out
}

func (tr *translator) delete(del *pg.DeleteStmt) *sqlir.Delete {
	out := &sqlir.Delete{With: tr.with(del.WithClause), Table: tableName(del.Relation)}
	out.Alias, _ = aliasOf(del.Relation.Alias)
	for _, n := range del.UsingClause {
		out.Using = append(out.Using, tr.from(n))
	}
	out.Where = tr.e(del.WhereClause)
	out.Returning, out.ReturningEnd = tr.returning(del.ReturningList)
	return out
}
