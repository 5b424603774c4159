// Package sqlplan holds the dialect-neutral plan of one SQL statement that
// the gmfield driver executes: which placeholders carry values for protected
// columns and what to do with them, which result columns come from protected
// columns, and the byte-range edits that turn the application's SQL into the
// SQL sent to the database. Dialect analyzers (pgdialect, mysqldialect)
// produce an Analysis with a real SQL parser; Build splices it.
package sqlplan

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Errors returned by analyzers. Every refusal wraps ErrRefused, so callers
// can test errors.Is(err, ErrRefused) as well as the precise reason.
var (
	// ErrRefused is wrapped by every refusal of a statement.
	ErrRefused = errors.New("gmfield/sqldriver: statement refused")
	// ErrUnparsable: a statement that touches a protected table could not be
	// parsed by the dialect's parser.
	ErrUnparsable = errors.New("gmfield/sqldriver: statement cannot be analyzed")
	// ErrMultiStatement: a string of several statements touches a protected table.
	ErrMultiStatement = errors.New("gmfield/sqldriver: several statements in one string")
	// ErrUnsupportedUse: a protected column is used where its ciphertext
	// cannot give the right answer (ORDER BY, ranges, functions, LIKE, …).
	ErrUnsupportedUse = errors.New("gmfield/sqldriver: unsupported use of a protected column")
	// ErrUnsupportedStatement: a statement form the driver cannot rewrite
	// safely on a protected table (INSERT without a column list, INSERT …
	// SELECT, REPLACE, a write to a blind-index column, …).
	ErrUnsupportedStatement = errors.New("gmfield/sqldriver: unsupported statement on a protected table")
	// ErrRowKeyRequired: the table binds a row key into each value, and the
	// statement does not give it (UPDATE without WHERE row_key = …, INSERT
	// without the row key column).
	ErrRowKeyRequired = errors.New("gmfield/sqldriver: row key required")
	// ErrNoIndex: an equality or suffix search on a protected column that has
	// no blind index of the needed transform.
	ErrNoIndex = errors.New("gmfield/sqldriver: no blind index for this search")
)

// Refusal is the error of a refused statement. It names the table and
// column when there is one, never a value.
type Refusal struct {
	Reason error  // one of the Err* sentinels above
	Table  string // may be empty
	Column string // may be empty
	Detail string // what was found, such as "ORDER BY"
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

// Catalog tells an analyzer which tables and columns are protected. Names
// are looked up case-insensitively.
type Catalog interface {
	// Table returns the protected table named name, or nil.
	Table(name string) *Table
	// Mentions reports whether sql may name a protected table; a statement
	// that does not passes through unparsed.
	Mentions(sql string) bool
}

// Table is a protected table as analyzers see it.
type Table struct {
	Name    string             // lower case
	RowKey  string             // lower-case row-key column, or ""
	Columns map[string]*Column // protected columns by lower-case name
	// IndexColumns holds the lower-case names of the blind-index columns;
	// statements may read and compare them but not write them.
	IndexColumns map[string]*Column
}

// Column is a protected column.
type Column struct {
	Table   string
	Name    string
	Indexes []Index // blind indexes in declaration order
	// Hash is true when some role may get the hash action on this column;
	// reads then also fetch its full blind index.
	Hash bool
}

// Index is one blind index of a column, stored in a sibling column.
type Index struct {
	Column    string // lower-case sibling column
	Transform string // crypto.Transform name
}

// IndexFor returns the column's index of transform t, or nil.
func (c *Column) IndexFor(t string) *Index {
	for i := range c.Indexes {
		if c.Indexes[i].Transform == t {
			return &c.Indexes[i]
		}
	}
	return nil
}

// EqualityIndex returns the index that answers =, <> and IN: the full
// index, or else the column's only lower, upper or digits index (equality
// then holds after that normalization), or nil.
func (c *Column) EqualityIndex() *Index {
	if ix := c.IndexFor("full"); ix != nil {
		return ix
	}
	var found *Index
	for i := range c.Indexes {
		switch c.Indexes[i].Transform {
		case "lower", "upper", "digits":
			if found != nil {
				return nil
			}
			found = &c.Indexes[i]
		}
	}
	return found
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
)

// Op is what the driver does with a value before binding it.
type Op int

// Value operations.
const (
	OpPass      Op = iota // bind as given
	OpSeal                // seal for Table.Column (with RowKey)
	OpIndex               // blind index Transform of Table.Column
	OpLikeLast4           // LIKE '%digits' pattern → last4 index
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
	Transform string // OpIndex
	RowKey    *Value // OpSeal on a table with a row key
	// Search marks an index slot that searches (WHERE, IN, LIKE) rather
	// than writes: the caller must be allowed at least hash on the column.
	Search bool
}

// Piece is part of an edit's replacement: text, or a placeholder.
type Piece struct {
	Text string
	Slot *Slot
}

// Edit replaces Source[Start:End] (Start == End inserts) with Pieces.
type Edit struct {
	Start, End int
	Pieces     []Piece
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
	// ("" if none); it is shown only to callers allowed hash or more.
	IndexOf   string
	RowKey    ColumnRef // where the row key of the item's row is
	FullIndex ColumnRef // where the full blind index is (hash action)
}

// Analysis is what a dialect analyzer finds in one statement.
type Analysis struct {
	Kind      Kind
	Protected bool   // the statement touches a protected table
	Source    string // the text the edit positions refer to
	NumInput  int    // placeholders the caller binds
	Edits     []Edit
	Results   []Result // nil when the statement returns no protected column
	Hidden    int      // columns appended to the select list for the driver
	// Params are the caller's placeholders kept as they are (OpPass),
	// located in Source; every placeholder in Source must be in an Edit
	// or here, so that Build renumbers them all.
	Params []Param
}

// Param is a placeholder of the source text.
type Param struct {
	Start, End int
	Arg        int
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
}

// Placeholder prints the n-th (1-based) placeholder of a dialect.
type Placeholder func(n int) string

// Question is the "?" placeholder style.
func Question(int) string { return "?" }

// Dollar is the "$n" placeholder style.
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// Build splices a's edits into its source and numbers every placeholder.
func Build(a *Analysis, ph Placeholder) (*Plan, error) {
	edits := make([]Edit, 0, len(a.Edits)+len(a.Params))
	edits = append(edits, a.Edits...)
	for _, p := range a.Params {
		edits = append(edits, Edit{Start: p.Start, End: p.End, Pieces: []Piece{{Slot: &Slot{Value: ArgValue(p.Arg), Op: OpPass}}}})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	var b strings.Builder
	b.Grow(len(a.Source) + 64)
	plan := &Plan{Protected: a.Protected, Kind: a.Kind, NumInput: a.NumInput, Results: a.Results, Hidden: a.Hidden}
	pos := 0
	for _, e := range edits {
		if e.Start < pos || e.End < e.Start || e.End > len(a.Source) {
			return nil, fmt.Errorf("%w: overlapping rewrites at byte %d", ErrUnparsable, e.Start)
		}
		b.WriteString(a.Source[pos:e.Start])
		for _, p := range e.Pieces {
			if p.Slot == nil {
				b.WriteString(p.Text)
				continue
			}
			plan.Slots = append(plan.Slots, *p.Slot)
			b.WriteString(ph(len(plan.Slots)))
		}
		pos = e.End
	}
	b.WriteString(a.Source[pos:])
	plan.SQL = b.String()
	return plan, nil
}

// Text is a text piece.
func Text(s string) Piece { return Piece{Text: s} }

// SlotPiece is a placeholder piece.
func SlotPiece(s Slot) Piece { return Piece{Slot: &s} }

// Dialect turns SQL text into a Plan. Implementations are safe for
// concurrent use.
type Dialect interface {
	// Name is the dialect's name: "sqlite", "postgres" or "mysql".
	Name() string
	// Analyze plans sql. A statement that touches no protected table
	// returns a Plan with Protected false and SQL unchanged.
	Analyze(cat Catalog, sql string) (*Plan, error)
}

// PassThrough is the plan of a statement that touches no protected table.
func PassThrough(sql string) *Plan { return &Plan{SQL: sql, NumInput: -1} }

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

// Item is a select (or RETURNING) item as an analyzer found it.
type Item struct {
	Result
	Entry any    // the FROM entry of a column item (comparable), or nil
	Ref   string // how the statement names Entry (alias or table name)
	Table *Table // Entry's protected table, or nil
	Key   bool   // the item is Entry's row key column
	Index string // the item is this blind-index column of Entry
}

// Protected reports whether the item returns protected values.
func (it *Item) Protected() bool { return it.Column != "" || (it.Star && len(it.StarTables) > 0) }

// FinishResults finds each protected item's row key (and, for the hash
// action, full index) among the items, or names a hidden column to append
// to the list ("ref.column"). It returns nil results when no item is
// protected.
func FinishResults(items []Item) ([]Result, []string) {
	protected := false
	for i := range items {
		protected = protected || items[i].Protected() || items[i].IndexOf != ""
	}
	if !protected {
		return nil, nil
	}
	var hidden []string
	find := func(it *Item, key bool, idx string) ColumnRef {
		for j, o := range items {
			if o.Entry == it.Entry && ((key && o.Key) || (idx != "" && o.Index == idx)) {
				return ColumnRef{Hidden: -1, Item: j}
			}
		}
		ref := it.Ref + "."
		if key {
			ref += it.Table.RowKey
		} else {
			ref += idx
		}
		for i, h := range hidden {
			if h == ref {
				return ColumnRef{Hidden: i, Item: -1}
			}
		}
		hidden = append(hidden, ref)
		return ColumnRef{Hidden: len(hidden) - 1, Item: -1}
	}
	out := make([]Result, len(items))
	for i := range items {
		it := &items[i]
		r := it.Result
		if it.Column != "" {
			if it.Table.RowKey != "" {
				r.RowKey = find(it, true, "")
			}
			col := it.Table.Columns[it.Column]
			if ix := col.EqualityIndex(); ix != nil && col.Hash {
				r.FullIndex = find(it, false, ix.Column)
			}
		}
		out[i] = r
	}
	return out, hidden
}

// NewItem returns an item with no references.
func NewItem() Item { return Item{Result: Result{RowKey: NoRef, FullIndex: NoRef}} }

// Finish records the results of items and, when protected values need
// columns the statement does not select, appends them at the position
// insertAt returns (the end of the select or RETURNING list).
func (a *Analysis) Finish(items []Item, insertAt func() (int, bool)) error {
	results, hidden := FinishResults(items)
	a.Results = results
	if len(hidden) == 0 {
		return nil
	}
	pos, ok := insertAt()
	if !ok {
		return Refuse(ErrUnparsable, "", "", "end of the select list")
	}
	a.Edits = append(a.Edits, Edit{Start: pos, End: pos, Pieces: []Piece{Text(", " + strings.Join(hidden, ", ") + " ")}})
	a.Hidden = len(hidden)
	return nil
}

// Assignable checks a write to column name of t (INSERT column list, SET,
// DO UPDATE): blind-index columns are the driver's to write and the row key
// of a table with protected columns cannot change. It returns the protected
// column, or nil for an ordinary one.
func (t *Table) Assignable(name string, insert bool) (*Column, error) {
	if _, ok := t.IndexColumns[name]; ok {
		return nil, Refuse(ErrUnsupportedStatement, t.Name, name, "the driver writes blind-index columns")
	}
	if !insert && name == t.RowKey {
		return nil, Refuse(ErrUnsupportedStatement, t.Name, name, "the row key cannot change")
	}
	return t.Columns[name], nil
}

// SealSlots returns the slot that seals v for col (bound with rowKey) and
// the slots of its blind indexes, in col.Indexes order.
func SealSlots(col *Column, v Value, rowKey *Value) (Slot, []Slot) {
	seal := Slot{Value: v, Op: OpSeal, Table: col.Table, Column: col.Name, RowKey: rowKey}
	idx := make([]Slot, len(col.Indexes))
	for i, ix := range col.Indexes {
		idx[i] = Slot{Value: v, Op: OpIndex, Table: col.Table, Column: col.Name, Transform: ix.Transform}
	}
	return seal, idx
}

// LikeSlot returns the slot that answers "col LIKE v" through col's last4
// index: v must be a bound pattern (checked when bound) or a literal
// '%dddd' with exactly four digits (LastFourPattern). The slot's Value is
// set.
func LikeSlot(col *Column, v Value) (Slot, error) {
	idx := col.IndexFor("last4")
	if idx == nil {
		return Slot{}, Refuse(ErrUnsupportedUse, col.Table, col.Name, "LIKE (only a suffix LIKE '%1234' with a last4 index is supported)")
	}
	if v.Null {
		return Slot{}, Refuse(ErrUnsupportedUse, col.Table, col.Name, "LIKE NULL")
	}
	slot := Slot{Value: v, Op: OpLikeLast4, Table: col.Table, Column: col.Name, Transform: idx.Transform, Search: true}
	if v.Arg < 0 {
		digits, ok := LastFourPattern(v.Literal)
		if !ok || v.Kind != LitString {
			return Slot{}, Refuse(ErrUnsupportedUse, col.Table, col.Name, "LIKE pattern other than '%' and exactly four digits")
		}
		slot.Value, slot.Op = LiteralValue(digits), OpIndex
	}
	return slot, nil
}

// Spot is a placeholder or literal of the source text: its value and span.
type Spot struct {
	Value      Value
	Start, End int
}

// Rewriter collects an analyzer's findings and edits.
type Rewriter struct {
	Out     Analysis
	handled map[int]bool // caller's placeholders (by start) moved into edits
}

// Handled reports whether the placeholder starting at pos was replaced.
func (w *Rewriter) Handled(pos int) bool { return w.handled[pos] }

// Replace turns the spot's text into one placeholder bound by slot.
func (w *Rewriter) Replace(sp Spot, slot Slot) {
	slot.Value = sp.Value
	if sp.Value.Arg >= 0 {
		if w.handled == nil {
			w.handled = map[int]bool{}
		}
		w.handled[sp.Start] = true
	}
	w.Out.Edits = append(w.Out.Edits, Edit{Start: sp.Start, End: sp.End, Pieces: []Piece{SlotPiece(slot)}})
}

// ReplaceText replaces Source[start:end] with text.
func (w *Rewriter) ReplaceText(start, end int, text string) {
	w.Out.Edits = append(w.Out.Edits, Edit{Start: start, End: end, Pieces: []Piece{Text(text)}})
}

// InsertAt inserts pieces at pos.
func (w *Rewriter) InsertAt(pos int, pieces ...Piece) {
	w.Out.Edits = append(w.Out.Edits, Edit{Start: pos, End: pos, Pieces: pieces})
}

// Assign seals the spot's value for col (bound with rowKey) in place and
// returns the slots of col's blind indexes, to be written beside it.
func (w *Rewriter) Assign(col *Column, sp Spot, rowKey *Value) []Slot {
	seal, idx := SealSlots(col, sp.Value, rowKey)
	w.Replace(sp, seal)
	return idx
}
