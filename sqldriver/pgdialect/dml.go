package pgdialect

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

func (a *analyzer) insertStmt(ins *pg.InsertStmt, s *sqlplan.Scope) error {
	if err := a.with(ins.WithClause, s); err != nil {
		return err
	}
	e := a.addRange(ins.Relation, s)
	t := e.Table
	sel := ins.SelectStmt.GetSelectStmt()
	if t == nil {
		if ins.SelectStmt != nil {
			if sel != nil && len(sel.ValuesLists) == 0 {
				if err := a.selectMode(sel, s.Child(), modeDerived); err != nil {
					return err
				}
			} else if err := a.expr(ins.SelectStmt, s, "INSERT source"); err != nil {
				return err
			}
		}
		if oc := ins.OnConflictClause; oc != nil {
			if err := a.exprs(oc.TargetList, s, "DO UPDATE"); err != nil {
				return err
			}
		}
		return a.exprs(ins.ReturningList, s, "RETURNING")
	}
	cols := make([]string, len(ins.Cols))
	anyProtected := false
	for i, n := range ins.Cols {
		rt := n.GetResTarget()
		cols[i] = strings.ToLower(rt.GetName())
		col, err := t.Assignable(cols[i], true)
		if err != nil {
			return err
		}
		if col != nil {
			anyProtected = true
			if len(rt.GetIndirection()) > 0 {
				return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, cols[i], "subscript")
			}
		}
	}
	switch {
	case len(cols) == 0 && ins.SelectStmt != nil:
		return a.refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT without a column list")
	case ins.SelectStmt == nil: // DEFAULT VALUES
	case sel == nil || len(sel.ValuesLists) == 0:
		if anyProtected {
			return a.refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … SELECT into protected columns")
		}
		if err := a.expr(ins.SelectStmt, s, "INSERT source"); err != nil {
			return err
		}
	default:
		if err := a.insertValues(t, cols, sel, s); err != nil {
			return err
		}
	}
	if oc := ins.OnConflictClause; oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
		if err := a.doUpdate(t, e, oc, s); err != nil {
			return err
		}
	}
	return a.returning(ins.ReturningList, s)
}

// insertValues seals each VALUES item bound for a protected column and
// appends the blind-index columns and values.
func (a *analyzer) insertValues(t *sqlplan.Table, cols []string, sel *pg.SelectStmt, s *sqlplan.Scope) error {
	keyPos := -1
	var indexCols []string
	for i, c := range cols {
		if c == t.RowKey {
			keyPos = i
		}
		if col := t.Columns[c]; col != nil {
			for _, ix := range col.Indexes {
				indexCols = append(indexCols, ix.Column)
			}
		}
	}
	for _, vl := range sel.ValuesLists {
		items := vl.GetList().GetItems()
		if len(items) != len(cols) {
			return a.refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "VALUES row length differs from the column list")
		}
		var rowKey *sqlplan.Value
		var extra []sqlplan.Slot
		lastEnd := -1
		for i, item := range items {
			col := t.Columns[cols[i]]
			if col == nil {
				if err := a.expr(item, s, "VALUES"); err != nil {
					return err
				}
				continue
			}
			if t.RowKey != "" && rowKey == nil {
				if keyPos < 0 {
					return a.refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "INSERT without the row key column")
				}
				kv, ok := a.valueOf(items[keyPos])
				if !ok || kv.Value.Null {
					return a.refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "row key must be a placeholder or a literal")
				}
				rowKey = &kv.Value
			}
			v, ok := a.valueOf(item)
			if !ok {
				return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, "value is not a placeholder or a literal")
			}
			extra = append(extra, a.Assign(col, v, rowKey)...)
			lastEnd = max(lastEnd, v.End)
		}
		if len(extra) == 0 {
			continue
		}
		pos := a.closeParen(int32(lastEnd))
		if pos < 0 {
			return a.refuse(sqlplan.ErrUnparsable, t.Name, "", "end of a VALUES row")
		}
		var pieces []sqlplan.Piece
		for _, sl := range extra {
			pieces = append(pieces, sqlplan.Text(", "), sqlplan.SlotPiece(sl))
		}
		a.InsertAt(pos, pieces...)
	}
	if len(indexCols) > 0 {
		return a.appendColumns(indexCols)
	}
	return nil
}

// appendColumns adds names to the INSERT column list.
func (a *analyzer) appendColumns(names []string) error {
	// The column list is the first parenthesized list after INTO name.
	for i, t := range a.toks {
		if t.Token != pg.Token_INTO {
			continue
		}
		for j := i + 1; j < len(a.toks); j++ {
			switch a.toks[j].Token {
			case pg.Token_ASCII_40:
				pos := a.closeParen(a.toks[j].End)
				if pos < 0 {
					return a.refuse(sqlplan.ErrUnparsable, "", "", "column list")
				}
				a.InsertAt(pos, sqlplan.Text(", "+strings.Join(names, ", ")))
				return nil
			case pg.Token_VALUES, pg.Token_SELECT, pg.Token_DEFAULT:
				return a.refuse(sqlplan.ErrUnparsable, "", "", "column list")
			}
		}
	}
	return a.refuse(sqlplan.ErrUnparsable, "", "", "column list")
}

// doUpdate analyzes ON CONFLICT … DO UPDATE SET: a protected column may only
// take excluded.<same column>, and its blind indexes follow.
func (a *analyzer) doUpdate(t *sqlplan.Table, e *sqlplan.Entry, oc *pg.OnConflictClause, s *sqlplan.Scope) error {
	if t.RowKey != "" {
		elems := oc.GetInfer().GetIndexElems()
		if len(elems) != 1 || strings.ToLower(elems[0].GetIndexElem().GetName()) != t.RowKey {
			for _, n := range oc.TargetList {
				if t.Columns[strings.ToLower(n.GetResTarget().GetName())] != nil {
					return a.refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "DO UPDATE of protected columns needs ON CONFLICT ("+t.RowKey+")")
				}
			}
		}
	}
	us := &sqlplan.Scope{Parent: s, Entries: []*sqlplan.Entry{e, {Name: t.Name, Ref: "excluded", Table: t}}}
	for _, n := range oc.TargetList {
		rt := n.GetResTarget()
		name := strings.ToLower(rt.GetName())
		col, err := t.Assignable(name, false)
		if err != nil {
			return err
		}
		if col == nil {
			if err := a.expr(rt.Val, us, "DO UPDATE"); err != nil {
				return err
			}
			continue
		}
		cr := rt.Val.GetColumnRef()
		if cr == nil || len(cr.Fields) != 2 || strings.ToLower(cr.Fields[0].GetString_().GetSval()) != "excluded" ||
			strings.ToLower(cr.Fields[1].GetString_().GetSval()) != name || len(rt.Indirection) > 0 {
			return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "DO UPDATE SET takes only excluded."+name)
		}
		_, end, ok := a.lastName(cr)
		if !ok {
			return a.refuse(sqlplan.ErrUnparsable, t.Name, name, "DO UPDATE position")
		}
		var b strings.Builder
		for _, ix := range col.Indexes {
			b.WriteString(", " + ix.Column + " = excluded." + ix.Column)
		}
		if b.Len() > 0 {
			a.InsertAt(end, sqlplan.Text(b.String()))
		}
	}
	return a.where(oc.WhereClause, us)
}

func (a *analyzer) updateStmt(up *pg.UpdateStmt, s *sqlplan.Scope) error {
	if err := a.with(up.WithClause, s); err != nil {
		return err
	}
	e := a.addRange(up.Relation, s)
	if err := a.from(up.FromClause, s); err != nil {
		return err
	}
	t := e.Table
	var rowKey *sqlplan.Value
	if t != nil && t.RowKey != "" {
		rowKey = a.rowKeyOf(up.WhereClause, s, e)
	}
	for _, n := range up.TargetList {
		rt := n.GetResTarget()
		name := strings.ToLower(rt.GetName())
		if t == nil {
			if err := a.expr(rt.Val, s, "SET"); err != nil {
				return err
			}
			continue
		}
		col, err := t.Assignable(name, false)
		if err != nil {
			return err
		}
		if rt.Val.GetMultiAssignRef() != nil && col != nil {
			return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "SET (…) = (…)")
		}
		if col == nil {
			if err := a.expr(rt.Val, s, "SET"); err != nil {
				return err
			}
			continue
		}
		v, ok := a.valueOf(rt.Val)
		if !ok || len(rt.Indirection) > 0 {
			return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "SET value is not a placeholder or a literal")
		}
		if t.RowKey != "" && rowKey == nil {
			return a.refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "UPDATE of a protected column needs WHERE "+t.RowKey+" = …")
		}
		var pieces []sqlplan.Piece
		for i, sl := range a.Assign(col, v, rowKey) {
			pieces = append(pieces, sqlplan.Text(", "+col.Indexes[i].Column+" = "), sqlplan.SlotPiece(sl))
		}
		if len(pieces) > 0 {
			a.InsertAt(v.End, pieces...)
		}
	}
	if err := a.where(up.WhereClause, s); err != nil {
		return err
	}
	return a.returning(up.ReturningList, s)
}

// rowKeyOf finds "row_key = value" among the top-level AND terms of where.
func (a *analyzer) rowKeyOf(where *pg.Node, s *sqlplan.Scope, e *sqlplan.Entry) *sqlplan.Value {
	if where == nil {
		return nil
	}
	if b := where.GetBoolExpr(); b != nil {
		if b.Boolop != pg.BoolExprType_AND_EXPR {
			return nil
		}
		for _, arg := range b.Args {
			if v := a.rowKeyOf(arg, s, e); v != nil {
				return v
			}
		}
		return nil
	}
	ex := where.GetAExpr()
	if ex == nil || ex.Kind != pg.A_Expr_Kind_AEXPR_OP || opName(ex.Name) != "=" {
		return nil
	}
	for _, side := range [][2]*pg.Node{{ex.Lexpr, ex.Rexpr}, {ex.Rexpr, ex.Lexpr}} {
		cr := side[0].GetColumnRef()
		if cr == nil {
			continue
		}
		c, err := a.resolve(cr, s)
		if err != nil || c.Entry == nil || c.Entry.Ref != e.Ref || !c.Key {
			continue
		}
		if v, ok := a.valueOf(side[1]); ok && !v.Value.Null {
			return &v.Value
		}
	}
	return nil
}

func (a *analyzer) deleteStmt(del *pg.DeleteStmt, s *sqlplan.Scope) error {
	if err := a.with(del.WithClause, s); err != nil {
		return err
	}
	a.addRange(del.Relation, s)
	if err := a.from(del.UsingClause, s); err != nil {
		return err
	}
	if err := a.where(del.WhereClause, s); err != nil {
		return err
	}
	return a.returning(del.ReturningList, s)
}
