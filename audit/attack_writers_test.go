package audit_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
)

// lossyConnector opens SQLite connections whose next INSERT into the
// leaves' table commits and then reports an error, as a connection that
// drops after COMMIT does.
type lossyConnector struct {
	inner driver.Driver
	dsn   string
	lose  *atomic.Int32
}

func (c lossyConnector) Connect(context.Context) (driver.Conn, error) {
	cn, err := c.inner.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return lossyConn{Conn: cn, lose: c.lose}, nil
}
func (c lossyConnector) Driver() driver.Driver { return c.inner }

type lossyConn struct {
	driver.Conn
	lose *atomic.Int32
}

func (c lossyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if err == nil && strings.HasPrefix(q, "INSERT INTO gmfield_audit ") && c.lose.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

func (c lossyConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

// TestAttackLostAppendResultDuplicatesEvents: an append whose INSERT
// committed but whose result was lost is read back by catch-up and then
// written again at the next indexes: the one statement is in the log
// twice (two events, two leaves), and the tree verifies.
func TestAttackLostAppendResultDuplicatesEvents(t *testing.T) {
	k, v := newKey(t)
	raw, dsn := testdb.SQLite(t)
	var lose atomic.Int32
	db := sql.OpenDB(lossyConnector{inner: raw.Driver(), dsn: dsn, lose: &lose})
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	l, err := audit.OpenTable(ctx, audit.Table{DB: db, Dialect: "sqlite"}, audit.Options{Key: k, CheckpointEvery: -1})
	require.NoError(t, err)
	require.NoError(t, l.Record(ctx, event(0)))
	lose.Store(1)
	err = l.Record(ctx, event(1))
	require.NoError(t, l.Close())
	src, err2 := audit.TableSource(audit.Table{DB: raw, Dialect: "sqlite"})
	require.NoError(t, err2)
	r, err2 := audit.Verify(ctx, src, v)
	require.NoError(t, err2)
	require.True(t, r.OK(), "%+v", r)
	n := 0
	require.NoError(t, audit.Query(ctx, src, audit.Filter{}, func(e *audit.Event) error {
		if e.Time.Equal(event(1).Time) {
			n++
		}
		return nil
	}))
	if err == nil {
		assert.Equal(t, 1, n, "one statement, one event: the lost append was written again")
	} else {
		assert.Equal(t, 0, n, "the statement failed: its event should not be in the log")
	}
}

// TestAttackConcurrentOpenTable: instances that start together on an
// empty PostgreSQL database each OpenTable; CREATE TABLE IF NOT EXISTS
// races in PostgreSQL's catalog and some opens fail.
func TestAttackConcurrentOpenTable(t *testing.T) {
	k, _ := newKey(t)
	for round := 0; round < 5; round++ {
		raw, dsn := testdb.Postgres(t, "pgx")
		_ = raw
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := sql.Open("pgx", dsn)
				if err != nil {
					errs[i] = err
					return
				}
				defer h.Close()
				l, err := audit.OpenTable(context.Background(), audit.Table{DB: h, Dialect: "postgres"}, audit.Options{Key: k})
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = l.Close()
			}()
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "instance %d of round %d", i, round)
		}
	}
}
