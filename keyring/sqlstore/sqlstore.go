// Package sqlstore is a key ring Store in a table of the application's
// own database (gmfield_keys by default), through database/sql: SQLite,
// PostgreSQL, MySQL and MariaDB. Updates are compare-and-swap on a
// revision column, so several processes can share the table.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
)

// Dialect selects the placeholder style and column types.
type Dialect int

const (
	// SQLite uses ? placeholders.
	SQLite Dialect = iota + 1
	// Postgres uses $n placeholders (PostgreSQL, openGauss, KingbaseES).
	Postgres
	// MySQL uses ? placeholders (MySQL, MariaDB, TiDB, OceanBase).
	MySQL
)

// DefaultTable is the table the store uses unless told otherwise.
const DefaultTable = "gmfield_keys"

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Store keeps key records in one table: id, keyspace, the record as JSON,
// and its revision.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
}

// New returns a store over db in table (DefaultTable when empty). Call
// Init once to create the table.
func New(db *sql.DB, dialect Dialect, table string) (*Store, error) {
	if table == "" {
		table = DefaultTable
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("%w: table name %q", crypto.ErrInvalidInput, table)
	}
	if dialect < SQLite || dialect > MySQL {
		return nil, fmt.Errorf("%w: unknown dialect %d", crypto.ErrInvalidInput, dialect)
	}
	return &Store{db: db, dialect: dialect, table: table}, nil
}

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

// Init creates the table if it does not exist.
func (s *Store) Init(ctx context.Context) error {
	text := "TEXT"
	if s.dialect == MySQL {
		text = "LONGTEXT"
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	id VARCHAR(64) NOT NULL PRIMARY KEY,
	keyspace VARCHAR(512) NOT NULL,
	record %s NOT NULL,
	rev BIGINT NOT NULL
)`, s.table, text))
	if err != nil {
		return fmt.Errorf("gmfield/keyring/sqlstore: create %s: %w", s.table, err)
	}
	return nil
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (s *Store) q(query string) string {
	query = strings.ReplaceAll(query, "TABLE", s.table)
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func encode(r keyring.Record) (string, error) {
	if err := keyring.ValidateRecordID(r.ID); err != nil {
		return "", err
	}
	check := r
	check.Rev = max(check.Rev, 1)
	if err := check.Validate(r.ID); err != nil {
		return "", err // never store what would not read back
	}
	r.Rev = 0
	b, err := json.Marshal(r)
	return string(b), err
}

// Create stores a new record.
func (s *Store) Create(ctx context.Context, r keyring.Record) error {
	rec, err := encode(r)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q("INSERT INTO TABLE (id, keyspace, record, rev) VALUES (?, ?, ?, 1)"), r.ID, r.Keyspace, rec)
	if err != nil {
		if _, gerr := s.Get(ctx, r.ID); gerr == nil {
			return fmt.Errorf("key %s: %w", r.ID, keyring.ErrExists)
		}
		return fmt.Errorf("gmfield/keyring/sqlstore: insert key %s: %w", r.ID, err)
	}
	return nil
}

// Update replaces a record whose stored revision equals r.Rev.
func (s *Store) Update(ctx context.Context, r keyring.Record) error {
	rec, err := encode(r)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q("UPDATE TABLE SET keyspace = ?, record = ?, rev = rev + 1 WHERE id = ? AND rev = ?"), r.Keyspace, rec, r.ID, int64(r.Rev))
	if err != nil {
		return fmt.Errorf("gmfield/keyring/sqlstore: update key %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("gmfield/keyring/sqlstore: update key %s: %w", r.ID, err)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.Get(ctx, r.ID); err != nil {
		return err
	}
	return fmt.Errorf("key %s: %w", r.ID, keyring.ErrConflict)
}

// Get returns a record.
func (s *Store) Get(ctx context.Context, id string) (keyring.Record, error) {
	var rec string
	var rev int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT record, rev FROM TABLE WHERE id = ?"), id).Scan(&rec, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return keyring.Record{}, fmt.Errorf("key %s: %w", id, keyring.ErrKeyNotFound)
	}
	if err != nil {
		return keyring.Record{}, fmt.Errorf("gmfield/keyring/sqlstore: read key %s: %w", id, err)
	}
	return decode(id, rec, rev)
}

func decode(id, rec string, rev int64) (keyring.Record, error) {
	var r keyring.Record
	if err := json.Unmarshal([]byte(rec), &r); err != nil || rev < 1 {
		return keyring.Record{}, fmt.Errorf("%w: %s row %s", keyring.ErrCorrupt, DefaultTable, id)
	}
	r.Rev = uint64(rev)
	if err := r.Validate(id); err != nil {
		return keyring.Record{}, err
	}
	return r, nil
}

// List returns every record.
func (s *Store) List(ctx context.Context) ([]keyring.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, record, rev FROM TABLE ORDER BY id"))
	if err != nil {
		return nil, fmt.Errorf("gmfield/keyring/sqlstore: list keys: %w", err)
	}
	defer rows.Close()
	var recs []keyring.Record
	for rows.Next() {
		var id, rec string
		var rev int64
		if err := rows.Scan(&id, &rec, &rev); err != nil {
			return nil, fmt.Errorf("gmfield/keyring/sqlstore: list keys: %w", err)
		}
		r, err := decode(id, rec, rev)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}
