package pgdialect

import (
	"sort"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type analyzer struct {
	sqlplan.Rewriter
	cat  sqlplan.Catalog
	src  string
	toks []*pg.ScanToken
}

func (a *analyzer) refuse(reason error, table, col, detail string) error {
	return sqlplan.Refuse(reason, table, col, detail)
}

func (a *analyzer) statement(raw *pg.RawStmt) error {
	s := &sqlplan.Scope{}
	switch {
	case raw.Stmt.GetSelectStmt() != nil:
		a.Out.Kind = sqlplan.KindSelect
		return a.selectStmt(raw.Stmt.GetSelectStmt(), s, true)
	case raw.Stmt.GetInsertStmt() != nil:
		a.Out.Kind = sqlplan.KindInsert
		return a.insertStmt(raw.Stmt.GetInsertStmt(), s)
	case raw.Stmt.GetUpdateStmt() != nil:
		a.Out.Kind = sqlplan.KindUpdate
		return a.updateStmt(raw.Stmt.GetUpdateStmt(), s)
	case raw.Stmt.GetDeleteStmt() != nil:
		a.Out.Kind = sqlplan.KindDelete
		return a.deleteStmt(raw.Stmt.GetDeleteStmt(), s)
	}
	// Schema changes that neither read nor write values pass (CREATE TABLE,
	// ALTER TABLE, CREATE INDEX, DROP, TRUNCATE). Any other statement naming
	// a protected table (COPY, CREATE TABLE AS, CREATE VIEW, MERGE, EXPLAIN,
	// triggers and rules, …) is refused: the driver cannot vouch for it.
	switch {
	case raw.Stmt.GetCreateStmt() != nil, raw.Stmt.GetAlterTableStmt() != nil, raw.Stmt.GetIndexStmt() != nil,
		raw.Stmt.GetDropStmt() != nil, raw.Stmt.GetTruncateStmt() != nil:
		return nil
	}
	var found string
	a.visit(raw.Stmt, func(m protoreflect.ProtoMessage) bool {
		if rv, ok := m.(*pg.RangeVar); ok && a.cat.Table(rv.Relname) != nil {
			found = strings.ToLower(rv.Relname)
			return false
		}
		return true
	})
	if found != "" {
		return a.refuse(sqlplan.ErrUnsupportedStatement, found, "", "statement kind")
	}
	return nil
}

// visit walks every message under m in source order, calling f; f returns
// false to skip the message's children.
func (a *analyzer) visit(m protoreflect.ProtoMessage, f func(protoreflect.ProtoMessage) bool) {
	if m == nil {
		return
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		return
	}
	if !f(m) {
		return
	}
	rm.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				a.visit(l.Get(i).Message().Interface(), f)
			}
			return true
		}
		a.visit(v.Message().Interface(), f)
		return true
	})
}

// with adds a with-clause's CTE names to s; their bodies are subqueries.
func (a *analyzer) with(w *pg.WithClause, s *sqlplan.Scope) error {
	if w == nil {
		return nil
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		if err := a.subquery(cte.Ctequery, s, modeDerived); err != nil {
			return err
		}
		s.AddCTE(strings.ToLower(cte.Ctename))
	}
	return nil
}

// subquery analyzes a nested query: it may search protected columns but
// must not return them (the outer statement would see ciphertext).
func (a *analyzer) subquery(n *pg.Node, s *sqlplan.Scope, mode int) error {
	switch {
	case n.GetSelectStmt() != nil:
		return a.selectMode(n.GetSelectStmt(), s.Child(), mode)
	case n.GetInsertStmt() != nil, n.GetUpdateStmt() != nil, n.GetDeleteStmt() != nil:
		// Data-modifying CTEs are refused if they touch a protected table.
		var bad error
		a.visit(n, func(m protoreflect.ProtoMessage) bool {
			if rv, ok := m.(*pg.RangeVar); ok && a.cat.Table(rv.Relname) != nil {
				bad = a.refuse(sqlplan.ErrUnsupportedStatement, strings.ToLower(rv.Relname), "", "data-modifying WITH")
				return false
			}
			return true
		})
		return bad
	}
	return a.expr(n, s, "subquery")
}

// from adds the FROM items to s and analyzes join conditions.
func (a *analyzer) from(items []*pg.Node, s *sqlplan.Scope) error {
	for _, n := range items {
		if err := a.fromItem(n, s); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) fromItem(n *pg.Node, s *sqlplan.Scope) error {
	switch {
	case n.GetRangeVar() != nil:
		a.addRange(n.GetRangeVar(), s)
		return nil
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		if err := a.fromItem(j.Larg, s); err != nil {
			return err
		}
		if err := a.fromItem(j.Rarg, s); err != nil {
			return err
		}
		for _, u := range j.UsingClause {
			name := strings.ToLower(u.GetString_().GetSval())
			for _, e := range s.Entries {
				if t := e.Table; t != nil && (t.Columns[name] != nil) {
					return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "JOIN USING")
				}
			}
		}
		if j.IsNatural {
			for _, e := range s.Entries {
				if e.Table != nil {
					return a.refuse(sqlplan.ErrUnsupportedUse, e.Table.Name, "", "NATURAL JOIN")
				}
			}
		}
		if j.Quals != nil {
			return a.where(j.Quals, s)
		}
		return nil
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		if err := a.subquery(rs.Subquery, s, modeDerived); err != nil {
			return err
		}
		if rs.Alias != nil {
			s.Entries = append(s.Entries, &sqlplan.Entry{Name: strings.ToLower(rs.Alias.Aliasname), Ref: strings.ToLower(rs.Alias.Aliasname)})
		}
		return nil
	}
	return a.expr(n, s, "FROM item")
}

func (a *analyzer) addRange(rv *pg.RangeVar, s *sqlplan.Scope) *sqlplan.Entry {
	var alias string
	if rv.Alias != nil {
		alias = strings.ToLower(rv.Alias.Aliasname)
	}
	e := s.AddTable(a.cat, strings.ToLower(rv.Relname), alias, rv.Schemaname != "")
	if e.Table != nil {
		a.Out.Protected = true
	}
	return e
}

// resolve finds the protected column a ColumnRef names, if any.
func (a *analyzer) resolve(cr *pg.ColumnRef, s *sqlplan.Scope) (sqlplan.Resolved, error) {
	var names []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return sqlplan.Resolved{}, nil
		}
		names = append(names, strings.ToLower(f.GetString_().GetSval()))
	}
	switch len(names) {
	case 0:
		return sqlplan.Resolved{}, nil
	case 1:
		return s.Resolve("", names[0])
	}
	return s.Resolve(names[len(names)-2], names[len(names)-1])
}

// expr analyzes an expression in which protected columns may not appear
// (what names the context for the error). Subqueries inside may search them.
func (a *analyzer) expr(n *pg.Node, s *sqlplan.Scope, what string) error {
	var err error
	a.visit(n, func(m protoreflect.ProtoMessage) bool {
		if err != nil {
			return false
		}
		switch v := m.(type) {
		case *pg.ColumnRef:
			c, rerr := a.resolve(v, s)
			if rerr != nil {
				err = rerr
			} else if c.Column != nil {
				err = a.refuse(sqlplan.ErrUnsupportedUse, c.Column.Table, c.Column.Name, what)
			}
			return false
		case *pg.SelectStmt:
			err = a.selectStmt(v, s.Child(), false)
			return false
		case *pg.RangeVar:
			if a.cat.Table(v.Relname) != nil {
				a.Out.Protected = true
			}
		}
		return true
	})
	return err
}

// tokenAt returns the index of the token starting at pos, or -1.
func (a *analyzer) tokenAt(pos int32) int {
	i := sort.Search(len(a.toks), func(i int) bool { return a.toks[i].Start >= pos })
	if i < len(a.toks) && a.toks[i].Start == pos {
		return i
	}
	return -1
}

// closeParen returns the start of the ")" that closes the parenthesis open
// at pos (a position inside the parenthesized list), or -1.
func (a *analyzer) closeParen(pos int32) int {
	depth := 0
	for _, t := range a.toks {
		if t.Start < pos {
			continue
		}
		switch t.Token {
		case pg.Token_ASCII_40:
			depth++
		case pg.Token_ASCII_41:
			if depth == 0 {
				return int(t.Start)
			}
			depth--
		}
	}
	return -1
}

// colRefEnd returns the span of a column reference's last name.
func (a *analyzer) lastName(cr *pg.ColumnRef) (int, int, bool) {
	i := a.tokenAt(cr.Location)
	if i < 0 {
		return 0, 0, false
	}
	j := i
	for j+2 < len(a.toks) && a.toks[j+1].Token == pg.Token_ASCII_46 {
		j += 2
	}
	return int(a.toks[j].Start), int(a.toks[j].End), true
}

// valueOf returns the value of n if it is a placeholder or a literal.
func (a *analyzer) valueOf(n *pg.Node) (sqlplan.Spot, bool) {
	switch {
	case n.GetParamRef() != nil:
		p := n.GetParamRef()
		i := a.tokenAt(p.Location)
		if i < 0 || a.toks[i].Token != pg.Token_PARAM {
			return sqlplan.Spot{}, false
		}
		return sqlplan.Spot{Value: sqlplan.ArgValue(int(p.Number) - 1), Start: int(a.toks[i].Start), End: int(a.toks[i].End)}, true
	case n.GetAConst() != nil:
		c := n.GetAConst()
		i := a.tokenAt(c.Location)
		if i < 0 {
			return sqlplan.Spot{}, false
		}
		start, end := int(a.toks[i].Start), int(a.toks[i].End)
		if a.toks[i].Token == pg.Token_Op && a.src[start:end] == "-" && i+1 < len(a.toks) {
			end = int(a.toks[i+1].End) // a negative number
		}
		var v sqlplan.Value
		switch {
		case c.Isnull:
			v = sqlplan.NullValue()
		case c.GetSval() != nil:
			if a.toks[i].Token != pg.Token_SCONST && a.toks[i].Token != pg.Token_USCONST {
				return sqlplan.Spot{}, false // a typed literal such as DATE '…'
			}
			v = sqlplan.LiteralValue(c.GetSval().Sval)
		case c.GetIval() != nil:
			v = sqlplan.NumberValue(strconv.FormatInt(int64(c.GetIval().Ival), 10))
		case c.GetFval() != nil:
			v = sqlplan.NumberValue(c.GetFval().Fval)
		case c.GetBoolval() != nil:
			v = sqlplan.BoolValue(c.GetBoolval().Boolval)
		default:
			return sqlplan.Spot{}, false
		}
		return sqlplan.Spot{Value: v, Start: start, End: end}, true
	}
	return sqlplan.Spot{}, false
}

func (a *analyzer) rename(cr *pg.ColumnRef, name string) bool {
	start, end, ok := a.lastName(cr)
	if !ok {
		return false
	}
	a.ReplaceText(start, end, name)
	return true
}
