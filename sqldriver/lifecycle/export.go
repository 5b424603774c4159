package lifecycle

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
)

// ErrExists reports an export target that already holds rows of an
// earlier, finished export (or other rows): Export.Replace starts it over.
var ErrExists = errors.New("gmfield/lifecycle: export target is not empty")

// Export is static masking (静态脱敏): it streams a protected table
// through the driver, as a principal whose roles decide each column (plain,
// mask, hash, null), into a Sink — another database's table or a CSV file
// — for development, testing, analysis or another department.
//
// Rules override the policy for some columns: such a column is read in
// plain through a column grant that names Reason (so the audit log records
// who read it, and why) and the rule is applied before the value leaves
// the job. A rule that leaves a value unchanged (a one-character name
// under chinese_name, a year under date) does not let it through: the
// value is masked entirely instead, and counted in Summary.Skipped.
//
// An export is online (batches in row-key order, each its own statement),
// constant in memory, and resumable: the sink keeps, with each batch, the
// key of its last row, and a run that was interrupted continues after it.
type Export struct {
	// Source is the protected database opened through gmfield
	// (sqldriver.Open, or sql.OpenDB(sqldriver.Wrap(…))) with Config.
	Source *sql.DB
	Config *sqldriver.Config
	// Dialect is the source's: "sqlite", "postgres" or "mysql".
	Dialect string
	// Table is the protected table, as the configuration names it.
	Table string
	// Principal reads the table (sqldriver.WithPrincipal).
	Principal masking.Principal
	// Tenant is the tenant to export, with key_scope tenant.
	Tenant string
	// Rules maps columns (lower case) to static-masking rules.
	Rules map[string]*masking.Rule
	// Reason is recorded in the grants of Rules' columns; required with
	// Rules (a ticket id, an approval).
	Reason string
	// Columns are the columns to export (default: every column of the
	// table but blind-index columns). The row key is always first.
	Columns []string
	// To receives the rows.
	To Sink
	// Batch is the number of rows per read and write (default 1000).
	Batch    int
	Progress Progress
	// Log receives the export's start, progress and end (default: the
	// configuration's Logger, else discarded).
	Log *slog.Logger
}

// Sink is where an export writes: a table of another database
// (NewTableSink) or a CSV file (NewCSVSink).
type Sink interface {
	// Open prepares the sink for rows of cols (the row key first) and
	// returns the canonical text of the last row key a previous,
	// interrupted run of job wrote, "" to start from the beginning.
	Open(ctx context.Context, job string, cols []SinkColumn) (last string, err error)
	// Write writes rows (values in cols order: nil, string, []byte,
	// int64, float64, bool or time.Time) and records last, the canonical
	// key of the final row, as the point to resume after: both or neither
	// take effect.
	Write(ctx context.Context, rows [][]any, last string) error
	// Close completes the export.
	Close(ctx context.Context) error
	// Abort is called instead of Close when the export stops early: it
	// releases what Open took and keeps what was written, to resume.
	Abort()
}

// SinkColumn is an exported column.
type SinkColumn struct {
	Name string
	// Key marks the row key; Integer an integer row key.
	Key, Integer bool
	// Binary marks bytes that are not text.
	Binary bool
}

// exportColumn is how the job reads one column.
type exportColumn struct {
	name string
	rule *masking.Rule
}

// Run exports the table and returns what it did: Scanned and Changed are
// the rows read and written, Values the values a rule masked, Skipped the
// values a rule left unchanged and that were masked entirely.
func (e *Export) Run(ctx context.Context) (Summary, error) {
	return traced(ctx, e.Config, "export", e.Table, e.run)
}

func (e *Export) run(ctx context.Context) (sum Summary, err error) {
	start := time.Now()
	sum = Summary{Job: "export", Table: e.Table}
	defer func() { sum.Elapsed = time.Since(start) }()
	if e.Source == nil || e.Config == nil || e.To == nil {
		return sum, fmt.Errorf("%w: an export needs Source, Config and To", ErrInvalid)
	}
	if len(e.Rules) > 0 && strings.TrimSpace(e.Reason) == "" {
		return sum, fmt.Errorf("%w: rules read columns in plain: give the reason (recorded in the audit log)", ErrInvalid)
	}
	d, err := dialectNamed(e.Dialect)
	if err != nil {
		return sum, err
	}
	var tc *sqldriver.Table
	for i := range e.Config.Tables {
		if strings.EqualFold(e.Config.Tables[i].Name, e.Table) {
			tc = &e.Config.Tables[i]
		}
	}
	if tc == nil {
		return sum, fmt.Errorf("%w: table %q is not in the configuration", ErrInvalid, e.Table)
	}
	table, schema := strings.ToLower(tc.Name), strings.ToLower(tc.Schema)
	live, err := d.columns(ctx, e.Source, schema, table)
	if err != nil {
		return sum, fmt.Errorf("gmfield/lifecycle: reading the columns of %s: %w", table, err)
	}
	if len(live) == 0 {
		return sum, fmt.Errorf("%w: table %s does not exist", ErrInvalid, table)
	}
	key, keyType, err := orderKey(ctx, d, e.Source, tc, live)
	if err != nil {
		return sum, err
	}
	protected, index := map[string]bool{}, map[string]bool{}
	for _, c := range tc.Columns {
		protected[strings.ToLower(c.Name)] = true
		for _, ix := range c.Indexes {
			index[strings.ToLower(ix.Column)] = true
		}
	}
	names := e.Columns
	if len(names) == 0 {
		names = declared(live)
	}
	cols := []exportColumn{{name: key}}
	sinkCols := []SinkColumn{{Name: key, Key: true, Integer: keyType.Kind == sqldriver.KeyInteger}}
	seen := map[string]bool{key: true}
	for _, n := range names {
		n = strings.ToLower(n)
		if seen[n] || (index[n] && len(e.Columns) == 0) {
			continue
		}
		seen[n] = true
		lc, ok := live[n]
		switch {
		case !ok:
			return sum, fmt.Errorf("%w: table %s has no column %s", ErrInvalid, table, n)
		case index[n]:
			return sum, fmt.Errorf("%w: %s.%s is a blind index: it is not exported", ErrInvalid, table, n)
		}
		c := exportColumn{name: n, rule: e.Rules[n]}
		if c.rule == nil && protected[n] && e.Config.Policy.Decide(e.Principal, table, n) == masking.ActionDeny {
			return sum, fmt.Errorf("%w: the policy denies %s.%s to this principal: leave it out or give it a rule", ErrInvalid, table, n)
		}
		cols = append(cols, c)
		sinkCols = append(sinkCols, SinkColumn{Name: n, Binary: binaryType(lc.Type) && c.rule == nil})
	}
	for n := range e.Rules {
		if !seen[n] {
			return sum, fmt.Errorf("%w: a rule names %s.%s, which is not exported", ErrInvalid, table, n)
		}
		if n == key {
			return sum, fmt.Errorf("%w: %s.%s is the row key: the export is ordered and resumed by it", ErrInvalid, table, n)
		}
	}
	for _, c := range cols {
		if !sqldriver.PlainIdentifier(c.name) {
			return sum, fmt.Errorf("%w: %s has a column whose name is not a plain identifier: leave it out with Columns", ErrInvalid, table)
		}
	}
	tenantCol := strings.ToLower(tc.TenantColumn)
	switch {
	case e.Tenant != "" && tenantCol == "":
		return sum, fmt.Errorf("%w: table %s has no tenant_column to export one tenant by", ErrInvalid, table)
	case e.Tenant == "" && e.Config.Scope == keyring.PerTenantColumn:
		return sum, fmt.Errorf("%w: key_scope tenant: give the tenant to export", ErrInvalid)
	}
	if e.Tenant == "" {
		tenantCol = ""
	}
	job := "export:" + table + ":" + e.fingerprint(cols)
	last, err := e.To.Open(ctx, job, sinkCols)
	if err != nil {
		return sum, err
	}
	ok := false
	defer func() {
		if !ok {
			e.To.Abort()
		}
	}()
	var after any
	if last != "" {
		if after, err = keyType.Value(last); err != nil {
			return sum, fmt.Errorf("%w: the sink's resume point: %v", ErrInvalid, err)
		}
		sum.Resumed = true
	}
	log := jobLogger(e.Log, e.Config)
	log.Info("gmfield: export start", "table", table, "columns", len(cols), "rules", len(e.Rules), "resumed", sum.Resumed)
	if e.Progress != nil {
		total, done := e.count(ctx, d, table, schema, key, tenantCol, after)
		e.Progress.Start(total, done)
		defer e.Progress.Finish()
	}
	batch := e.Batch
	if batch <= 0 {
		batch = 1000
	}
	q := selectAfter(d, schema, table, cols, key, tenantCol, e.Tenant, batch)
	// One goroutine reads (the driver opens and masks) while this one
	// applies the rules and writes: at most three batches in memory.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan readBatch, 1)
	go e.read(rctx, batches, q, table, cols, keyType, after, batch)
	for rb := range batches {
		if rb.err != nil {
			return sum, rb.err
		}
		for _, vals := range rb.rows {
			for i, c := range cols {
				if c.rule == nil || vals[i] == nil {
					continue
				}
				if c.rule.Null() {
					vals[i] = nil
					continue
				}
				v := textOf(vals[i])
				m := c.rule.Mask(v)
				if m == v && v != "" {
					m = strings.Repeat("*", utf8.RuneCountInString(v))
					sum.Skipped++
				}
				vals[i] = m
				sum.Values++
			}
		}
		if err := e.To.Write(ctx, rb.rows, rb.last); err != nil {
			return sum, fmt.Errorf("gmfield/lifecycle: export %s: writing: %w", table, redacted{err})
		}
		sum.Scanned += int64(len(rb.rows))
		sum.Changed += int64(len(rb.rows))
		if e.Progress != nil {
			e.Progress.Add(int64(len(rb.rows)))
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := e.To.Close(ctx); err != nil {
		return sum, err
	}
	ok = true
	log.Info("gmfield: export done", "table", table, "rows", sum.Changed, "masked_by_rules", sum.Values, "elapsed", time.Since(start).Round(time.Millisecond))
	return sum, nil
}

// readBatch is a batch as read: the rows and the canonical key of the
// last, or the error that ended the reading.
type readBatch struct {
	rows [][]any
	last string
	err  error
}

// read sends the table's rows after key after, in batches, and closes out.
func (e *Export) read(ctx context.Context, out chan<- readBatch, q func(after any) (string, []any), table string, cols []exportColumn, keyType sqldriver.KeyType, after any, batch int) {
	defer close(out)
	send := func(b readBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) { send(readBatch{err: fmt.Errorf("gmfield/lifecycle: export %s: %w", table, err)}) }
	scan := make([]any, len(cols))
	for {
		rctx := e.readContext(ctx, table, cols)
		query, args := q(after)
		rows, err := e.Source.QueryContext(rctx, query, args...)
		if err != nil {
			fail(err)
			return
		}
		b := readBatch{rows: make([][]any, 0, batch)}
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range scan {
				scan[i] = &vals[i]
			}
			if err := rows.Scan(scan...); err != nil {
				rows.Close()
				fail(err)
				return
			}
			for i := range vals {
				vals[i] = plainValue(vals[i])
			}
			b.rows = append(b.rows, vals)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			fail(err)
			return
		}
		if len(b.rows) == 0 {
			return
		}
		lastKey := b.rows[len(b.rows)-1][0]
		if b.last, err = keyType.Canonical(lastKey); err == nil {
			after, err = keyType.Value(b.last)
		}
		if err == nil && keyType.Kind != sqldriver.KeyInteger && textOf(lastKey) != textOf(after) {
			// Resuming after the canonical form (a UUID in lower case)
			// would compare differently from the stored key and skip rows.
			err = errors.New("a row key is not stored in its canonical form: the export cannot order by it")
		}
		if err != nil {
			fail(fmt.Errorf("row key: %w", err))
			return
		}
		if !send(b) || len(b.rows) < batch {
			return
		}
	}
}

// readContext is the context of one read: the principal, with a column
// grant of plain for each rule's column that expires within the hour
// (renewed every batch), and the tenant.
func (e *Export) readContext(ctx context.Context, table string, cols []exportColumn) context.Context {
	pr := e.Principal
	pr.Grants = append([]masking.Grant(nil), pr.Grants...)
	for _, c := range cols {
		if c.rule != nil {
			pr.Grants = append(pr.Grants, masking.Grant{Column: table + "." + c.name, Action: masking.ActionPlain,
				Expires: time.Now().Add(time.Hour), Reason: "gmfield export, rule " + c.rule.Name() + ": " + e.Reason})
		}
	}
	ctx = sqldriver.WithPrincipal(ctx, pr)
	if e.Tenant != "" {
		ctx = sqldriver.WithTenant(ctx, e.Tenant)
	}
	return ctx
}

// count estimates the rows to export and those done, for the progress.
func (e *Export) count(ctx context.Context, d *dialect, table, schema, key, tenantCol string, after any) (total, done int64) {
	name := d.tableName(schema, table)
	ctx = e.readContext(ctx, table, nil)
	where, args := "", []any{}
	if tenantCol != "" {
		where, args = " WHERE "+d.q(tenantCol)+" = "+d.ph(1), append(args, e.Tenant)
	}
	_ = e.Source.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+name+where, args...).Scan(&total)
	if after != nil {
		if where == "" {
			where = " WHERE "
		} else {
			where += " AND "
		}
		_ = e.Source.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+name+where+d.q(key)+" <= "+d.ph(len(args)+1), append(args, after)...).Scan(&done)
	}
	return total, done
}

// selectAfter returns the batch query, of one tenant's rows when
// tenantCol is set, from the start (after nil) or after a key.
func selectAfter(d *dialect, schema, table string, cols []exportColumn, key, tenantCol, tenant string, batch int) func(after any) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.q(c.name))
	}
	b.WriteString(" FROM " + d.tableName(schema, table))
	head, tail := b.String(), fmt.Sprintf(" ORDER BY %s LIMIT %d", d.q(key), batch)
	return func(after any) (string, []any) {
		var conds []string
		var args []any
		if tenantCol != "" {
			args = append(args, tenant)
			conds = append(conds, d.q(tenantCol)+" = "+d.ph(len(args)))
		}
		if after != nil {
			args = append(args, after)
			conds = append(conds, d.q(key)+" > "+d.ph(len(args)))
		}
		if len(conds) == 0 {
			return head + tail, nil
		}
		return head + " WHERE " + strings.Join(conds, " AND ") + tail, args
	}
}

// fingerprint names what an export writes — principal, roles, tenant,
// columns and each rule with what it makes of a probe value — so that a
// run resumes only an interrupted run of the same export.
func (e *Export) fingerprint(cols []exportColumn) string {
	h := sha256.New()
	roles := slices.Clone(e.Principal.Roles)
	slices.Sort(roles)
	fmt.Fprintf(h, "%q %q %q\n", e.Principal.ID, roles, e.Tenant)
	for _, c := range cols {
		fmt.Fprintf(h, "%q", c.name)
		if c.rule != nil {
			fmt.Fprintf(h, " %q %q %v", c.rule.Name(), c.rule.Mask("gmfield export probe 11010519491231002X 13800138000 北京市朝阳区 1990-03-07"), c.rule.Null())
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// declared lists a table's columns in their declared order.
func declared(live map[string]liveColumn) []string {
	names := make([]string, 0, len(live))
	for n := range live {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return live[a].Pos - live[b].Pos })
	return names
}

// plainValue normalizes what a driver returned for the sinks.
func plainValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// redacted is a target database's error with every quoted part of its
// message left out: drivers quote the values they refuse ("Incorrect
// string value: '…' for column name"), and an export's error must not
// carry one. Unwrap gives the driver's error for errors.Is and As.
type redacted struct{ err error }

func (r redacted) Unwrap() error { return r.err }

func (r redacted) Error() string { return quoted.ReplaceAllString(r.err.Error(), "'…'") }

var quoted = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"`)
