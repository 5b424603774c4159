package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/sqldriver"
)

// gateConnector opens SQLite connections whose statements bound with the
// argument "block-me" wait, inside the inner driver, until release is
// closed (entered is signalled first): a statement that has passed the
// audit gate and is running on the server.
type gateConnector struct {
	inner   driver.Driver
	dsn     string
	entered chan struct{}
	release chan struct{}
}

func (c *gateConnector) Connect(context.Context) (driver.Conn, error) {
	cn, err := c.inner.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return gateConn{Conn: cn, c: c}, nil
}
func (c *gateConnector) Driver() driver.Driver { return c.inner }

type gateConn struct {
	driver.Conn
	c *gateConnector
}

func (g gateConn) wait(args []driver.NamedValue) {
	for _, a := range args {
		if a.Value == "block-me" {
			g.c.entered <- struct{}{}
			<-g.c.release
		}
	}
}

func (g gateConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := g.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	g.wait(args) // the write is done (autocommit): the server ran it
	return res, err
}

func (g gateConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	g.wait(args)
	return g.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

// reviewDB wraps a fresh SQLite database through a gateConnector with cfg
// and seeds it; it returns the raw handle, the wrapped one and the gate.
func reviewDB(t *testing.T, cfg *sqldriver.Config) (*sql.DB, *sql.DB, *gateConnector) {
	t.Helper()
	raw, dsn := testdb.SQLite(t)
	gc := &gateConnector{inner: raw.Driver(), dsn: dsn, entered: make(chan struct{}, 1), release: make(chan struct{})}
	plain := *cfg
	plain.Audit = nil
	pc, err := sqldriver.Wrap(gc, &plain)
	require.NoError(t, err)
	seeder := sql.OpenDB(pc)
	seed(t, sqliteBackend, tdb{DB: seeder, ph: same})
	require.NoError(t, seeder.Close())
	c, err := sqldriver.Wrap(gc, cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return raw, db, gc
}

func reviewEvents(t *testing.T, src audit.Source) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	require.NoError(t, audit.Query(context.Background(), src, audit.Filter{}, func(e *audit.Event) error {
		out = append(out, e)
		return nil
	}))
	return out
}

// TestReviewRefusedStatementsTakeReservedRoom: the driver records refused
// statements (conn.refused) without a Reserve. In async mode their Records
// take the reservation of a statement that is running (Log.take does not
// know whose it is) and the queue room set aside for it; that statement's
// UPDATE commits and its Record fails with ErrQueueFull: the change is in
// the database and in no event. docs/audit.md: "a statement that got its
// room always gets its event queued".
func TestReviewRefusedStatementsTakeReservedRoom(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	logDB, _ := testdb.SQLite(t)
	log, err := audit.OpenTable(context.Background(), audit.Table{DB: logDB, Dialect: "sqlite"},
		audit.Options{Key: key, Mode: audit.Async, Queue: 2, Batch: 1, CheckpointEvery: -1})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	raw, db, gc := reviewDB(t, cfg)

	lock, err := logDB.Conn(context.Background())
	require.NoError(t, err)
	_, err = lock.ExecContext(context.Background(), `BEGIN EXCLUSIVE`)
	require.NoError(t, err)
	// The writer takes this event and stalls on the lock (a slow store).
	_, err = db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "first", 1)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)

	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "block-me", 2)
		done <- err
	}()
	<-gc.entered // admitted (room reserved) and running
	for i := 0; i < 2; i++ {
		_, err := db.QueryContext(as("clerk"), `SELECT id FROM citizen ORDER BY phone`)
		require.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)
	}
	close(gc.release)
	errA := <-done
	_, _ = lock.ExecContext(context.Background(), `ROLLBACK`)
	_ = lock.Close()
	require.NoError(t, log.Sync(context.Background()))
	var city string
	require.NoError(t, raw.QueryRow(`SELECT city FROM citizen WHERE id = 2`).Scan(&city))
	require.NoError(t, db.Close())
	src, err := audit.TableSource(audit.Table{DB: logDB, Dialect: "sqlite"})
	require.NoError(t, err)
	updates := 0
	for _, e := range reviewEvents(t, src) {
		if e.Kind == "update" {
			updates++
		}
	}
	assert.NoError(t, errA, "the UPDATE reserved its room before it ran")
	assert.False(t, city == "block-me" && updates < 2, "the UPDATE of row 2 committed (city %q) and has no event (%d update events)", city, updates)
}

// TestReviewCloseDuringStatement: db.Close does not wait for statements
// in flight (database/sql closes only idle connections), and the
// connector closes the log at once. A statement admitted before, whose
// server-side work is done, then finds the log closed: its UPDATE is
// committed and no event records it, in both modes. docs/audit.md:
// "db.Close() flushes and closes the log"; sqldriver.md: "A sink that is
// not ready fails the statement before it runs".
func TestReviewCloseDuringStatement(t *testing.T) {
	for _, mode := range []audit.Mode{audit.Sync, audit.Async} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			key, err := crypto.GenerateSM2Key()
			require.NoError(t, err)
			dir := t.TempDir()
			log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, Mode: mode, CheckpointEvery: -1})
			require.NoError(t, err)
			cfg := newConfig(t, testConfig)
			cfg.Audit = log
			raw, db, gc := reviewDB(t, cfg)

			done := make(chan error, 1)
			go func() {
				_, err := db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "block-me", 2)
				done <- err
			}()
			<-gc.entered
			closed := make(chan error, 1)
			go func() { closed <- db.Close() }()
			time.Sleep(100 * time.Millisecond) // db.Close has returned: it does not wait
			close(gc.release)
			errA := <-done
			<-closed
			var city string
			require.NoError(t, raw.QueryRow(`SELECT city FROM citizen WHERE id = 2`).Scan(&city))
			updates := 0
			for _, e := range reviewEvents(t, audit.DirSource(dir)) {
				if e.Kind == "update" {
					updates++
				}
			}
			t.Logf("statement error: %v", errA)
			assert.False(t, city == "block-me" && updates == 0, "the UPDATE committed during db.Close and has no event")
		})
	}
}

// TestReviewRowsReadAfterClose: db.Close records a result still open
// "with the rows read so far", but the result stays readable (its
// connection is busy, so database/sql leaves it open): every row read
// after that is decrypted and shown, and no event counts it.
func TestReviewRowsReadAfterClose(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, CheckpointEvery: -1})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	_, db, _ := reviewDB(t, cfg)

	rows, err := db.QueryContext(sqldriver.WithRoles(context.Background(), "late-reader", "admin"), `SELECT id_no FROM citizen ORDER BY id`)
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, db.Close()) // records the result with 1 row, closes the log
	shown := 1
	for rows.Next() {
		var idNo string
		require.NoError(t, rows.Scan(&idNo))
		assert.Contains(t, []string{people[1].idNo, people[2].idNo}, idNo, "plaintext after db.Close")
		shown++
	}
	_ = rows.Close()
	var counted int64
	for _, e := range reviewEvents(t, audit.DirSource(dir)) {
		if e.Principal == "late-reader" {
			counted += e.Decrypted
		}
	}
	assert.EqualValues(t, shown, counted, "%d plain ID numbers were shown, events count %d", shown, counted)
}

// TestReviewRegisterUnclosedRows: with sqldriver.Register the connectors
// are not owners, and connector.Close returns before finishOpen: a result
// never closed is never recorded, not even when its handle is closed
// (docs/audit.md: "A result the application never closes … is recorded
// … when the database handle is closed"). Each such result also keeps its
// async reservation for ever: with a queue of 4, four leaked results make
// the log refuse every later statement of every handle with ErrQueueFull
// while its queue is empty.
func TestReviewRegisterUnclosedRows(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, Mode: audit.Async, Queue: 4, CheckpointEvery: -1})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	name := "gmfield-review-" + suffix()
	require.NoError(t, sqldriver.Register(name, "sqlite", cfg))
	raw, dsn := testdb.SQLite(t)
	_, err = raw.Exec(`CREATE TABLE citizen (id INTEGER PRIMARY KEY, id_no TEXT, id_no_bidx TEXT, phone TEXT, phone_bidx TEXT, phone_last4_bidx TEXT, name TEXT, note TEXT, photo BLOB, city TEXT)`)
	require.NoError(t, err)

	app, err := sql.Open(name, dsn)
	require.NoError(t, err)
	for i := 1; i <= 4; i++ {
		_, err = app.ExecContext(as("admin"), `INSERT INTO citizen (id, id_no) VALUES (?, ?)`, i, fmt.Sprintf("11010519491231%04d", i))
		require.NoError(t, err)
	}
	require.NoError(t, log.Sync(context.Background()))
	var leaked []*sql.Rows
	for i := 0; i < 4; i++ { // a handler that forgets rows.Close
		rows, err := app.QueryContext(sqldriver.WithRoles(context.Background(), "leaker", "admin"), `SELECT id_no FROM citizen WHERE id = ?`, i+1)
		require.NoError(t, err)
		require.True(t, rows.Next())
		var idNo string
		require.NoError(t, rows.Scan(&idNo))
		leaked = append(leaked, rows)
	}
	require.NoError(t, app.Close())
	require.NoError(t, log.Sync(context.Background()))
	found := 0
	for _, e := range reviewEvents(t, audit.DirSource(dir)) {
		if e.Principal == "leaker" {
			found++
		}
	}
	assert.Equal(t, 4, found, "4 plain reads, their handle closed: each must have its event")

	other, err := sql.Open(name, dsn)
	require.NoError(t, err)
	defer other.Close()
	_, err = other.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "x", 1)
	assert.NoError(t, err, "the queue is empty; the reservations of results that ended with their handle are still held")
	_ = leaked
}

// TestReviewConcurrentCloseAndRows runs db.Close while results are read
// and closed on other goroutines (under -race): every result is recorded
// exactly once.
func TestReviewConcurrentCloseAndRows(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, Mode: audit.Async, CheckpointEvery: -1})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	_, db, _ := reviewDB(t, cfg)
	var wg sync.WaitGroup
	var opened sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		opened.Add(1)
		go func() {
			defer wg.Done()
			rows, err := db.QueryContext(sqldriver.WithRoles(context.Background(), fmt.Sprintf("r%d", g), "admin"), `SELECT id_no FROM citizen`)
			opened.Done()
			if err != nil {
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
			for rows.Next() {
			}
			_ = rows.Close()
		}()
	}
	opened.Wait()
	require.NoError(t, db.Close())
	wg.Wait()
	seen := map[string]int{}
	for _, e := range reviewEvents(t, audit.DirSource(dir)) {
		seen[e.Principal]++
	}
	total := 0
	for p, n := range seen {
		assert.Equal(t, 1, n, "%s recorded %d times", p, n)
		total += n
	}
	assert.Equal(t, ok, total, "every result that was opened is recorded once")
	_ = errors.New
}
