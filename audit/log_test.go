package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/testdb"
)

func newKey(t testing.TB) (*crypto.SM2PrivateKey, note.Verifier) {
	t.Helper()
	k, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	v, err := audit.NewVerifier(audit.DefaultOrigin, k.Public())
	require.NoError(t, err)
	return k, v
}

func event(i int) *audit.Event {
	return &audit.Event{Time: time.Date(2026, 12, 2, 10, 0, 0, i*1000, time.UTC), Instance: "desk-1", Principal: fmt.Sprintf("u%d", i%3),
		Roles: []string{"clerk"}, Kind: "select", Fingerprint: strings.Repeat("ab", 32), Shape: "select name from citizen where id = ?",
		Tables: []string{"citizen"}, Columns: []audit.Column{{Column: "citizen.name", Action: "mask"}}, Rows: 1, Decrypted: 1, Outcome: audit.OK}
}

// writeLog writes n events with a checkpoint every 5, and closes the log.
func writeLog(t testing.TB, open func(audit.Options) (*audit.Log, error), k *crypto.SM2PrivateKey, n int, mode audit.Mode) {
	t.Helper()
	l, err := open(audit.Options{Key: k, Mode: mode, CheckpointEvery: -1})
	require.NoError(t, err)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		require.NoError(t, l.Record(ctx, event(i)))
		if i%5 == 4 {
			require.NoError(t, l.Sync(ctx))
		}
	}
	require.NoError(t, l.Close())
}

func dirLog(t testing.TB) (string, func(audit.Options) (*audit.Log, error)) {
	dir := t.TempDir()
	return dir, func(o audit.Options) (*audit.Log, error) { return audit.OpenDir(context.Background(), dir, o) }
}

func readLines(t *testing.T, dir string) []string {
	raw, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
	require.NoError(t, err)
	return strings.SplitAfter(string(raw), "\n")[:bytes.Count(raw, []byte("\n"))]
}

func writeLines(t *testing.T, dir string, lines []string) {
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), []byte(strings.Join(lines, "")), 0o600))
}

// TestTamperingIsFound does the five tamperings on a real directory log
// and requires Verify to name each at its first index, and to pass the
// untouched log.
func TestTamperingIsFound(t *testing.T) {
	k, v := newKey(t)
	cases := []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		problem audit.Problem
		index   uint64
	}{
		{"untouched", func(*testing.T, string) {}, "", 0},
		{"edit", func(t *testing.T, dir string) {
			l := readLines(t, dir)
			l[7] = strings.Replace(l[7], `"rows":1`, `"rows":0`, 1)
			writeLines(t, dir, l)
		}, audit.Edited, 5},
		{"deletion", func(t *testing.T, dir string) {
			l := readLines(t, dir)
			writeLines(t, dir, append(l[:7:7], l[8:]...))
		}, audit.Deleted, 7},
		{"reordering", func(t *testing.T, dir string) {
			l := readLines(t, dir)
			l[7], l[8] = l[8], l[7]
			writeLines(t, dir, l)
		}, audit.Reordered, 7},
		{"insertion", func(t *testing.T, dir string) {
			l := readLines(t, dir)
			writeLines(t, dir, append(append(l[:7:7], l[2]), l[7:]...))
		}, audit.Inserted, 7},
		{"truncation", func(t *testing.T, dir string) {
			l := readLines(t, dir)
			writeLines(t, dir, l[:17])
		}, audit.Truncated, 17},
		{"forged checkpoint", func(t *testing.T, dir string) {
			other, _ := newKey(t)
			writeLog(t, func(o audit.Options) (*audit.Log, error) { return audit.OpenDir(context.Background(), t.TempDir(), o) }, other, 1, audit.Sync)
			cp := filepath.Join(dir, "checkpoints", fmt.Sprintf("%020d.note", 10))
			raw, err := os.ReadFile(cp)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(cp, bytes.Replace(raw, []byte("\n10\n"), []byte("\n11\n"), 1), 0o600))
		}, audit.BadSigned, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, open := dirLog(t)
			writeLog(t, open, k, 22, audit.Sync)
			c.tamper(t, dir)
			r, err := audit.Verify(context.Background(), audit.DirSource(dir), v)
			require.NoError(t, err)
			assert.Equal(t, c.problem, r.Problem, "%+v", r)
			assert.Equal(t, c.index, r.Index, "%+v", r)
			if c.problem == "" {
				assert.NoError(t, r.Err())
				assert.EqualValues(t, 22, r.Leaves)
				assert.EqualValues(t, 22, r.Latest)
			} else {
				assert.ErrorIs(t, r.Err(), audit.ErrTampered)
			}
		})
	}
}

// TestKeptCheckpointCatchesRewrite: an operator who truncates the log and
// removes the checkpoints above the cut is caught by a checkpoint the
// auditor kept.
func TestKeptCheckpointCatchesRewrite(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	kept, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	require.NoError(t, err)
	l := readLines(t, dir)
	writeLines(t, dir, l[:5])
	for _, size := range []int{10, 12} {
		require.NoError(t, os.Remove(filepath.Join(dir, "checkpoints", fmt.Sprintf("%020d.note", size))))
	}
	r, err := audit.Verify(context.Background(), audit.DirSource(dir), v)
	require.NoError(t, err)
	assert.True(t, r.OK(), "without the kept checkpoint the cut log looks whole: %+v", r)
	r, err = audit.Verify(context.Background(), audit.DirSource(dir), v, kept)
	require.NoError(t, err)
	assert.Equal(t, audit.Truncated, r.Problem)
	assert.EqualValues(t, 5, r.Index)
}

func TestProve(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 13, audit.Async)
	for _, idx := range []uint64{0, 6, 12} {
		p, err := audit.Prove(context.Background(), audit.DirSource(dir), v, idx, 0)
		require.NoError(t, err)
		require.NoError(t, p.Verify(v))
		assert.EqualValues(t, 13, p.Size)
		e, err := audit.ParseEvent([]byte(p.Leaf))
		require.NoError(t, err)
		assert.Equal(t, idx, e.Index)
		p.Leaf = strings.Replace(p.Leaf, `"rows":1`, `"rows":2`, 1)
		assert.ErrorIs(t, p.Verify(v), audit.ErrTampered, "an altered leaf")
	}
	p, err := audit.Prove(context.Background(), audit.DirSource(dir), v, 3, 5)
	require.NoError(t, err)
	assert.EqualValues(t, 5, p.Size)
	_, err = audit.Prove(context.Background(), audit.DirSource(dir), v, 13, 0)
	assert.ErrorIs(t, err, audit.ErrInvalid)
}

// TestResume reopens a log, after a clean close and after leaves were
// written past the last checkpoint, and keeps one tree.
func TestResume(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 7, audit.Sync)
	writeLog(t, open, k, 6, audit.Async)
	// A torn last line was never acknowledged: cut off at open.
	f, err := os.OpenFile(filepath.Join(dir, "log.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"i":13,"t":"20`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	writeLog(t, open, k, 2, audit.Sync)
	r, err := audit.Verify(context.Background(), audit.DirSource(dir), v)
	require.NoError(t, err)
	assert.True(t, r.OK(), "%+v", r)
	assert.EqualValues(t, 15, r.Leaves)

	// A second writer of the same directory is refused.
	l, err := open(audit.Options{Key: k})
	require.NoError(t, err)
	_, err = open(audit.Options{Key: k})
	assert.ErrorIs(t, err, audit.ErrUnavailable)
	require.NoError(t, l.Close())

	// Another key cannot extend the log.
	other, _ := newKey(t)
	_, err = open(audit.Options{Key: other})
	assert.ErrorIs(t, err, audit.ErrCorrupt)
}

// TestStoreFailure: a store that fails fails the statement in sync
// mode; in async mode the log refuses new statements (Reserve) while it
// retries, and Close reports the events it could not write.
func TestStoreFailure(t *testing.T) {
	k, _ := newKey(t)
	ctx := context.Background()
	for _, mode := range []audit.Mode{audit.Sync, audit.Async} {
		db, _ := testdb.SQLite(t)
		l, err := audit.OpenTable(ctx, audit.Table{DB: db, Dialect: "sqlite"}, audit.Options{Key: k, Mode: mode})
		require.NoError(t, err)
		require.NoError(t, l.Record(ctx, event(0)))
		require.NoError(t, l.Sync(ctx))
		require.NoError(t, db.Close()) // the store now fails
		err = l.Record(ctx, event(1))
		if mode == audit.Sync {
			assert.Error(t, err, "a sync record whose append fails fails its statement")
			assert.NoError(t, l.Reserve(), "sync mode has no queue to refuse from")
			assert.NoError(t, l.Close(), "nothing was left unwritten: the failed event failed its statement")
			continue
		}
		require.NoError(t, err, "async: queued")
		assert.Eventually(t, func() bool {
			err := l.Reserve()
			if err == nil {
				l.Release() // Reserve reserved room for a Record that will not come
			}
			return errors.Is(err, audit.ErrUnavailable)
		}, 5*time.Second, 10*time.Millisecond)
		assert.ErrorIs(t, l.Record(ctx, event(2)), audit.ErrUnavailable)
		err = l.Close()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "1 events not written")
	}
}

func TestAsyncQueueFullFailsTheStatement(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	l, err := open(audit.Options{Key: k, Mode: audit.Async, Queue: 4, Batch: 1})
	require.NoError(t, err)
	ctx := context.Background()
	var full, ok int
	for i := 0; i < 2000; i++ {
		err := l.Record(ctx, event(i))
		switch {
		case err == nil:
			ok++
		case errors.Is(err, audit.ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
	}
	require.NoError(t, l.Close())
	assert.Greater(t, full, 0, "a 4-event queue fills under 2,000 records")
	r, err := audit.Verify(ctx, audit.DirSource(dir), v)
	require.NoError(t, err)
	assert.True(t, r.OK())
	assert.EqualValues(t, ok, r.Leaves, "every accepted event is written; the refused ones failed their statements")
	assert.ErrorIs(t, l.Record(ctx, event(0)), audit.ErrUnavailable, "a closed log")
}

// TestConcurrentRecords: 16 goroutines record through one log, in both
// modes; every event is in the tree once.
func TestConcurrentRecords(t *testing.T) {
	k, v := newKey(t)
	for _, mode := range []audit.Mode{audit.Sync, audit.Async} {
		dir, open := dirLog(t)
		l, err := open(audit.Options{Key: k, Mode: mode, Queue: 100000, CheckpointEvery: time.Millisecond})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					assert.NoError(t, l.Record(context.Background(), event(g*100+i)))
				}
			}()
		}
		wg.Wait()
		require.NoError(t, l.Close())
		r, err := audit.Verify(context.Background(), audit.DirSource(dir), v)
		require.NoError(t, err)
		assert.True(t, r.OK(), "%+v", r)
		assert.EqualValues(t, 1600, r.Leaves)
		seen := map[time.Time]bool{}
		require.NoError(t, audit.Query(context.Background(), audit.DirSource(dir), audit.Filter{}, func(e *audit.Event) error {
			assert.False(t, seen[e.Time], "event %d twice", e.Index)
			seen[e.Time] = true
			return nil
		}))
		assert.Len(t, seen, 1600)
	}
}

// TestTableLogSharedByInstances: two instances (two *sql.DB) append to
// one table log on every database; the result is one tree holding every
// event, and the five tamperings are found there too.
func TestTableLogSharedByInstances(t *testing.T) {
	type db struct {
		name    string
		dialect string
		connect func(testing.TB) (*sql.DB, string)
		driver  string
	}
	dbs := []db{
		{"sqlite", "sqlite", testdb.SQLite, "sqlite"},
		{"postgres", "postgres", func(t testing.TB) (*sql.DB, string) { return testdb.Postgres(t, "pgx") }, "pgx"},
		{"mysql", "mysql", testdb.MySQL, "mysql"},
	}
	k, v := newKey(t)
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			raw, dsn := d.connect(t)
			second, err := sql.Open(d.driver, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = second.Close() })
			ctx := context.Background()
			var logs []*audit.Log
			for _, h := range []*sql.DB{raw, second} {
				l, err := audit.OpenTable(ctx, audit.Table{DB: h, Dialect: d.dialect}, audit.Options{Key: k, CheckpointEvery: 5 * time.Millisecond})
				require.NoError(t, err)
				logs = append(logs, l)
			}
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						assert.NoError(t, logs[g%2].Record(ctx, event(g*100+i)))
					}
				}()
			}
			wg.Wait()
			for _, l := range logs {
				require.NoError(t, l.Close())
			}
			src, err := audit.TableSource(audit.Table{DB: raw, Dialect: d.dialect})
			require.NoError(t, err)
			r, err := audit.Verify(ctx, src, v)
			require.NoError(t, err)
			require.True(t, r.OK(), "%+v", r)
			assert.EqualValues(t, 200, r.Leaves)
			assert.Greater(t, r.Checkpoints, uint64(1))

			ph := func(q string) string {
				if d.dialect == "postgres" {
					return testdb.Dollar(q)
				}
				return q
			}
			tamper := []struct {
				problem audit.Problem
				index   uint64
				sql     []string
			}{
				{audit.Edited, 0, []string{`UPDATE gmfield_audit SET leaf = REPLACE(leaf, '"rows":1', '"rows":9') WHERE idx = 150`}},
				{audit.Deleted, 150, []string{`DELETE FROM gmfield_audit WHERE idx = 150`}},
				{audit.Reordered, 150, []string{`UPDATE gmfield_audit SET leaf = (SELECT s.leaf FROM audit_snap s WHERE s.idx = 301 - gmfield_audit.idx) WHERE idx IN (150, 151)`}},
				{audit.Inserted, 200, []string{`INSERT INTO gmfield_audit (idx, leaf) SELECT 200, leaf FROM gmfield_audit WHERE idx = 3`}},
				{audit.Truncated, 190, []string{`DELETE FROM gmfield_audit WHERE idx >= 190`}},
			}
			_, err = raw.ExecContext(ctx, `CREATE TABLE audit_snap AS SELECT * FROM gmfield_audit`)
			require.NoError(t, err)
			for _, tc := range tamper {
				for _, q := range tc.sql {
					_, err := raw.ExecContext(ctx, ph(q))
					require.NoError(t, err, q)
				}
				r, err := audit.Verify(ctx, src, v)
				require.NoError(t, err)
				// The edit is somewhere below the first checkpoint that no longer
				// matches; the checkpoint before it bounds where.
				if tc.problem == audit.Edited {
					assert.LessOrEqual(t, r.Index, uint64(150))
					assert.Greater(t, r.Until, uint64(150))
				} else {
					assert.Equal(t, tc.index, r.Index, "%+v", r)
				}
				assert.Equal(t, tc.problem, r.Problem, "%+v", r)
				for _, q := range []string{`DELETE FROM gmfield_audit`, `INSERT INTO gmfield_audit SELECT * FROM audit_snap`} {
					_, err := raw.ExecContext(ctx, q)
					require.NoError(t, err)
				}
			}
		})
	}
}

type refusingGate struct{ audit.SlogSink }

func (refusingGate) Reserve() error { return audit.ErrQueueFull }
func (refusingGate) Release()       {}

// TestReserve: Reserve sets room aside in an async queue, Release and
// Record give it back, and a Fanout whose later sink refuses releases
// what the earlier ones reserved.
func TestReserve(t *testing.T) {
	k, _ := newKey(t)
	_, open := dirLog(t)
	l, err := open(audit.Options{Key: k, Mode: audit.Async, Queue: 2})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Reserve())
	require.NoError(t, l.Reserve())
	assert.ErrorIs(t, l.Reserve(), audit.ErrQueueFull, "both places are promised")
	l.Release()
	require.NoError(t, l.Reserve())
	l.Release()
	l.Release()
	f := audit.Fanout{l, refusingGate{}}
	for i := 0; i < 5; i++ {
		assert.ErrorIs(t, f.Reserve(), audit.ErrQueueFull)
	}
	require.NoError(t, l.Reserve(), "the fan-out gave its reservations back")
	require.NoError(t, l.Record(context.Background(), event(1)), "a reserved record is queued")
	require.NoError(t, l.Sync(context.Background()))
}
