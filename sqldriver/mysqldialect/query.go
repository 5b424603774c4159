package mysqldialect

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

func (a *analyzer) selectStmt(sel *ast.SelectStmt, s *sqlplan.Scope, mode int) error {
	if err := a.with(sel.With, s); err != nil {
		return err
	}
	if sel.Kind != ast.SelectStmtKindSelect {
		return a.expr(sel, s, "VALUES/TABLE")
	}
	if err := a.from(sel.From, s); err != nil {
		return err
	}
	if err := a.where(sel.Where, s); err != nil {
		return err
	}
	var fields []*ast.SelectField
	if sel.Fields != nil {
		fields = sel.Fields.Fields
	}
	items, names, err := a.targets(fields, s, mode)
	if err != nil {
		return err
	}
	if sel.Distinct {
		for _, it := range items {
			if it.Protected() {
				return refuse(sqlplan.ErrUnsupportedUse, it.Result.Table, it.Column, "DISTINCT")
			}
		}
	}
	if sel.GroupBy != nil {
		if err := a.byItems(sel.GroupBy.Items, s, items, names, "GROUP BY"); err != nil {
			return err
		}
	}
	if sel.OrderBy != nil {
		if err := a.byItems(sel.OrderBy.Items, s, items, names, "ORDER BY"); err != nil {
			return err
		}
	}
	if sel.Having != nil {
		if err := a.expr(sel.Having.Expr, s, "HAVING"); err != nil {
			return err
		}
	}
	if sel.Limit != nil {
		if err := a.expr(sel.Limit, s, "LIMIT"); err != nil {
			return err
		}
	}
	if sel.SelectIntoOpt != nil && a.Out.Protected {
		return refuse(sqlplan.ErrUnsupportedStatement, "", "", "SELECT … INTO from a protected table")
	}
	if mode != modeTop {
		return nil
	}
	return a.Out.Finish(items, func() (int, bool) { return a.fromStart(fields) })
}

func (a *analyzer) byItems(list []*ast.ByItem, s *sqlplan.Scope, items []sqlplan.Item, names map[string]*sqlplan.Item, what string) error {
	for _, b := range list {
		if cn, ok := b.Expr.(*ast.ColumnNameExpr); ok && cn.Name.Table.L == "" {
			if t := names[cn.Name.Name.L]; t != nil && t.Column != "" {
				return refuse(sqlplan.ErrUnsupportedUse, t.Result.Table, t.Column, what)
			}
		}
		if pos, ok := b.Expr.(*ast.PositionExpr); ok {
			if k := pos.N - 1; k >= 0 && k < len(items) && items[k].Protected() {
				return refuse(sqlplan.ErrUnsupportedUse, items[k].Result.Table, items[k].Column, what+" position")
			}
		}
		if err := a.expr(b.Expr, s, what); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) targets(fields []*ast.SelectField, s *sqlplan.Scope, mode int) ([]sqlplan.Item, map[string]*sqlplan.Item, error) {
	items := make([]sqlplan.Item, len(fields))
	names := map[string]*sqlplan.Item{}
	for i, f := range fields {
		items[i] = sqlplan.NewItem()
		t := &items[i]
		if f.AsName.L != "" {
			names[f.AsName.L] = t
		}
		if f.WildCard != nil {
			t.Star = true
			for _, e := range s.Entries {
				if e.Table != nil && (f.WildCard.Table.L == "" || f.WildCard.Table.L == e.Ref) {
					t.StarTables = append(t.StarTables, e.Table.Name)
				}
			}
			if len(t.StarTables) > 0 && mode == modeDerived {
				return nil, nil, refuse(sqlplan.ErrUnsupportedUse, t.StarTables[0], "", "* of a protected table in a derived table")
			}
			continue
		}
		cn, ok := f.Expr.(*ast.ColumnNameExpr)
		if !ok {
			if err := a.expr(f.Expr, s, "select expression"); err != nil {
				return nil, nil, err
			}
			continue
		}
		c, err := a.resolve(cn.Name, s)
		if err != nil {
			return nil, nil, err
		}
		if c.Entry == nil {
			continue
		}
		t.Entry, t.Ref, t.Table, t.Key = c.Entry, c.Entry.Ref, c.Entry.Table, c.Key
		if c.Index {
			t.Index = cn.Name.Name.L
			t.IndexOf, t.Result.Table = c.Entry.Table.IndexColumns[t.Index].Name, c.Entry.Table.Name
		}
		if c.Column == nil {
			continue
		}
		if mode != modeTop {
			return nil, nil, refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, "returned by a subquery")
		}
		t.Result.Table, t.Column = c.Column.Table, c.Column.Name
		if f.AsName.L == "" {
			names[c.Column.Name] = t
		}
	}
	return items, names, nil
}

// fromStart returns the start of the FROM keyword after the last field.
func (a *analyzer) fromStart(fields []*ast.SelectField) (int, bool) {
	if len(fields) == 0 {
		return 0, false
	}
	last := fields[len(fields)-1].Offset
	depth := 0
	for _, t := range a.toks {
		if t.start <= last {
			continue
		}
		switch {
		case t.kind == tkPunct && a.src[t.start] == '(':
			depth++
		case t.kind == tkPunct && a.src[t.start] == ')':
			depth--
		case t.kind == tkWord && depth == 0 && strings.EqualFold(a.src[t.start:t.end], "from"):
			return t.start, true
		}
	}
	return 0, false
}

func (a *analyzer) insertStmt(ins *ast.InsertStmt, s *sqlplan.Scope) error {
	var tn *ast.TableName
	if ins.Table != nil && ins.Table.TableRefs != nil {
		if ts, ok := ins.Table.TableRefs.Left.(*ast.TableSource); ok {
			tn, _ = ts.Source.(*ast.TableName)
		}
	}
	if tn == nil {
		return a.expr(ins, s, "INSERT")
	}
	e := a.addTable(tn, "", s)
	t := e.Table
	if t == nil {
		if ins.Select != nil {
			if err := a.subquery(ins.Select, s, modeDerived); err != nil {
				return err
			}
		}
		for _, row := range ins.Lists {
			for _, v := range row {
				if err := a.expr(v, s, "VALUES"); err != nil {
					return err
				}
			}
		}
		for _, as := range ins.OnDuplicate {
			if err := a.expr(as.Expr, s, "ON DUPLICATE KEY UPDATE"); err != nil {
				return err
			}
		}
		return nil
	}
	if ins.IsReplace {
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "REPLACE (use INSERT … ON DUPLICATE KEY UPDATE)")
	}
	if ins.Setlist || len(ins.PartitionNames) > 0 {
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … SET or PARTITION")
	}
	cols := make([]string, len(ins.Columns))
	anyProtected := false
	for i, c := range ins.Columns {
		cols[i] = c.Name.L
		col, err := t.Assignable(cols[i], true)
		if err != nil {
			return err
		}
		anyProtected = anyProtected || col != nil
	}
	switch {
	case len(cols) == 0 && (len(ins.Lists) > 0 && len(ins.Lists[0]) > 0 || ins.Select != nil):
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT without a column list")
	case ins.Select != nil:
		if anyProtected {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … SELECT into protected columns")
		}
		if err := a.subquery(ins.Select, s, modeDerived); err != nil {
			return err
		}
	default:
		if err := a.insertValues(t, cols, ins.Lists, s); err != nil {
			return err
		}
	}
	return a.onDuplicate(t, ins.OnDuplicate, s)
}

func (a *analyzer) insertValues(t *sqlplan.Table, cols []string, rows [][]ast.ExprNode, s *sqlplan.Scope) error {
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
	for _, items := range rows {
		if len(items) != len(cols) {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "VALUES row length differs from the column list")
		}
		var rowKey *sqlplan.Value
		var extra []sqlplan.Slot
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
					return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "INSERT without the row key column")
				}
				kv, ok := a.valueOf(items[keyPos])
				if !ok || kv.Value.Null {
					return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "row key must be a placeholder or a literal")
				}
				rowKey = &kv.Value
			}
			v, ok := a.valueOf(item)
			if !ok {
				return refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, "value is not a placeholder or a literal")
			}
			extra = append(extra, a.Assign(col, v, rowKey)...)
		}
		if len(extra) == 0 {
			continue
		}
		pos := a.closeParen(start(items[0]))
		if pos < 0 {
			return refuse(sqlplan.ErrUnparsable, t.Name, "", "end of a VALUES row")
		}
		var pieces []sqlplan.Piece
		for _, sl := range extra {
			pieces = append(pieces, sqlplan.Text(", "), sqlplan.SlotPiece(sl))
		}
		a.InsertAt(pos, pieces...)
	}
	if len(indexCols) == 0 {
		return nil
	}
	// The column list is the first parenthesized list of the statement.
	for i, tk := range a.toks {
		if a.isPunct(i, '(') {
			pos := a.closeParen(tk.end)
			if pos < 0 {
				break
			}
			a.InsertAt(pos, sqlplan.Text(", "+strings.Join(indexCols, ", ")))
			return nil
		}
	}
	return refuse(sqlplan.ErrUnparsable, t.Name, "", "column list")
}

// onDuplicate analyzes ON DUPLICATE KEY UPDATE: a protected column may only
// take VALUES(same column), on a table without a row key (MySQL does not say
// which unique key matched, so the row key of the stored row is unknown).
func (a *analyzer) onDuplicate(t *sqlplan.Table, list []*ast.Assignment, s *sqlplan.Scope) error {
	for _, as := range list {
		name := as.Column.Name.L
		col, err := t.Assignable(name, false)
		if err != nil {
			return err
		}
		if col == nil {
			if err := a.expr(as.Expr, s, "ON DUPLICATE KEY UPDATE"); err != nil {
				return err
			}
			continue
		}
		if t.RowKey != "" {
			return refuse(sqlplan.ErrRowKeyRequired, t.Name, name, "ON DUPLICATE KEY UPDATE of a protected column on a table with a row key")
		}
		ve, ok := as.Expr.(*ast.ValuesExpr)
		if !ok || ve.Column == nil || ve.Column.Name.Name.L != name {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "ON DUPLICATE KEY UPDATE takes only VALUES("+name+")")
		}
		i := a.tokenAt(ve.OriginTextPosition())
		if i < 0 || !a.isPunct(i+1, '(') {
			return refuse(sqlplan.ErrUnparsable, t.Name, name, "VALUES() position")
		}
		end := a.closeParen(a.toks[i+1].end)
		if end < 0 {
			return refuse(sqlplan.ErrUnparsable, t.Name, name, "VALUES() position")
		}
		var b strings.Builder
		for _, ix := range col.Indexes {
			b.WriteString(", " + ix.Column + " = VALUES(" + ix.Column + ")")
		}
		if b.Len() > 0 {
			a.InsertAt(end+1, sqlplan.Text(b.String()))
		}
	}
	return nil
}

func (a *analyzer) updateStmt(up *ast.UpdateStmt, s *sqlplan.Scope) error {
	if err := a.with(up.With, s); err != nil {
		return err
	}
	if err := a.from(up.TableRefs, s); err != nil {
		return err
	}
	var e *sqlplan.Entry
	for _, x := range s.Entries {
		if x.Table != nil {
			if e != nil || up.MultipleTable || len(s.Entries) > 1 {
				return refuse(sqlplan.ErrUnsupportedStatement, x.Table.Name, "", "multiple-table UPDATE")
			}
			e = x
		}
	}
	var rowKey *sqlplan.Value
	if e != nil && e.Table.RowKey != "" {
		rowKey = a.rowKeyOf(up.Where, s, e)
	}
	for _, as := range up.List {
		name := as.Column.Name.L
		if e == nil {
			if err := a.expr(as.Expr, s, "SET"); err != nil {
				return err
			}
			continue
		}
		t := e.Table
		col, err := t.Assignable(name, false)
		if err != nil {
			return err
		}
		if col == nil {
			if err := a.expr(as.Expr, s, "SET"); err != nil {
				return err
			}
			continue
		}
		v, ok := a.valueOf(as.Expr)
		if !ok {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "SET value is not a placeholder or a literal")
		}
		if t.RowKey != "" && rowKey == nil {
			return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "UPDATE of a protected column needs WHERE "+t.RowKey+" = …")
		}
		var pieces []sqlplan.Piece
		for i, sl := range a.Assign(col, v, rowKey) {
			pieces = append(pieces, sqlplan.Text(", "+col.Indexes[i].Column+" = "), sqlplan.SlotPiece(sl))
		}
		if len(pieces) > 0 {
			a.InsertAt(v.End, pieces...)
		}
	}
	if err := a.where(up.Where, s); err != nil {
		return err
	}
	if up.Order != nil {
		if err := a.byItems(up.Order.Items, s, nil, nil, "ORDER BY"); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) rowKeyOf(where ast.ExprNode, s *sqlplan.Scope, e *sqlplan.Entry) *sqlplan.Value {
	switch x := where.(type) {
	case *ast.ParenthesesExpr:
		return a.rowKeyOf(x.Expr, s, e)
	case *ast.BinaryOperationExpr:
		if x.Op.String() == "and" {
			if v := a.rowKeyOf(x.L, s, e); v != nil {
				return v
			}
			return a.rowKeyOf(x.R, s, e)
		}
		if x.Op.String() != "eq" {
			return nil
		}
		for _, side := range [][2]ast.ExprNode{{x.L, x.R}, {x.R, x.L}} {
			cn, ok := side[0].(*ast.ColumnNameExpr)
			if !ok {
				continue
			}
			c, err := a.resolve(cn.Name, s)
			if err != nil || c.Entry == nil || c.Entry.Ref != e.Ref || !c.Key {
				continue
			}
			if v, ok := a.valueOf(side[1]); ok && !v.Value.Null {
				return &v.Value
			}
		}
	}
	return nil
}

func (a *analyzer) deleteStmt(del *ast.DeleteStmt, s *sqlplan.Scope) error {
	if err := a.with(del.With, s); err != nil {
		return err
	}
	if err := a.from(del.TableRefs, s); err != nil {
		return err
	}
	if err := a.where(del.Where, s); err != nil {
		return err
	}
	if del.Order != nil {
		return a.byItems(del.Order.Items, s, nil, nil, "ORDER BY")
	}
	return nil
}
