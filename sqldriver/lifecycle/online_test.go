package lifecycle_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// TestCompareAndSetMiss changes a row between the job's read and its
// write: the write misses, the row is read again and its new plaintext
// sealed, never overwritten with the old one.
func TestCompareAndSetMiss(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, opts{})
		e.fill(t, 1, 10)
		e.ddl(t)
		once := sync.Once{}
		defer lifecycle.SetDecided(func() {
			once.Do(func() {
				_, err := e.raw.Exec(b.ph(`UPDATE citizen SET phone = '13999999999' WHERE id = 4`))
				require.NoError(t, err)
			})
		})()
		sum, err := e.job().Migrate(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(1), sum.Retried)
		assert.Equal(t, int64(10), sum.Changed)
		got := e.readAll(t, e.wrapped(t), "")
		assert.Equal(t, "13999999999", got[4][1])
		_, p5, _ := person(5)
		assert.Equal(t, p5, got[5][1])
		assertAllSealed(t, e)
	})
}

// TestOnlineWriters runs migrate, then a rotation and reencrypt, while 8
// writers update rows through the driver; every row ends as its writer
// last wrote it, sealed once.
func TestOnlineWriters(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		const rows, writers = 2000, 8
		e := newEnv(t, b, opts{migrating: true})
		e.fill(t, 1, rows)
		e.ddl(t)
		e.cfg.Tables[0].Columns[0].Migrating = true
		db := e.wrapped(t)
		db.SetMaxOpenConns(writers + 2)
		want := make([]map[int64]string, writers) // per writer: id → phone it last wrote
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var werr error
		var mu sync.Mutex
		for w := 0; w < writers; w++ {
			want[w] = map[int64]string{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := admin(context.Background(), "")
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					id := int64(rand.IntN(rows/writers)*writers + w + 1)
					phone := fmt.Sprintf("139%02d%06d", w, n)
					if _, err := db.ExecContext(ctx, b.ph(`UPDATE citizen SET phone = ? WHERE id = ?`), phone, id); err != nil {
						if b.name == "sqlite" && strings.Contains(err.Error(), "locked") {
							continue // SQLite serializes writers; the job retries its own
						}
						mu.Lock()
						werr = err
						mu.Unlock()
						return
					}
					want[w][id] = phone
				}
			}()
		}
		job := e.job()
		sum, err := job.Migrate(t.Context())
		require.NoError(t, err)
		ks := keyspaceOf(t, e, "citizen.phone")
		_, err = e.cfg.Keyring.Rotate(t.Context(), ks)
		require.NoError(t, err)
		re, err := e.job().Reencrypt(t.Context(), lifecycle.Selection{})
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		require.NoError(t, werr)
		t.Logf("%s: migrate changed %d rows, retried %d; reencrypt changed %d, retried %d", b.name, sum.Changed, sum.Retried, re.Changed, re.Retried)

		got := e.readAll(t, e.wrapped(t), "")
		require.Len(t, got, rows)
		lost := 0
		for i := 1; i <= rows; i++ {
			idNo, phone, name := person(i)
			if p, ok := want[(i-1)%writers][int64(i)]; ok {
				phone = p
			}
			if got[int64(i)] != [3]string{idNo, phone, name} {
				lost++
			}
		}
		assert.Zero(t, lost, "rows lost or double-sealed")
		assertAllSealed(t, e)
		// A write in flight at the rotation may land under the old key:
		// the runbook's reencrypt, once every writer knows the new key,
		// moves it.
		_, err = e.job().Reencrypt(t.Context(), lifecycle.Selection{})
		require.NoError(t, err)
		usage, err := e.job().KeyUsage(t.Context())
		require.NoError(t, err)
		cur, err := e.cfg.Keyring.Current(t.Context(), ks)
		require.NoError(t, err)
		assert.Equal(t, int64(rows), usage[cur.ID()], "every phone under the current key")
	})
}

// TestResumeAfterKill kills a migration with SIGKILL in the middle and
// runs it again: the rerun resumes at the checkpoint and finishes,
// sealing each remaining row once and none twice.
func TestResumeAfterKill(t *testing.T) {
	if os.Getenv("GMFIELD_LIFECYCLE_CHILD") != "" {
		t.Skip("in the child")
	}
	each(t, func(t *testing.T, b backend) {
		const rows = 3000
		e := newEnv(t, b, opts{})
		e.fill(t, 1, rows)
		e.ddl(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildMigrate$", "-test.v")
		cmd.Env = append(os.Environ(), "GMFIELD_LIFECYCLE_CHILD="+e.path, "GMFIELD_LIFECYCLE_DSN="+e.dsn, "GMFIELD_LIFECYCLE_DIALECT="+b.name,
			"GMFIELD_LIFECYCLE_DRIVER="+b.driver)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(60 * time.Second)
		var batches int64
		for time.Now().Before(deadline) {
			err := e.raw.QueryRow(`SELECT batches FROM gmfield_jobs`).Scan(&batches)
			if err == nil && batches >= 5 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.GreaterOrEqual(t, batches, int64(5), out.String())
		var done sql.NullString
		require.NoError(t, e.raw.QueryRow(`SELECT last_key FROM gmfield_jobs`).Scan(&done))
		plain := 0
		for _, v := range e.stored(t) {
			if !strings.HasPrefix(v[2].String, "gmf2:") {
				plain++
			}
		}
		require.Greater(t, plain, 0, "killed before the end")
		require.Less(t, plain, rows)

		sum, err := e.job().Migrate(t.Context())
		require.NoError(t, err)
		assert.True(t, sum.Resumed)
		assert.Equal(t, int64(plain), sum.Changed, "each remaining row sealed once")
		assert.Equal(t, int64(plain), sum.Scanned, "rows before the checkpoint are not read again")
		assertAllSealed(t, e)
		got := e.readAll(t, e.wrapped(t), "")
		for i := 1; i <= rows; i++ {
			idNo, phone, name := person(i)
			require.Equal(t, [3]string{idNo, phone, name}, got[int64(i)], "row %d", i)
		}
	})
}

// TestChildMigrate is the process TestResumeAfterKill kills.
func TestChildMigrate(t *testing.T) {
	path := os.Getenv("GMFIELD_LIFECYCLE_CHILD")
	if path == "" {
		t.Skip("run by TestResumeAfterKill")
	}
	cfg, err := config.Load(path)
	require.NoError(t, err)
	db, err := sql.Open(os.Getenv("GMFIELD_LIFECYCLE_DRIVER"), os.Getenv("GMFIELD_LIFECYCLE_DSN"))
	require.NoError(t, err)
	job := &lifecycle.Job{DB: db, Config: cfg, Dialect: os.Getenv("GMFIELD_LIFECYCLE_DIALECT"), Table: "citizen", Batch: 50, Progress: slowProgress{}}
	_, err = job.Migrate(context.Background())
	require.NoError(t, err)
	_ = sqldriver.ErrOpen
}

// slowProgress slows the child down so the parent can kill it midway.
type slowProgress struct{}

func (slowProgress) Start(int64, int64) {}
func (slowProgress) Add(int64)          { time.Sleep(20 * time.Millisecond) }
func (slowProgress) Finish()            {}
