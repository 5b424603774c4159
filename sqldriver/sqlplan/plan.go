// Package sqlplan holds the dialect-neutral plan of one SQL statement that
// the gmfield driver executes: which placeholders carry values for protected
// columns and what to do with them, which result columns come from protected
// columns, what the statement uses of each protected column, and the SQL it
// sends; the refusal of a statement the driver will not run, with its
// reason; and the Catalog and Dialect interfaces with the registry of
// dialects. Dialects (pgdialect, mysqldialect) translate their parser's
// syntax tree into a neutral form, and one set of rules, applied to that
// form for every dialect, makes the plan.
package sqlplan

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gmfield/gmfield/crypto"
)

// Errors returned by analyzers. Every refusal wraps ErrRefused, so callers
// can test errors.Is(err, ErrRefused) as well as the precise reason.
var (
	// ErrRefused is wrapped by every refusal of a statement.
	ErrRefused = errors.New("gmfield/sqldriver: statement refused")
	// ErrUnparsable: a statement that touches a protected table could not be
	// parsed by the dialect's parser, or holds a construct the server could
	// read differently from the parser (comments, quotes, escapes).
	ErrUnparsable = errors.New("gmfield/sqldriver: statement cannot be analyzed")
	// ErrMultiStatement: a string of several statements touches a protected table.
	ErrMultiStatement = errors.New("gmfield/sqldriver: several statements in one string")
	// ErrUnsupportedUse: a protected column is used where its ciphertext
	// cannot give the right answer (ORDER BY, ranges, functions, LIKE, …),
	// or a construct the rules do not know appears in a statement that
	// touches a protected table.
	ErrUnsupportedUse = errors.New("gmfield/sqldriver: unsupported use of a protected column")
	// ErrUnsupportedStatement: a statement form the driver cannot rewrite
	// safely on a protected table (INSERT without a column list, INSERT …
	// SELECT, REPLACE, a write to a blind-index column, schema changes that
	// give values, SQL carried in strings, …).
	ErrUnsupportedStatement = errors.New("gmfield/sqldriver: unsupported statement on a protected table")
	// ErrRowKeyRequired: the table binds a row key into each value, and the
	// statement does not give it (UPDATE without WHERE row_key = …, INSERT
	// without the row key column).
	ErrRowKeyRequired = errors.New("gmfield/sqldriver: row key required")
	// ErrNoIndex: an equality or suffix search on a protected column that has
	// no blind index of the needed transform.
	ErrNoIndex = errors.New("gmfield/sqldriver: no blind index for this search")
	// ErrSession: the connection's settings would make the server read
	// the statement differently from the parser (a client character set
	// other than UTF-8 for a statement with non-ASCII text, MariaDB's
	// ORACLE sql_mode).
	ErrSession = errors.New("gmfield/sqldriver: connection settings differ from the analysis")
)

// Refusal is the error of a refused statement. It names the table and
// column when there is one and a byte position when it helps, never a
// value or any other text of the statement.
type Refusal struct {
	Reason error  // one of the Err* sentinels above
	Table  string // may be empty
	Column string // may be empty
	Detail string // what was found, such as "ORDER BY"
	// Shape and Fingerprint are the refused statement's, when it was
	// read far enough to have them (see Plan); Error shows neither.
	Shape, Fingerprint string
}

// Error names the reason, the table and column, and what was found.
func (e *Refusal) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason.Error())
	if e.Table != "" || e.Column != "" {
		b.WriteString(": ")
		b.WriteString(e.Table)
		if e.Column != "" {
			b.WriteString(".")
			b.WriteString(e.Column)
		}
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the reason and ErrRefused.
func (e *Refusal) Unwrap() []error { return []error{e.Reason, ErrRefused} }

// Refuse returns a *Refusal.
func Refuse(reason error, table, column, detail string) error {
	return &Refusal{Reason: reason, Table: table, Column: column, Detail: detail}
}

// Kind is a statement kind.
type Kind int

// Statement kinds.
const (
	KindOther Kind = iota
	KindSelect
	KindInsert
	KindUpdate
	KindDelete
	KindDDL
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindSelect:
		return "select"
	case KindInsert:
		return "insert"
	case KindUpdate:
		return "update"
	case KindDelete:
		return "delete"
	case KindDDL:
		return "ddl"
	}
	return "other"
}

// Op is what the driver does with a value before binding it.
type Op int

// Value operations.
const (
	OpPass      Op = iota // bind as given
	OpSeal                // seal for Table.Column (with RowKey)
	OpIndex               // blind index Transform of Table.Column
	OpLikeLast4           // LIKE '%dddd' pattern → last4 index
	OpRowKey              // the canonical row key of Table, typed (pins an UPDATE to the row it seals for)
)

// Value is where a bound value comes from: the caller's argument Arg
// (0-based), or a literal of the statement.
type Value struct {
	Arg     int // caller's argument, or -1 for a literal
	Literal string
	Kind    LiteralKind // what kind of literal Literal was written as
	Null    bool        // a NULL literal
}

// LiteralKind is how a literal was written: a string, a number or a
// boolean. Row keys are canonicalized by it (a quoted '05' and a numeric
// 5 both name row 5 of an integer key).
type LiteralKind int

// Literal kinds.
const (
	LitString LiteralKind = iota
	LitNumber
	LitBool
)

// ArgValue is the caller's argument i.
func ArgValue(i int) Value { return Value{Arg: i} }

// LiteralValue is a literal string.
func LiteralValue(s string) Value { return Value{Arg: -1, Literal: s} }

// NumberValue is a numeric literal, as written.
func NumberValue(s string) Value { return Value{Arg: -1, Literal: s, Kind: LitNumber} }

// BoolValue is a boolean literal.
func BoolValue(b bool) Value {
	return Value{Arg: -1, Literal: strconv.FormatBool(b), Kind: LitBool}
}

// NullValue is the NULL literal.
func NullValue() Value { return Value{Arg: -1, Null: true} }

// Slot is one placeholder of the rewritten statement.
type Slot struct {
	Value     Value
	Op        Op
	Table     string
	Column    string
	Transform crypto.Transform // OpIndex, OpLikeLast4
	RowKey    *Value           // OpSeal on a table with a row key
	// Search marks an index slot that searches (WHERE, IN, LIKE) rather
	// than writes: the caller must be allowed at least hash on the column.
	Search bool
	// Text marks an OpPass slot that binds the value as its text (the
	// bytes a seal would take): the plaintext half of a search on a
	// migrating column, which must compare as a string.
	Text bool
}

// ColumnRef locates a value in a result row.
type ColumnRef struct {
	Hidden int    // index among the hidden columns, or -1
	Item   int    // index among the select items, or -1
	Name   string // for star items: the result column name (lower case)
}

// NoRef is the zero reference.
var NoRef = ColumnRef{Hidden: -1, Item: -1}

// Result is one select item (or RETURNING item).
type Result struct {
	// Star items expand to the columns of StarTables (all tables in scope
	// when the item is a bare *); their protected columns are found by name.
	Star       bool
	StarTables []string
	// Table and Column name the protected column the item reads ("" if none).
	Table, Column string
	// IndexOf names the protected column whose blind index the item reads
	// ("" if none).
	IndexOf   string
	RowKey    ColumnRef // where the row key of the item's row is
	FullIndex ColumnRef // where the full blind index is (hash action)
}

// UseKind is what a statement does with a protected column.
type UseKind int

// Uses of a protected column.
const (
	// UseRead: the statement returns the column's values.
	UseRead UseKind = iota
	// UseSearch: it searches the column through a blind index (=, <>,
	// IN, LIKE '%dddd').
	UseSearch
	// UseWrite: it writes the column (INSERT, UPDATE, upserts).
	UseWrite
	// UseIndex: it refers to a blind-index column of the column anywhere
	// (selecting it, comparing, joining, grouping on it): the same right
	// as a search is needed, since an index is an oracle for the value.
	UseIndex
)

// String names the use.
func (u UseKind) String() string {
	switch u {
	case UseRead:
		return "read"
	case UseSearch:
		return "search"
	case UseWrite:
		return "write"
	case UseIndex:
		return "index"
	}
	return "use(" + strconv.Itoa(int(u)) + ")"
}

// Use is one use of a protected column by a statement.
type Use struct {
	Table, Column string
	Kind          UseKind
}

// Plan is a statement ready to execute.
type Plan struct {
	SQL       string
	Protected bool
	Kind      Kind
	NumInput  int
	Slots     []Slot // one per placeholder of SQL, in binding order
	Results   []Result
	Hidden    int
	// Uses lists what the statement does with each protected column,
	// once per column and kind, in the order first found.
	Uses []Use
	// Tables are the protected tables the statement touches.
	Tables []string
	// Shape is the statement's normalized text, literals and placeholders
	// written "?", and Fingerprint the hex SM3 hash of Shape: the same for
	// every statement that differs only in its values, comments, spacing
	// and keyword case (docs/format.md, "Statement fingerprint"). Set for
	// protected statements only.
	Shape, Fingerprint string
	// ExactFingerprint, set only when Shape hides a quoted name the
	// server may read as a string (SQLite's double quotes), is the
	// fingerprint of the shape with those names written as they are: the
	// guard's whitelist matches it, so that WHERE "city" = ? and
	// WHERE "zzz" = ? are not one statement to it (docs/format.md §10).
	ExactFingerprint string
	// Where reports a WHERE clause that restricts the rows of a
	// protected table of the statement's own level (UPDATE, DELETE, a
	// SELECT's outermost query): one that reads, outside subqueries, a
	// column of such a table. WHERE 1 = 1, a WHERE that reads only
	// another table's columns or only subqueries, and SQLite's WHERE "1"
	// do not count.
	Where bool
	// Limit reports a LIMIT that bounds the rows: a literal integer of at
	// least 0, or the placeholder of argument LimitArg (-1: none), whose
	// value the caller must check. LIMIT ALL, NULL or a negative number
	// do not count.
	Limit    bool
	LimitArg int
	// Schema is what a schema statement (KindDDL) does.
	Schema SchemaOp
}

// SchemaOp is what a schema statement does to the tables it names.
type SchemaOp int

// Schema operations.
const (
	SchemaNone     SchemaOp = iota // not a schema statement
	SchemaCreate                   // CREATE TABLE
	SchemaAlter                    // ALTER TABLE
	SchemaDrop                     // DROP TABLE
	SchemaTruncate                 // TRUNCATE
	SchemaIndex                    // CREATE or DROP INDEX
	SchemaOther                    // any other schema statement
)

// Placeholder prints the n-th (1-based) placeholder of a dialect.
type Placeholder func(n int) string

// Question is the "?" placeholder style.
func Question(int) string { return "?" }

// Dollar is the "$n" placeholder style.
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// Dialect turns SQL text into a Plan. Implementations are safe for
// concurrent use.
type Dialect interface {
	// Name is the dialect's name: "sqlite", "postgres" or "mysql".
	Name() string
	// Analyze plans sql. A statement that touches no protected table
	// returns a Plan with Protected false and SQL unchanged.
	Analyze(cat Catalog, sql string) (*Plan, error)
}

// SessionChecker is implemented by dialects whose server reads statement
// text under connection settings the text does not show. The driver runs
// SessionQuery on a connection before its first protected statement, again
// after a statement for which Unsettles reports true, and before every
// protected statement whose text has a byte outside ASCII (ASCII text
// reads the same in every client character set a server accepts); it
// refuses the statement when CheckSession fails.
type SessionChecker interface {
	// SessionQuery is a query returning one row of text values; "" when
	// the dialect needs none.
	SessionQuery() string
	// CheckSession checks the row, for a statement whose text is ASCII
	// unless nonASCII. Its error wraps ErrSession.
	CheckSession(row []string, nonASCII bool) error
	// Unsettles reports whether sql may change what SessionQuery reads.
	Unsettles(sql string) bool
}

// Warmer is implemented by dialects whose parser is costly to start (the
// wazero build of libpg_query compiles for seconds): the driver calls Warm
// in the background when a database is opened.
type Warmer interface {
	Warm()
}

// PassThrough is the plan of a statement that touches no protected table.
func PassThrough(sql string) *Plan { return &Plan{SQL: sql, NumInput: -1, LimitArg: -1} }

// LastFourPattern returns the four digits of a LIKE pattern "%dddd" (a
// percent sign and exactly four ASCII digits), the only pattern a last4
// index answers exactly, and false for any other: "%12" would miss rows
// ending in 12 and "%12345" would return rows ending in 92345.
func LastFourPattern(p string) (string, bool) {
	if len(p) != 5 || p[0] != '%' {
		return "", false
	}
	for i := 1; i < 5; i++ {
		if p[i] < '0' || p[i] > '9' {
			return "", false
		}
	}
	return p[1:], true
}
