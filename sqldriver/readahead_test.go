package sqldriver_test

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
)

// reusingDriver is the minimal SQLite driver whose rows return every
// string and []byte value in one buffer that the next call to Next
// overwrites, as drivers may (go-sql-driver/mysql does): the driver's
// read-ahead must copy what it keeps.
type reusingDriver struct{ minimalDriver }

type reusingConn struct{ minimalConn }

type reusingStmt struct{ minimalStmt }

type reusingRows struct {
	driver.Rows
	buf []byte
}

func (d *reusingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.minimalDriver.Open(name)
	if err != nil {
		return nil, err
	}
	return reusingConn{c.(minimalConn)}, nil
}

func (c reusingConn) Prepare(q string) (driver.Stmt, error) {
	s, err := c.minimalConn.Prepare(q)
	if err != nil {
		return nil, err
	}
	return reusingStmt{s.(minimalStmt)}, nil
}

func (s reusingStmt) Query(args []driver.Value) (driver.Rows, error) {
	rows, err := s.minimalStmt.Query(args)
	if err != nil {
		return nil, err
	}
	return &reusingRows{Rows: rows}, nil
}

func (r *reusingRows) Next(dest []driver.Value) error {
	for i := range r.buf {
		r.buf[i] = '#' // what a reused buffer holds next
	}
	r.buf = r.buf[:0]
	if err := r.Rows.Next(dest); err != nil {
		return err
	}
	var at []int
	for i, v := range dest {
		var b []byte
		switch x := v.(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		default:
			at = append(at, -1)
			continue
		}
		at = append(at, len(r.buf))
		r.buf = append(r.buf, b...)
		at = append(at, len(r.buf))
		_ = i
	}
	for i, k := 0, 0; i < len(dest); i++ {
		if at[k] < 0 {
			k++
			continue
		}
		dest[i] = r.buf[at[k]:at[k+1]]
		k += 2
	}
	return nil
}

// TestReadAhead reads 150 rows (past several batches) through a driver
// that reuses its buffers, with one value tampered in the middle: every
// row before it reads right, the tampered one fails with ErrOpen at its
// place, and under on_error null it reads NULL and the rest go on.
func TestReadAhead(t *testing.T) {
	cfg := newConfig(t, testConfig)
	cfg.Dialect = pgdialect.SQLite
	inner, wrapped := "gmfield-test-reusing-"+suffix(), "gmfield-test-reusing-wrapped-"+suffix()
	sql.Register(inner, &reusingDriver{})
	require.NoError(t, sqldriver.Register(wrapped, inner, cfg))
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := sql.Open(wrapped, path)
	require.NoError(t, err)
	defer db.Close()
	sqliteBackend.schema(t, tdb{DB: db, ph: same})
	admin := as("admin")
	const n = 150
	phone := func(i int) string { return fmt.Sprintf("139%08d", i) }
	for i := range n {
		_, err := db.ExecContext(admin, `INSERT INTO citizen (id, phone, name, note) VALUES (?, ?, ?, ?)`, i, phone(i), fmt.Sprintf("名%d", i), fmt.Sprintf("note %d", i))
		require.NoError(t, err)
	}
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	// Row 100's phone and note are copied from row 99: they do not open
	// there (the row key is bound).
	_, err = raw.Exec(`UPDATE citizen SET phone = (SELECT phone FROM citizen WHERE id = 99), note = (SELECT note FROM citizen WHERE id = 99) WHERE id = 100`)
	require.NoError(t, err)

	read := func(role, q string) (got []string, err error) {
		rows, err := db.QueryContext(as(role), q)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var id int
			var p, name, note sql.NullString
			require.NoError(t, rows.Scan(&id, &p, &name, &note))
			got = append(got, fmt.Sprintf("%d %s %s %s", id, p.String, name.String, note.String))
		}
		return got, rows.Err()
	}
	got, err := read("admin", `SELECT id, phone, name, note FROM citizen ORDER BY id`)
	require.ErrorIs(t, err, sqldriver.ErrOpen, "row 100's phone")
	require.Len(t, got, 100)
	for i, g := range got {
		require.Equal(t, fmt.Sprintf("%d %s 名%d note %d", i, phone(i), i, i), g)
	}
	got, err = read("clerk", `SELECT id, name, name, note FROM citizen ORDER BY id`)
	require.NoError(t, err, "note is on_error null; the names open")
	require.Len(t, got, n)
	assert.Equal(t, "100 名*** 名*** ", got[100], "row 100's note reads NULL")
	assert.Equal(t, "99 名** 名** ***", got[99])
	assert.Equal(t, "149 名*** 名*** ***", got[149])
}

// TestPooledReadAheadHoldsNoPlaintext: after a result of 100 rows ends
// (batches of 1, 8, 64, then 27 rows), the read-ahead buffers back in the
// pool hold no plaintext — none of the 64-row batch either, past the last
// batch's length (a hostile review's finding).
func TestPooledReadAheadHoldsNoPlaintext(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := newConfig(t, testConfig)
	cfg.Dialect = pgdialect.SQLite
	wrapped := "gmfield-review-pool-" + suffix()
	require.NoError(t, sqldriver.Register(wrapped, "sqlite", cfg))
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := sql.Open(wrapped, path)
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	sqliteBackend.schema(t, tdb{DB: db, ph: same})
	admin := as("admin")
	for i := range 100 {
		_, err := db.ExecContext(admin, `INSERT INTO citizen (id, phone, name, note) VALUES (?, ?, ?, ?)`, i, fmt.Sprintf("139%08d", i), fmt.Sprintf("名%d", i), "n")
		require.NoError(t, err)
	}
	rows, err := db.QueryContext(admin, `SELECT id, phone FROM citizen ORDER BY id`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, 100, n)
	opened := sqldriver.PooledPlaintexts()
	for _, i := range []int{9, 40, 72, 73, 99} {
		if bytes.Contains(opened, []byte(fmt.Sprintf("139%08d", i))) {
			t.Errorf("row %d's phone plaintext is still in the pooled buffer", i)
		}
	}
}
