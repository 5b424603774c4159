// Package sqlir is the neutral form of one SQL statement: what a dialect's
// translator makes of its parser's syntax tree, and all that the analysis
// rules (package analysis) read. It holds statements, table references
// with aliases and CTE scopes, select items, predicates, assignments,
// value lists, literal and placeholder spans, and markers for what the
// rules must refuse: constructs the translator does not represent
// (Unsupported) and SQL carried in strings (Dynamic).
//
// Positions are byte offsets into the text the statement was parsed from
// (Stmt.Source); a Span's End is exclusive. Names are lower case as the
// dialect folds them.
package sqlir

// Span is a byte range of the source text.
type Span struct{ Start, End int }

// Kind is a statement kind.
type Kind int

// Statement kinds.
const (
	KindOther Kind = iota // anything not below: refused when it names a protected table
	KindSelect
	KindInsert
	KindUpdate
	KindDelete
	KindDDL         // schema statements: see DDL
	KindSet         // session settings (SET, RESET, SET NAMES …)
	KindTransaction // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …
)

// Stmt is one statement.
type Stmt struct {
	Kind   Kind
	Source string // the text positions refer to
	Query  *Query // KindSelect
	Insert *Insert
	Update *Update
	Delete *Delete
	DDL    *DDL
	// Names are the tables a statement names where the translator builds
	// no structure (KindOther, KindSet, KindTransaction, parts of DDL).
	Names []*TableName
	// Unsupported lists the constructs, anywhere in the statement, that
	// the translator does not represent: default deny refuses the
	// statement when it touches a protected table.
	Unsupported []Unsupported
	// Dynamic lists SQL carried in strings (DO bodies, routine bodies,
	// PREPARE … FROM, functions that run a query given as text): always
	// refused, because the rules cannot see what it touches.
	Dynamic []Unsupported
	// Strings are the string literals that are arguments of function
	// calls, anywhere in the statement (query_to_xml('SELECT …'),
	// table_to_xml('citizen', …), 'citizen'::regclass): a protected
	// table named in one is refused.
	Strings []*Literal
	// Tokens are the statement's tokens, comments left out, classified
	// for its fingerprint (analysis.Shape).
	Tokens []Token
}

// TokenKind classifies a token for the statement's fingerprint.
type TokenKind int

// Token kinds.
const (
	TokOther  TokenKind = iota // operators and punctuation, as written
	TokWord                    // a keyword or an unquoted name: folded to lower case
	TokQuoted                  // a quoted name, as written
	TokValue                   // a literal of any kind, or a placeholder
	// TokMaybeString is a quoted name the server reads as a string when
	// no column has that name (SQLite's double-quoted strings): shown only
	// when it names a protected table or one of its declared columns.
	TokMaybeString
)

// Token is one token of Stmt.Source.
type Token struct {
	Span
	Kind TokenKind
}

// Unsupported is a construct the rules refuse: what it is (a fixed word
// chosen by the translator, never SQL text) and where.
type Unsupported struct {
	Span
	What string
}

// Expr is an expression node: one of the types below.
type Expr interface{ exprSpan() Span }

// ColumnRef names a column: [qualifiers.]name, or a star.
type ColumnRef struct {
	Span
	Qual     []string // qualifiers before the name: table or alias, schema.table
	Name     string   // "" for a star
	NameSpan Span     // the last name, for renaming
	Star     bool     // t.* or * inside an expression
}

// Param is a placeholder; Arg is the caller's argument (0-based).
type Param struct {
	Span
	Arg int
}

// LitKind is how a literal is written.
type LitKind int

// Literal kinds.
const (
	LitString LitKind = iota
	LitNumber
	LitBool
	LitNull
	LitOther // typed and special literals (DATE '…', B'…', X'…', N'…', intervals)
)

// Literal is a constant written in the statement.
type Literal struct {
	Span
	Kind  LitKind
	Value string // the value (a string's content, a number as written)
}

// Compare is l = r, l <> r or l != r. Other comparisons are Ops.
type Compare struct {
	Span
	Op   string // "=", "<>", "!="
	L, R Expr
}

// In is e [NOT] IN (list) or e [NOT] IN (subquery).
type In struct {
	Span
	Expr  Expr
	List  []Expr
	Query *Query
	Not   bool
}

// Like is e [NOT] LIKE pattern (ILIKE, with ESCAPE).
type Like struct {
	Span
	Expr, Pattern         Expr
	Not, Insensitive, Esc bool
	OpSpan                Span // the LIKE keyword (NOT LIKE: the LIKE only)
}

// IsNull is e IS [NOT] NULL.
type IsNull struct {
	Span
	Expr Expr
	Not  bool
}

// BoolOp is a boolean connective.
type BoolOp int

// Boolean connectives.
const (
	And BoolOp = iota
	Or
	Not
	Xor
)

// Bool is a boolean connective over its arguments.
type Bool struct {
	Span
	Op   BoolOp
	Args []Expr
}

// Func is a function or aggregate call.
type Func struct {
	Span
	Name   string // lower case, without schema
	Schema string
	Args   []Expr // including FILTER, ORDER BY and OVER expressions
	Star   bool   // count(*)
}

// SubKind is the kind of a subquery expression.
type SubKind int

// Subquery kinds.
const (
	SubScalar SubKind = iota
	SubExists
	SubQuantified // = ANY (…), > ALL (…)
	SubArray
)

// Subquery is a query used as an expression.
type Subquery struct {
	Span
	Kind  SubKind
	Query *Query
	Left  Expr // the left operand of a quantified comparison, or nil
}

// Op is any other expression whose value derives from its operands
// only: arithmetic, comparisons other than Compare's, BETWEEN, CASE,
// CAST, COALESCE, row constructors, string concatenation, … What is a
// fixed word naming it.
type Op struct {
	Span
	What string
	Args []Expr
}

// Inserted is the value an upsert would have inserted into Column:
// excluded.col (PostgreSQL, SQLite) or VALUES(col) (MySQL).
type Inserted struct {
	Span
	Column string
}

// Default is the DEFAULT keyword as a value.
type Default struct{ Span }

// Var is a session or user variable (@x, @@x).
type Var struct {
	Span
	Name string
}

// Field is base.field or base[subscript]: a field of a composite value or
// an element of an array.
type Field struct {
	Span
	Base Expr
	Args []Expr
}

// Bad is a construct the translator does not represent, inside an
// expression; default deny refuses it in a protected statement.
type Bad struct {
	Span
	What string
	Args []Expr // operands, still analyzed
}

func (e *ColumnRef) exprSpan() Span { return e.Span }
func (e *Param) exprSpan() Span     { return e.Span }
func (e *Literal) exprSpan() Span   { return e.Span }
func (e *Compare) exprSpan() Span   { return e.Span }
func (e *In) exprSpan() Span        { return e.Span }
func (e *Like) exprSpan() Span      { return e.Span }
func (e *IsNull) exprSpan() Span    { return e.Span }
func (e *Bool) exprSpan() Span      { return e.Span }
func (e *Func) exprSpan() Span      { return e.Span }
func (e *Subquery) exprSpan() Span  { return e.Span }
func (e *Op) exprSpan() Span        { return e.Span }
func (e *Inserted) exprSpan() Span  { return e.Span }
func (e *Default) exprSpan() Span   { return e.Span }
func (e *Var) exprSpan() Span       { return e.Span }
func (e *Field) exprSpan() Span     { return e.Span }
func (e *Bad) exprSpan() Span       { return e.Span }

// SpanOf returns where e is in the source.
func SpanOf(e Expr) Span { return e.exprSpan() }

// TableName names a table as written: [schema.]name.
type TableName struct {
	Span
	Schema string
	Name   string
}

// CTE is one common table expression of a WITH clause.
type CTE struct {
	Span
	Name  string
	Query *Query // a SELECT (or VALUES)
	Stmt  *Stmt  // or a data-modifying statement
}

// With is a WITH clause.
type With struct {
	Recursive bool
	CTEs      []*CTE
}

// Item is a select item or a RETURNING item.
type Item struct {
	Span
	Expr  Expr // a *ColumnRef with Star set for * and t.*
	Alias string
}

// Order is an ORDER BY (or GROUP BY) term.
type Order struct {
	Expr Expr
}

// Query is a SELECT, a set operation of two queries, a VALUES list, or
// TABLE t.
type Query struct {
	Span
	With *With
	// SetOp is "union", "intersect" or "except" for a set operation of
	// Left and Right; the rest then applies to the whole.
	SetOp       string
	Left, Right *Query
	Values      [][]Expr // VALUES (…), (…)
	Table       *TableName
	Items       []*Item
	ItemsEnd    int // just after the last select item: where hidden items go
	Distinct    bool
	DistinctOn  []Expr
	From        []*From
	Where       Expr
	GroupBy     []Expr
	Having      Expr
	Windows     []Expr // expressions of WINDOW definitions
	OrderBy     []Expr
	Limit       Expr
	Offset      Expr
	// Into is SELECT … INTO (a table, a file, variables).
	Into bool
}

// FromKind is the kind of a FROM item.
type FromKind int

// FROM item kinds.
const (
	FromTable FromKind = iota
	FromQuery
	FromJoin
	FromFunc
)

// From is a FROM item.
type From struct {
	Span
	Kind          FromKind
	Table         *TableName
	Alias         string
	ColumnAliases bool // alias(a, b, …)
	Query         *Query
	Lateral       bool
	Left          *From
	Right         *From
	On            Expr
	Using         []string
	Natural       bool
	Func          Expr
}

// Ident is a name with its span.
type Ident struct {
	Span
	Name string
}

// Row is one VALUES row of an INSERT: its values and the offset of the
// closing parenthesis.
type Row struct {
	Values []Expr
	Close  int
}

// Assign is col = value in SET or DO UPDATE SET.
type Assign struct {
	Span
	Qual     string // a qualifier of the column, if written (t.col)
	Column   string
	Value    Expr
	ValueEnd int  // just after the value
	Multi    bool // (a, b) = (…)
	Indirect bool // col[1] = …, col.field = …
}

// OnConflict is PostgreSQL's and SQLite's ON CONFLICT.
type OnConflict struct {
	Targets     []string // (a, b) of the conflict target
	Constraint  bool     // ON CONSTRAINT name
	TargetWhere Expr
	Update      bool // DO UPDATE (else DO NOTHING)
	Set         []*Assign
	Where       Expr
	// WhereStart and WhereEnd bound the DO UPDATE's WHERE condition; End
	// is just after the whole DO UPDATE clause.
	WhereStart, WhereEnd, End int
}

// Insert is INSERT (and REPLACE).
type Insert struct {
	With          *With
	Table         *TableName
	Alias         string
	Columns       []*Ident
	ColumnsClose  int // offset of the ")" that closes the column list, -1 without one
	Rows          []*Row
	Query         *Query // INSERT … SELECT
	DefaultValues bool
	Replace       bool      // REPLACE INTO, INSERT OR REPLACE
	Set           []*Assign // MySQL INSERT … SET
	OnConflict    *OnConflict
	OnDuplicate   []*Assign // MySQL ON DUPLICATE KEY UPDATE
	Returning     []*Item
	ReturningEnd  int
}

// Update is UPDATE.
type Update struct {
	With    *With
	Table   *TableName
	Alias   string
	Targets []*From // MySQL multi-table UPDATE: every table updated
	From    []*From // PostgreSQL FROM, MySQL's other tables
	Set     []*Assign
	Where   Expr
	// WhereStart and WhereEnd bound the WHERE condition (after the
	// keyword, to the end of its last token).
	WhereStart, WhereEnd int
	OrderBy              []Expr
	Limit                Expr
	Returning            []*Item
	ReturningEnd         int
}

// Delete is DELETE.
type Delete struct {
	With         *With
	Table        *TableName
	Alias        string
	Tables       []*TableName // MySQL multi-table DELETE: the tables deleted from
	Using        []*From
	Where        Expr
	OrderBy      []Expr
	Limit        Expr
	Returning    []*Item
	ReturningEnd int
}

// DDLOp is a schema statement.
type DDLOp int

// Schema statements.
const (
	DDLOther DDLOp = iota
	DDLCreateTable
	DDLAlterTable
	DDLCreateIndex
	DDLDropIndex
	DDLDropTable
	DDLTruncate
	DDLCreateView
	DDLCreateTableAs
	DDLComment
)

// ActionKind is what one part of a CREATE or ALTER TABLE does.
type ActionKind int

// Table actions.
const (
	ActOther          ActionKind = iota // anything else
	ActColumn                           // a column definition (CREATE TABLE, ADD COLUMN)
	ActDropColumn                       // DROP COLUMN
	ActAlterType                        // ALTER COLUMN … TYPE, MODIFY, CHANGE
	ActSetDefault                       // ALTER COLUMN … SET DEFAULT
	ActDropDefault                      // ALTER COLUMN … DROP DEFAULT, DROP NOT NULL, SET NOT NULL
	ActRename                           // RENAME COLUMN, RENAME TO
	ActIndex                            // an index or a key (ADD INDEX, PRIMARY KEY, UNIQUE)
	ActConstraint                       // CHECK, FOREIGN KEY and other constraints
	ActDropConstraint                   // DROP INDEX, DROP CONSTRAINT, DROP KEY
)

// Action is one part of a CREATE TABLE or ALTER TABLE.
type Action struct {
	Span
	Kind    ActionKind
	Column  string   // the column it concerns, if one
	Columns []string // the columns of an index or constraint
	NewName string   // ActRename, ActAlterType with CHANGE
	// Value says the action gives a value: a DEFAULT, a USING, a
	// generated expression, an ON UPDATE.
	Value bool
	Exprs []Expr // expressions the action holds (defaults, checks, USING)
	What  string // for ActOther: a fixed word naming it
}

// DDL is a schema statement.
type DDL struct {
	Op      DDLOp
	Tables  []*TableName // the tables it acts on
	Actions []*Action
	// From are tables the new table copies its definition from (INHERITS,
	// LIKE, PARTITION OF) or reads (CREATE VIEW, CREATE TABLE AS).
	From  []*TableName
	Query *Query
}
