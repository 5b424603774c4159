package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// piece is part of an edit's replacement: text, or a placeholder.
type piece struct {
	text string
	slot *sqlplan.Slot
}

// edit replaces source[start:end] (start == end inserts) with pieces.
type edit struct {
	start, end int
	pieces     []piece
}

// rewriter collects the byte-range edits of a statement.
type rewriter struct {
	edits   []edit
	handled map[int]bool // caller's placeholders (by start) moved into edits
}

// replace turns span into one placeholder bound by slot.
func (w *rewriter) replace(sp sqlir.Span, slot sqlplan.Slot, param bool) {
	if param {
		if w.handled == nil {
			w.handled = map[int]bool{}
		}
		w.handled[sp.Start] = true
	}
	w.edits = append(w.edits, edit{start: sp.Start, end: sp.End, pieces: []piece{{slot: &slot}}})
}

func (w *rewriter) replaceText(sp sqlir.Span, text string) {
	w.edits = append(w.edits, edit{start: sp.Start, end: sp.End, pieces: []piece{{text: text}}})
}

func (w *rewriter) insert(pos int, pieces ...piece) {
	w.edits = append(w.edits, edit{start: pos, end: pos, pieces: pieces})
}

func text(s string) piece                { return piece{text: s} }
func slotPiece(s sqlplan.Slot) piece     { return piece{slot: &s} }
func (w *rewriter) handledAt(p int) bool { return w.handled[p] }

// build splices the edits into src, numbering every placeholder: those
// of the edits and the caller's placeholders left as they are.
func (w *rewriter) build(src string, params []sqlir.Param, ph sqlplan.Placeholder, p *sqlplan.Plan) error {
	edits := make([]edit, 0, len(w.edits)+len(params))
	edits = append(edits, w.edits...)
	for _, pa := range params {
		if !w.handledAt(pa.Start) {
			edits = append(edits, edit{start: pa.Start, end: pa.End, pieces: []piece{{slot: &sqlplan.Slot{Value: sqlplan.ArgValue(pa.Arg), Op: sqlplan.OpPass}}}})
		}
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b strings.Builder
	b.Grow(len(src) + 64)
	pos := 0
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > len(src) {
			return fmt.Errorf("%w: overlapping rewrites at byte %d", sqlplan.ErrUnparsable, e.start)
		}
		b.WriteString(src[pos:e.start])
		for _, pc := range e.pieces {
			if pc.slot == nil {
				b.WriteString(pc.text)
				continue
			}
			p.Slots = append(p.Slots, *pc.slot)
			b.WriteString(ph(len(p.Slots)))
		}
		pos = e.end
	}
	b.WriteString(src[pos:])
	p.SQL = b.String()
	return nil
}

// item is a select (or RETURNING) item as the rules found it.
type item struct {
	sqlplan.Result
	entry *entry // the FROM entry of a column item, or nil
	key   bool   // the item is entry's row key
	index string // the item is this blind-index column of entry
	name  string // the item's output name (alias, or column name)
}

func newItem() item {
	return item{Result: sqlplan.Result{RowKey: sqlplan.NoRef, FullIndex: sqlplan.NoRef}}
}

func (it *item) protected() bool {
	return it.Column != "" || (it.Star && len(it.StarTables) > 0)
}

// finishResults finds each protected item's row key (and, for the hash
// action, full index) among the items, or names a hidden column to append
// ("ref.column"). It returns nil results when no item is protected.
func finishResults(items []item) ([]sqlplan.Result, []string) {
	protected := false
	for i := range items {
		protected = protected || items[i].protected() || items[i].IndexOf != ""
	}
	if !protected {
		return nil, nil
	}
	var hidden []string
	find := func(it *item, key bool, idx string) sqlplan.ColumnRef {
		for j, o := range items {
			if o.entry == it.entry && ((key && o.key) || (idx != "" && o.index == idx)) {
				return sqlplan.ColumnRef{Hidden: -1, Item: j}
			}
		}
		ref := it.entry.ref + "."
		if key {
			ref += it.entry.table.RowKey
		} else {
			ref += idx
		}
		for i, h := range hidden {
			if h == ref {
				return sqlplan.ColumnRef{Hidden: i, Item: -1}
			}
		}
		hidden = append(hidden, ref)
		return sqlplan.ColumnRef{Hidden: len(hidden) - 1, Item: -1}
	}
	out := make([]sqlplan.Result, len(items))
	for i := range items {
		it := &items[i]
		r := it.Result
		if it.Column != "" {
			if it.entry.table.RowKey != "" {
				r.RowKey = find(it, true, "")
			}
			col := it.entry.table.Columns[it.Column]
			if ix := col.EqualityIndex(); ix != nil && col.Hash {
				r.FullIndex = find(it, false, ix.Column)
			}
		}
		out[i] = r
	}
	return out, hidden
}
