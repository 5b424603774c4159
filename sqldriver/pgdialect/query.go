package pgdialect

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Modes of a SELECT: the statement itself, a derived table or CTE (returns
// rows to another query: no protected column may come out), or a sublink
// (IN, EXISTS, scalar: protected columns may not come out by name).
const (
	modeTop = iota
	modeDerived
	modeSublink
)

func opName(names []*pg.Node) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().GetSval())
	}
	return strings.Join(parts, ".")
}

// protected returns the protected column n names, if n is a column reference.
func (a *analyzer) protected(n *pg.Node, s *sqlplan.Scope) (sqlplan.Resolved, bool, error) {
	cr := n.GetColumnRef()
	if cr == nil {
		return sqlplan.Resolved{}, false, nil
	}
	c, err := a.resolve(cr, s)
	return c, err == nil && c.Column != nil, err
}

// where analyzes a search condition: equality, IN and <> on a protected
// column go through its full blind index, LIKE '%…' through last4.
func (a *analyzer) where(n *pg.Node, s *sqlplan.Scope) error {
	if n == nil {
		return nil
	}
	switch {
	case n.GetBoolExpr() != nil:
		for _, arg := range n.GetBoolExpr().Args {
			if err := a.where(arg, s); err != nil {
				return err
			}
		}
		return nil
	case n.GetNullTest() != nil:
		if _, ok, err := a.protected(n.GetNullTest().Arg, s); ok || err != nil {
			return err // IS [NOT] NULL works on ciphertext
		}
	case n.GetAExpr() != nil:
		e := n.GetAExpr()
		op := opName(e.Name)
		switch e.Kind {
		case pg.A_Expr_Kind_AEXPR_OP:
			if op == "=" || op == "<>" || op == "!=" {
				for _, side := range [][2]*pg.Node{{e.Lexpr, e.Rexpr}, {e.Rexpr, e.Lexpr}} {
					c, ok, err := a.protected(side[0], s)
					if err != nil {
						return err
					}
					if ok {
						return a.search(c, side[0].GetColumnRef(), side[1], op)
					}
				}
			}
		case pg.A_Expr_Kind_AEXPR_IN:
			c, ok, err := a.protected(e.Lexpr, s)
			if err != nil {
				return err
			}
			if ok {
				list := e.Rexpr.GetList()
				if list == nil {
					return a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "IN without a list")
				}
				idx := c.Column.EqualityIndex()
				if idx == nil {
					return a.refuse(sqlplan.ErrNoIndex, c.Column.Table, c.Column.Name, "IN needs an equality index")
				}
				for _, item := range list.Items {
					v, ok := a.valueOf(item)
					if !ok {
						return a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "IN with an expression")
					}
					a.Replace(v, sqlplan.Slot{Op: sqlplan.OpIndex, Table: c.Column.Table, Column: c.Column.Name, Transform: idx.Transform, Search: true})
				}
				if !a.rename(e.Lexpr.GetColumnRef(), idx.Column) {
					return a.refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
				}
				return nil
			}
		case pg.A_Expr_Kind_AEXPR_LIKE:
			c, ok, err := a.protected(e.Lexpr, s)
			if err != nil {
				return err
			}
			if ok {
				if op != "~~" {
					return a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "NOT LIKE")
				}
				return a.likeLast4(c, e)
			}
		}
	}
	return a.expr(n, s, "condition")
}

// search rewrites col op value into idxcol op placeholder.
func (a *analyzer) search(c sqlplan.Resolved, cr *pg.ColumnRef, val *pg.Node, op string) error {
	idx := c.Column.EqualityIndex()
	if idx == nil {
		return a.refuse(sqlplan.ErrNoIndex, c.Column.Table, c.Column.Name, op+" needs an equality index")
	}
	v, ok := a.valueOf(val)
	if !ok {
		return a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, op+" with an expression")
	}
	a.Replace(v, sqlplan.Slot{Op: sqlplan.OpIndex, Table: c.Column.Table, Column: c.Column.Name, Transform: idx.Transform, Search: true})
	if !a.rename(cr, idx.Column) {
		return a.refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
	}
	return nil
}

// likeLast4 rewrites col LIKE '%1234' into last4col = placeholder.
func (a *analyzer) likeLast4(c sqlplan.Resolved, e *pg.A_Expr) error {
	v, ok := a.valueOf(e.Rexpr)
	if !ok {
		return a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "LIKE with an expression")
	}
	slot, err := sqlplan.LikeSlot(c.Column, v.Value)
	if err != nil {
		return err
	}
	i := a.tokenAt(e.Location)
	if i < 0 || a.toks[i].Token != pg.Token_LIKE {
		return a.refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "LIKE position")
	}
	a.ReplaceText(int(a.toks[i].Start), int(a.toks[i].End), "=")
	v.Value = slot.Value
	a.Replace(v, slot)
	if !a.rename(e.Lexpr.GetColumnRef(), c.Column.IndexFor("last4").Column) {
		return a.refuse(sqlplan.ErrUnparsable, c.Column.Table, c.Column.Name, "column position")
	}
	return nil
}

// selectStmt analyzes a SELECT in one of the modes.
func (a *analyzer) selectStmt(sel *pg.SelectStmt, s *sqlplan.Scope, top bool) error {
	mode := modeSublink
	if top {
		mode = modeTop
	}
	return a.selectMode(sel, s, mode)
}

func (a *analyzer) selectMode(sel *pg.SelectStmt, s *sqlplan.Scope, mode int) error {
	if err := a.with(sel.WithClause, s); err != nil {
		return err
	}
	if sel.Op != pg.SetOperation_SETOP_NONE {
		for _, arm := range []*pg.SelectStmt{sel.Larg, sel.Rarg} {
			m := modeDerived
			if mode == modeSublink {
				m = modeSublink
			}
			if err := a.selectMode(arm, s.Child(), m); err != nil {
				return err
			}
		}
		return a.exprs(sel.SortClause, s, "ORDER BY")
	}
	for _, vl := range sel.ValuesLists {
		if err := a.expr(vl, s, "VALUES"); err != nil {
			return err
		}
	}
	if err := a.from(sel.FromClause, s); err != nil {
		return err
	}
	if err := a.where(sel.WhereClause, s); err != nil {
		return err
	}
	results, names, err := a.targets(sel.TargetList, s, mode)
	if err != nil {
		return err
	}
	checks := []struct {
		list []*pg.Node
		what string
	}{{sel.GroupClause, "GROUP BY"}, {sel.SortClause, "ORDER BY"}, {sel.DistinctClause, "DISTINCT"}, {sel.WindowClause, "WINDOW"}}
	for _, ch := range checks {
		if err := a.byItems(ch.list, s, results, names, ch.what); err != nil {
			return err
		}
	}
	if len(sel.DistinctClause) > 0 {
		for _, r := range results {
			if r.Protected() {
				return a.refuse(sqlplan.ErrUnsupportedUse, r.Result.Table, r.Column, "DISTINCT")
			}
		}
	}
	for _, n := range []*pg.Node{sel.HavingClause, sel.LimitCount, sel.LimitOffset} {
		if err := a.expr(n, s, "HAVING/LIMIT"); err != nil {
			return err
		}
	}
	if sel.IntoClause != nil && a.Out.Protected {
		return a.refuse(sqlplan.ErrUnsupportedStatement, "", "", "SELECT … INTO from a protected table")
	}
	if mode == modeTop {
		return a.Out.Finish(results, func() (int, bool) { return a.fromStart(sel) })
	}
	return nil
}

func (a *analyzer) exprs(list []*pg.Node, s *sqlplan.Scope, what string) error {
	for _, n := range list {
		if err := a.expr(n, s, what); err != nil {
			return err
		}
	}
	return nil
}

// byItems analyzes GROUP BY/ORDER BY items, refusing protected columns also
// when named by their output alias or position.
func (a *analyzer) byItems(list []*pg.Node, s *sqlplan.Scope, results []sqlplan.Item, names map[string]*sqlplan.Item, what string) error {
	for _, n := range list {
		inner := n
		if sb := n.GetSortBy(); sb != nil {
			inner = sb.Node
		}
		if cr := inner.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
			if t := names[strings.ToLower(cr.Fields[0].GetString_().GetSval())]; t != nil && t.Column != "" {
				return a.refuse(sqlplan.ErrUnsupportedUse, t.Result.Table, t.Column, what)
			}
		}
		if ic := inner.GetAConst().GetIval(); ic != nil && inner.GetAConst() != nil {
			k := int(ic.Ival) - 1
			if k >= 0 && k < len(results) && results[k].Protected() {
				return a.refuse(sqlplan.ErrUnsupportedUse, results[k].Result.Table, results[k].Column, what+" position")
			}
		}
		if err := a.expr(n, s, what); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) targets(list []*pg.Node, s *sqlplan.Scope, mode int) ([]sqlplan.Item, map[string]*sqlplan.Item, error) {
	results := make([]sqlplan.Item, len(list))
	names := map[string]*sqlplan.Item{}
	for i, n := range list {
		results[i] = sqlplan.NewItem()
		rt := n.GetResTarget()
		if rt == nil {
			continue
		}
		t := &results[i]
		if rt.Name != "" {
			names[strings.ToLower(rt.Name)] = t
		}
		cr := rt.Val.GetColumnRef()
		if cr == nil {
			if err := a.expr(rt.Val, s, "select expression"); err != nil {
				return nil, nil, err
			}
			continue
		}
		if last := cr.Fields[len(cr.Fields)-1]; last.GetAStar() != nil {
			t.Star = true
			var qual string
			if len(cr.Fields) > 1 {
				qual = strings.ToLower(cr.Fields[len(cr.Fields)-2].GetString_().GetSval())
			}
			for _, e := range s.Entries {
				if e.Table != nil && (qual == "" || qual == e.Ref) {
					t.StarTables = append(t.StarTables, e.Table.Name)
				}
			}
			if len(t.StarTables) > 0 && mode == modeDerived {
				return nil, nil, a.refuse(sqlplan.ErrUnsupportedUse, t.StarTables[0], "", "* of a protected table in a derived table")
			}
			continue
		}
		c, err := a.resolve(cr, s)
		if err != nil {
			return nil, nil, err
		}
		if c.Entry == nil {
			continue
		}
		t.Entry, t.Ref, t.Table = c.Entry, c.Entry.Ref, c.Entry.Table
		t.Key = c.Key
		if c.Index {
			t.Index = strings.ToLower(cr.Fields[len(cr.Fields)-1].GetString_().GetSval())
			t.IndexOf, t.Result.Table = c.Entry.Table.IndexColumns[t.Index].Name, c.Entry.Table.Name
		}
		if c.Column == nil {
			continue
		}
		if mode != modeTop {
			return nil, nil, a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "returned by a subquery")
		}
		t.Result.Table, t.Column = c.Column.Table, c.Column.Name
		if rt.Name == "" {
			names[c.Column.Name] = t
		}
	}
	return results, names, nil
}

// fromStart returns the start of the FROM keyword that ends sel's select
// list: the last FROM before the first table of the FROM clause.
func (a *analyzer) fromStart(sel *pg.SelectStmt) (int, bool) {
	if len(sel.TargetList) == 0 || len(sel.FromClause) == 0 {
		return 0, false
	}
	first := int32(-1)
	a.visit(sel.FromClause[0], func(m protoreflect.ProtoMessage) bool {
		if rv, ok := m.(*pg.RangeVar); ok && (first < 0 || rv.Location < first) {
			first = rv.Location
		}
		return true
	})
	if first < 0 {
		return 0, false
	}
	pos := -1
	for _, t := range a.toks {
		if t.Start >= first {
			break
		}
		if t.Token == pg.Token_FROM {
			pos = int(t.Start)
		}
	}
	return pos, pos >= 0
}

// stmtEnd returns the end of the statement's last token (before any ";").
func (a *analyzer) stmtEnd() (int, bool) {
	for i := len(a.toks) - 1; i >= 0; i-- {
		if a.toks[i].Token == pg.Token_ASCII_59 || a.toks[i].Token == pg.Token_SQL_COMMENT || a.toks[i].Token == pg.Token_C_COMMENT {
			continue
		}
		return int(a.toks[i].End), true
	}
	return 0, false
}

// returning analyzes a RETURNING list over the statement's scope.
func (a *analyzer) returning(list []*pg.Node, s *sqlplan.Scope) error {
	if len(list) == 0 {
		return nil
	}
	results, _, err := a.targets(list, s, modeTop)
	if err != nil {
		return err
	}
	return a.Out.Finish(results, a.stmtEnd)
}
