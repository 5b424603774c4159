package pgdialect

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

type analyzer struct {
	cat     sqlplan.Catalog
	src     string
	toks    []*pg.ScanToken
	handled map[int]bool // placeholders (by start) moved into edits
	out     sqlplan.Analysis
}

// entry is a table (or subquery, or CTE) in a FROM clause.
type entry struct {
	name  string // lower-case table name
	ref   string // how the statement refers to it: alias or table name (lower case)
	table *sqlplan.Table
}

type scope struct {
	parent  *scope
	entries []entry
	ctes    map[string]bool
}

func (s *scope) isCTE(name string) bool {
	for ; s != nil; s = s.parent {
		if s.ctes[name] {
			return true
		}
	}
	return false
}

// column is a resolved reference to a column of a protected table.
type column struct {
	e   *entry
	col *sqlplan.Column // protected column, or nil
	idx bool            // a blind-index column
	key bool            // the row key column
}

func (a *analyzer) refuse(reason error, table, col, detail string) error {
	return sqlplan.Refuse(reason, table, col, detail)
}

func (a *analyzer) statement(raw *pg.RawStmt) error {
	s := &scope{}
	switch {
	case raw.Stmt.GetSelectStmt() != nil:
		a.out.Kind = sqlplan.KindSelect
		return a.selectStmt(raw.Stmt.GetSelectStmt(), s, true)
	case raw.Stmt.GetInsertStmt() != nil:
		a.out.Kind = sqlplan.KindInsert
		return a.insertStmt(raw.Stmt.GetInsertStmt(), s)
	case raw.Stmt.GetUpdateStmt() != nil:
		a.out.Kind = sqlplan.KindUpdate
		return a.updateStmt(raw.Stmt.GetUpdateStmt(), s)
	case raw.Stmt.GetDeleteStmt() != nil:
		a.out.Kind = sqlplan.KindDelete
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
func (a *analyzer) with(w *pg.WithClause, s *scope) error {
	if w == nil {
		return nil
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		if s.ctes == nil {
			s.ctes = map[string]bool{}
		}
		if err := a.subquery(cte.Ctequery, s, modeDerived); err != nil {
			return err
		}
		s.ctes[strings.ToLower(cte.Ctename)] = true
	}
	return nil
}

// subquery analyzes a nested query: it may search protected columns but
// must not return them (the outer statement would see ciphertext).
func (a *analyzer) subquery(n *pg.Node, s *scope, mode int) error {
	switch {
	case n.GetSelectStmt() != nil:
		return a.selectMode(n.GetSelectStmt(), &scope{parent: s}, mode)
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
func (a *analyzer) from(items []*pg.Node, s *scope) error {
	for _, n := range items {
		if err := a.fromItem(n, s); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyzer) fromItem(n *pg.Node, s *scope) error {
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
			for i := range s.entries {
				if t := s.entries[i].table; t != nil && (t.Columns[name] != nil) {
					return a.refuse(sqlplan.ErrUnsupportedUse, t.Name, name, "JOIN USING")
				}
			}
		}
		if j.IsNatural {
			for _, e := range s.entries {
				if e.table != nil {
					return a.refuse(sqlplan.ErrUnsupportedUse, e.table.Name, "", "NATURAL JOIN")
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
			s.entries = append(s.entries, entry{name: strings.ToLower(rs.Alias.Aliasname), ref: strings.ToLower(rs.Alias.Aliasname)})
		}
		return nil
	}
	return a.expr(n, s, "FROM item")
}

func (a *analyzer) addRange(rv *pg.RangeVar, s *scope) *entry {
	name := strings.ToLower(rv.Relname)
	e := entry{name: name, ref: name}
	if rv.Alias != nil {
		e.ref = strings.ToLower(rv.Alias.Aliasname)
	}
	if !s.isCTE(name) || rv.Schemaname != "" {
		e.table = a.cat.Table(name)
	}
	if e.table != nil {
		a.out.Protected = true
	}
	s.entries = append(s.entries, e)
	return &s.entries[len(s.entries)-1]
}

// resolve finds the protected column a ColumnRef names, if any.
func (a *analyzer) resolve(cr *pg.ColumnRef, s *scope) (column, error) {
	var names []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return column{}, nil
		}
		names = append(names, strings.ToLower(f.GetString_().GetSval()))
	}
	if len(names) == 0 {
		return column{}, nil
	}
	col := names[len(names)-1]
	qual := names[:len(names)-1]
	for sc := s; sc != nil; sc = sc.parent {
		var found []column
		for i := range sc.entries {
			e := &sc.entries[i]
			if len(qual) > 0 && qual[len(qual)-1] != e.ref {
				continue
			}
			if e.table == nil {
				if len(qual) > 0 {
					return column{}, nil
				}
				continue
			}
			c := column{e: e, col: e.table.Columns[col], key: col == e.table.RowKey}
			_, c.idx = e.table.IndexColumns[col]
			if c.col != nil || c.idx || c.key || len(qual) > 0 {
				found = append(found, c)
			}
		}
		if len(found) > 1 {
			for _, c := range found {
				if c.col != nil {
					return column{}, a.refuse(sqlplan.ErrUnsupportedUse, c.e.name, col, "ambiguous column")
				}
			}
		}
		if len(found) > 0 {
			return found[0], nil
		}
	}
	return column{}, nil
}

// expr analyzes an expression in which protected columns may not appear
// (what names the context for the error). Subqueries inside may search them.
func (a *analyzer) expr(n *pg.Node, s *scope, what string) error {
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
			} else if c.col != nil {
				err = a.refuse(sqlplan.ErrUnsupportedUse, c.col.Table, c.col.Name, what)
			}
			return false
		case *pg.SelectStmt:
			err = a.selectStmt(v, &scope{parent: s}, false)
			return false
		case *pg.RangeVar:
			if a.cat.Table(v.Relname) != nil {
				a.out.Protected = true
			}
		}
		return true
	})
	return err
}

// tokenAt returns the index of the token starting at pos, or -1.
func (a *analyzer) tokenAt(pos int32) int {
	lo, hi := 0, len(a.toks)
	for lo < hi {
		m := (lo + hi) / 2
		if a.toks[m].Start < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(a.toks) && a.toks[lo].Start == pos {
		return lo
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

// value is a placeholder or literal found at a value position.
type value struct {
	v          sqlplan.Value
	start, end int
}

// valueOf returns the value of n if it is a placeholder or a literal.
func (a *analyzer) valueOf(n *pg.Node) (value, bool) {
	switch {
	case n.GetParamRef() != nil:
		p := n.GetParamRef()
		i := a.tokenAt(p.Location)
		if i < 0 || a.toks[i].Token != pg.Token_PARAM {
			return value{}, false
		}
		return value{v: sqlplan.ArgValue(int(p.Number) - 1), start: int(a.toks[i].Start), end: int(a.toks[i].End)}, true
	case n.GetAConst() != nil:
		c := n.GetAConst()
		i := a.tokenAt(c.Location)
		if i < 0 {
			return value{}, false
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
				return value{}, false // a typed literal such as DATE '…'
			}
			v = sqlplan.LiteralValue(c.GetSval().Sval)
		case c.GetIval() != nil:
			v = sqlplan.LiteralValue(strconv.FormatInt(int64(c.GetIval().Ival), 10))
		case c.GetFval() != nil:
			v = sqlplan.LiteralValue(c.GetFval().Fval)
		case c.GetBoolval() != nil:
			v = sqlplan.LiteralValue(strconv.FormatBool(c.GetBoolval().Boolval))
		default:
			return value{}, false
		}
		return value{v: v, start: start, end: end}, true
	}
	return value{}, false
}

// replace turns the value's text into one placeholder with op.
func (a *analyzer) replace(v value, slot sqlplan.Slot) {
	slot.Value = v.v
	if v.v.Arg >= 0 {
		a.handled[v.start] = true
	}
	a.out.Edits = append(a.out.Edits, sqlplan.Edit{Start: v.start, End: v.end, Pieces: []sqlplan.Piece{sqlplan.SlotPiece(slot)}})
}

func (a *analyzer) insertAt(pos int, pieces ...sqlplan.Piece) {
	a.out.Edits = append(a.out.Edits, sqlplan.Edit{Start: pos, End: pos, Pieces: pieces})
}

func (a *analyzer) rename(cr *pg.ColumnRef, name string) bool {
	start, end, ok := a.lastName(cr)
	if !ok {
		return false
	}
	a.out.Edits = append(a.out.Edits, sqlplan.Edit{Start: start, End: end, Pieces: []sqlplan.Piece{sqlplan.Text(name)}})
	return true
}
