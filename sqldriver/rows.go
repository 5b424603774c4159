package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// outCol is what rows does with one visible result column.
type outCol struct {
	pc        *protCol // nil: passed through
	isIndex   bool     // the column is pc's blind index, not its value
	action    masking.Action
	rowKey    int             // inner column index of the row key, or -1
	index     int             // inner column index of the full index, or -1
	loc       crypto.Location // where pc's values live (plain, mask)
	pseudonym *crypto.Index   // the hash action's key
	// hide leaves the column out of the caller's result: a blind index
	// that came in through "*" (Config.ShowIndexesInStar unset).
	hide bool
}

// rows wraps the inner rows of a statement that returns protected columns.
type rows struct {
	inner driver.Rows
	s     *schema
	ctx   context.Context
	pr    masking.Principal
	cols  []string
	out   []outCol
	// visible maps each column the caller sees to its column in the
	// inner result; nil when they are the same.
	visible []int
	buf     []driver.Value
	scratch []byte
	masked  []byte // the last masked value
	keys    crypto.KeySource
	// rkAt and rk memoize the current row's row key text (its column).
	rkAt int
	rk   string
	// For the audit event: the plan, rows returned, values opened, and
	// whether the event was written.
	// (atomic: a result the application never closed is recorded by the
	// goroutine that closes the database).
	plan         *sqlplan.Plan
	count, shown atomic.Int64
	// counts holds, for each column i, the values handled under its
	// action (2i) and those the hash action showed as NULL for want of an
	// equality index (2i+1), for the gmfield.values metric, added when
	// the result ends.
	counts   []atomic.Int64
	recorded atomic.Bool
	// cut: the database was closed and recorded this result: the rows
	// left are not shown.
	cut  atomic.Bool
	open *openSet // where the result waits to be recorded
	// use meters the result for the guard (nil: no guard).
	use *guard.Use

	// Read-ahead (see fill): the rows read from inner and not yet
	// returned (pos is the next), how many the next fill reads, and what
	// ended the reading.
	*readAhead
	pos     int
	size    int
	pending error // io.EOF, the database's error, or the guard's
	fromDB  bool  // pending came from the database
	// row is the row being returned, cur its index in ahead.
	row []driver.Value
	cur int
}

// readAhead holds the buffers of a result's read-ahead, pooled between
// results: its rows' values (driver-owned bytes copied into arena), the
// batch's items and their plaintexts.
type readAhead struct {
	ahead  [][]driver.Value
	slab   []driver.Value
	arena  []byte
	opener crypto.Opener
	items  []crypto.Item
	opened []byte  // the plaintexts of items
	pre    []int32 // per row of ahead and column: its item, or -1
	// text holds, in one string made once per batch, the plaintexts of
	// the batch that are returned as they are (plain action, text form):
	// one allocation for up to maxAhead rows of values instead of one per
	// value. textAt is each item's offset in it, or -1. Masked values are
	// not in it: a value the caller keeps keeps the string.
	text    string
	textAt  []int32
	textBuf []byte
}

var readAheads = sync.Pool{New: func() any { return new(readAhead) }}

// release returns the read-ahead buffers to the pool, cleared of values,
// once no row of them will be returned.
func (r *rows) release() {
	ra := r.readAhead
	if ra == nil {
		return
	}
	r.readAhead, r.row = nil, nil
	// Up to their capacity: an earlier, larger batch of this result left
	// values past the last one's length.
	clear(ra.slab[:cap(ra.slab)])
	clear(ra.arena[:cap(ra.arena)])
	clear(ra.opened[:cap(ra.opened)])
	clear(ra.items[:cap(ra.items)])
	clear(ra.textBuf[:cap(ra.textBuf)])
	ra.ahead, ra.items, ra.text = ra.ahead[:0], ra.items[:0], ""
	if cap(ra.arena) > 1<<20 || cap(ra.opened) > 1<<20 || cap(ra.textBuf) > 1<<20 {
		return // a result of large values: let it go
	}
	readAheads.Put(ra)
}

// maxAhead bounds the rows read ahead; the first fill reads one row (a
// QueryRow reads no more), the next ones 8, then maxAhead.
const maxAhead = 64

func (s *schema) wrapRows(ctx context.Context, open *openSet, pr masking.Principal, p *sqlplan.Plan, use *guard.Use, inner driver.Rows) (driver.Rows, error) {
	all := inner.Columns()
	visible := len(all) - p.Hidden
	if visible < 0 {
		_ = inner.Close()
		return nil, fmt.Errorf("%w: result has fewer columns than planned", ErrUnparsable)
	}
	out, err := s.layout(p, all, visible)
	if err != nil {
		_ = inner.Close()
		return nil, err
	}
	for i := range out {
		oc := &out[i]
		if oc.pc == nil {
			continue
		}
		oc.action = s.policy.Decide(pr, oc.pc.table, oc.pc.column)
		if oc.action == masking.ActionDeny {
			s.tel.value(ctx, oc.pc, valueDenied, 1)
			_ = inner.Close()
			return nil, fmt.Errorf("%w: %s.%s", masking.ErrDenied, oc.pc.table, oc.pc.column)
		}
		if oc.isIndex {
			continue
		}
		switch oc.action {
		case masking.ActionPlain, masking.ActionMask:
			oc.loc, err = s.place(ctx, oc.pc)
		case masking.ActionHash:
			var d *derived
			if d, err = s.indexes(ctx, oc.pc, true); d != nil {
				oc.pseudonym = d.pseudonym
			}
		}
		if err != nil {
			_ = inner.Close()
			return nil, err
		}
	}
	r := &rows{inner: inner, s: s, ctx: ctx, pr: pr, cols: all[:visible], out: out, buf: make([]driver.Value, len(all)),
		keys: &keySource{ctx: ctx, s: s}, plan: p, use: use, counts: make([]atomic.Int64, 2*len(out))}
	if slices.ContainsFunc(out, func(oc outCol) bool { return oc.hide }) {
		r.visible, r.cols = make([]int, 0, visible), make([]string, 0, visible)
		for i := range out {
			if !out[i].hide {
				r.visible, r.cols = append(r.visible, i), append(r.cols, all[i])
			}
		}
	}
	if s.sink != nil {
		r.open = open
		open.add(r)
	}
	return r, nil
}

// layout maps each visible column to its protected column, expanding a
// "*" item by the names the database returned.
func (s *schema) layout(p *sqlplan.Plan, names []string, visible int) ([]outCol, error) {
	items := p.Results
	width := make([]int, len(items))
	stars := 0
	for i, r := range items {
		width[i] = 1
		if r.Star {
			stars++
		}
	}
	if stars > 1 { // the widths of several * items cannot be told apart
		return nil, sqlplan.Refuse(sqlplan.ErrUnsupportedUse, "", "", "several * items beside a protected column; name the columns")
	}
	if stars > 0 {
		for i, r := range items {
			if r.Star {
				width[i] = visible - (len(items) - 1)
				break
			}
		}
	}
	start := make([]int, len(items))
	n := 0
	for i := range items {
		start[i] = n
		n += width[i]
	}
	if n != visible {
		return nil, fmt.Errorf("%w: result has %d columns, planned %d", ErrUnparsable, visible, n)
	}
	abs := func(ref sqlplan.ColumnRef) int {
		switch {
		case ref.Hidden >= 0:
			return visible + ref.Hidden
		case ref.Item >= 0:
			return start[ref.Item]
		}
		return -1
	}
	out := make([]outCol, visible)
	for i := range out {
		out[i] = outCol{rowKey: -1, index: -1}
	}
	for i, r := range items {
		if !r.Star {
			switch {
			case r.Column != "":
				out[start[i]] = outCol{pc: s.col(r.Table, r.Column), rowKey: abs(r.RowKey), index: abs(r.FullIndex)}
			case r.IndexOf != "":
				out[start[i]] = outCol{pc: s.col(r.Table, r.IndexOf), isIndex: true, rowKey: -1, index: -1}
			}
			continue
		}
		if len(r.StarTables) == 0 {
			continue
		}
		lower := make([]string, width[i])
		for j := range lower {
			lower[j] = strings.ToLower(names[start[i]+j])
		}
		byName := func(name string) (int, error) {
			at := -1
			for j, l := range lower {
				if l == name {
					if at >= 0 {
						return -1, sqlplan.Refuse(sqlplan.ErrUnsupportedUse, "", name, "ambiguous column in *; name the columns")
					}
					at = start[i] + j
				}
			}
			return at, nil
		}
		for j, l := range lower {
			var pc *protCol
			isIndex := false
			for _, t := range r.StarTables {
				c := s.col(t, l)
				idx := false
				if ic := s.cat.Table(t).IndexColumns[l]; c == nil && ic != nil {
					c, idx = s.col(t, ic.Name), true
				}
				if c != nil {
					if pc != nil {
						return nil, sqlplan.Refuse(sqlplan.ErrUnsupportedUse, t, l, "ambiguous column in *; name the columns")
					}
					pc, isIndex = c, idx
				}
			}
			if pc == nil {
				continue
			}
			if isIndex {
				out[start[i]+j] = outCol{pc: pc, isIndex: true, rowKey: -1, index: -1, hide: !s.showIndexes}
				continue
			}
			oc := outCol{pc: pc, rowKey: -1, index: -1}
			t := s.cat.Table(pc.table)
			if t.RowKey != "" {
				k, err := byName(t.RowKey)
				if err != nil {
					return nil, err
				}
				if k < 0 {
					return nil, sqlplan.Refuse(sqlplan.ErrRowKeyRequired, pc.table, t.RowKey, "row key not in the result")
				}
				oc.rowKey = k
			}
			if ix := t.Columns[pc.column].EqualityIndex(); ix != nil {
				if k, err := byName(ix.Column); err == nil {
					oc.index = k
				}
			}
			out[start[i]+j] = oc
		}
	}
	return out, nil
}

// Columns implements driver.Rows; hidden columns are left out.
func (r *rows) Columns() []string { return r.cols }

// at returns the inner result's column of the caller's column k.
func (r *rows) at(k int) int {
	if r.visible == nil {
		return k
	}
	return r.visible[k]
}

// Close implements driver.Rows. A result closed before its end is
// recorded with the rows read so far.
func (r *rows) Close() error {
	err := r.finish(nil, false)
	r.release()
	clear(r.scratch[:cap(r.scratch)]) // the last value opened alone
	return errors.Join(r.inner.Close(), err)
}

// finish records the statement's event once, when its result ends (err
// nil: at its end or closed early), and returns err or the sink's failure.
func (r *rows) finish(err error, fromDB bool) error {
	if !r.recorded.CompareAndSwap(false, true) {
		return err
	}
	for i := range r.out {
		if oc := &r.out[i]; oc.pc != nil && !oc.isIndex {
			r.s.tel.value(r.ctx, oc.pc, readAction(oc.action), r.counts[2*i].Load())
			r.s.tel.value(r.ctx, oc.pc, valueNulled, r.counts[2*i+1].Load())
		}
	}
	if r.open != nil {
		r.open.remove(r)
	}
	return r.s.record(r.ctx, r.plan, r.use, r.count.Load(), r.shown.Load(), err, fromDB)
}

// finishFromClose records a result the application never closed; its
// remaining rows are refused.
func (r *rows) finishFromClose() error {
	r.cut.Store(true)
	return r.finish(nil, false)
}

// Next implements driver.Rows: it decrypts, masks or nulls each protected
// column as the caller's policy says. Values of other columns pass through.
// At the end of the result it records the statement's event; under a
// synchronous audit log, an event that cannot be written is Next's error
// instead of io.EOF.
func (r *rows) Next(dest []driver.Value) error {
	if r.cut.Load() {
		return fmt.Errorf("%w: the database was closed and this result recorded", ErrAudit)
	}
	if r.readAhead == nil || r.pos == len(r.ahead) {
		if r.pending == nil {
			r.fill()
		}
		if r.readAhead == nil || r.pos == len(r.ahead) {
			r.release()
			err := r.pending
			if err == io.EOF {
				if ferr := r.finish(nil, false); ferr != nil {
					return ferr
				}
				return io.EOF
			}
			return r.finish(err, r.fromDB)
		}
	}
	r.cur, r.row = r.pos, r.ahead[r.pos]
	r.pos++
	r.rkAt = -1
	for k := range dest {
		i := r.at(k)
		oc := &r.out[i]
		if oc.pc == nil {
			dest[k] = r.row[i]
			continue
		}
		v, err := r.value(i, oc, r.row[i])
		if err != nil {
			return r.finish(err, false)
		}
		dest[k] = v
	}
	r.count.Add(1)
	return nil
}

// meter asks the guard, before the row is decrypted, whether its
// protected values fit the budgets: those that would be opened (plain
// or mask, not NULL).
func (r *rows) meter() error {
	var need int64
	column := ""
	for i := range r.out {
		oc := &r.out[i]
		if oc.pc == nil || oc.isIndex || !oc.action.NeedsPlaintext() || r.row[i] == nil {
			continue
		}
		if need == 0 {
			column = oc.pc.name
		}
		need++
	}
	return r.use.Row(need, column)
}

// value computes the caller's value of the stored value of column i (oc
// is &r.out[i]).
func (r *rows) value(i int, oc *outCol, stored driver.Value) (driver.Value, error) {
	pc := oc.pc
	if oc.isIndex {
		// A blind index is shown to callers allowed hash or more.
		if oc.action >= masking.ActionHash {
			return stored, nil
		}
		return nil, nil
	}
	switch oc.action {
	case masking.ActionNull:
		if stored != nil {
			r.counts[2*i].Add(1)
		}
		return nil, nil
	case masking.ActionHash:
		if stored == nil {
			return nil, nil
		}
		if oc.index < 0 || oc.pseudonym == nil {
			r.counts[2*i+1].Add(1)
			return nil, nil // no full index to pseudonymize: fail closed to NULL
		}
		var ix []byte
		switch x := r.row[oc.index].(type) {
		case string:
			ix = []byte(x)
		case []byte:
			ix = x
		default:
			r.counts[2*i+1].Add(1)
			return nil, nil
		}
		out, err := oc.pseudonym.SumHex(nil, ix)
		if err != nil {
			r.counts[2*i+1].Add(1)
			return nil, nil
		}
		r.counts[2*i].Add(1)
		return string(out), nil
	case masking.ActionPlain, masking.ActionMask:
	default:
		return nil, fmt.Errorf("%w: %s.%s", masking.ErrDenied, pc.table, pc.column)
	}
	if stored == nil {
		return nil, nil
	}
	// A value opened with its batch is taken as it is; the others (plain
	// text not yet migrated, a value fill did not batch) open here.
	j := r.pre[r.cur*len(r.out)+i]
	var plain []byte
	var err error
	if j >= 0 {
		plain, err = r.items[j].Plain, r.items[j].Err
	} else if plain, err = r.openOne(oc, stored); err == nil {
		r.scratch = plain
	}
	if err != nil {
		return r.openFailed(pc, err)
	}
	r.shown.Add(1)
	r.counts[2*i].Add(1)
	if oc.action == masking.ActionMask {
		if pc.rule.Null() {
			return nil, nil
		}
		// Masked from the decrypted bytes: the plaintext gets no string
		// of its own.
		r.masked = pc.rule.AppendBytes(r.masked[:0], plain)
		return string(r.masked), nil
	}
	if pc.form == FormBinary {
		out := make([]byte, len(plain))
		copy(out, plain)
		return out, nil
	}
	if j >= 0 && r.textAt[j] >= 0 {
		return r.text[r.textAt[j] : int(r.textAt[j])+len(plain)], nil
	}
	return string(plain), nil
}

// openOne opens the stored value of oc in the current row into r.scratch
// (or copies it, plaintext not yet migrated).
func (r *rows) openOne(oc *outCol, stored driver.Value) ([]byte, error) {
	pc := oc.pc
	loc := oc.loc
	if oc.rowKey >= 0 {
		if r.rkAt != oc.rowKey {
			rk, err := pc.keyType.canonical(r.row[oc.rowKey], false)
			if err != nil {
				return nil, err
			}
			r.rkAt, r.rk = oc.rowKey, rk
		}
		loc.RowKey = r.rk
	}
	b, ok := storedBytes(stored)
	if !ok {
		if !pc.migrating {
			return nil, fmt.Errorf("%w: stored value of type %T", crypto.ErrMalformed, stored)
		}
		var err error
		if b, _, err = valueBytes(stored); err != nil { // a number not yet migrated
			return nil, err
		}
	}
	if pc.migrating && !pc.sealed(b) {
		return append(r.scratch[:0], b...), nil // plaintext not yet migrated
	}
	return pc.open(r.scratch[:0], r.keys, loc, b)
}

// storedBytes returns a stored []byte or string value as bytes, read only
// (Open and OpenText do not write to their input).
func storedBytes(v driver.Value) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case string:
		return unsafe.Slice(unsafe.StringData(x), len(x)), true
	}
	return nil, false
}

func (r *rows) openFailed(pc *protCol, err error) (driver.Value, error) {
	r.s.openFailure(r.ctx, pc, err)
	if pc.onError == ErrorNull {
		return nil, nil
	}
	return nil, openError(pc, err)
}

// openError wraps err, the failure to open a value of pc, in ErrOpen and
// names the column, unless err already begins with it (crypto's errors
// name the table and column they were opening at).
func openError(pc *protCol, err error) error {
	where := pc.table + "." + pc.column
	if strings.HasPrefix(err.Error(), where+": ") {
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrOpen, where, err)
}

// keySource finds DEKs by id with the query's context, remembering the
// few it used for the rest of the result set (a column's values usually
// share one DEK).
type keySource struct {
	ctx  context.Context
	s    *schema
	used []*crypto.Key
}

func (k *keySource) Key(id string) (*crypto.Key, error) {
	for _, key := range k.used {
		if key.ID() == id {
			return key, nil
		}
	}
	key, err := k.s.kr.KeyContext(k.ctx, id)
	if err == nil && len(k.used) < 8 {
		k.used = append(k.used, key)
	}
	return key, err
}

// HasNextResultSet implements driver.RowsNextResultSet.
func (r *rows) HasNextResultSet() bool {
	if n, ok := r.inner.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

// NextResultSet implements driver.RowsNextResultSet. Protected statements
// are single statements: a further result set is refused.
func (r *rows) NextResultSet() error {
	if n, ok := r.inner.(driver.RowsNextResultSet); ok && n.HasNextResultSet() {
		return fmt.Errorf("%w: several result sets", ErrMultiStatement)
	}
	return io.EOF
}

var (
	typeString = reflect.TypeFor[string]()
	typeBytes  = reflect.TypeFor[[]byte]()
	typeAny    = reflect.TypeFor[any]()
)

// ColumnTypeScanType implements driver.RowsColumnTypeScanType: string (or
// []byte for binary columns) for protected columns.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	i = r.at(i)
	if pc := r.out[i].pc; pc != nil && !r.out[i].isIndex {
		if pc.form == FormBinary && r.out[i].action == masking.ActionPlain {
			return typeBytes
		}
		return typeString
	}
	if t, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return typeAny
}

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	i = r.at(i)
	if t, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// ColumnTypeLength implements driver.RowsColumnTypeLength; a protected
// column's stored length is not its value's, so it reports none.
func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	i = r.at(i)
	if r.out[i].pc != nil && !r.out[i].isIndex {
		return 0, false
	}
	if t, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

// ColumnTypeNullable implements driver.RowsColumnTypeNullable; a protected
// column may read as NULL under the null action or on_error: null.
func (r *rows) ColumnTypeNullable(i int) (bool, bool) {
	i = r.at(i)
	if r.out[i].pc != nil {
		return true, true
	}
	if t, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

// ColumnTypePrecisionScale implements driver.RowsColumnTypePrecisionScale.
func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	i = r.at(i)
	if t, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok && r.out[i].pc == nil {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// fill reads the next rows ahead — one, then 8, then up to maxAhead —
// and opens all their values that the caller's actions decrypt as one
// batch (crypto.Opener: one multi-block SM4 pass per key). Bytes the
// inner driver may reuse are copied. Each row is metered by the guard
// before it joins the batch, so a row over a budget is neither read
// further nor decrypted: the rows before it are returned, then the
// guard's error. What ends the reading (the end, a database error, the
// guard's refusal) waits in pending until the rows before it are
// returned.
func (r *rows) fill() {
	if r.readAhead == nil {
		r.readAhead = readAheads.Get().(*readAhead)
	}
	if r.size == 0 {
		r.size = 1
	}
	width := len(r.buf)
	r.ahead, r.pos, r.arena = r.ahead[:0], 0, r.arena[:0]
	if cap(r.slab) < r.size*width {
		r.slab = make([]driver.Value, r.size*width)
	}
	for len(r.ahead) < r.size {
		if err := r.inner.Next(r.buf); err != nil {
			r.pending, r.fromDB = err, err != io.EOF
			break
		}
		n := len(r.ahead)
		row := r.slab[n*width : (n+1)*width : (n+1)*width]
		for i, v := range r.buf {
			if b, ok := v.([]byte); ok {
				start := len(r.arena)
				r.arena = append(r.arena, b...)
				v = r.arena[start:len(r.arena):len(r.arena)]
			}
			row[i] = v
		}
		if r.use != nil {
			r.row = row
			if err := r.meter(); err != nil {
				r.pending, r.fromDB = err, false
				break
			}
		}
		r.ahead = append(r.ahead, row)
	}
	r.size = min(r.size*8, maxAhead)
	r.batch()
}

// batch opens, as one crypto.Opener batch, every value of the rows ahead
// that value would open: a plain or mask action, a stored envelope, and
// its row key readable (value reports a row key that is not).
func (r *rows) batch() {
	cols := len(r.out)
	need := len(r.ahead) * cols
	if cap(r.pre) < need {
		r.pre = make([]int32, need)
	}
	r.pre = r.pre[:need]
	r.items, r.textAt = r.items[:0], r.textAt[:0]
	for n, row := range r.ahead {
		rkAt, rk, rkOK := -1, "", false // the row's canonical key, by column
		for i := range r.out {
			r.pre[n*cols+i] = -1
			oc := &r.out[i]
			pc := oc.pc
			if pc == nil || oc.isIndex || !oc.action.NeedsPlaintext() {
				continue
			}
			b, ok := storedBytes(row[i])
			if !ok || (pc.migrating && !pc.sealed(b)) {
				continue
			}
			loc := oc.loc
			if oc.rowKey >= 0 {
				if rkAt != oc.rowKey {
					var err error
					rk, err = pc.keyType.canonical(row[oc.rowKey], false)
					rkAt, rkOK = oc.rowKey, err == nil
				}
				if !rkOK {
					continue // value reports it
				}
				loc.RowKey = rk
			}
			// textAt: 0 marks a value returned as it is, as text.
			mark := int32(-1)
			if oc.action == masking.ActionPlain && pc.form != FormBinary {
				mark = 0
			}
			r.pre[n*cols+i] = int32(len(r.items))
			r.items = append(r.items, crypto.Item{Loc: loc, Stored: b, Text: pc.form != FormBinary})
			r.textAt = append(r.textAt, mark)
		}
	}
	r.text, r.textBuf = "", r.textBuf[:0]
	if len(r.items) == 0 {
		return
	}
	// The last batch's plaintexts are not needed any more (what was
	// returned of them was copied); cleared before the buffer may grow.
	clear(r.opened[:cap(r.opened)])
	r.opened = r.opener.Open(r.opened[:0], r.keys, r.items)
	for j := range r.items {
		if it := &r.items[j]; r.textAt[j] == 0 && it.Err == nil && len(it.Plain) > 0 {
			r.textAt[j] = int32(len(r.textBuf))
			r.textBuf = append(r.textBuf, it.Plain...)
		} else {
			r.textAt[j] = -1
		}
	}
	if len(r.textBuf) > 0 {
		r.text = string(r.textBuf)
		clear(r.textBuf)
	}
}
