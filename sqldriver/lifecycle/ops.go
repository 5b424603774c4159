package lifecycle

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/sqldriver"
)

// newChange starts the change of row r: every written column keeps its
// stored value until set.
func newChange(t *table, r *row) *change {
	first := 1
	if t.tenant != "" {
		first = 2
	}
	nv := make([]driver.Value, len(t.read)-first)
	copy(nv, r.vals[first:])
	return &change{r: r, newv: nv}
}

// set gives position at (in table.read) the value v.
func (c *change) set(t *table, at int, v driver.Value) { c.newv[at-(len(t.read)-len(c.newv))] = v }

// get returns the value at position at (in table.read).
func (c *change) get(t *table, at int) driver.Value { return c.newv[at-(len(t.read)-len(c.newv))] }

// Migrate seals every plaintext value of the table's protected columns in
// place and fills their blind indexes. Sealed values and NULLs are left
// alone, so a rerun is a no-op. The protected columns must be wide enough
// for their envelopes and the index columns must exist (see DDL).
func (j *Job) Migrate(ctx context.Context) (Summary, error) {
	return j.run(ctx, "migrate", "", filter{}, func(ctx context.Context, t *table, r *row) (*change, error) {
		var ch *change
		for i := range t.cols {
			c := &t.cols[i]
			st, err := j.codec.Inspect(t.cfg.Name, c.name, r.vals[c.at])
			if err != nil {
				return nil, &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r), Err: err}
			}
			if st.Null || st.Sealed {
				continue
			}
			plain, err := j.codec.Bytes(r.vals[c.at])
			if err != nil {
				return nil, &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r), Err: err}
			}
			if ch == nil {
				ch = newChange(t, r)
			}
			if err := j.sealInto(ctx, t, r, c, ch, plain); err != nil {
				return nil, err
			}
		}
		return ch, nil
	})
}

// sealInto seals plain for column c of r into ch, with its indexes.
func (j *Job) sealInto(ctx context.Context, t *table, r *row, c *column, ch *change, plain []byte) error {
	if err := j.sealOnly(ctx, t, r, c, ch, plain); err != nil {
		return err
	}
	return j.indexInto(ctx, t, r, c, ch, plain)
}

// sealOnly seals plain for column c of r into ch.
func (j *Job) sealOnly(ctx context.Context, t *table, r *row, c *column, ch *change, plain []byte) error {
	sealed, err := j.codec.Seal(ctx, t.place(r, c), plain)
	if err != nil {
		return &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r), Err: err}
	}
	if w, n := t.width[c.name], int64(len(textOf(sealed))); w > 0 && n > w {
		return &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r),
			Err: fmt.Errorf("%w: its envelope has %d bytes, the column holds %d (set max_len and run gmfield ddl)", ErrInvalid, n, w)}
	}
	ch.set(t, c.at, sealed)
	ch.values++
	return nil
}

// indexInto computes c's blind indexes of plain into ch.
func (j *Job) indexInto(ctx context.Context, t *table, r *row, c *column, ch *change, plain []byte) error {
	p := t.place(r, c)
	for k, ix := range c.indexes {
		v, err := j.codec.Index(ctx, p, ix, plain)
		if err != nil {
			return &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r), Err: err}
		}
		ch.set(t, c.at+1+k, v)
	}
	return nil
}

// Selection chooses the values Reencrypt re-seals.
type Selection struct {
	// KeyID re-seals the values sealed under this DEK; empty means every
	// value whose DEK is not the current one of its keyspace.
	KeyID string
	// Reindex recomputes the blind indexes of every sealed value, after
	// the blind-index root was renewed; a value is then rewritten when
	// its indexes differ, even under the current DEK.
	Reindex bool
}

// Reencrypt re-seals, under the current DEK of its keyspace, each value
// that sel chooses (with no KeyID, also every version 1 envelope). Blind indexes stay as they are unless sel.Reindex.
// A value that fails to open stops the job with a *RowError.
func (j *Job) Reencrypt(ctx context.Context, sel Selection) (Summary, error) {
	params := "key=" + sel.KeyID
	if sel.KeyID == "" {
		params = "older-than-current"
	}
	if sel.Reindex {
		params += ",reindex"
	}
	return j.run(ctx, "reencrypt", params, filter{}, func(ctx context.Context, t *table, r *row) (*change, error) {
		var ch *change
		for i := range t.cols {
			c := &t.cols[i]
			st, err := j.codec.Inspect(t.cfg.Name, c.name, r.vals[c.at])
			fail := func(err error) error {
				return &RowError{Table: t.cfg.Name, Column: c.name, RowKey: t.rowKey(r), Err: err}
			}
			if err != nil {
				return nil, fail(err)
			}
			if !st.Sealed {
				continue
			}
			p := t.place(r, c)
			reseal := st.KeyID == sel.KeyID
			if sel.KeyID == "" {
				cur, err := j.currentKeyID(ctx, p)
				if err != nil {
					return nil, fail(err)
				}
				// A version 1 envelope is re-sealed too: writers write
				// version 2 (docs/format.md §4.1).
				reseal = st.KeyID != cur || st.Version != crypto.Version2
			}
			if !reseal && !sel.Reindex {
				continue
			}
			plain, err := j.codec.Open(ctx, p, r.vals[c.at])
			if err != nil {
				return nil, fail(err)
			}
			if reseal {
				if ch == nil {
					ch = newChange(t, r)
				}
				if err := j.sealOnly(ctx, t, r, c, ch, plain); err != nil {
					return nil, err
				}
				if sel.Reindex {
					if err := j.indexInto(ctx, t, r, c, ch, plain); err != nil {
						return nil, err
					}
				}
				continue
			}
			next := newChange(t, r)
			if err := j.indexInto(ctx, t, r, c, next, plain); err != nil {
				return nil, err
			}
			if !differs(t, r, c, next) {
				continue
			}
			if ch == nil {
				ch = newChange(t, r)
			}
			for k := range c.indexes {
				ch.set(t, c.at+1+k, next.get(t, c.at+1+k))
			}
			ch.values++
		}
		return ch, nil
	})
}

// currentKeyID is the current DEK of p's keyspace, asked of the key ring
// once per keyspace and job (each ask counts as a seal), not per value.
func (j *Job) currentKeyID(ctx context.Context, p sqldriver.Place) (string, error) {
	ks, err := j.codec.Keyspace(p)
	if err != nil {
		return "", err
	}
	if id, ok := j.current.Load(ks); ok {
		return id.(string), nil
	}
	id, err := j.codec.CurrentKeyID(ctx, p)
	if err != nil {
		return "", err
	}
	j.current.Store(ks, id)
	return id, nil
}

// differs reports whether next holds other indexes of c than r.
func differs(t *table, r *row, c *column, next *change) bool {
	for k := range c.indexes {
		at := c.at + 1 + k
		if !sameValue(r.vals[at], next.get(t, at)) {
			return true
		}
	}
	return false
}

// ShredTarget is what Shred destroys: one DEK, or every key of a tenant.
type ShredTarget struct {
	KeyID  string
	Tenant string
}

// Shred destroys the target's keys, then sets the protected values they
// sealed, with their blind indexes, to NULL, so that a shredded tenant
// cannot even be found by equality search. For a tenant it clears every
// protected column of the rows whose tenant column names it; for a DEK
// the values sealed under it. Keys are destroyed first: an interrupted
// shred has already made the values unreadable, and a rerun clears the
// rest. A dry run destroys nothing and counts.
func (j *Job) Shred(ctx context.Context, target ShredTarget) (Summary, error) {
	if (target.KeyID == "") == (target.Tenant == "") {
		return Summary{Job: "shred", Table: j.Table}, fmt.Errorf("%w: shred takes a key id or a tenant", ErrInvalid)
	}
	if err := j.CheckShred(ctx, target); err != nil {
		return Summary{Job: "shred", Table: j.Table}, err
	}
	if !j.DryRun {
		if err := j.destroy(ctx, target); err != nil {
			return Summary{Job: "shred", Table: j.Table}, err
		}
	}
	return j.ShredRows(ctx, target)
}

// CheckShred reports whether Shred of target can run on the job's table,
// destroying nothing: the table is ready, it has a tenant column for a
// tenant, and a key id names a data key of one of its protected columns
// (never a blind-index root, nor a key the configuration does not
// declare). Shred checks it before destroying any key; a caller that
// shreds several tables checks each first.
func (j *Job) CheckShred(ctx context.Context, target ShredTarget) error {
	_, t, err := j.prepare(ctx)
	if err != nil {
		return err
	}
	if (target.KeyID == "") == (target.Tenant == "") {
		return fmt.Errorf("%w: shred takes a key id or a tenant", ErrInvalid)
	}
	if target.Tenant != "" {
		if t.tenant == "" {
			return fmt.Errorf("%w: table %s has no tenant_column to find a tenant's rows", ErrInvalid, j.Table)
		}
		return nil
	}
	recs, err := j.Config.Keyring.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.ID != target.KeyID {
			continue
		}
		if !j.codec.Declares(r.Keyspace) {
			return fmt.Errorf("%w: key %s belongs to keyspace %s, which the configuration does not declare", ErrInvalid, r.ID, r.Keyspace)
		}
		return nil
	}
	return fmt.Errorf("%w: %w: %s is not a data key of the key ring", ErrInvalid, keyring.ErrKeyNotFound, target.KeyID)
}

// ShredRows is Shred without destroying keys: it clears the values of
// target (after its keys were destroyed, say, by another table's Shred).
func (j *Job) ShredRows(ctx context.Context, target ShredTarget) (Summary, error) {
	if err := j.CheckShred(ctx, target); err != nil {
		return Summary{Job: "shred", Table: j.Table}, err
	}
	var f filter
	params := "key=" + target.KeyID
	if target.Tenant != "" {
		params = "tenant=" + target.Tenant
		d, _ := dialectNamed(j.Dialect) // CheckShred checked it
		var tenantCol string
		for _, tc := range j.Config.Tables {
			if strings.EqualFold(tc.Name, j.Table) {
				tenantCol = strings.ToLower(tc.TenantColumn)
			}
		}
		f = filter{cond: func(ph string) string { return d.q(tenantCol) + " = " + ph }, arg: target.Tenant}
	}
	return j.run(ctx, "shred", params, f, func(ctx context.Context, t *table, r *row) (*change, error) {
		// The SQL filter may admit more (a case-insensitive collation, a
		// row read again after it moved to another tenant): only the
		// target tenant's rows, byte for byte, are cleared.
		if target.Tenant != "" && textOf(r.vals[1]) != target.Tenant {
			return nil, nil
		}
		var ch *change
		for i := range t.cols {
			c := &t.cols[i]
			if r.vals[c.at] == nil {
				continue
			}
			if target.KeyID != "" {
				st, err := j.codec.Inspect(t.cfg.Name, c.name, r.vals[c.at])
				if err != nil || !st.Sealed || st.KeyID != target.KeyID {
					continue // not this key's (a damaged value is verify's to report)
				}
			}
			if ch == nil {
				ch = newChange(t, r)
			}
			ch.set(t, c.at, nil)
			for k := range c.indexes {
				ch.set(t, c.at+1+k, nil)
			}
			ch.values++
		}
		return ch, nil
	})
}

func (j *Job) destroy(ctx context.Context, target ShredTarget) error {
	kr := j.Config.Keyring
	if target.Tenant != "" {
		_, err := kr.DestroyTenant(ctx, target.Tenant)
		return err
	}
	err := kr.Destroy(ctx, target.KeyID)
	if errors.Is(err, keyring.ErrKeyDestroyed) {
		return nil // an interrupted shred's rerun
	}
	return err
}

// Report is what Verify found: the evaluator's evidence of a table's
// state (its JSON is documented in docs/lifecycle.md).
type Report struct {
	Table   string         `json:"table"`
	Rows    int64          `json:"rows"`    // rows read
	Sample  int            `json:"sample"`  // 0: every row
	Columns []ColumnReport `json:"columns"` // in configuration order
	// Failures are the values that did not open or whose blind index does
	// not match, first MaxFailures of them.
	Failures  []Failure     `json:"failures"`
	Truncated bool          `json:"failures_truncated"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// ColumnReport counts one protected column's values by state.
type ColumnReport struct {
	Column    string `json:"column"`
	Null      int64  `json:"null"`
	Plaintext int64  `json:"plaintext"`
	Sealed    int64  `json:"sealed"` // envelopes, opened or not
	Opened    int64  `json:"opened"`
	Failed    int64  `json:"failed"`
	// IndexMismatch counts opened values whose stored blind index is not
	// the one computed now (stale after a renewed index root).
	IndexMismatch int64 `json:"index_mismatch"`
	// Keys counts the envelopes by the DEK id they name.
	Keys map[string]int64 `json:"keys"`
}

// Failure is one value that failed: where, and why (never the value).
type Failure struct {
	Column string `json:"column"`
	RowKey string `json:"row_key"`
	Reason string `json:"reason"`
}

// MaxFailures bounds Report.Failures.
const MaxFailures = 1000

// OK reports a table fully protected: no value that fails to open, no
// stale blind index and no plaintext left.
func (r *Report) OK() bool {
	for _, c := range r.Columns {
		if c.Failed > 0 || c.IndexMismatch > 0 || c.Plaintext > 0 {
			return false
		}
	}
	return true
}

// Verify opens every stored value of the table (or, with sample > 0,
// about sample rows chosen at random), checks each blind index against
// the opened value and counts values per state and per DEK. It writes
// nothing. Its error is for a job that could not run; failed values are
// in the report (see Report.OK).
func (j *Job) Verify(ctx context.Context, sample int) (*Report, error) {
	var rep *Report
	_, err := traced(ctx, j.Config, "verify", j.Table, func(ctx context.Context) (Summary, error) {
		var err error
		rep, err = j.verify(ctx, sample)
		if rep == nil {
			return Summary{}, err
		}
		return Summary{Job: "verify", Table: rep.Table, Scanned: rep.Rows, Failed: int64(len(rep.Failures))}, err
	})
	return rep, err
}

func (j *Job) verify(ctx context.Context, sample int) (*Report, error) {
	start := time.Now()
	d, t, err := j.prepare(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Table: t.cfg.Name, Sample: sample}
	for _, c := range t.cols {
		rep.Columns = append(rep.Columns, ColumnReport{Column: c.name, Keys: map[string]int64{}})
	}
	total, _, err := j.count(ctx, d, t, nil)
	if err != nil {
		return nil, err
	}
	p := 1.0
	if sample > 0 && int64(sample) < total {
		p = float64(sample) / float64(total)
	}
	if j.Progress != nil {
		j.Progress.Start(total, 0)
		defer j.Progress.Finish()
	}
	var mu sync.Mutex
	check := func(ctx context.Context, t *table, r *row) (*change, error) {
		local := make([]ColumnReport, len(t.cols))
		var fails []Failure
		for i := range t.cols {
			c := &t.cols[i]
			cr := &local[i]
			st, err := j.codec.Inspect(t.cfg.Name, c.name, r.vals[c.at])
			switch {
			case err != nil:
				cr.Sealed++
				cr.Failed++
				fails = append(fails, Failure{Column: c.name, RowKey: t.rowKey(r), Reason: reason(err)})
				continue
			case st.Null:
				cr.Null++
				continue
			case !st.Sealed:
				cr.Plaintext++
				continue
			}
			cr.Sealed++
			if cr.Keys == nil {
				cr.Keys = map[string]int64{}
			}
			cr.Keys[st.KeyID]++
			plain, err := j.codec.Open(ctx, t.place(r, c), r.vals[c.at])
			if err != nil {
				cr.Failed++
				fails = append(fails, Failure{Column: c.name, RowKey: t.rowKey(r), Reason: reason(err)})
				continue
			}
			cr.Opened++
			next := newChange(t, r)
			if err := j.indexInto(ctx, t, r, c, next, plain); err != nil || differs(t, r, c, next) {
				cr.IndexMismatch++
				fails = append(fails, Failure{Column: c.name, RowKey: t.rowKey(r), Reason: "blind index does not match the value"})
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range local {
			merge(&rep.Columns[i], &local[i])
		}
		for _, f := range fails {
			if len(rep.Failures) < MaxFailures {
				rep.Failures = append(rep.Failures, f)
			} else {
				rep.Truncated = true
			}
		}
		return nil, nil
	}
	err = j.scan(ctx, d, t, func(rows []*row) error {
		if j.Progress != nil {
			j.Progress.Add(int64(len(rows)))
		}
		picked := rows
		if p < 1 {
			picked = nil
			for _, r := range rows {
				if rand.Float64() < p {
					picked = append(picked, r)
				}
			}
		}
		rep.Rows += int64(len(picked))
		_, err := j.decideAll(ctx, t, picked, check)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rep.Failures, func(a, b int) bool { return rep.Failures[a].RowKey < rep.Failures[b].RowKey })
	rep.Elapsed = time.Since(start)
	j.log().Info("gmfield: verify done", "table", t.cfg.Name, "rows", rep.Rows, "ok", rep.OK(), "failures", len(rep.Failures), "elapsed", rep.Elapsed.Round(time.Millisecond))
	return rep, nil
}

func merge(dst, src *ColumnReport) {
	dst.Null += src.Null
	dst.Plaintext += src.Plaintext
	dst.Sealed += src.Sealed
	dst.Opened += src.Opened
	dst.Failed += src.Failed
	dst.IndexMismatch += src.IndexMismatch
	for k, n := range src.Keys {
		dst.Keys[k] += n
	}
}

// reason names why a value failed, from its error's sentinel.
func reason(err error) string {
	switch {
	case errors.Is(err, keyring.ErrKeyDestroyed):
		return "key destroyed"
	case errors.Is(err, crypto.ErrKeyNotFound):
		return "key not found"
	case errors.Is(err, crypto.ErrKeyMismatch):
		return "key of another keyspace"
	case errors.Is(err, crypto.ErrAuthentication):
		return "authentication failed (altered, or moved from another row or column)"
	case errors.Is(err, crypto.ErrMalformed):
		return "malformed envelope"
	case errors.Is(err, sqldriver.ErrBadValue):
		return "bad row key"
	}
	return "does not open"
}

// KeyUsage counts, per DEK id, the values of the table sealed under it,
// without opening any: what `gmfield keys destroy` warns with.
func (j *Job) KeyUsage(ctx context.Context) (map[string]int64, error) {
	d, t, err := j.prepare(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	err = j.scan(ctx, d, t, func(rows []*row) error {
		for _, r := range rows {
			for _, c := range t.cols {
				if st, err := j.codec.Inspect(t.cfg.Name, c.name, r.vals[c.at]); err == nil && st.Sealed {
					out[st.KeyID]++
				}
			}
		}
		return nil
	})
	return out, err
}

// scan calls fn with each batch of the table's rows, in key order: the
// loop of the jobs that only read.
func (j *Job) scan(ctx context.Context, d *dialect, t *table, fn func([]*row) error) error {
	var last driver.Value
	for {
		rows, err := j.read(ctx, d, t, last, filter{})
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
		if last, err = t.keyType.Value(t.rowKey(rows[len(rows)-1])); err != nil {
			return fmt.Errorf("%w: row key of %s: %v", ErrInvalid, t.cfg.Name, err)
		}
		if len(rows) < j.batch() {
			return nil
		}
	}
}
