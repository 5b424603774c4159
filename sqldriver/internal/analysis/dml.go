package analysis

import (
	"sort"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// assignable checks a write to column name of t (INSERT column list, SET,
// DO UPDATE): blind-index columns are the driver's to write, and the row
// key of a table with protected columns cannot change. It returns the
// protected column, or nil for an ordinary one.
func assignable(t *sqlplan.Table, name string, insert bool) (*sqlplan.Column, error) {
	if _, ok := t.IndexColumns[name]; ok {
		return nil, refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "the driver writes blind-index columns")
	}
	if !insert && name == t.RowKey {
		return nil, refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "the row key cannot change")
	}
	return t.Columns[name], nil
}

// seal turns the value at sp into a sealing placeholder for col (bound
// with rowKey) and returns the slots of col's blind indexes, to be written
// beside it.
func (a *analyzer) seal(col *sqlplan.Column, sp spot, rowKey *sqlplan.Value) []sqlplan.Slot {
	a.w.replace(sp.span, sqlplan.Slot{Value: sp.value, Op: sqlplan.OpSeal, Table: col.Table, Column: col.Name, RowKey: rowKey}, sp.param)
	idx := make([]sqlplan.Slot, len(col.Indexes))
	for i, ix := range col.Indexes {
		idx[i] = sqlplan.Slot{Value: sp.value, Op: sqlplan.OpIndex, Table: col.Table, Column: col.Name, Transform: ix.Transform}
	}
	a.use(col.Table, col.Name, sqlplan.UseWrite)
	return idx
}

func (a *analyzer) insert(ins *sqlir.Insert, s *scope) error {
	if err := a.with(ins.With, s); err != nil {
		return err
	}
	e := a.addTable(s, ins.Table, ins.Alias)
	if err := a.checkAlias(ins.Alias, e); err != nil {
		return err
	}
	t := e.table
	if t == nil {
		// Values of protected columns may not flow into another table.
		if ins.Query != nil {
			if _, err := a.query(ins.Query, s, modeDerived); err != nil {
				return err
			}
		}
		for _, row := range ins.Rows {
			if err := a.exprs(s, "VALUES", row.Values...); err != nil {
				return err
			}
		}
		for _, as := range append(append(ins.Set, ins.OnDuplicate...), onConflictSet(ins.OnConflict)...) {
			if err := a.expr(as.Value, s, "SET"); err != nil {
				return err
			}
		}
		if oc := ins.OnConflict; oc != nil {
			if err := a.exprs(s, "ON CONFLICT", oc.TargetWhere, oc.Where); err != nil {
				return err
			}
		}
		return a.returning(ins.Returning, ins.ReturningEnd, s)
	}
	switch {
	case ins.Replace:
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "REPLACE (use INSERT … ON CONFLICT or ON DUPLICATE KEY UPDATE)")
	case ins.Set != nil:
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … SET (use a column list and VALUES)")
	case ins.DefaultValues:
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … DEFAULT VALUES on a protected table")
	}
	cols := make([]string, len(ins.Columns))
	anyProtected := false
	for i, c := range ins.Columns {
		cols[i] = c.Name
		col, err := assignable(t, c.Name, true)
		if err != nil {
			return err
		}
		anyProtected = anyProtected || col != nil
	}
	switch {
	case len(cols) == 0:
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT without a column list")
	case ins.Query != nil:
		if anyProtected {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "INSERT … SELECT into protected columns")
		}
		if _, err := a.query(ins.Query, s, modeDerived); err != nil {
			return err
		}
	default:
		if err := a.insertRows(t, ins, cols, s); err != nil {
			return err
		}
	}
	a.target = t
	defer func() { a.target = nil }()
	if err := a.onConflict(t, e, ins.OnConflict, s); err != nil {
		return err
	}
	if err := a.onDuplicate(t, ins.OnDuplicate, s); err != nil {
		return err
	}
	return a.returning(ins.Returning, ins.ReturningEnd, s)
}

func onConflictSet(oc *sqlir.OnConflict) []*sqlir.Assign {
	if oc == nil {
		return nil
	}
	return oc.Set
}

// insertRows seals each VALUES item bound for a protected column and adds
// the blind-index columns and their values.
func (a *analyzer) insertRows(t *sqlplan.Table, ins *sqlir.Insert, cols []string, s *scope) error {
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
	for _, row := range ins.Rows {
		if len(row.Values) != len(cols) {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "VALUES row length differs from the column list")
		}
		var rowKey *sqlplan.Value
		var extra []sqlplan.Slot
		for i, v := range row.Values {
			col := t.Columns[cols[i]]
			if col == nil {
				if err := a.expr(v, s, "VALUES"); err != nil {
					return err
				}
				continue
			}
			if t.RowKey != "" && rowKey == nil {
				if keyPos < 0 {
					return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "INSERT without the row key column")
				}
				kv, ok := valueOf(row.Values[keyPos])
				if !ok || kv.value.Null {
					return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "row key must be a placeholder or a literal")
				}
				rowKey = &kv.value
			}
			sp, ok := valueOf(v)
			if !ok {
				return refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, "value is not a placeholder or a literal")
			}
			extra = append(extra, a.seal(col, sp, rowKey)...)
		}
		if len(extra) == 0 {
			continue
		}
		if row.Close <= 0 {
			return refuse(sqlplan.ErrUnparsable, t.Name, "", "end of a VALUES row")
		}
		var pieces []piece
		for _, sl := range extra {
			pieces = append(pieces, text(", "), slotPiece(sl))
		}
		a.w.insert(row.Close, pieces...)
	}
	if len(indexCols) == 0 {
		return nil
	}
	if ins.ColumnsClose <= 0 {
		return refuse(sqlplan.ErrUnparsable, t.Name, "", "column list")
	}
	a.w.insert(ins.ColumnsClose, text(", "+strings.Join(indexCols, ", ")))
	return nil
}

// insertedOf reports whether v is the upsert's inserted value of column
// name: excluded.name (a reference to the excluded entry) or VALUES(name).
func insertedOf(v sqlir.Expr, name string, s *scope) (bool, error) {
	switch x := v.(type) {
	case *sqlir.Inserted:
		return x.Column == name, nil
	case *sqlir.ColumnRef:
		if len(x.Qual) == 0 || x.Star {
			return false, nil
		}
		r, err := s.resolve(x)
		return err == nil && r.entry != nil && r.entry.excluded && x.Name == name, err
	}
	return false, nil
}

// onConflict analyzes ON CONFLICT … DO UPDATE SET (PostgreSQL, SQLite): a
// protected column may only take excluded.<same column>, and its blind
// indexes follow. With a row key, the conflict target must be the row
// key, and a text row key is pinned to the exact inserted key, so that
// a collation that equates other spellings cannot pick another row.
func (a *analyzer) onConflict(t *sqlplan.Table, e *entry, oc *sqlir.OnConflict, s *scope) error {
	if oc == nil {
		return nil
	}
	for _, c := range oc.Targets {
		if t.Columns[c] != nil {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, c, "a protected column as conflict target")
		}
		// A blind index as conflict target answers "is this value there?":
		// the caller needs the right to search its column.
		if col := t.IndexColumns[c]; col != nil {
			a.use(t.Name, col.Name, sqlplan.UseIndex)
		}
	}
	if err := a.pred(oc.TargetWhere, s, "ON CONFLICT"); err != nil {
		return err
	}
	if !oc.Update {
		return nil
	}
	us := &scope{parent: s, entries: []*entry{e, {name: t.Name, ref: "excluded", table: t, excluded: true}}}
	protected := false
	for _, as := range oc.Set {
		p, err := a.upsertAssign(t, as, us, "DO UPDATE", func(col string) string { return "DO UPDATE SET takes only excluded." + col })
		if err != nil {
			return err
		}
		protected = protected || p
	}
	if protected && t.RowKey != "" {
		if oc.Constraint || len(oc.Targets) != 1 || oc.Targets[0] != t.RowKey {
			return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "DO UPDATE of protected columns needs ON CONFLICT ("+t.RowKey+")")
		}
	}
	if err := a.pred(oc.Where, us, "DO UPDATE WHERE"); err != nil {
		return err
	}
	if protected && t.RowKey != "" && t.RowKeyText {
		pin := e.ref + "." + t.RowKey + " = " + a.opt.Inserted(t.RowKey) + a.opt.ExactText[0] + a.opt.ExactText[1]
		if oc.Where != nil {
			a.w.insert(oc.WhereStart, text(" ("))
			a.w.insert(oc.WhereEnd, text(") AND "+pin))
		} else {
			if oc.End <= 0 {
				return refuse(sqlplan.ErrUnparsable, t.Name, "", "end of DO UPDATE")
			}
			a.w.insert(oc.End, text(" WHERE "+pin))
		}
	}
	return nil
}

// onDuplicate analyzes ON DUPLICATE KEY UPDATE (MySQL): a protected
// column may only take VALUES(same column), on a table without a row key
// (MySQL does not say which unique key matched, so the stored row's key is
// unknown).
func (a *analyzer) onDuplicate(t *sqlplan.Table, list []*sqlir.Assign, s *scope) error {
	for _, as := range list {
		if col, err := assignable(t, as.Column, false); err == nil && col != nil && t.RowKey != "" {
			return refuse(sqlplan.ErrRowKeyRequired, t.Name, col.Name, "ON DUPLICATE KEY UPDATE of a protected column on a table with a row key")
		}
		if _, err := a.upsertAssign(t, as, s, "ON DUPLICATE KEY UPDATE", func(col string) string { return "ON DUPLICATE KEY UPDATE takes only VALUES(" + col + ")" }); err != nil {
			return err
		}
	}
	return nil
}

// upsertAssign analyzes one assignment of an upsert's update clause: an
// ordinary column takes what the rules allow anywhere; a protected one
// only the value the statement would have inserted into it (its sealed
// value), and its blind-index columns follow it the same way. It reports
// whether the column is protected; only names the refusal's detail.
func (a *analyzer) upsertAssign(t *sqlplan.Table, as *sqlir.Assign, s *scope, clause string, only func(col string) string) (bool, error) {
	col, err := assignable(t, as.Column, false)
	if err != nil {
		return false, err
	}
	if col == nil {
		return false, a.expr(as.Value, s, clause)
	}
	ok, err := insertedOf(as.Value, col.Name, s)
	if err != nil {
		return true, err
	}
	if !ok || as.Multi || as.Indirect {
		return true, refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, only(col.Name))
	}
	var b strings.Builder
	for _, ix := range col.Indexes {
		b.WriteString(", " + ix.Column + " = " + a.opt.Inserted(ix.Column))
	}
	if b.Len() > 0 {
		a.w.insert(as.ValueEnd, text(b.String()))
	}
	a.use(col.Table, col.Name, sqlplan.UseWrite)
	return true, nil
}

func (a *analyzer) update(up *sqlir.Update, s *scope) error {
	if err := a.with(up.With, s); err != nil {
		return err
	}
	if len(up.Targets) > 0 {
		// MySQL multi-table UPDATE: refused when any table in it is
		// protected (which rows' keys bind which values cannot be told).
		for _, f := range append(append([]*sqlir.From{}, up.Targets...), up.From...) {
			var prot string
			walkFrom(f, func(tn *sqlir.TableName) {
				if t := a.cat.Table(tn.Name); t != nil && prot == "" {
					prot = t.Name
				}
			}, nil)
			if prot != "" {
				return refuse(sqlplan.ErrUnsupportedStatement, prot, "", "multi-table UPDATE of a protected table")
			}
		}
	}
	e := a.addTable(s, up.Table, up.Alias)
	if err := a.checkAlias(up.Alias, e); err != nil {
		return err
	}
	for _, f := range up.From {
		if err := a.from(f, s); err != nil {
			return err
		}
	}
	t := e.table
	var rowKey *sqlplan.Value
	if t != nil && t.RowKey != "" {
		rowKey = a.rowKeyOf(up.Where, s, e)
	}
	sealed := false
	for _, as := range up.Set {
		if t == nil || (as.Qual != "" && as.Qual != e.ref) {
			if err := a.expr(as.Value, s, "SET"); err != nil {
				return err
			}
			continue
		}
		col, err := assignable(t, as.Column, false)
		if err != nil {
			return err
		}
		if col == nil {
			if err := a.expr(as.Value, s, "SET"); err != nil {
				return err
			}
			continue
		}
		if as.Multi || as.Indirect {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, "SET (…) = (…) or a subscript")
		}
		sp, ok := valueOf(as.Value)
		if !ok {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, col.Name, "SET value is not a placeholder or a literal")
		}
		if t.RowKey != "" && rowKey == nil {
			return refuse(sqlplan.ErrRowKeyRequired, t.Name, t.RowKey, "UPDATE of a protected column needs WHERE "+t.RowKey+" = …")
		}
		var pieces []piece
		for i, sl := range a.seal(col, sp, rowKey) {
			pieces = append(pieces, text(", "+col.Indexes[i].Column+" = "), slotPiece(sl))
		}
		if len(pieces) > 0 {
			a.w.insert(sp.span.End, pieces...)
		}
		sealed = true
	}
	if err := a.pred(up.Where, s, "WHERE"); err != nil {
		return err
	}
	if sealed && rowKey != nil {
		// Pin the rows updated to the exact row key the values are sealed
		// under: the database's own comparison may also match other
		// spellings (a collation, a numeric conversion, padding).
		if up.WhereEnd <= up.WhereStart {
			return refuse(sqlplan.ErrUnparsable, t.Name, "", "WHERE position")
		}
		pre, post := "", ""
		if t.RowKeyText {
			pre, post = a.opt.ExactText[0], a.opt.ExactText[1]
		}
		a.w.insert(up.WhereStart, text(" ("))
		a.w.insert(up.WhereEnd, text(") AND "+e.ref+"."+t.RowKey+" = "+pre), slotPiece(sqlplan.Slot{Value: *rowKey, Op: sqlplan.OpRowKey, Table: t.Name}), text(post))
	}
	a.plan.Where = a.restrictsAll(up.Where, s, []*entry{e})
	a.plan.Limit, a.plan.LimitArg = bounded(up.Limit)
	if err := a.exprs(s, "ORDER BY or LIMIT", append(up.OrderBy, up.Limit)...); err != nil {
		return err
	}
	return a.returning(up.Returning, up.ReturningEnd, s)
}

// rowKeyOf finds "row_key = value" among the top-level AND terms of where.
func (a *analyzer) rowKeyOf(where sqlir.Expr, s *scope, e *entry) *sqlplan.Value {
	switch x := where.(type) {
	case *sqlir.Bool:
		if x.Op != sqlir.And {
			return nil
		}
		for _, arg := range x.Args {
			if v := a.rowKeyOf(arg, s, e); v != nil {
				return v
			}
		}
	case *sqlir.Compare:
		if x.Op != "=" {
			return nil
		}
		for _, side := range [][2]sqlir.Expr{{x.L, x.R}, {x.R, x.L}} {
			cr, ok := side[0].(*sqlir.ColumnRef)
			if !ok || cr.Star {
				continue
			}
			r, err := s.resolve(cr)
			if err != nil || r.entry != e || !r.key {
				continue
			}
			if sp, ok := valueOf(side[1]); ok && !sp.value.Null {
				return &sp.value
			}
		}
	}
	return nil
}

func (a *analyzer) delete(del *sqlir.Delete, s *scope) error {
	if err := a.with(del.With, s); err != nil {
		return err
	}
	var targets []*entry // the entries rows are deleted from
	if del.Table != nil {
		e := a.addTable(s, del.Table, del.Alias)
		if err := a.checkAlias(del.Alias, e); err != nil {
			return err
		}
		targets = append(targets, e)
	}
	for _, f := range del.Using {
		if err := a.from(f, s); err != nil {
			return err
		}
	}
	for _, tn := range del.Tables { // MySQL multi-table DELETE
		for _, e := range s.entries {
			if e.ref == tn.Name {
				targets = append(targets, e)
			}
		}
	}
	if len(del.Tables) > 0 && len(targets) == 0 {
		targets = protectedEntries(s, nil)
	}
	if err := a.pred(del.Where, s, "WHERE"); err != nil {
		return err
	}
	var prot []*entry
	for _, e := range targets {
		if e.table != nil {
			prot = append(prot, e)
		}
	}
	a.plan.Where = a.restrictsAll(del.Where, s, prot)
	a.plan.Limit, a.plan.LimitArg = bounded(del.Limit)
	if err := a.exprs(s, "ORDER BY or LIMIT", append(del.OrderBy, del.Limit)...); err != nil {
		return err
	}
	return a.returning(del.Returning, del.ReturningEnd, s)
}

// returning analyzes a RETURNING list over the statement's scope.
func (a *analyzer) returning(list []*sqlir.Item, end int, s *scope) error {
	if len(list) == 0 {
		return nil
	}
	items, err := a.items(list, s, modeTop)
	if err != nil {
		return err
	}
	return a.finish(items, end, "RETURNING list")
}

// sortedColumns returns t's protected columns by name.
func sortedColumns(t *sqlplan.Table) []*sqlplan.Column {
	out := make([]*sqlplan.Column, 0, len(t.Columns))
	for _, c := range t.Columns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
