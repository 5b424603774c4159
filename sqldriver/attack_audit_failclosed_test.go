package sqldriver_test

import (
	"context"
	"database/sql"
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

func attackEvents(t *testing.T, src audit.Source) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	require.NoError(t, audit.Query(context.Background(), src, audit.Filter{}, func(e *audit.Event) error {
		out = append(out, e)
		return nil
	}))
	return out
}

func attackCity(t *testing.T, raw *sql.DB, id int) string {
	t.Helper()
	var c sql.NullString
	require.NoError(t, raw.QueryRow(`SELECT city FROM citizen WHERE id = ?`, id).Scan(&c))
	return c.String
}

// TestAttackClosedLogAdmitsStatements: once the log is closed (its
// *sql.DB closed, or the log shared with another handle that was
// closed), Reserve still says yes: a write runs and commits, and only then
// fails with ErrAudit. audit.Log.Reserve's doc: "a closed log … refuses the
// statements"; docs/sqldriver.md: "A sink that is not ready fails the
// statement before it runs".
func TestAttackClosedLogAdmitsStatements(t *testing.T) {
	for _, mode := range []audit.Mode{audit.Sync, audit.Async} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			b := sqliteBackend
			key, err := crypto.GenerateSM2Key()
			require.NoError(t, err)
			log, err := audit.OpenDir(context.Background(), t.TempDir(), audit.Options{Key: key, Mode: mode})
			require.NoError(t, err)
			cfg := newConfig(t, testConfig)
			cfg.Audit = log
			raw, db := b.open(t, cfg)
			seed(t, b, db)
			require.NoError(t, log.Close())

			assert.Error(t, log.Reserve(), "a closed log is not ready")
			_, err = db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "changed-unaudited", 1)
			assert.ErrorIs(t, err, sqldriver.ErrAudit)
			assert.NotEqual(t, "changed-unaudited", attackCity(t, raw, 1), "the UPDATE ran, and no event records it")
		})
	}
}

// TestAttackRegisteredDriverSharesLog: sqldriver.Register keeps one
// schema, and its sink, for every sql.Open of the name. Closing one pool
// closes the log under the others, which keep running statements on
// protected tables that are then not recorded.
func TestAttackRegisteredDriverSharesLog(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	name := "gmfield-attack-" + suffix()
	require.NoError(t, sqldriver.Register(name, "sqlite", cfg))
	raw, dsn := testdb.SQLite(t)
	_, err = raw.Exec(`CREATE TABLE citizen (id INTEGER PRIMARY KEY, id_no TEXT, id_no_bidx TEXT, phone TEXT, phone_bidx TEXT, phone_last4_bidx TEXT, name TEXT, note TEXT, photo BLOB, city TEXT)`)
	require.NoError(t, err)
	_, err = raw.Exec(`INSERT INTO citizen (id, city) VALUES (1, 'a')`)
	require.NoError(t, err)

	reports, err := sql.Open(name, dsn) // e.g. a second pool for reports
	require.NoError(t, err)
	app, err := sql.Open(name, dsn)
	require.NoError(t, err)
	defer app.Close()
	require.NoError(t, reports.Ping())
	require.NoError(t, reports.Close())

	_, err = app.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "changed-unaudited", 1)
	assert.NoError(t, err, "the application's pool is open: its statements must still be recorded")
	if err != nil {
		assert.NotEqual(t, "changed-unaudited", attackCity(t, raw, 1), "the UPDATE ran anyway, unrecorded")
	}
}

// TestAttackUnclosedRowsNotRecorded: a query whose rows are read but
// never closed (a forgotten rows.Close, a break out of the loop without
// defer) shows protected values and never records an event, in sync mode,
// not even when the log is synced or the database closed.
func TestAttackUnclosedRowsNotRecorded(t *testing.T) {
	b := sqliteBackend
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	dir := t.TempDir()
	log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Audit = log
	_, db := b.open(t, cfg)
	seed(t, b, db)

	rows, err := db.QueryContext(sqldriver.WithRoles(context.Background(), "leaker", "admin"), `SELECT id_no FROM citizen`)
	require.NoError(t, err)
	require.True(t, rows.Next())
	var idNo string
	require.NoError(t, rows.Scan(&idNo))
	require.Equal(t, people[0].idNo, idNo, "a plain ID number was shown")
	// rows is never closed.
	require.NoError(t, log.Sync(context.Background()))
	_ = db.Close()

	var found bool
	for _, e := range attackEvents(t, audit.DirSource(dir)) {
		found = found || e.Principal == "leaker"
	}
	assert.True(t, found, "the plain read of citizen.id_no has no event")
}

// TestAttackAsyncQueueRace: the async gate (Reserve) and the enqueue
// (Record) are separate steps. Statements that pass Reserve together all
// run; those whose Record then finds the queue full fail with
// ErrQueueFull after their UPDATE committed, and no event records them.
// docs/audit.md: "a full queue … refuses the statement before it touches
// the database".
func TestAttackAsyncQueueRace(t *testing.T) {
	b := sqliteBackend
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	// The log lives in its own SQLite file, which another connection locks
	// so that the writer stalls on its first append.
	logDB, _ := testdb.SQLite(t)
	log, err := audit.OpenTable(context.Background(), audit.Table{DB: logDB, Dialect: "sqlite"},
		audit.Options{Key: key, Mode: audit.Async, Queue: 1, Batch: 1, CheckpointEvery: -1})
	require.NoError(t, err)
	plain := newConfig(t, testConfig)
	raw, seeder, wrap := b.openMore(t, plain)
	seed(t, b, seeder)
	cfg := *plain
	cfg.Audit = log
	db := wrap(&cfg)
	for i := 0; i < 16; i++ {
		_, err := raw.Exec(`INSERT INTO citizen (id, city) VALUES (?, 'x')`, 100+i)
		require.NoError(t, err)
	}

	ranUnrecorded := 0
	for round := 0; round < 5 && ranUnrecorded == 0; round++ {
		lock, err := logDB.Conn(context.Background())
		require.NoError(t, err)
		_, err = lock.ExecContext(context.Background(), `BEGIN EXCLUSIVE`)
		require.NoError(t, err)
		// One event for the writer to hold (blocked in its append).
		_, err = db.ExecContext(as("admin"), `UPDATE citizen SET city = 'first' WHERE id = 1`)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			if log.Reserve() != nil {
				return false
			}
			log.Release() // Reserve reserves room
			return true
		}, time.Second, time.Millisecond)
		time.Sleep(20 * time.Millisecond)

		var wg sync.WaitGroup
		errs := make([]error, 16)
		start := make(chan struct{})
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, fmt.Sprintf("r%dg%d", round, i), 100+i)
			}()
		}
		close(start)
		wg.Wait()
		_, _ = lock.ExecContext(context.Background(), `ROLLBACK`)
		_ = lock.Close()
		for i, err := range errs {
			if errors.Is(err, audit.ErrQueueFull) && attackCity(t, raw, 100+i) == fmt.Sprintf("r%dg%d", round, i) {
				ranUnrecorded++
			}
		}
		require.NoError(t, log.Sync(context.Background()))
	}
	assert.Zero(t, ranUnrecorded, "UPDATEs refused for a full queue had already run, and no event records them")
}
