package audit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
)

// flakyConnector: the next INSERT into the leaves commits and reports an
// error (lose), and the next reads of the leaves fail (blind), as when a
// connection drops right after COMMIT and the database is unreachable
// for a moment. delay, when set, holds the checkpoint read of resume.
type flakyConnector struct {
	inner       driver.Driver
	dsn         string
	lose, blind *atomic.Int32
	delay       time.Duration
}

func (c flakyConnector) Connect(context.Context) (driver.Conn, error) {
	cn, err := c.inner.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return flakyConn{Conn: cn, c: c}, nil
}
func (c flakyConnector) Driver() driver.Driver { return c.inner }

type flakyConn struct {
	driver.Conn
	c flakyConnector
}

func (c flakyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if err == nil && c.c.lose != nil && strings.HasPrefix(q, "INSERT INTO gmfield_audit ") && c.c.lose.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

func (c flakyConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if c.c.blind != nil && strings.HasPrefix(q, "SELECT idx, leaf FROM gmfield_audit ") && c.c.blind.Add(-1) >= 0 {
		return nil, errors.New("connection refused")
	}
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err == nil && c.c.delay > 0 && strings.HasPrefix(q, "SELECT note FROM gmfield_audit_checkpoint") {
		return slowRows{Rows: rows, d: c.c.delay}, nil
	}
	return rows, err
}

type slowRows struct {
	driver.Rows
	d time.Duration
}

func (r slowRows) Close() error {
	err := r.Rows.Close()
	time.Sleep(r.d)
	return err
}

// TestReviewLostAppendAndCatchUpDuplicates: the duplicate-append fix
// recognizes this writer's leaves only in the catch-up right after the
// failed append. When that catch-up fails too (the connection that
// dropped after COMMIT is still down), write sets resync, and the next
// attempt's catch-up (seen == nil) reads the committed batch into the tree
// as foreign leaves and appends the same batch again: one statement,
// two events. Async mode retries the batch by itself.
func TestReviewLostAppendAndCatchUpDuplicates(t *testing.T) {
	k, v := newKey(t)
	raw, dsn := testdb.SQLite(t)
	var lose, blind atomic.Int32
	db := sql.OpenDB(flakyConnector{inner: raw.Driver(), dsn: dsn, lose: &lose, blind: &blind})
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	l, err := audit.OpenTable(ctx, audit.Table{DB: db, Dialect: "sqlite"}, audit.Options{Key: k, Mode: audit.Async, CheckpointEvery: -1})
	require.NoError(t, err)
	require.NoError(t, l.Record(ctx, event(0)))
	require.NoError(t, l.Sync(ctx))
	lose.Store(1)
	blind.Store(1)
	require.NoError(t, l.Reserve())
	require.NoError(t, l.Record(ctx, event(1)))
	require.NoError(t, l.Sync(ctx)) // the writer retries the batch after its backoff
	require.NoError(t, l.Close())

	src, err := audit.TableSource(audit.Table{DB: raw, Dialect: "sqlite"})
	require.NoError(t, err)
	r, err := audit.Verify(ctx, src, v)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r)
	n := 0
	require.NoError(t, audit.Query(ctx, src, audit.Filter{}, func(e *audit.Event) error {
		if e.Time.Equal(event(1).Time) {
			n++
		}
		return nil
	}))
	assert.Equal(t, 1, n, "one statement, one event")
}

// TestReviewInstancesStartingTogether: two instances start on an empty
// database. B reads the checkpoint table (empty), A meanwhile creates the
// log (checkpoint 0) and writes its first event, and B's catch-up finds a
// leaf and no checkpoint: B refuses the log as "checkpoints removed"
// (ErrCorrupt) and its application cannot start. docs/audit.md:
// "Instances that share a database share one log".
func TestReviewInstancesStartingTogether(t *testing.T) {
	k, _ := newKey(t)
	raw, dsn := testdb.SQLite(t)
	ctx := context.Background()
	slow := sql.OpenDB(flakyConnector{inner: raw.Driver(), dsn: dsn, delay: 300 * time.Millisecond})
	t.Cleanup(func() { slow.Close() })
	// The tables exist (created by either instance a moment before).
	_, err := raw.Exec(`CREATE TABLE gmfield_audit (idx BIGINT PRIMARY KEY, leaf TEXT NOT NULL)`)
	require.NoError(t, err)
	_, err = raw.Exec(`CREATE TABLE gmfield_audit_checkpoint (size BIGINT PRIMARY KEY, note TEXT NOT NULL, frontier TEXT NOT NULL)`)
	require.NoError(t, err)

	berr := make(chan error, 1)
	go func() {
		l, err := audit.OpenTable(ctx, audit.Table{DB: slow, Dialect: "sqlite"}, audit.Options{Key: k})
		if err == nil {
			err = l.Close()
		}
		berr <- err
	}()
	time.Sleep(100 * time.Millisecond) // B has read the empty checkpoint table
	a, err := audit.OpenTable(ctx, audit.Table{DB: raw, Dialect: "sqlite"}, audit.Options{Key: k})
	require.NoError(t, err)
	require.NoError(t, a.Record(ctx, event(0)))
	assert.NoError(t, <-berr, "instance B must open the shared log")
	require.NoError(t, a.Close())
}
