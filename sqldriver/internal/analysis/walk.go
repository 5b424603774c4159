package analysis

import "github.com/gmfield/gmfield/sqldriver/internal/sqlir"

// walkTables calls f for every table st names, anywhere.
func walkTables(st *sqlir.Stmt, f func(*sqlir.TableName)) {
	w := walker{table: f}
	w.stmt(st)
}

// walkFrom calls table for every table of a FROM item, and expr for every
// expression in it.
func walkFrom(fr *sqlir.From, table func(*sqlir.TableName), expr func(sqlir.Expr) bool) {
	w := walker{table: table, expr: expr}
	w.from(fr)
}

// walkExpr calls f for e and every expression inside it (subqueries
// included) while f returns true.
func walkExpr(e sqlir.Expr, f func(sqlir.Expr) bool) {
	w := walker{expr: f}
	w.e(e)
}

// walkLevel is walkExpr without descending into subqueries: the
// expressions of e's own query level.
func walkLevel(e sqlir.Expr, f func(sqlir.Expr) bool) {
	w := walker{expr: f, level: true}
	w.e(e)
}

type walker struct {
	table func(*sqlir.TableName)
	expr  func(sqlir.Expr) bool
	level bool // stay on the expression's query level: skip subqueries
}

func (w *walker) tn(t *sqlir.TableName) {
	if t != nil && w.table != nil {
		w.table(t)
	}
}

func (w *walker) stmt(st *sqlir.Stmt) {
	if st == nil {
		return
	}
	for _, t := range st.Names {
		w.tn(t)
	}
	w.query(st.Query)
	if in := st.Insert; in != nil {
		w.with(in.With)
		w.tn(in.Table)
		for _, r := range in.Rows {
			w.es(r.Values...)
		}
		w.query(in.Query)
		w.assigns(in.Set)
		w.assigns(in.OnDuplicate)
		if oc := in.OnConflict; oc != nil {
			w.assigns(oc.Set)
			w.es(oc.TargetWhere, oc.Where)
		}
		w.items(in.Returning)
	}
	if up := st.Update; up != nil {
		w.with(up.With)
		w.tn(up.Table)
		for _, f := range append(append([]*sqlir.From{}, up.Targets...), up.From...) {
			w.from(f)
		}
		w.assigns(up.Set)
		w.es(up.Where, up.Limit)
		w.es(up.OrderBy...)
		w.items(up.Returning)
	}
	if d := st.Delete; d != nil {
		w.with(d.With)
		w.tn(d.Table)
		for _, t := range d.Tables {
			w.tn(t)
		}
		for _, f := range d.Using {
			w.from(f)
		}
		w.es(d.Where, d.Limit)
		w.es(d.OrderBy...)
		w.items(d.Returning)
	}
	if d := st.DDL; d != nil {
		for _, t := range append(append([]*sqlir.TableName{}, d.Tables...), d.From...) {
			w.tn(t)
		}
		for _, act := range d.Actions {
			w.es(act.Exprs...)
		}
		w.query(d.Query)
	}
}

func (w *walker) with(wi *sqlir.With) {
	if wi == nil {
		return
	}
	for _, c := range wi.CTEs {
		w.query(c.Query)
		w.stmt(c.Stmt)
	}
}

func (w *walker) query(q *sqlir.Query) {
	if q == nil || w.level {
		return
	}
	w.with(q.With)
	w.query(q.Left)
	w.query(q.Right)
	w.tn(q.Table)
	for _, row := range q.Values {
		w.es(row...)
	}
	w.items(q.Items)
	for _, f := range q.From {
		w.from(f)
	}
	w.es(q.Where, q.Having, q.Limit, q.Offset)
	w.es(q.GroupBy...)
	w.es(q.OrderBy...)
	w.es(q.DistinctOn...)
	w.es(q.Windows...)
}

func (w *walker) items(items []*sqlir.Item) {
	for _, it := range items {
		w.e(it.Expr)
	}
}

func (w *walker) assigns(list []*sqlir.Assign) {
	for _, as := range list {
		w.e(as.Value)
	}
}

func (w *walker) from(f *sqlir.From) {
	if f == nil {
		return
	}
	w.tn(f.Table)
	w.query(f.Query)
	w.from(f.Left)
	w.from(f.Right)
	w.es(f.On, f.Func)
}

func (w *walker) es(list ...sqlir.Expr) {
	for _, e := range list {
		w.e(e)
	}
}

func (w *walker) e(e sqlir.Expr) {
	if e == nil {
		return
	}
	if w.expr != nil && !w.expr(e) {
		return
	}
	switch x := e.(type) {
	case *sqlir.Compare:
		w.es(x.L, x.R)
	case *sqlir.In:
		w.e(x.Expr)
		w.es(x.List...)
		w.query(x.Query)
	case *sqlir.Like:
		w.es(x.Expr, x.Pattern)
	case *sqlir.IsNull:
		w.e(x.Expr)
	case *sqlir.Bool:
		w.es(x.Args...)
	case *sqlir.Func:
		w.es(x.Args...)
	case *sqlir.Subquery:
		w.e(x.Left)
		w.query(x.Query)
	case *sqlir.Op:
		w.es(x.Args...)
	case *sqlir.Field:
		w.e(x.Base)
		w.es(x.Args...)
	case *sqlir.Bad:
		w.es(x.Args...)
	}
}
