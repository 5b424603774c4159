package lifecycle

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gmfield/gmfield/sqldriver"
)

// formatText is the text of a value in a CSV file or a TEXT column: dates
// as 2006-01-02, timestamps as 2006-01-02 15:04:05.999999999 with their
// offset, bytes as themselves when they are UTF-8 text (else base64).
func formatText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		if utf8.Valid(x) {
			return string(x), true
		}
		return base64.StdEncoding.EncodeToString(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			return x.Format(time.DateOnly), true
		}
		return x.Format("2006-01-02 15:04:05.999999999Z07:00"), true
	}
	return fmt.Sprint(v), true
}

// csvSink writes a CSV file: FILE.part while the export runs, with
// FILE.part.json beside it holding the length of the complete batches and
// the last row key; renamed to FILE at the end.
type csvSink struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	cw     *csv.Writer
	st     csvState
	cols   []SinkColumn
	locked bool
}

type csvState struct {
	Job     string   `json:"job"`
	Columns []string `json:"columns"`
	Offset  int64    `json:"offset"`
	Last    string   `json:"last"`
}

// NewCSVSink returns a Sink writing the CSV file path (RFC 4180, a header
// line, NULL as an empty field, bytes that are not text in base64). An
// interrupted export leaves path.part and path.part.json, and the next
// run with the same columns continues them.
func NewCSVSink(path string) Sink { return &csvSink{path: path} }

func (s *csvSink) Open(_ context.Context, job string, cols []SinkColumn) (string, error) {
	s.cols = cols
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	part := s.path + ".part"
	if err := s.lock(); err != nil {
		return "", err
	}
	var prev csvState
	if b, err := os.ReadFile(part + ".json"); err == nil && json.Unmarshal(b, &prev) == nil &&
		prev.Job == job && strings.Join(prev.Columns, "\x00") == strings.Join(names, "\x00") && prev.Offset > 0 {
		f, err := os.OpenFile(part, os.O_RDWR, 0)
		if err == nil {
			if err = f.Truncate(prev.Offset); err == nil {
				_, err = f.Seek(prev.Offset, io.SeekStart)
			}
			if err != nil {
				f.Close()
				return "", err
			}
			s.f, s.st = f, prev
			s.w = bufio.NewWriterSize(f, 1<<16)
			s.cw = csv.NewWriter(s.w)
			return prev.Last, nil
		}
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	s.f = f
	s.w = bufio.NewWriterSize(f, 1<<16)
	s.cw = csv.NewWriter(s.w)
	s.st = csvState{Job: job, Columns: names}
	if err := s.cw.Write(names); err != nil {
		return "", err
	}
	return "", s.sync("")
}

func (s *csvSink) Write(_ context.Context, rows [][]any, last string) error {
	rec := make([]string, len(s.cols))
	for _, r := range rows {
		for i, v := range r {
			rec[i], _ = formatText(v)
		}
		if err := s.cw.Write(rec); err != nil {
			return err
		}
	}
	return s.sync(last)
}

// sync makes what was written durable, then records it as complete.
func (s *csvSink) sync(last string) error {
	s.cw.Flush()
	if err := s.cw.Error(); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	off, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	s.st.Offset, s.st.Last = off, last
	b, _ := json.Marshal(s.st)
	return writeFileAtomic(s.path+".part.json", b)
}

func (s *csvSink) Close(context.Context) error {
	defer s.unlock()
	if err := s.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(s.path+".part", s.path); err != nil {
		return err
	}
	return os.Remove(s.path + ".part.json")
}

func (s *csvSink) Abort() {
	if s.f != nil {
		s.f.Close()
	}
	s.unlock()
}

// lock takes FILE.part.lock, holding this process's id: two exports never
// write one file. A lock whose process is gone is taken over.
func (s *csvSink) lock() error {
	path := s.path + ".part.lock"
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprint(f, os.Getpid())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			s.locked = err == nil
			return err
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		b, _ := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && processAlive(pid) {
			return fmt.Errorf("%w: %s (process %d; remove the lock file if no export runs)", ErrBusy, path, pid)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return fmt.Errorf("%w: %s", ErrBusy, path)
}

func (s *csvSink) unlock() {
	if s.locked {
		os.Remove(s.path + ".part.lock")
		s.locked = false
	}
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tableSink writes a table of a plain database, creating it when it does
// not exist, and keeps its checkpoint in that database's JobsTable.
type tableSink struct {
	db            *sql.DB
	d             *dialect
	dialectName   string
	schema, table string
	replace       bool
	name          string
	cols          []SinkColumn
	text          []bool // the column is textual: values are bound as text
	cp            checkpoint
}

// NewTableSink returns a Sink writing table (in schema, "" for the
// connection's) of db, a plain database of dialect. A missing table is
// created: the row key as BIGINT (integer keys) or VARCHAR(255), bytes as
// the dialect's binary type, everything else as text. An existing table
// must have the exported columns. A table that already holds rows, with
// no interrupted export of the same job to continue, is refused with
// ErrExists unless replace is set: then its rows are deleted first.
func NewTableSink(db *sql.DB, dialect, schema, table string, replace bool) Sink {
	return &tableSink{db: db, dialectName: dialect, schema: strings.ToLower(schema), table: strings.ToLower(table), replace: replace}
}

// passKey keeps a checkpoint's key as its canonical text.
type passKey struct{}

func (passKey) Value(s string) (driver.Value, error) { return s, nil }

func (s *tableSink) Open(ctx context.Context, job string, cols []SinkColumn) (string, error) {
	d, err := dialectNamed(s.dialectName)
	if err != nil {
		return "", err
	}
	if !sqldriver.PlainIdentifier(s.table) || (s.schema != "" && !sqldriver.PlainIdentifier(s.schema)) {
		return "", fmt.Errorf("%w: target table %q: use a plain identifier", ErrInvalid, s.table)
	}
	s.d, s.cols, s.name = d, cols, d.tableName(s.schema, s.table)
	live, err := d.columns(ctx, s.db, s.schema, s.table)
	if err != nil {
		return "", fmt.Errorf("gmfield/lifecycle: reading the target's columns: %w", err)
	}
	s.text = make([]bool, len(cols))
	if len(live) == 0 {
		if _, err := s.db.ExecContext(ctx, s.create()); err != nil {
			return "", fmt.Errorf("gmfield/lifecycle: creating the target table: %w", err)
		}
		for i, c := range cols {
			s.text[i] = !c.Key && !c.Binary
		}
	} else {
		for i, c := range cols {
			lc, ok := live[c.Name]
			if !ok {
				return "", fmt.Errorf("%w: the target table %s has no column %s", ErrInvalid, s.table, c.Name)
			}
			t := strings.ToLower(lc.Type)
			s.text[i] = !c.Key && (strings.Contains(t, "char") || strings.Contains(t, "text") || strings.Contains(t, "clob"))
		}
	}
	s.cp, err = openCheckpoint(ctx, s.db, d, job+"->"+s.table, "export", s.table, passKey{})
	if err != nil {
		return "", err
	}
	if s.cp.last != nil {
		return s.cp.last.(string), nil
	}
	var one int
	switch err := s.db.QueryRowContext(ctx, "SELECT 1 FROM "+s.name+" LIMIT 1").Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", err
	case !s.replace:
		return "", fmt.Errorf("%w: %s holds rows (replace them, or export to another table)", ErrExists, s.table)
	default:
		if _, err := s.db.ExecContext(ctx, "DELETE FROM "+s.name); err != nil {
			return "", err
		}
	}
	return "", nil
}

func (s *tableSink) create() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + s.name + " (")
	for i, c := range s.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.d.q(c.Name) + " ")
		switch {
		case c.Key && c.Integer:
			b.WriteString("BIGINT NOT NULL PRIMARY KEY")
		case c.Key:
			b.WriteString("VARCHAR(255) NOT NULL PRIMARY KEY")
		case c.Binary:
			b.WriteString(map[string]string{"postgres": "BYTEA", "mysql": "LONGBLOB", "sqlite": "BLOB"}[s.d.name])
		default:
			b.WriteString(map[string]string{"postgres": "TEXT", "mysql": "LONGTEXT", "sqlite": "TEXT"}[s.d.name])
		}
	}
	b.WriteString(")")
	if s.d == mysql {
		b.WriteString(" DEFAULT CHARSET=utf8mb4")
	}
	return b.String()
}

func (s *tableSink) Write(ctx context.Context, rows [][]any, last string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	per := max(1, 30000/len(s.cols)) // below every dialect's limit of bound values
	for len(rows) > 0 {
		n := min(per, len(rows))
		q, args := s.insert(rows[:n])
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	if err := s.cp.advance(ctx, tx, s.d, last); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.cp.committed()
	return nil
}

func (s *tableSink) insert(rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO " + s.name + " (")
	list(&b, len(s.cols), ", ", func(i int) { b.WriteString(s.d.q(s.cols[i].Name)) })
	b.WriteString(") VALUES ")
	args := make([]any, 0, len(rows)*len(s.cols))
	list(&b, len(rows), ", ", func(r int) {
		b.WriteString("(")
		list(&b, len(s.cols), ", ", func(i int) {
			args = append(args, s.bind(i, rows[r][i]))
			b.WriteString(s.d.ph(len(args)))
		})
		b.WriteString(")")
	})
	return b.String(), args
}

func (s *tableSink) bind(i int, v any) any {
	if !s.text[i] {
		return v
	}
	if t, ok := formatText(v); ok {
		return t
	}
	return nil
}

func (s *tableSink) Close(ctx context.Context) error { return s.cp.finish(ctx, s.db, s.d) }

// Abort keeps the checkpoint where the last batch left it.
func (s *tableSink) Abort() {}
