package lifecycle

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/sqldriver"
)

// Errors of the jobs. Test for them with errors.Is.
var (
	// ErrInvalid reports options or a configuration the job cannot run
	// with (no row key or primary key, an unknown table, a bad dialect).
	ErrInvalid = errors.New("gmfield/lifecycle: invalid job")
	// ErrBusy reports that another run of the same job moved its
	// checkpoint: two runs of one job never write the same table.
	ErrBusy = errors.New("gmfield/lifecycle: another run of this job is in progress")
	// ErrContended reports a row that kept changing under the job: it was
	// re-read and retried, and changed again every time.
	ErrContended = errors.New("gmfield/lifecycle: row keeps changing")
)

// RowError is a job's failure at one stored value: the job stopped there,
// and its checkpoint still says where to resume. It names the table, the
// column and the row key, never a value.
type RowError struct {
	Table, Column string
	RowKey        string // canonical text of the row key
	Err           error
}

// Error names the place of the failure and its cause.
func (e *RowError) Error() string {
	col := e.Table
	if e.Column != "" {
		col += "." + e.Column
	}
	msg := e.Err.Error()
	if e.Column != "" && strings.Contains(msg, col+": ") {
		// The driver's error names the column already.
		return fmt.Sprintf("gmfield/lifecycle: %s row %s: %s", e.Table, e.RowKey, msg)
	}
	return fmt.Sprintf("gmfield/lifecycle: %s, row %s: %s", col, e.RowKey, msg)
}

// Unwrap returns the cause.
func (e *RowError) Unwrap() error { return e.Err }

// Progress receives a job's progress. The command line shows a bar on a
// terminal and log lines elsewhere; see NewLogProgress.
type Progress interface {
	// Start is called once, with the number of rows the table has (an
	// estimate for a table that is written meanwhile) and the number the
	// job skips because a previous run did them.
	Start(total, done int64)
	// Add is called after each batch with the rows it scanned.
	Add(rows int64)
	// Finish is called once, at the end.
	Finish()
}

// Job is a run over one protected table of a configuration. Its DB is the
// plain database (opened with the inner driver, not wrapped by gmfield):
// the job reads and writes stored envelopes.
type Job struct {
	DB     *sql.DB
	Config *sqldriver.Config
	// Dialect is "sqlite", "postgres" or "mysql".
	Dialect string
	// Table is the protected table, as the configuration names it.
	Table string
	// Batch is the number of rows read and written per round trip
	// (default 1000).
	Batch int
	// Workers is the number of goroutines that seal and open (default
	// GOMAXPROCS).
	Workers int
	// DryRun reports what would change and writes nothing.
	DryRun bool
	// Progress, if set, is told how far the job is.
	Progress Progress
	// Log receives the job's start, resume and end (default: the
	// configuration's Logger, else discarded).
	Log *slog.Logger

	codec   *sqldriver.Codec
	current *sync.Map // keyspace → current DEK id, for Reencrypt (set by prepare)
}

// Summary is what a job did.
type Summary struct {
	Job     string        `json:"job"`
	Table   string        `json:"table"`
	DryRun  bool          `json:"dry_run"`
	Resumed bool          `json:"resumed"` // it continued an interrupted run
	Scanned int64         `json:"scanned"` // rows read (by this run)
	Changed int64         `json:"changed"` // rows written (or, in a dry run, that would be)
	Values  int64         `json:"values"`  // protected values written (or that would be)
	Skipped int64         `json:"skipped"` // rows already in the wanted state
	Retried int64         `json:"retried"` // rows re-read because a writer changed them meanwhile
	Failed  int64         `json:"failed"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// testHookDecided, when set by a test, runs between deciding a batch and
// writing it: where a concurrent writer's change makes the
// compare-and-set miss.
var testHookDecided func()

// table is the job's view of its table: the columns it reads, in order.
type table struct {
	cfg     sqldriver.Table
	name    string // as statements name it
	key     string // the row-key (or primary-key) column
	keyType sqldriver.KeyType
	tenant  string            // tenant column, or ""
	cols    []column          // protected columns
	read    []string          // key, [tenant], then each column and its indexes
	types   map[string]string // live SQL types, for PostgreSQL casts
	width   map[string]int64  // live maximum lengths (see liveColumn.Chars)
}

type column struct {
	name    string
	indexes []string
	at      int // position of the value in a read row; indexes follow
}

// row is one row as read: its key and stored values in table.read order.
type row struct {
	vals []driver.Value
}

// change is what a job writes to one row: the new values of every
// protected column and index column (old ones where nothing changes).
type change struct {
	r      *row
	newv   []driver.Value // per table.read position from 1+tenant on
	values int            // protected values that change
}

// op decides, per row, what the job writes: nil for nothing.
type op func(ctx context.Context, t *table, r *row) (*change, error)

func (j *Job) batch() int {
	if j.Batch <= 0 {
		return 1000
	}
	return j.Batch
}

func (j *Job) workers() int {
	if j.Workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return j.Workers
}

func (j *Job) log() *slog.Logger {
	return jobLogger(j.Log, j.Config)
}

// jobLogger is log, else the configuration's Logger, else a discarding one.
func jobLogger(log *slog.Logger, cfg *sqldriver.Config) *slog.Logger {
	switch {
	case log != nil:
		return log
	case cfg != nil && cfg.Logger != nil:
		return cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// prepare checks the job and reads the table's live schema.
func (j *Job) prepare(ctx context.Context) (*dialect, *table, error) {
	if j.DB == nil || j.Config == nil {
		return nil, nil, fmt.Errorf("%w: a job needs DB and Config", ErrInvalid)
	}
	d, err := dialectNamed(j.Dialect)
	if err != nil {
		return nil, nil, err
	}
	if j.codec == nil {
		if j.codec, err = sqldriver.NewCodec(ctx, j.Config); err != nil {
			return nil, nil, err
		}
	}
	j.current = new(sync.Map) // each run asks the key ring afresh
	var tc *sqldriver.Table
	for i := range j.Config.Tables {
		if strings.EqualFold(j.Config.Tables[i].Name, j.Table) {
			tc = &j.Config.Tables[i]
		}
	}
	if tc == nil {
		return nil, nil, fmt.Errorf("%w: table %q is not in the configuration", ErrInvalid, j.Table)
	}
	t := &table{cfg: *tc, name: d.tableName(strings.ToLower(tc.Schema), strings.ToLower(tc.Name)), key: strings.ToLower(tc.RowKey),
		keyType: tc.RowKeyType, tenant: strings.ToLower(tc.TenantColumn)}
	live, err := d.columns(ctx, j.DB, strings.ToLower(tc.Schema), strings.ToLower(tc.Name))
	if err != nil {
		return nil, nil, fmt.Errorf("gmfield/lifecycle: reading the columns of %s: %w", tc.Name, err)
	}
	if len(live) == 0 {
		return nil, nil, fmt.Errorf("%w: table %s does not exist", ErrInvalid, tc.Name)
	}
	if t.key, t.keyType, err = orderKey(ctx, d, j.DB, tc, live); err != nil {
		return nil, nil, err
	}
	if j.codec.Scope() == keyring.PerTenantColumn && t.tenant == "" {
		return nil, nil, fmt.Errorf("%w: table %s: key_scope tenant needs tenant_column, to know each row's tenant", ErrInvalid, tc.Name)
	}
	t.read = append(t.read, t.key)
	if t.tenant != "" {
		t.read = append(t.read, t.tenant)
	}
	for _, cc := range tc.Columns {
		c := column{name: strings.ToLower(cc.Name), at: len(t.read)}
		t.read = append(t.read, c.name)
		for _, ix := range cc.Indexes {
			c.indexes = append(c.indexes, strings.ToLower(ix.Column))
			t.read = append(t.read, strings.ToLower(ix.Column))
		}
		t.cols = append(t.cols, c)
	}
	t.types = map[string]string{}
	t.width = map[string]int64{}
	for _, n := range t.read {
		lc, ok := live[n]
		if !ok {
			return nil, nil, fmt.Errorf("%w: table %s has no column %s (run gmfield ddl)", ErrInvalid, tc.Name, n)
		}
		t.types[n] = lc.Type
		t.width[n] = lc.Chars
	}
	// A column too narrow for what the job writes would be an error on
	// one database and a silent truncation on another: refuse up front
	// what the configuration shows, and each value that would not fit.
	for _, cc := range tc.Columns {
		name := strings.ToLower(cc.Name)
		if w := t.width[name]; w > 0 && cc.MaxLen > 0 && w < int64(EnvelopeLen(cc.Form, cc.MaxLen)) {
			return nil, nil, fmt.Errorf("%w: %s.%s holds %d, its envelopes need up to %d (run gmfield ddl)", ErrInvalid, tc.Name, name, w, EnvelopeLen(cc.Form, cc.MaxLen))
		}
		for _, ix := range cc.Indexes {
			size := ix.Size
			if size == 0 {
				size = crypto.DefaultIndexSize
			}
			if w := t.width[strings.ToLower(ix.Column)]; w > 0 && w < int64(2*size) {
				return nil, nil, fmt.Errorf("%w: index column %s.%s holds %d, the index needs %d (run gmfield ddl)", ErrInvalid, tc.Name, ix.Column, w, 2*size)
			}
		}
	}
	return d, t, nil
}

// orderKey is the column the work is ordered and resumed by, and its
// type: the table's row key, or else its one-column primary key. The
// primary key is not bound into values: it only orders the work and names
// rows, as an integer or as text.
func orderKey(ctx context.Context, d *dialect, db *sql.DB, tc *sqldriver.Table, live map[string]liveColumn) (string, sqldriver.KeyType, error) {
	if tc.RowKey != "" {
		return strings.ToLower(tc.RowKey), tc.RowKeyType, nil
	}
	key, err := d.primaryKey(ctx, db, strings.ToLower(tc.Schema), strings.ToLower(tc.Name))
	if err != nil {
		return "", sqldriver.KeyType{}, fmt.Errorf("gmfield/lifecycle: reading the primary key of %s: %w", tc.Name, err)
	}
	if key == "" {
		return "", sqldriver.KeyType{}, fmt.Errorf("%w: table %s has neither a row key nor a one-column primary key to order the work by", ErrInvalid, tc.Name)
	}
	kt := sqldriver.KeyType{Kind: sqldriver.KeyText}
	if strings.Contains(strings.ToLower(live[key].Type), "int") {
		kt = sqldriver.KeyType{Kind: sqldriver.KeyInteger}
	}
	return key, kt, nil
}

// place is where column c of row r lives.
func (t *table) place(r *row, c *column) sqldriver.Place {
	p := sqldriver.Place{Table: t.cfg.Name, Column: c.name}
	if t.cfg.RowKey != "" {
		p.RowKey = r.vals[0]
	}
	if t.tenant != "" {
		p.Tenant = textOf(r.vals[1])
	}
	return p
}

// rowKey is the canonical text of r's key, for errors and checkpoints.
func (t *table) rowKey(r *row) string {
	s, err := t.keyType.Canonical(r.vals[0])
	if err != nil {
		return "?"
	}
	return s
}

func textOf(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// run is the one loop of migrate, reencrypt and shred: read a batch in
// row-key order after the checkpoint, decide each row's change on all
// workers, write the changes with a compare-and-set and move the
// checkpoint in the same transaction. Rows a writer changed meanwhile
// are re-read and decided again.
func (j *Job) run(ctx context.Context, kind, params string, f filter, decide op) (Summary, error) {
	return traced(ctx, j.Config, kind, j.Table, func(ctx context.Context) (Summary, error) { return j.runTraced(ctx, kind, params, f, decide) })
}

func (j *Job) runTraced(ctx context.Context, kind, params string, f filter, decide op) (Summary, error) {
	start := time.Now()
	d, t, err := j.prepare(ctx)
	sum := Summary{Job: kind, Table: j.Table, DryRun: j.DryRun}
	if err != nil {
		return sum, err
	}
	id := kind + ":" + t.cfg.Name + ":" + params
	var cp checkpoint
	if !j.DryRun {
		if cp, err = openCheckpoint(ctx, j.DB, d, id, kind, t.cfg.Name, t.keyType); err != nil {
			return sum, err
		}
	}
	sum.Resumed = cp.last != nil
	total, done, err := j.count(ctx, d, t, cp.last)
	if err != nil {
		return sum, err
	}
	j.log().Info("gmfield: job start", "job", id, "table", t.cfg.Name, "rows", total, "resumed", sum.Resumed, "dry_run", j.DryRun)
	if j.Progress != nil {
		j.Progress.Start(total, done)
		defer j.Progress.Finish()
	}
	// Batches are read in key order by this loop and decided and written
	// by up to j.parallel goroutines, so that the database writes one
	// batch while the next is read and sealed; each batch commits only
	// after the one before it, so the checkpoint only moves forward over
	// committed batches.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu       sync.Mutex // guards sum
		wg       sync.WaitGroup
		inflight = make(chan struct{}, j.parallel(d))
		prev     = make(chan error, 1)
	)
	prev <- nil
	last := cp.last
	for ctx.Err() == nil {
		rows, err := j.read(ctx, d, t, last, f)
		if err != nil {
			cancel(err)
			break
		}
		if len(rows) == 0 {
			break
		}
		lastKey := t.rowKey(rows[len(rows)-1])
		if last, err = t.keyType.Value(lastKey); err != nil {
			cancel(fmt.Errorf("%w: row key of %s: %v", ErrInvalid, t.cfg.Name, err))
			break
		}
		inflight <- struct{}{}
		done := make(chan error, 1)
		wg.Add(1)
		go func(rows []*row, before <-chan error) {
			defer wg.Done()
			defer func() { <-inflight }()
			err := j.batchOf(ctx, d, t, &cp, rows, lastKey, decide, before, &mu, &sum)
			if err != nil {
				cancel(err)
			}
			done <- err
		}(rows, prev)
		prev = done
		if len(rows) < j.batch() {
			break
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return j.end(sum, start, err)
	}
	if !j.DryRun {
		if err := cp.finish(ctx, j.DB, d); err != nil {
			return j.end(sum, start, err)
		}
	}
	return j.end(sum, start, nil)
}

func (j *Job) end(sum Summary, start time.Time, err error) (Summary, error) {
	sum.Elapsed = time.Since(start)
	attrs := []any{"job", sum.Job, "table", sum.Table, "scanned", sum.Scanned, "changed", sum.Changed, "skipped", sum.Skipped,
		"retried", sum.Retried, "elapsed", sum.Elapsed.Round(time.Millisecond)}
	if err != nil {
		j.log().Error("gmfield: job stopped", append(attrs, "err", err)...)
	} else {
		j.log().Info("gmfield: job done", attrs...)
	}
	return sum, err
}

// errAborted is what a batch reports when the one before it failed: the
// job's error is that batch's.
var errAborted = errors.New("gmfield/lifecycle: an earlier batch failed")

// batchOf decides and writes one batch of rows; before reports the
// previous batch's end, which its commit waits for.
func (j *Job) batchOf(ctx context.Context, d *dialect, t *table, cp *checkpoint, rows []*row, lastKey string, decide op,
	before <-chan error, mu *sync.Mutex, sum *Summary) error {
	var prevErr error
	waited := false
	waitBefore := func() error {
		if !waited {
			waited = true
			if prevErr = <-before; prevErr != nil {
				prevErr = errAborted
			}
		}
		return prevErr
	}
	changes, err := j.decideAll(ctx, t, rows, decide)
	if err != nil {
		mu.Lock()
		sum.Failed++
		mu.Unlock()
		_ = waitBefore()
		return err
	}
	if testHookDecided != nil {
		testHookDecided()
	}
	var part Summary
	part.Scanned = int64(len(rows))
	part.Skipped = int64(len(rows) - len(changes))
	if j.DryRun {
		for _, c := range changes {
			part.Values += int64(c.values)
		}
		part.Changed = int64(len(changes))
		if err := waitBefore(); err != nil {
			return err
		}
	} else if err := j.commit(ctx, d, t, cp, lastKey, changes, decide, &part, waitBefore); err != nil {
		_ = waitBefore()
		return err
	}
	mu.Lock()
	sum.Scanned += part.Scanned
	sum.Skipped += part.Skipped
	sum.Changed += part.Changed
	sum.Values += part.Values
	sum.Retried += part.Retried
	mu.Unlock()
	if j.Progress != nil {
		j.Progress.Add(int64(len(rows)))
	}
	return nil
}

// parallel is how many batches are written at once: 2 on a server
// (one is written while the next is read and sealed), 1 on SQLite,
// which has one writer.
func (j *Job) parallel(d *dialect) int {
	if d == sqlite {
		return 1
	}
	return 2
}

// count returns the table's rows and those before the checkpoint.
func (j *Job) count(ctx context.Context, d *dialect, t *table, last driver.Value) (total, done int64, err error) {
	if err = j.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&total); err != nil {
		return 0, 0, fmt.Errorf("gmfield/lifecycle: counting %s: %w", t.cfg.Name, err)
	}
	if last != nil {
		err = j.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name+" WHERE "+d.q(t.key)+" <= "+d.ph(1), last).Scan(&done)
	}
	return total, done, err
}

// filter is an extra SQL condition on the rows a job reads: its text for
// the placeholder number of its argument, and the argument.
type filter struct {
	cond func(ph string) string
	arg  any
}

// read returns the next batch after key last (nil: from the start), in
// key order, of the rows f admits.
func (j *Job) read(ctx context.Context, d *dialect, t *table, last driver.Value, f filter) ([]*row, error) {
	args := keyArgs(last)
	extra := ""
	if f.cond != nil {
		args = append(args, f.arg)
		extra = f.cond(d.ph(len(args)))
	}
	q := j.selectSQL(d, t, last != nil, extra)
	for attempt := 1; ; attempt++ {
		rows, err := queryRows(ctx, j.DB, t, q, j.batch(), args...)
		if err == nil || attempt == 5 || !transient(err) {
			return rows, err
		}
		// A busy SQLite file (a writer committing), a serialization
		// failure: read again.
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
}

func keyArgs(last driver.Value) []any {
	if last == nil {
		return nil
	}
	return []any{last}
}

func (j *Job) selectSQL(d *dialect, t *table, after bool, extra string) string {
	cols := make([]string, len(t.read))
	for i, c := range t.read {
		cols[i] = d.q(c)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.name
	var where []string
	if after {
		where = append(where, d.q(t.key)+" > "+d.ph(1))
	}
	if extra != "" {
		where = append(where, extra)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY " + d.q(t.key) + " LIMIT " + fmt.Sprint(j.batch())
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRows(ctx context.Context, db querier, t *table, q string, capacity int, args ...any) ([]*row, error) {
	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("gmfield/lifecycle: reading %s: %w", t.cfg.Name, err)
	}
	defer rs.Close()
	out := make([]*row, 0, capacity)
	scan := make([]any, len(t.read))
	ptrs := make([]any, len(t.read))
	for rs.Next() {
		r := &row{vals: make([]driver.Value, len(t.read))}
		for i := range scan {
			ptrs[i] = &scan[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("gmfield/lifecycle: reading %s: %w", t.cfg.Name, err)
		}
		for i, v := range scan {
			if b, ok := v.([]byte); ok && b == nil {
				v = []byte{} // an empty value, not NULL, when bound again
			}
			r.vals[i] = v
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// decideAll runs decide on every row, on the job's workers, keeping order.
func (j *Job) decideAll(ctx context.Context, t *table, rows []*row, decide op) ([]*change, error) {
	out := make([]*change, len(rows))
	errs := make([]error, len(rows))
	n := min(j.workers(), len(rows))
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(rows); i += n {
				out[i], errs[i] = decide(ctx, t, rows[i])
				if errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	changes := out[:0]
	for _, c := range out {
		if c != nil {
			changes = append(changes, c)
		}
	}
	return changes, nil
}

// commit writes changes and moves the checkpoint to lastKey, in one
// transaction. A row whose compare-and-set missed is re-read and decided
// again (a few times); a transaction the database aborts (deadlock,
// serialization) is retried whole.
func (j *Job) commit(ctx context.Context, d *dialect, t *table, cp *checkpoint, lastKey string, changes []*change, decide op, sum *Summary, waitBefore func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var retried int64
		var values int
		var written int
		retried, values, written, err = j.commitOnce(ctx, d, t, cp, lastKey, changes, decide, waitBefore)
		if err == nil {
			sum.Changed += int64(written)
			sum.Values += int64(values)
			sum.Retried += retried
			return nil
		}
		if !transient(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return err
}

func (j *Job) commitOnce(ctx context.Context, d *dialect, t *table, cp *checkpoint, lastKey string, changes []*change, decide op, waitBefore func() error) (retried int64, values, written int, err error) {
	tx, err := j.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	pending := changes
	for round := 0; len(pending) > 0; round++ {
		if round == 5 {
			return retried, 0, 0, &RowError{Table: t.cfg.Name, RowKey: t.rowKey(pending[0].r), Err: ErrContended}
		}
		n, err := j.write(ctx, tx, d, t, pending)
		if err != nil {
			return retried, 0, 0, err
		}
		// Every compare-and-set that held changed its row (a new
		// ciphertext, or NULL where a value was): when the database
		// counts as many rows as were sent, all landed. Otherwise, which
		// rows hold what was written? Re-read them by key.
		missed := map[*change]*change{}
		if n != int64(len(pending)) {
			if missed, err = j.missed(ctx, tx, d, t, pending); err != nil {
				return retried, 0, 0, err
			}
		}
		for _, c := range pending {
			if _, m := missed[c]; !m {
				values += c.values
				written++
			}
		}
		if len(missed) == 0 {
			break
		}
		retried += int64(len(missed))
		var again []*change
		for _, c := range pending {
			if fresh, ok := missed[c]; ok && fresh != nil {
				nc, err := decide(ctx, t, fresh.r)
				if err != nil {
					return retried, 0, 0, err
				}
				if nc != nil {
					again = append(again, nc)
				}
			}
		}
		pending = again
	}
	if err = waitBefore(); err != nil {
		return retried, 0, 0, err
	}
	if err = cp.advance(ctx, tx, d, lastKey); err != nil {
		return retried, 0, 0, err
	}
	if err = tx.Commit(); err != nil {
		return retried, 0, 0, err
	}
	cp.committed()
	return retried, values, written, nil
}

// write sends the compare-and-set update of changes, in chunks that keep
// within the databases' placeholder limits.
func (j *Job) write(ctx context.Context, tx *sql.Tx, d *dialect, t *table, changes []*change) (int64, error) {
	first := 1
	if t.tenant != "" {
		first = 2
	}
	// The compare-and-set covers the tenant column too: a row that moved
	// to another tenant meanwhile must be sealed under that tenant's keys.
	cas := make([]string, 0, len(t.cols)+1)
	casAt := make([]int, 0, len(t.cols)+1)
	if t.tenant != "" {
		cas, casAt = append(cas, t.tenant), append(casAt, 1)
	}
	for _, c := range t.cols {
		cas, casAt = append(cas, c.name), append(casAt, c.at)
	}
	set := t.read[first:]
	width := 1 + len(cas) + len(set)
	per := max(1, min(len(changes), 30000/width))
	if d == postgres {
		per = len(changes) // arrays: one statement, any size
	}
	var total int64
	for lo := 0; lo < len(changes); lo += per {
		chunk := changes[lo:min(lo+per, len(changes))]
		rows := make([][]driver.Value, len(chunk))
		for i, c := range chunk {
			r := make([]driver.Value, 0, width)
			r = append(r, c.r.vals[0])
			for _, at := range casAt {
				r = append(r, c.r.vals[at])
			}
			rows[i] = append(r, c.newv...)
		}
		q, args, err := d.casUpdate(t.name, t.key, cas, set, t.types, rows)
		if err != nil {
			return 0, fmt.Errorf("gmfield/lifecycle: writing %s: %w", t.cfg.Name, err)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, &writeError{table: t.cfg.Name, err: err}
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("gmfield/lifecycle: writing %s: %w", t.cfg.Name, err)
		}
		total += n
	}
	return total, nil
}

// missed re-reads the rows of changes and returns those that do not hold
// what was written, with their fresh row (nil for a deleted row).
func (j *Job) missed(ctx context.Context, tx *sql.Tx, d *dialect, t *table, changes []*change) (map[*change]*change, error) {
	first := len(t.read) - len(changes[0].newv)
	cols := make([]string, len(t.read))
	for i, c := range t.read {
		cols[i] = d.q(c)
	}
	out := map[*change]*change{}
	const chunk = 1000
	for lo := 0; lo < len(changes); lo += chunk {
		part := changes[lo:min(lo+chunk, len(changes))]
		ph := make([]string, len(part))
		args := make([]any, len(part))
		byKey := make(map[string]*change, len(part))
		for i, c := range part {
			ph[i] = d.ph(i + 1)
			args[i] = c.r.vals[0]
			byKey[t.rowKey(c.r)] = c
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.name + " WHERE " + d.q(t.key) + " IN (" + strings.Join(ph, ", ") + ")"
		fresh, err := queryRows(ctx, tx, t, q, len(part), args...)
		if err != nil {
			return nil, err
		}
		seen := map[*change]bool{}
		for _, r := range fresh {
			c := byKey[t.rowKey(r)]
			if c == nil {
				continue
			}
			seen[c] = true
			for i, v := range c.newv {
				if !sameValue(r.vals[first+i], v) {
					out[c] = &change{r: r}
					break
				}
			}
		}
		for _, c := range part {
			if !seen[c] {
				out[c] = nil // deleted meanwhile: nothing to do
			}
		}
	}
	return out, nil
}

func sameValue(a, b driver.Value) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return textOf(a) == textOf(b)
}

// writeError is a database's error at a job's write. Its message keeps
// the database's error code only: the database's own text may quote the
// values written (PostgreSQL's "invalid input syntax …: \"gmf2:…\"").
// Unwrap gives the database's error, for errors.As and errors.Is.
type writeError struct {
	table string
	err   error
}

func (e *writeError) Error() string {
	code := "see the database's log"
	var st interface{ SQLState() string }
	if errors.As(e.err, &st) {
		code = "SQLSTATE " + st.SQLState()
	} else if n := mysqlCode.FindString(e.err.Error()); n != "" {
		code = n
	}
	return fmt.Sprintf("gmfield/lifecycle: writing %s: the database refused the batch (%s)", e.table, code)
}

func (e *writeError) Unwrap() error { return e.err }

// mysqlCode finds go-sql-driver's "Error 1406 (22001)" prefix.
var mysqlCode = regexp.MustCompile(`^Error \d+( \([0-9A-Z]{5}\))?`)

// transient reports a database error after which the transaction may be
// run again: a deadlock, a serialization failure, a busy SQLite file.
func transient(err error) bool {
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		switch st.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(*writeError); ok {
			continue // its message hides the database's
		}
		msg := e.Error()
		for _, s := range []string{"Deadlock found", "Lock wait timeout", "database is locked", "SQLITE_BUSY", "(40001)", "(40P01)"} {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}
