package mysqldialect

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type analyzer struct {
	sqlplan.Rewriter
	cat  sqlplan.Catalog
	src  string
	toks []token
	// paramOrd maps each "?" (by offset) to the caller's argument index.
	paramOrd map[int]int
}

const (
	modeTop = iota
	modeDerived
	modeSublink
)

func refuse(reason error, table, col, detail string) error {
	return sqlplan.Refuse(reason, table, col, detail)
}

func (a *analyzer) statement(n ast.StmtNode) error {
	s := &sqlplan.Scope{}
	switch st := n.(type) {
	case *ast.SelectStmt:
		a.Out.Kind = sqlplan.KindSelect
		return a.selectStmt(st, s, modeTop)
	case *ast.SetOprStmt:
		a.Out.Kind = sqlplan.KindSelect
		return a.expr(st, s, "UNION")
	case *ast.InsertStmt:
		a.Out.Kind = sqlplan.KindInsert
		return a.insertStmt(st, s)
	case *ast.UpdateStmt:
		a.Out.Kind = sqlplan.KindUpdate
		return a.updateStmt(st, s)
	case *ast.DeleteStmt:
		a.Out.Kind = sqlplan.KindDelete
		return a.deleteStmt(st, s)
	case *ast.CreateTableStmt:
		if st.Select == nil {
			return nil
		}
	case *ast.AlterTableStmt, *ast.CreateIndexStmt, *ast.DropTableStmt, *ast.DropIndexStmt, *ast.TruncateTableStmt:
		return nil
	}
	// Any other statement naming a protected table is refused.
	var found string
	walk(n, func(x ast.Node) bool {
		if tn, ok := x.(*ast.TableName); ok && a.cat.Table(tn.Name.L) != nil {
			found = tn.Name.L
			return false
		}
		return true
	})
	if found != "" {
		return refuse(sqlplan.ErrUnsupportedStatement, found, "", "statement kind")
	}
	return nil
}

// walker adapts a function to ast.Visitor; f returns false to skip children.
type walker struct{ f func(ast.Node) bool }

func (w walker) Enter(n ast.Node) (ast.Node, bool) { return n, !w.f(n) }
func (w walker) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func walk(n ast.Node, f func(ast.Node) bool) {
	if n != nil {
		n.Accept(walker{f})
	}
}

func (a *analyzer) with(w *ast.WithClause, s *sqlplan.Scope) error {
	if w == nil {
		return nil
	}
	for _, cte := range w.CTEs {
		if cte.Query != nil {
			if err := a.subquery(cte.Query.Query, s, modeDerived); err != nil {
				return err
			}
		}
		s.AddCTE(cte.Name.L)
	}
	return nil
}

func (a *analyzer) subquery(n ast.ResultSetNode, s *sqlplan.Scope, mode int) error {
	switch q := n.(type) {
	case *ast.SelectStmt:
		return a.selectStmt(q, s.Child(), mode)
	case *ast.SetOprStmt:
		if q.With != nil {
			if err := a.with(q.With, s); err != nil {
				return err
			}
		}
		if q.SelectList != nil {
			for _, sel := range q.SelectList.Selects {
				if err := a.subquery(sel.(ast.ResultSetNode), s, mode); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return a.expr(n, s, "subquery")
}

func (a *analyzer) from(refs *ast.TableRefsClause, s *sqlplan.Scope) error {
	if refs == nil || refs.TableRefs == nil {
		return nil
	}
	return a.fromNode(refs.TableRefs, s)
}

func (a *analyzer) fromNode(n ast.ResultSetNode, s *sqlplan.Scope) error {
	switch x := n.(type) {
	case nil:
		return nil
	case *ast.Join:
		if err := a.fromNode(x.Left, s); err != nil {
			return err
		}
		if err := a.fromNode(x.Right, s); err != nil {
			return err
		}
		if x.NaturalJoin || len(x.Using) > 0 {
			for _, e := range s.Entries {
				if e.Table == nil {
					continue
				}
				if x.NaturalJoin {
					return refuse(sqlplan.ErrUnsupportedUse, e.Table.Name, "", "NATURAL JOIN")
				}
				for _, u := range x.Using {
					if e.Table.Columns[u.Name.L] != nil {
						return refuse(sqlplan.ErrUnsupportedUse, e.Table.Name, u.Name.L, "JOIN USING")
					}
				}
			}
		}
		if x.On != nil {
			return a.where(x.On.Expr, s)
		}
		return nil
	case *ast.TableSource:
		switch src := x.Source.(type) {
		case *ast.TableName:
			a.addTable(src, x.AsName.L, s)
			return nil
		case *ast.SelectStmt, *ast.SetOprStmt:
			if err := a.subquery(src, s, modeDerived); err != nil {
				return err
			}
			s.Entries = append(s.Entries, &sqlplan.Entry{Name: x.AsName.L, Ref: x.AsName.L})
			return nil
		default:
			return a.fromNode(src, s)
		}
	}
	return a.expr(n, s, "FROM item")
}

func (a *analyzer) addTable(tn *ast.TableName, alias string, s *sqlplan.Scope) *sqlplan.Entry {
	e := s.AddTable(a.cat, tn.Name.L, alias, tn.Schema.L != "")
	if e.Table != nil {
		a.Out.Protected = true
	}
	return e
}

func (a *analyzer) resolve(cn *ast.ColumnName, s *sqlplan.Scope) (sqlplan.Resolved, error) {
	return s.Resolve(cn.Table.L, cn.Name.L)
}

// expr analyzes n, in which protected columns may not appear.
func (a *analyzer) expr(n ast.Node, s *sqlplan.Scope, what string) error {
	var err error
	walk(n, func(x ast.Node) bool {
		if err != nil {
			return false
		}
		switch v := x.(type) {
		case *ast.ColumnNameExpr:
			c, rerr := a.resolve(v.Name, s)
			if rerr != nil {
				err = rerr
			} else if c.Column != nil {
				err = refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, what)
			}
			return false
		case *ast.SelectStmt:
			err = a.selectStmt(v, s.Child(), modeSublink)
			return false
		case *ast.TableName:
			if a.cat.Table(v.Name.L) != nil {
				a.Out.Protected = true
			}
		}
		return true
	})
	return err
}

// start returns where expression e begins.
func start(e ast.ExprNode) int {
	if p, ok := e.(*driver.ParamMarkerExpr); ok {
		return p.Offset
	}
	return e.OriginTextPosition()
}

func (a *analyzer) tokenAt(pos int) int {
	i := sort.Search(len(a.toks), func(i int) bool { return a.toks[i].start >= pos })
	if i < len(a.toks) && a.toks[i].start == pos {
		return i
	}
	return -1
}

// closeParen returns the start of the ")" closing the list that pos is in.
func (a *analyzer) closeParen(pos int) int {
	depth := 0
	for _, t := range a.toks {
		if t.start < pos || t.kind != tkPunct {
			continue
		}
		switch a.src[t.start] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return t.start
			}
			depth--
		}
	}
	return -1
}

func (a *analyzer) isPunct(i int, c byte) bool {
	return i >= 0 && i < len(a.toks) && a.toks[i].kind == tkPunct && a.src[a.toks[i].start] == c
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// lastName returns the token index of a column reference's column name.
func (a *analyzer) lastName(e *ast.ColumnNameExpr) int {
	i := a.tokenAt(e.OriginTextPosition())
	for i >= 0 && a.isPunct(i+1, '.') && i+2 < len(a.toks) {
		i += 2
	}
	if i < 0 || (a.toks[i].kind != tkWord && a.toks[i].kind != tkQuoted) {
		return -1
	}
	if !strings.EqualFold(unquote(a.src[a.toks[i].start:a.toks[i].end]), e.Name.Name.O) {
		return -1
	}
	return i
}

// valueOf returns the value of a placeholder or literal expression.
func (a *analyzer) valueOf(e ast.ExprNode) (sqlplan.Spot, bool) {
	switch x := e.(type) {
	case *driver.ParamMarkerExpr:
		i := a.tokenAt(x.Offset)
		if i < 0 || a.toks[i].kind != tkParam {
			return sqlplan.Spot{}, false
		}
		return sqlplan.Spot{Value: sqlplan.ArgValue(a.paramOrd[x.Offset]), Start: x.Offset, End: x.Offset + 1}, true
	case *driver.ValueExpr:
		i := a.tokenAt(x.OriginTextPosition())
		if i < 0 {
			return sqlplan.Spot{}, false
		}
		t := a.toks[i]
		var v sqlplan.Value
		switch x.Kind() {
		case driver.KindNull:
			if t.kind != tkWord || !strings.EqualFold(a.src[t.start:t.end], "null") {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.NullValue()
		case driver.KindString, driver.KindBytes:
			if t.kind != tkString {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.LiteralValue(x.GetString())
		case driver.KindInt64:
			if t.kind != tkNumber {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.NumberValue(strconv.FormatInt(x.GetInt64(), 10))
		case driver.KindUint64:
			if t.kind != tkNumber {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.NumberValue(strconv.FormatUint(x.GetUint64(), 10))
		case driver.KindMysqlDecimal:
			if t.kind != tkNumber {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.NumberValue(a.src[t.start:t.end]) // exactly as written: 6.0
		case driver.KindFloat64:
			if t.kind != tkNumber {
				return sqlplan.Spot{}, false
			}
			v = sqlplan.NumberValue(a.src[t.start:t.end]) // 1e2
		default:
			return sqlplan.Spot{}, false
		}
		if i+1 < len(a.toks) && a.toks[i+1].kind == tkString && t.kind == tkString {
			return sqlplan.Spot{}, false // 'a' 'b' concatenation
		}
		return sqlplan.Spot{Value: v, Start: t.start, End: t.end}, true
	}
	return sqlplan.Spot{}, false
}

func (a *analyzer) rename(e *ast.ColumnNameExpr, name string) bool {
	i := a.lastName(e)
	if i < 0 {
		return false
	}
	a.ReplaceText(a.toks[i].start, a.toks[i].end, name)
	return true
}

// protected returns the protected column e names, if e is a column reference.
func (a *analyzer) protected(e ast.ExprNode, s *sqlplan.Scope) (*ast.ColumnNameExpr, sqlplan.Resolved, bool, error) {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	cn, ok := e.(*ast.ColumnNameExpr)
	if !ok {
		return nil, sqlplan.Resolved{}, false, nil
	}
	c, err := a.resolve(cn.Name, s)
	return cn, c, err == nil && c.Column != nil, err
}

func (a *analyzer) where(n ast.ExprNode, s *sqlplan.Scope) error {
	switch x := n.(type) {
	case nil:
		return nil
	case *ast.ParenthesesExpr:
		return a.where(x.Expr, s)
	case *ast.UnaryOperationExpr:
		if x.Op == opcode.Not || x.Op == opcode.Not2 {
			return a.where(x.V, s)
		}
	case *ast.BinaryOperationExpr:
		switch x.Op {
		case opcode.LogicAnd, opcode.LogicOr, opcode.LogicXor:
			if err := a.where(x.L, s); err != nil {
				return err
			}
			return a.where(x.R, s)
		case opcode.EQ, opcode.NE:
			for _, side := range [][2]ast.ExprNode{{x.L, x.R}, {x.R, x.L}} {
				cn, c, ok, err := a.protected(side[0], s)
				if err != nil {
					return err
				}
				if ok {
					return a.search(c, cn, side[1], x.Op.String())
				}
			}
		}
	case *ast.IsNullExpr:
		if _, _, ok, err := a.protected(x.Expr, s); ok || err != nil {
			return err
		}
	case *ast.PatternInExpr:
		cn, c, ok, err := a.protected(x.Expr, s)
		if err != nil {
			return err
		}
		if ok {
			if x.Sel != nil {
				return refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "IN (SELECT …)")
			}
			idx := c.Column.EqualityIndex()
			if idx == nil {
				return refuse(sqlplan.ErrNoIndex, c.Column.Table, c.Column.Name, "IN needs an equality index")
			}
			for _, item := range x.List {
				v, ok := a.valueOf(item)
				if !ok {
					return refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "IN with an expression")
				}
				a.Replace(v, sqlplan.Slot{Op: sqlplan.OpIndex, Table: c.Column.Table, Column: c.Column.Name, Transform: idx.Transform, Search: true})
			}
			if !a.rename(cn, idx.Column) {
				return refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
			}
			return nil
		}
	case *ast.PatternLikeOrIlikeExpr:
		cn, c, ok, err := a.protected(x.Expr, s)
		if err != nil {
			return err
		}
		if ok {
			if x.Not || !x.IsLike || x.EscapeExplicit {
				return refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "NOT LIKE, ILIKE or ESCAPE")
			}
			return a.likeLast4(c, cn, x)
		}
	}
	return a.expr(n, s, "condition")
}

func (a *analyzer) search(c sqlplan.Resolved, cn *ast.ColumnNameExpr, val ast.ExprNode, op string) error {
	idx := c.Column.EqualityIndex()
	if idx == nil {
		return refuse(sqlplan.ErrNoIndex, c.Column.Table, c.Column.Name, op+" needs an equality index")
	}
	v, ok := a.valueOf(val)
	if !ok {
		return refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, op+" with an expression")
	}
	a.Replace(v, sqlplan.Slot{Op: sqlplan.OpIndex, Table: c.Column.Table, Column: c.Column.Name, Transform: idx.Transform, Search: true})
	if !a.rename(cn, idx.Column) {
		return refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
	}
	return nil
}

func (a *analyzer) likeLast4(c sqlplan.Resolved, cn *ast.ColumnNameExpr, x *ast.PatternLikeOrIlikeExpr) error {
	v, ok := a.valueOf(x.Pattern)
	if !ok {
		return refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "LIKE with an expression")
	}
	slot, err := sqlplan.LikeSlot(c.Column, v.Value)
	if err != nil {
		return err
	}
	name := a.lastName(cn)
	if name < 0 || name+1 >= len(a.toks) || a.toks[name+1].kind != tkWord || !strings.EqualFold(a.src[a.toks[name+1].start:a.toks[name+1].end], "like") {
		return refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "LIKE position")
	}
	like := a.toks[name+1]
	a.ReplaceText(like.start, like.end, "=")
	v.Value = slot.Value
	a.Replace(v, slot)
	if !a.rename(cn, c.Column.IndexFor("last4").Column) {
		return refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
	}
	return nil
}
