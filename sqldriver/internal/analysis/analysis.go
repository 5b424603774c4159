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
		p.Shape = Shape(cat, st)
		p.Fingerprint = Fingerprint(p.Shape)
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
		return &sqlplan.Plan{NumInput: -1}, nil
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
	a.plan.Where = readsColumn(q.Where)
	a.plan.Limit = q.Limit != nil
	return a.finish(items, q.ItemsEnd, "select list")
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

// readsColumn reports whether the condition e reads a column: a WHERE
// that reads none (1 = 1, TRUE) selects every row.
func readsColumn(e sqlir.Expr) bool {
	found := false
	if e != nil {
		walkExpr(e, func(x sqlir.Expr) bool {
			if _, ok := x.(*sqlir.ColumnRef); ok {
				found = true
			}
			return !found
		})
	}
	return found
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
