// Package analysis applies gmfield's rules, once for every dialect, to the
// neutral form of a statement (package sqlir) and makes its plan: which
// values to seal, which searches go through which blind index, which result
// columns are protected, and what to refuse. It is default-deny: in a
// statement that touches a protected table, a construct the translator
// could not represent, a protected column anywhere the rules do not know
// to be safe, or a kind of statement the rules do not handle, is a refusal.
package analysis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Options are the dialect's part of a plan.
type Options struct {
	// Params are every placeholder of the source text, in order; each is
	// renumbered in the rewritten statement.
	Params []sqlir.Param
	// NumInput is the number of arguments the caller binds.
	NumInput int
	// Placeholder prints the dialect's n-th placeholder.
	Placeholder sqlplan.Placeholder
	// Inserted names, in an upsert, the value the statement would have
	// inserted into column: "excluded.col" or "VALUES(col)".
	Inserted func(column string) string
	// ExactText is written before and after a text value to compare it
	// byte for byte whatever the column's collation: PostgreSQL
	// {"", ` COLLATE "C"`}, SQLite {"", ` COLLATE "BINARY"`}, MySQL
	// {"CAST(", " AS BINARY)"}.
	ExactText [2]string
}

// Analyze applies the rules to st. A statement that touches no protected
// table gets a plan with Protected false (the dialect sends its original
// text); a refused one a *sqlplan.Refusal.
func Analyze(cat sqlplan.Catalog, st *sqlir.Stmt, opt Options) (*sqlplan.Plan, error) {
	a := &analyzer{cat: cat, st: st, opt: opt, seen: map[sqlplan.Use]bool{}, tables: map[string]bool{}}
	a.plan.LimitArg = -1
	p, err := a.run()
	if err != nil {
		var r *sqlplan.Refusal
		if errors.As(err, &r) && r.Fingerprint == "" {
			r.Shape = Shape(cat, st)
			r.Fingerprint = Fingerprint(r.Shape)
		}
		return nil, err
	}
	if p.Protected {
		var exact string
		p.Shape, exact = shapes(cat, st)
		p.Fingerprint = Fingerprint(p.Shape)
		if exact != "" {
			p.ExactFingerprint = Fingerprint(exact)
		}
	}
	return p, nil
}

type analyzer struct {
	cat    sqlplan.Catalog
	st     *sqlir.Stmt
	opt    Options
	w      rewriter
	plan   sqlplan.Plan
	seen   map[sqlplan.Use]bool
	tables map[string]bool
	// target is the protected table an INSERT writes, while its upsert
	// clauses are analyzed.
	target *sqlplan.Table
	// outer is the scope of the statement's outermost SELECT.
	outer *scope
}

func refuse(reason error, table, column, detail string) error {
	return sqlplan.Refuse(reason, table, column, detail)
}

func (a *analyzer) run() (*sqlplan.Plan, error) {
	st := a.st
	if len(st.Dynamic) > 0 {
		d := st.Dynamic[0]
		return nil, refuse(sqlplan.ErrUnsupportedStatement, "", "", fmt.Sprintf("SQL carried in a string (%s at byte %d): run it on the inner connection", d.What, d.Start))
	}
	for _, s := range st.Strings {
		if t := mentionedTable(a.cat, s.Value, 0); t != "" {
			return nil, refuse(sqlplan.ErrUnsupportedStatement, t, "", fmt.Sprintf("a string given to a function names a protected table (byte %d)", s.Start))
		}
	}
	prot := ""
	walkTables(st, func(tn *sqlir.TableName) {
		if t := a.cat.Table(tn.Name); t != nil && prot == "" {
			prot = t.Name
		}
	})
	if prot == "" {
		// A statement kind the translators do not map may name a table
		// where no table reference is built (COMMENT ON COLUMN t.c, GRANT
		// … ON t): default-deny, by the words of its text.
		if st.Kind == sqlir.KindOther && Mentions(a.cat, st.Source, maxIdentifier, nil) {
			return nil, refuse(sqlplan.ErrUnsupportedStatement, mentionedTable(a.cat, st.Source, maxIdentifier), "", "a statement kind the driver does not analyze names a protected table")
		}
		return &sqlplan.Plan{NumInput: -1, LimitArg: -1}, nil
	}
	a.plan.Protected = true
	if len(st.Unsupported) > 0 {
		u := st.Unsupported[0]
		return nil, refuse(sqlplan.ErrUnsupportedUse, prot, "", fmt.Sprintf("%s (byte %d) is not supported on a protected table", u.What, u.Start))
	}
	var err error
	switch st.Kind {
	case sqlir.KindSelect:
		a.plan.Kind = sqlplan.KindSelect
		err = a.top(st.Query)
	case sqlir.KindInsert:
		a.plan.Kind = sqlplan.KindInsert
		err = a.insert(st.Insert, &scope{})
	case sqlir.KindUpdate:
		a.plan.Kind = sqlplan.KindUpdate
		err = a.update(st.Update, &scope{})
	case sqlir.KindDelete:
		a.plan.Kind = sqlplan.KindDelete
		err = a.delete(st.Delete, &scope{})
	case sqlir.KindDDL:
		a.plan.Kind = sqlplan.KindDDL
		err = a.ddl(st.DDL)
	default:
		err = refuse(sqlplan.ErrUnsupportedStatement, prot, "", "statement kind")
	}
	if err != nil {
		return nil, err
	}
	walkTables(st, func(tn *sqlir.TableName) {
		if t := a.cat.Table(tn.Name); t != nil {
			a.touch(t)
		}
	})
	a.plan.NumInput = a.opt.NumInput
	if err := a.w.build(st.Source, a.opt.Params, a.opt.Placeholder, &a.plan); err != nil {
		return nil, err
	}
	return &a.plan, nil
}

// top analyzes the statement's outermost SELECT and its results.
func (a *analyzer) top(q *sqlir.Query) error {
	items, err := a.query(q, nil, modeTop)
	if err != nil {
		return err
	}
	if err := a.finish(items, q.ItemsEnd, "select list"); err != nil {
		return err
	}
	// The WHERE must restrict every protected table whose columns the
	// result returns.
	if a.outer != nil {
		read := map[string]bool{}
		for _, r := range a.plan.Results {
			if r.Column != "" {
				read[r.Table] = true
			}
			for _, t := range r.StarTables {
				read[t] = true
			}
		}
		a.plan.Where = a.restrictsAll(q.Where, a.outer, protectedEntries(a.outer, read))
	}
	a.plan.Limit, a.plan.LimitArg = bounded(q.Limit)
	return nil
}

// finish records the results of items and appends the hidden columns
// they need at pos (the end of the select or RETURNING list).
func (a *analyzer) finish(items []item, pos int, where string) error {
	results, hidden := finishResults(items)
	a.plan.Results = results
	if len(hidden) == 0 {
		return nil
	}
	if pos <= 0 {
		return refuse(sqlplan.ErrUnparsable, "", "", "end of the "+where)
	}
	a.w.insert(pos, text(", "+strings.Join(hidden, ", ")+" "))
	a.plan.Hidden = len(hidden)
	return nil
}

// restrictsAll reports whether the condition e, at scope s, restricts
// the rows of every entry of targets: whether, outside subqueries, it
// reads a column of each, qualified by its alias or name, or unqualified
// where the name resolves to it or it is the level's only table. A
// condition that reads only constants (WHERE 1 = 1), only subqueries
// (WHERE EXISTS (SELECT …)), only other tables or other aliases of the
// same table (USING citizen c2 WHERE c2.id = 1) or, on SQLite, a
// double-quoted token that is a string unless it names a column
// (WHERE "1") restricts nothing.
func (a *analyzer) restrictsAll(e sqlir.Expr, s *scope, targets []*entry) bool {
	for _, t := range targets {
		if e == nil || !a.restricts(e, s, t) {
			return false
		}
	}
	return true
}

// restricts reports whether condition e restricts the rows of entry t.
func (a *analyzer) restricts(e sqlir.Expr, s *scope, t *entry) bool {
	found := false
	walkLevel(e, func(x sqlir.Expr) bool {
		if cr, ok := x.(*sqlir.ColumnRef); ok && a.names(cr, s, t) {
			found = true
		}
		return !found
	})
	return found
}

// names reports whether column reference cr, at scope s, names a column
// of entry t.
func (a *analyzer) names(cr *sqlir.ColumnRef, s *scope, t *entry) bool {
	if cr.Star || cr.Name == "" {
		return false
	}
	r, err := s.resolve(cr)
	if err != nil || r.wholeRow {
		return false
	}
	if r.entry != nil {
		return r.entry == t
	}
	// A name no protected table declares: t's if t is the only table,
	// unless it may be a string (a qualified name never is).
	qualified := len(cr.Qual) > 0
	return !qualified && !a.maybeString(cr.NameSpan) && len(s.entries) == 1 && s.entries[0] == t
}

// protectedEntries returns the entries of s of a protected table, those
// of the tables named in only when only is not nil.
func protectedEntries(s *scope, only map[string]bool) []*entry {
	var out []*entry
	for _, e := range s.entries {
		if e.table != nil && !e.excluded && (only == nil || only[e.table.Name]) {
			out = append(out, e)
		}
	}
	return out
}

// maybeString reports whether the name at sp is a token the server reads
// as a string when no column has its name (SQLite's double quotes).
func (a *analyzer) maybeString(sp sqlir.Span) bool {
	for _, t := range a.st.Tokens {
		if t.Start == sp.Start {
			return t.Kind == sqlir.TokMaybeString
		}
	}
	return false
}

// bounded reports whether a LIMIT bounds the rows: a literal integer of
// at least 0, or a placeholder (arg), whose value the driver checks. No
// LIMIT, LIMIT ALL, NULL, a negative number (SQLite: no limit) or an
// expression bounds nothing.
func bounded(limit sqlir.Expr) (bool, int) {
	switch x := limit.(type) {
	case *sqlir.Literal:
		n, err := strconv.ParseInt(x.Value, 10, 64)
		return x.Kind == sqlir.LitNumber && err == nil && n >= 0, -1
	case *sqlir.Param:
		return true, x.Arg
	}
	return false, -1
}

func (a *analyzer) touch(t *sqlplan.Table) {
	if !a.tables[t.Name] {
		a.tables[t.Name] = true
		a.plan.Tables = append(a.plan.Tables, t.Name)
	}
}

func (a *analyzer) use(table, column string, k sqlplan.UseKind) {
	u := sqlplan.Use{Table: table, Column: column, Kind: k}
	if !a.seen[u] {
		a.seen[u] = true
		a.plan.Uses = append(a.plan.Uses, u)
	}
}

// mentionedTable returns the first protected table whose name appears in s
// as a word, case-insensitively: with truncate > 0 also as the first
// truncate bytes of a longer word (PostgreSQL truncates identifiers to 63
// bytes).
// Statistics returns the first of catalogs (statistics tables that keep
// samples of stored values: pg_stats, sqlite_stat4, …) that sql names as a
// word, or "". The dialects refuse such statements whatever else they
// name: the samples of a protected column are its ciphertexts and blind
// indexes, with their frequencies.
func Statistics(sql string, catalogs []string) string {
	lower := strings.ToLower(sql)
	for _, c := range catalogs {
		if containsWord(lower, c, 0) {
			return c
		}
	}
	return ""
}

// maxIdentifier is the longest identifier of any supported server
// (PostgreSQL's 63 bytes; MySQL's 64 are refused, not truncated).
const maxIdentifier = 63

func mentionedTable(cat sqlplan.Catalog, s string, truncate int) string {
	lower := strings.ToLower(s)
	for _, t := range cat.Tables() {
		if containsWord(lower, t.Name, truncate) {
			return t.Name
		}
	}
	return ""
}

func containsWord(lower, name string, truncate int) bool {
	for i := 0; ; {
		j := strings.Index(lower[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if start == 0 || !wordByte(lower[start-1]) {
			if end == len(lower) || !wordByte(lower[end]) {
				return true
			}
			// A longer word the server truncates to the name.
			if truncate > 0 && len(name) == truncate {
				return true
			}
		}
		i = start + 1
	}
}

func wordByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}

// Mentions reports whether the text sql may touch a protected table, so
// that it must be parsed: it names one as a word (case-insensitively; for
// a dialect that truncates identifiers to truncate bytes, also a longer
// word that begins with a name of that length), holds an escaped
// identifier (U&"…") that could spell one, or holds one of the markers,
// the words that start SQL carried in a string (DO, PREPARE, …), which
// are refused whatever they name. It is never less inclusive than the
// server: a false positive costs a parse, a false negative would let a
// statement through unexamined.
func Mentions(cat sqlplan.Catalog, sql string, truncate int, markers []string) bool {
	lower := strings.ToLower(sql)
	if strings.Contains(lower, `u&"`) || strings.Contains(lower, "u&'") {
		return true
	}
	for _, t := range cat.Tables() {
		if containsWord(lower, t.Name, truncate) {
			return true
		}
	}
	for _, m := range markers {
		if containsWord(lower, m, 0) {
			return true
		}
	}
	return false
}
