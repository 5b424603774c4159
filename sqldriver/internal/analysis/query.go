package analysis

import (
	"strconv"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// mode is where a query's rows go.
type mode int

const (
	modeTop     mode = iota // the statement's result: protected values are opened per role
	modeDerived             // another query reads its rows (derived table, CTE, UNION arm, INSERT … SELECT): no protected value may come out
	modeSublink             // a scalar, IN or quantified subquery: no protected value may come out
	modeExists              // an EXISTS subquery: its items are never read
)

// query analyzes q (its scope's parent is parent) and returns its items.
func (a *analyzer) query(q *sqlir.Query, parent *scope, m mode) ([]item, error) {
	s := &scope{parent: parent}
	if err := a.with(q.With, s); err != nil {
		return nil, err
	}
	if q.SetOp != "" {
		arm := modeDerived
		if m == modeSublink || m == modeExists {
			arm = m
		}
		for _, side := range []*sqlir.Query{q.Left, q.Right} {
			if _, err := a.query(side, s, arm); err != nil {
				return nil, err
			}
		}
		return nil, a.exprs(s, "ORDER BY or LIMIT of a set operation", append(q.OrderBy, q.Limit, q.Offset)...)
	}
	if q.Table != nil {
		if t := a.cat.Table(q.Table.Name); t != nil {
			return nil, refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "TABLE of a protected table: name the columns")
		}
		return nil, nil
	}
	for _, row := range q.Values {
		if err := a.exprs(s, "VALUES", row...); err != nil {
			return nil, err
		}
	}
	for _, f := range q.From {
		if err := a.from(f, s); err != nil {
			return nil, err
		}
	}
	if err := a.pred(q.Where, s, "WHERE"); err != nil {
		return nil, err
	}
	if m == modeTop {
		a.outer = s
	}
	items, err := a.items(q.Items, s, m)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		list []sqlir.Expr
		what string
	}{{q.GroupBy, "GROUP BY"}, {q.OrderBy, "ORDER BY"}, {q.DistinctOn, "DISTINCT ON"}, {q.Windows, "WINDOW"}} {
		if err := a.byList(c.list, s, items, c.what); err != nil {
			return nil, err
		}
	}
	if q.Distinct {
		for _, it := range items {
			if it.protected() {
				return nil, refuse(sqlplan.ErrUnsupportedUse, it.Table, it.Column, "DISTINCT")
			}
		}
	}
	if err := a.exprs(s, "HAVING", q.Having); err != nil {
		return nil, err
	}
	if err := a.exprs(s, "LIMIT", q.Limit, q.Offset); err != nil {
		return nil, err
	}
	if q.Into {
		return nil, refuse(sqlplan.ErrUnsupportedStatement, "", "", "SELECT … INTO from a protected table")
	}
	return items, nil
}

// with analyzes a WITH clause into s. A CTE may not take the name of a
// protected table: a DML target or a FROM item of that name would then be
// read two ways.
func (a *analyzer) with(w *sqlir.With, s *scope) error {
	if w == nil {
		return nil
	}
	for _, c := range w.CTEs {
		if t := a.cat.Table(c.Name); t != nil {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "a CTE named like a protected table")
		}
		if s.ctes == nil {
			s.ctes = map[string]bool{}
		}
		if w.Recursive {
			s.ctes[c.Name] = true
		}
		if c.Stmt != nil {
			// Data-modifying CTEs on protected tables are refused; on other
			// tables their values may not come from protected columns.
			var prot string
			walkTables(c.Stmt, func(tn *sqlir.TableName) {
				if t := a.cat.Table(tn.Name); t != nil && prot == "" {
					prot = t.Name
				}
			})
			if prot != "" {
				return refuse(sqlplan.ErrUnsupportedStatement, prot, "", "data-modifying WITH")
			}
		} else if _, err := a.query(c.Query, s, modeDerived); err != nil {
			return err
		}
		s.ctes[c.Name] = true
	}
	return nil
}

// from adds a FROM item to s.
func (a *analyzer) from(f *sqlir.From, s *scope) error {
	switch f.Kind {
	case sqlir.FromTable:
		e := a.addTable(s, f.Table, f.Alias)
		if e.table != nil && f.ColumnAliases {
			return refuse(sqlplan.ErrUnsupportedUse, e.table.Name, "", "column aliases of a protected table")
		}
		return a.checkAlias(f.Alias, e)
	case sqlir.FromQuery:
		if _, err := a.query(f.Query, s, modeDerived); err != nil {
			return err
		}
		e := &entry{name: f.Alias, ref: f.Alias}
		s.entries = append(s.entries, e)
		return a.checkAlias(f.Alias, e)
	case sqlir.FromFunc:
		if err := a.expr(f.Func, s, "function in FROM"); err != nil {
			return err
		}
		e := &entry{name: f.Alias, ref: f.Alias}
		s.entries = append(s.entries, e)
		return a.checkAlias(f.Alias, e)
	case sqlir.FromJoin:
		if err := a.from(f.Left, s); err != nil {
			return err
		}
		if err := a.from(f.Right, s); err != nil {
			return err
		}
		for _, e := range s.entries {
			if e.table == nil {
				continue
			}
			if f.Natural {
				return refuse(sqlplan.ErrUnsupportedUse, e.table.Name, "", "NATURAL JOIN")
			}
			for _, u := range f.Using {
				if e.table.Columns[u] != nil || e.table.IndexColumns[u] != nil {
					return refuse(sqlplan.ErrUnsupportedUse, e.table.Name, u, "JOIN USING")
				}
			}
		}
		return a.pred(f.On, s, "JOIN ON")
	}
	return refuse(sqlplan.ErrUnsupportedUse, "", "", "FROM item")
}

// checkAlias refuses an alias that takes the name of a protected table it
// does not stand for.
func (a *analyzer) checkAlias(alias string, e *entry) error {
	if alias == "" {
		return nil
	}
	if t := a.cat.Table(alias); t != nil && e.table != t {
		return refuse(sqlplan.ErrUnsupportedUse, t.Name, "", "an alias named like a protected table")
	}
	return nil
}

// addTable adds table tn (with alias) to s.
func (a *analyzer) addTable(s *scope, tn *sqlir.TableName, alias string) *entry {
	e := &entry{name: tn.Name, ref: tn.Name}
	if alias != "" {
		e.ref = alias
	}
	if tn.Schema != "" || !s.isCTE(tn.Name) {
		e.table = a.cat.Table(tn.Name)
	}
	s.entries = append(s.entries, e)
	return e
}

// items analyzes select (or RETURNING) items.
func (a *analyzer) items(list []*sqlir.Item, s *scope, m mode) ([]item, error) {
	out := make([]item, len(list))
	for i, it := range list {
		out[i] = newItem()
		o := &out[i]
		o.name = it.Alias
		cr, ok := it.Expr.(*sqlir.ColumnRef)
		if !ok {
			if err := a.expr(it.Expr, s, "select expression"); err != nil {
				return nil, err
			}
			continue
		}
		if cr.Star {
			var qual string
			if len(cr.Qual) > 0 {
				qual = cr.Qual[len(cr.Qual)-1]
			}
			tables, known := s.starTables(qual)
			if !known {
				return nil, refuse(sqlplan.ErrUnsupportedUse, "", "", "* of a name the statement does not define (byte "+strconv.Itoa(cr.Start)+")")
			}
			o.Star, o.StarTables = true, tables
			if len(o.StarTables) > 0 {
				switch m {
				case modeTop:
					for _, t := range o.StarTables {
						a.starUses(a.cat.Table(t))
					}
				case modeExists:
				default:
					return nil, refuse(sqlplan.ErrUnsupportedUse, o.StarTables[0], "", "* of a protected table in a subquery or derived table")
				}
			}
			continue
		}
		r, err := s.resolve(cr)
		if err != nil {
			return nil, err
		}
		if r.wholeRow {
			return nil, refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, "", "whole-row reference")
		}
		if r.entry == nil || r.entry.table == nil {
			continue
		}
		if r.entry.excluded {
			return nil, refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, cr.Name, "excluded row in a result")
		}
		o.entry, o.key = r.entry, r.key
		if o.name == "" {
			o.name = cr.Name
		}
		if r.index != nil {
			a.use(r.entry.table.Name, r.index.Name, sqlplan.UseIndex)
			o.index, o.IndexOf, o.Result.Table = cr.Name, r.index.Name, r.entry.table.Name
		}
		if r.col == nil {
			continue
		}
		if m != modeTop && m != modeExists {
			return nil, refuse(sqlplan.ErrUnsupportedUse, r.col.Table, r.col.Name, "returned by a subquery, derived table or set operation")
		}
		if m == modeTop {
			a.use(r.col.Table, r.col.Name, sqlplan.UseRead)
			o.Result.Table, o.Column = r.col.Table, r.col.Name
		}
	}
	return out, nil
}

// starUses records what a top-level * of t reads: every protected column,
// and (shown to callers allowed hash or more) every index column.
func (a *analyzer) starUses(t *sqlplan.Table) {
	for _, c := range sortedColumns(t) {
		a.use(t.Name, c.Name, sqlplan.UseRead)
	}
}

// byList analyzes GROUP BY, ORDER BY, DISTINCT ON and WINDOW terms,
// refusing protected columns also when named by their output name or
// position.
func (a *analyzer) byList(list []sqlir.Expr, s *scope, items []item, what string) error {
	for _, e := range list {
		switch x := e.(type) {
		case *sqlir.ColumnRef:
			if len(x.Qual) == 0 && !x.Star {
				for _, it := range items {
					if it.name == x.Name && it.Column != "" {
						return refuse(sqlplan.ErrUnsupportedUse, it.Result.Table, it.Column, what)
					}
					if it.name == x.Name && it.IndexOf != "" {
						a.use(it.Result.Table, it.IndexOf, sqlplan.UseIndex)
					}
				}
			}
		case *sqlir.Literal:
			if x.Kind == sqlir.LitNumber {
				if k, err := strconv.Atoi(x.Value); err == nil && k >= 1 && k <= len(items) {
					it := items[k-1]
					if it.protected() {
						return refuse(sqlplan.ErrUnsupportedUse, it.Result.Table, it.Column, what+" position")
					}
					if it.IndexOf != "" {
						a.use(it.Result.Table, it.IndexOf, sqlplan.UseIndex)
					}
				}
			}
		}
		if err := a.expr(e, s, what); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) exprs(s *scope, what string, list ...sqlir.Expr) error {
	for _, e := range list {
		if err := a.expr(e, s, what); err != nil {
			return err
		}
	}
	return nil
}

// expr analyzes an expression in which protected columns may not appear
// (what names the context for the error); references to blind-index
// columns are recorded as uses. Subqueries inside may search protected
// columns in their own conditions.
func (a *analyzer) expr(e sqlir.Expr, s *scope, what string) error {
	switch x := e.(type) {
	case nil:
		return nil
	case *sqlir.ColumnRef:
		r, err := s.resolve(x)
		if err != nil {
			return err
		}
		switch {
		case r.star:
			return refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, "", "* of a protected table inside an expression")
		case r.wholeRow:
			return refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, "", "whole-row reference")
		case r.col != nil:
			return refuse(sqlplan.ErrUnsupportedUse, r.col.Table, r.col.Name, what)
		case r.index != nil:
			a.use(r.entry.table.Name, r.index.Name, sqlplan.UseIndex)
		}
		return nil
	case *sqlir.Param, *sqlir.Literal, *sqlir.Default, *sqlir.Var:
		return nil
	case *sqlir.Compare:
		return a.exprs(s, what, x.L, x.R)
	case *sqlir.In:
		if err := a.expr(x.Expr, s, what); err != nil {
			return err
		}
		if x.Query != nil {
			if _, err := a.query(x.Query, s, modeSublink); err != nil {
				return err
			}
		}
		return a.exprs(s, what, x.List...)
	case *sqlir.Like:
		return a.exprs(s, what, x.Expr, x.Pattern)
	case *sqlir.IsNull:
		return a.expr(x.Expr, s, what)
	case *sqlir.Bool:
		return a.exprs(s, what, x.Args...)
	case *sqlir.Func:
		return a.exprs(s, "function", x.Args...)
	case *sqlir.Subquery:
		m := modeSublink
		if x.Kind == sqlir.SubExists {
			m = modeExists
		}
		if err := a.expr(x.Left, s, what); err != nil {
			return err
		}
		_, err := a.query(x.Query, s, m)
		return err
	case *sqlir.Op:
		return a.exprs(s, x.What, x.Args...)
	case *sqlir.Field:
		if cr, ok := x.Base.(*sqlir.ColumnRef); ok {
			r, err := s.resolve(cr)
			if err != nil {
				return err
			}
			if r.wholeRow || r.star {
				return refuse(sqlplan.ErrUnsupportedUse, r.entry.table.Name, "", "field of a protected table's row")
			}
		}
		if err := a.expr(x.Base, s, "field or subscript"); err != nil {
			return err
		}
		return a.exprs(s, what, x.Args...)
	case *sqlir.Inserted:
		if t := a.target; t != nil && (t.Columns[x.Column] != nil || t.IndexColumns[x.Column] != nil) {
			return refuse(sqlplan.ErrUnsupportedUse, t.Name, x.Column, "the inserted value of a protected column in an expression")
		}
		return nil
	case *sqlir.Bad:
		return refuse(sqlplan.ErrUnsupportedUse, "", "", x.What+" is not supported on a protected table")
	}
	return refuse(sqlplan.ErrUnsupportedUse, "", "", "expression")
}

// protCol returns the protected column e names when e is a bare column
// reference to one.
func (a *analyzer) protCol(e sqlir.Expr, s *scope) (*sqlir.ColumnRef, resolved, bool, error) {
	cr, ok := e.(*sqlir.ColumnRef)
	if !ok || cr.Star {
		return nil, resolved{}, false, nil
	}
	r, err := s.resolve(cr)
	if err != nil {
		return nil, r, false, err
	}
	if r.entry != nil && r.entry.excluded {
		return nil, r, false, nil
	}
	return cr, r, r.col != nil, nil
}

// pred analyzes a search condition (WHERE, JOIN ON): equality, IN and <>
// on a protected column go through its equality index, LIKE '%dddd'
// through its last4 index, IS [NOT] NULL works on ciphertext; anything
// else on a protected column is refused.
func (a *analyzer) pred(e sqlir.Expr, s *scope, what string) error {
	switch x := e.(type) {
	case nil:
		return nil
	case *sqlir.Bool:
		for _, arg := range x.Args {
			if err := a.pred(arg, s, what); err != nil {
				return err
			}
		}
		return nil
	case *sqlir.Compare:
		lc, lr, lok, err := a.protCol(x.L, s)
		if err != nil {
			return err
		}
		rc, rr, rok, err := a.protCol(x.R, s)
		if err != nil {
			return err
		}
		switch {
		case lok && rok:
			return refuse(sqlplan.ErrUnsupportedUse, lr.col.Table, lr.col.Name, "comparing two protected columns")
		case lok:
			return a.search(lr.col, lc, x.R, x)
		case rok:
			return a.search(rr.col, rc, x.L, x)
		}
	case *sqlir.In:
		cr, r, ok, err := a.protCol(x.Expr, s)
		if err != nil {
			return err
		}
		if ok {
			if x.Query != nil {
				return refuse(sqlplan.ErrUnsupportedUse, r.col.Table, r.col.Name, "IN (SELECT …)")
			}
			if r.col.Migrating {
				return refuse(sqlplan.ErrUnsupportedUse, r.col.Table, r.col.Name, "IN on a migrating column (use =)")
			}
			idx := r.col.EqualityIndex()
			if idx == nil {
				return refuse(sqlplan.ErrNoIndex, r.col.Table, r.col.Name, "IN needs an equality index")
			}
			for _, item := range x.List {
				sp, ok := valueOf(item)
				if !ok {
					return refuse(sqlplan.ErrUnsupportedUse, r.col.Table, r.col.Name, "IN with an expression")
				}
				a.w.replace(sp.span, sqlplan.Slot{Value: sp.value, Op: sqlplan.OpIndex, Table: r.col.Table, Column: r.col.Name, Transform: idx.Transform, Search: true}, sp.param)
			}
			a.w.replaceText(cr.NameSpan, idx.Column)
			a.use(r.col.Table, r.col.Name, sqlplan.UseSearch)
			return nil
		}
	case *sqlir.Like:
		cr, r, ok, err := a.protCol(x.Expr, s)
		if err != nil {
			return err
		}
		if ok {
			return a.like(r.col, cr, x)
		}
	case *sqlir.IsNull:
		if _, _, ok, err := a.protCol(x.Expr, s); ok || err != nil {
			return err // IS [NOT] NULL works on ciphertext
		}
	}
	return a.expr(e, s, what)
}

// search rewrites col op value into idxcol op placeholder; on a migrating
// column, col = value into (idxcol = placeholder OR col = placeholder),
// which matches a sealed row by its index and a plaintext row by its value.
func (a *analyzer) search(col *sqlplan.Column, cr *sqlir.ColumnRef, val sqlir.Expr, x *sqlir.Compare) error {
	op := x.Op
	idx := col.EqualityIndex()
	if idx == nil {
		return refuse(sqlplan.ErrNoIndex, col.Table, col.Name, op+" needs an equality index")
	}
	sp, ok := valueOf(val)
	if !ok {
		return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, op+" with an expression")
	}
	if col.Migrating {
		if op != "=" {
			return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, op+" on a migrating column (only = matches both forms)")
		}
		// The comparison runs from the first operand's start to the
		// second's end; between them only the operator may stand (no
		// parenthesis of an operand), or the OR would land inside it.
		src := a.st.Source
		ref := sqlir.Span{Start: cr.Start, End: cr.NameSpan.End}
		lo, hi := ref, sp.span
		if hi.Start < lo.Start {
			lo, hi = hi, lo
		}
		if ref.Start < 0 || ref.End > len(src) || ref.Start >= ref.End || lo.End > hi.Start || hi.End > len(src) ||
			strings.ContainsAny(src[lo.End:hi.Start], "()") {
			return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "this form of = on a migrating column (write col = value)")
		}
		// ((ix IS NOT NULL AND ix = index(v)) OR (ix IS NULL AND col = 'v')):
		// never NULL where the plain comparison is not, so NOT and
		// three-valued logic keep their meaning; v binds as text, so a
		// bound number never compares ciphertext numerically (MySQL).
		ix := src[ref.Start:cr.NameSpan.Start] + idx.Column
		a.w.insert(lo.Start, text("(("+ix+" IS NOT NULL AND "))
		defer a.w.insert(hi.End, text(") OR ("+ix+" IS NULL AND "+src[ref.Start:ref.End]+" = "),
			slotPiece(sqlplan.Slot{Value: sp.value, Op: sqlplan.OpPass, Text: true, Table: col.Table, Column: col.Name}), text("))"))
	}
	a.w.replace(sp.span, sqlplan.Slot{Value: sp.value, Op: sqlplan.OpIndex, Table: col.Table, Column: col.Name, Transform: idx.Transform, Search: true}, sp.param)
	a.w.replaceText(cr.NameSpan, idx.Column)
	a.use(col.Table, col.Name, sqlplan.UseSearch)
	return nil
}

// like rewrites col LIKE '%dddd' into last4col = placeholder.
func (a *analyzer) like(col *sqlplan.Column, cr *sqlir.ColumnRef, x *sqlir.Like) error {
	if x.Not || x.Insensitive || x.Esc {
		return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "NOT LIKE, ILIKE or ESCAPE")
	}
	if col.Migrating {
		return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "LIKE on a migrating column")
	}
	idx := col.IndexFor(crypto.TransformLast4)
	if idx == nil {
		return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "LIKE (only a suffix LIKE '%1234' with a last4 index is supported)")
	}
	sp, ok := valueOf(x.Pattern)
	if !ok || sp.value.Null {
		return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "LIKE with an expression")
	}
	slot := sqlplan.Slot{Value: sp.value, Op: sqlplan.OpLikeLast4, Table: col.Table, Column: col.Name, Transform: idx.Transform, Search: true}
	if !sp.param {
		digits, ok := sqlplan.LastFourPattern(sp.value.Literal)
		if !ok || sp.value.Kind != sqlplan.LitString {
			return refuse(sqlplan.ErrUnsupportedUse, col.Table, col.Name, "LIKE pattern other than '%' and exactly four digits")
		}
		slot.Value, slot.Op = sqlplan.LiteralValue(digits), sqlplan.OpIndex
	}
	a.w.replaceText(x.OpSpan, "=")
	a.w.replace(sp.span, slot, sp.param)
	a.w.replaceText(cr.NameSpan, idx.Column)
	a.use(col.Table, col.Name, sqlplan.UseSearch)
	return nil
}

// spot is a placeholder or literal of the source text: its value and span.
type spot struct {
	value sqlplan.Value
	span  sqlir.Span
	param bool
}

// valueOf returns the value of e if it is a placeholder or a plain
// literal (a string, a number, a boolean or NULL).
func valueOf(e sqlir.Expr) (spot, bool) {
	switch x := e.(type) {
	case *sqlir.Param:
		return spot{value: sqlplan.ArgValue(x.Arg), span: x.Span, param: true}, true
	case *sqlir.Literal:
		var v sqlplan.Value
		switch x.Kind {
		case sqlir.LitString:
			v = sqlplan.LiteralValue(x.Value)
		case sqlir.LitNumber:
			v = sqlplan.NumberValue(x.Value)
		case sqlir.LitBool:
			v = sqlplan.BoolValue(x.Value == "true")
		case sqlir.LitNull:
			v = sqlplan.NullValue()
		default:
			return spot{}, false
		}
		return spot{value: v, span: x.Span}, true
	}
	return spot{}, false
}
