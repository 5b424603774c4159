package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Table names the database log of OpenTable and TableSource.
type Table struct {
	// DB is a plain (not gmfield-wrapped) handle of the application's
	// database.
	DB *sql.DB
	// Dialect is "postgres", "mysql" or "sqlite".
	Dialect string
	// Name is the leaves' table (default "gmfield_audit"); the
	// checkpoints are in Name+"_checkpoint".
	Name string
}

var tableRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,50}$`)

// OpenTable opens the log kept in a table of the application's database
// (docs/format.md §9.4), creating its tables if they do not exist.
// Several instances may write one log: each append is one INSERT at the
// index it believes next, and an instance whose indexes were taken reads
// what the others wrote and tries again, so all see one tree.
func OpenTable(ctx context.Context, t Table, opt Options) (*Log, error) {
	st, err := newTableStore(t)
	if err != nil {
		return nil, err
	}
	if err := st.create(ctx); err != nil {
		return nil, err
	}
	return newLog(ctx, st, opt)
}

// TableSource reads the log kept in a database table, for Verify, Prove
// and Query.
func TableSource(t Table) (Source, error) { return newTableStore(t) }

type tableStore struct {
	db          *sql.DB
	dialect     string
	leaves, cps string
	ph          func(int) string
	appendSQL   map[int]string
}

func newTableStore(t Table) (*tableStore, error) {
	if t.DB == nil {
		return nil, fmt.Errorf("%w: no database handle", ErrInvalid)
	}
	name := t.Name
	if name == "" {
		name = "gmfield_audit"
	}
	if !tableRE.MatchString(name) {
		return nil, fmt.Errorf("%w: table name %q", ErrInvalid, name)
	}
	st := &tableStore{db: t.DB, leaves: name, cps: name + "_checkpoint", ph: func(int) string { return "?" }, appendSQL: map[int]string{}}
	switch strings.ToLower(t.Dialect) {
	case "postgres", "postgresql":
		st.dialect = "postgres"
		st.ph = func(n int) string { return "$" + strconv.Itoa(n) }
	case "mysql", "mariadb":
		st.dialect = "mysql"
	case "sqlite":
		st.dialect = "sqlite"
	default:
		return nil, fmt.Errorf("%w: dialect %q (postgres, mysql or sqlite)", ErrInvalid, t.Dialect)
	}
	return st, nil
}

func (s *tableStore) create(ctx context.Context) error {
	text := "TEXT"
	if s.dialect == "mysql" {
		text = "MEDIUMTEXT"
	}
	for _, t := range []struct{ name, cols string }{
		{s.leaves, "idx BIGINT PRIMARY KEY, leaf " + text + " NOT NULL"},
		{s.cps, "size BIGINT PRIMARY KEY, note TEXT NOT NULL, frontier TEXT NOT NULL"},
	} {
		_, err := s.db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (%s)`, t.name, t.cols))
		if err != nil {
			// Instances opening at once race to create it (PostgreSQL
			// then fails one CREATE … IF NOT EXISTS on its catalog's key):
			// what counts is that the table exists.
			var one int
			if qerr := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE 1 = 0`, t.name)).Scan(&one); qerr != nil {
				return fmt.Errorf("gmfield/audit: creating %s: %w", t.name, err)
			}
		}
	}
	return nil
}

func (s *tableStore) tail(ctx context.Context, from uint64, fn func(uint64, []byte) error) error {
	q, args := fmt.Sprintf(`SELECT idx, leaf FROM %s WHERE idx >= %s ORDER BY idx`, s.leaves, s.ph(1)), []any{int64(from)}
	if from == 0 { // every row, a negative index too
		q, args = fmt.Sprintf(`SELECT idx, leaf FROM %s ORDER BY idx`, s.leaves), nil
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("gmfield/audit: reading %s: %w", s.leaves, err)
	}
	defer rows.Close()
	var leaf []byte
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx, &leaf); err != nil {
			return fmt.Errorf("gmfield/audit: reading %s: %w", s.leaves, err)
		}
		// A negative index (only read when from is 0) goes on as a very
		// large one, out of place, for verification to report.
		if err := fn(uint64(idx), leaf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("gmfield/audit: reading %s: %w", s.leaves, err)
	}
	return nil
}

// append writes leaves in one INSERT: the primary key makes it fail as a
// whole when another instance took one of the indexes.
func (s *tableStore) append(ctx context.Context, start uint64, leaves [][]byte) error {
	q, ok := s.appendSQL[len(leaves)]
	if !ok {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (idx, leaf) VALUES ", s.leaves)
		for i := range leaves {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%s, %s)", s.ph(2*i+1), s.ph(2*i+2))
		}
		q = b.String()
		if len(s.appendSQL) < 64 {
			s.appendSQL[len(leaves)] = q
		}
	}
	args := make([]any, 0, 2*len(leaves))
	for i, lf := range leaves {
		args = append(args, int64(start)+int64(i), string(lf))
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("gmfield/audit: appending to %s: %w", s.leaves, err)
	}
	return nil
}

func (s *tableStore) checkpoint(ctx context.Context, size uint64, note []byte, hashes [][]byte) error {
	parts := make([]string, len(hashes))
	for i, h := range hashes {
		parts[i] = hex.EncodeToString(h)
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (size, note, frontier) VALUES (%s, %s, %s)`, s.cps, s.ph(1), s.ph(2), s.ph(3)),
		int64(size), string(note), strings.Join(parts, ","))
	if err != nil {
		var n int
		if s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE size = %s`, s.cps, s.ph(1)), int64(size)).Scan(&n) == nil && n > 0 {
			return nil // another instance checkpointed this size
		}
		return err
	}
	return nil
}

func (s *tableStore) close() error { return nil }

// Leaves implements Source, in index order.
func (s *tableStore) Leaves(ctx context.Context, fn func(uint64, []byte) error) error {
	return s.tail(ctx, 0, fn)
}

// Checkpoints implements Source.
func (s *tableStore) Checkpoints(ctx context.Context) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT note FROM %s ORDER BY size`, s.cps))
	if err != nil {
		return nil, fmt.Errorf("gmfield/audit: reading %s: %w", s.cps, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, []byte(n))
	}
	return out, rows.Err()
}
