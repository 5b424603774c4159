// Package scan finds personal information in a live database and grades
// it (数据分类分级): it reads the catalog and a random sample of every
// column in read-only transactions, classifies each column from its values
// (masking's detectors, with their checksums) and its name (English,
// pinyin and Chinese hints), and grades it under PIPL art. 28 and
// GB/T 43697-2024. Reports show masked examples only; Propose turns a
// report into a gmfield configuration that protects what was found.
//
// The mapping from kinds to grades, and the clauses it rests on, are in
// docs/classification.md.
package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gmfield/gmfield/masking"
)

// ErrInvalid reports options Scan cannot run with.
var ErrInvalid = errors.New("gmfield/scan: invalid options")

// Progress receives a scan's progress, one table at a time. It has the
// methods of the lifecycle jobs' Progress, so one bar serves both.
type Progress interface {
	Start(total, done int64)
	Add(n int64)
	Finish()
}

// Options says what to scan and how.
type Options struct {
	// Dialect is "sqlite", "postgres" or "mysql".
	Dialect string
	// Schema is the PostgreSQL schema or MySQL database ("": the
	// connection's). SQLite has one.
	Schema string
	// Tables limits the scan to these tables (default: every table).
	Tables []string
	// Sample is the number of rows sampled per table (default 1000).
	Sample int
	// Grading sets the scale rules of grading.
	Grading Grading
	// Progress, when set, is told of each table scanned.
	Progress Progress
	// Log, when set, receives a line per table; never a value.
	Log *slog.Logger
}

// Report is the result of a scan. It holds no sampled value: examples are
// masked.
type Report struct {
	Dialect  string        `json:"dialect"`
	Schema   string        `json:"schema,omitempty"`
	Sample   int           `json:"sample"`
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Tables   []Table       `json:"tables"`
	Summary  Summary       `json:"summary"`
	Settings Grading       `json:"grading"`
}

// Summary counts what a report found.
type Summary struct {
	Tables, Columns     int
	Personal, Sensitive int
	Important, Review   int
	Protected           int
}

// Table is one scanned table.
type Table struct {
	Name string `json:"name"`
	// Rows is the database's estimate of the table's rows.
	Rows int64 `json:"rows"`
	// Sampled is the number of rows read.
	Sampled int `json:"sampled"`
	// RowKey is the single-column primary key, "" when there is none.
	RowKey string `json:"row_key,omitempty"`
	// Minors is set when some sampled value is of a person under 14: every
	// personal column of the table is then sensitive.
	Minors  bool     `json:"minors,omitempty"`
	Columns []Column `json:"columns"`
}

// Column is one classified and graded column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Classification
	Grade Grade `json:"grade"`
	// Examples are up to three sampled values of Kind, masked.
	Examples []string `json:"examples,omitempty"`
	// Recommendation says how to protect the column.
	Recommendation string `json:"recommendation"`
}

// Scan scans the database db. It reads only: every table is sampled in a
// read-only transaction of its own.
func Scan(ctx context.Context, db *sql.DB, opts Options) (*Report, error) {
	d, err := dialectNamed(opts.Dialect)
	if err != nil {
		return nil, err
	}
	if opts.Sample == 0 {
		opts.Sample = 1000
	}
	if opts.Sample < 1 || opts.Sample > 1_000_000 {
		return nil, fmt.Errorf("%w: sample %d (1 to 1000000)", ErrInvalid, opts.Sample)
	}
	rep := &Report{Dialect: d.name, Schema: opts.Schema, Sample: opts.Sample, Started: time.Now(), Settings: opts.Grading}
	tables, err := readCatalog(ctx, db, d, opts)
	if err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress.Start(int64(len(tables)), 0)
		defer opts.Progress.Finish()
	}
	for _, t := range tables {
		if err := scanTable(ctx, db, d, opts, t); err != nil {
			return nil, fmt.Errorf("gmfield/scan: table %s: %w", t.Name, err)
		}
		rep.Tables = append(rep.Tables, *t)
		if opts.Log != nil {
			opts.Log.Info("scanned", "table", t.Name, "rows", t.Rows, "sampled", t.Sampled, "columns", len(t.Columns), "personal", countPersonal(t))
		}
		if opts.Progress != nil {
			opts.Progress.Add(1)
		}
	}
	rep.Elapsed = time.Since(rep.Started)
	rep.summarize()
	return rep, nil
}

func readCatalog(ctx context.Context, db *sql.DB, d *dialect, opts Options) ([]*Table, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("gmfield/scan: read-only transaction: %w", err)
	}
	defer tx.Rollback()
	rows, err := d.catalog(ctx, tx, opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("gmfield/scan: reading the catalog: %w", err)
	}
	want := map[string]bool{}
	for _, t := range opts.Tables {
		want[strings.ToLower(t)] = true
	}
	var out []*Table
	for _, r := range rows {
		if len(want) > 0 && !want[strings.ToLower(r.table)] {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Name != r.table {
			out = append(out, &Table{Name: r.table})
		}
		t := out[len(out)-1]
		t.Columns = append(t.Columns, Column{Name: r.column, Type: r.typ})
		if r.pk {
			t.RowKey = r.column
		}
	}
	for name := range want {
		found := false
		for _, t := range out {
			found = found || strings.EqualFold(t.Name, name)
		}
		if !found {
			return nil, fmt.Errorf("%w: table %q not found", ErrInvalid, name)
		}
	}
	return out, nil
}

// scanTable samples one table and classifies and grades its columns.
func scanTable(ctx context.Context, db *sql.DB, d *dialect, opts Options, t *Table) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if t.Rows, err = d.rows(ctx, tx, opts.Schema, t.Name); err != nil {
		return fmt.Errorf("estimating rows: %w", err)
	}
	name := d.quote(t.Name)
	if opts.Schema != "" && d != sqliteDialect {
		name = d.quote(opts.Schema) + "." + name
	}
	var idx []int // the sampled columns
	var exprs []string
	for i, c := range t.Columns {
		if sampled(c.Type) {
			idx = append(idx, i)
			exprs = append(exprs, d.text(d.quote(c.Name)))
		}
	}
	values := make([][]string, len(t.Columns))
	if len(idx) > 0 {
		rows, err := tx.QueryContext(ctx, d.sample(strings.Join(exprs, ", "), name, opts.Sample, t.Rows))
		if err != nil {
			return fmt.Errorf("sampling: %w", err)
		}
		dest := make([]sql.NullString, len(idx))
		ptrs := make([]any, len(idx))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("sampling: %w", err)
			}
			t.Sampled++
			for i, j := range idx {
				if dest[i].Valid {
					values[j] = append(values[j], dest[i].String)
				}
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sampling: %w", err)
		}
		rows.Close()
	}
	if t.Rows < 0 || t.Rows < int64(t.Sampled) {
		t.Rows = int64(t.Sampled) // unknown or stale: at least what was read
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		c.Classification = Classify(c.Name, c.Type, values[i])
		c.Examples = examples(c.Kind, values[i])
		t.Minors = t.Minors || c.Minors > 0
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		c.Grade = opts.Grading.grade(c.Kind, t.Rows, t.Minors)
		c.Recommendation = recommend(c)
	}
	return nil
}

// examples masks up to three distinct values of kind k with the kind's
// masking function; a value the function would leave as it is, is not
// shown.
func examples(k masking.Kind, vals []string) []string {
	ki, ok := info[k]
	if !ok || ki.mask == "" || ki.mask == "mask_all" || k == KindBirthDate {
		return nil
	}
	r, err := masking.NewRule(ki.mask, ki.params)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if masking.Validate(k, v) < 0.5 {
			continue
		}
		m := r.Mask(v)
		if m == v || seen[m] || !strings.ContainsRune(m, '*') {
			continue
		}
		seen[m] = true
		if out = append(out, m); len(out) == 3 {
			break
		}
	}
	return out
}

func recommend(c *Column) string {
	switch {
	case c.Protected:
		return "already encrypted by gmfield"
	case c.Kind == "":
		if c.Review {
			return "review: see the notes"
		}
		return "no action"
	}
	s := info[c.Kind].advice
	if c.Review {
		s = "review, then " + s
	}
	return s
}

func countPersonal(t *Table) int {
	n := 0
	for _, c := range t.Columns {
		if c.Grade.Personal {
			n++
		}
	}
	return n
}

func (r *Report) summarize() {
	s := &r.Summary
	s.Tables = len(r.Tables)
	for _, t := range r.Tables {
		for _, c := range t.Columns {
			s.Columns++
			if c.Grade.Personal {
				s.Personal++
			}
			if c.Grade.Sensitive {
				s.Sensitive++
			}
			if c.Grade.Level == LevelImportant {
				s.Important++
			}
			if c.Review {
				s.Review++
			}
			if c.Protected {
				s.Protected++
			}
		}
	}
}
