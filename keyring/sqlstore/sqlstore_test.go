package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/keyring/sqlstore"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

var ctx = context.Background()

// databases returns the databases to test: SQLite always, PostgreSQL and
// MariaDB when GMFIELD_TEST_PG_DSN / GMFIELD_TEST_MYSQL_DSN are set.
func databases(t *testing.T) map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
	dbs := map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "keys.db")+"?_pragma=busy_timeout(5000)")
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db, sqlstore.SQLite
		},
	}
	for name, env := range map[string]string{"postgres": "GMFIELD_TEST_PG_DSN", "mariadb": "GMFIELD_TEST_MYSQL_DSN"} {
		dsn := os.Getenv(env)
		if dsn == "" {
			t.Logf("%s not set: skipping the %s store tests", env, name)
			continue
		}
		driver, dialect := "pgx", sqlstore.Postgres
		if name == "mariadb" {
			driver, dialect = "mysql", sqlstore.MySQL
		}
		dbs[name] = func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, err := sql.Open(driver, dsn)
			require.NoError(t, err)
			require.NoError(t, db.PingContext(ctx), "%s does not answer", env)
			t.Cleanup(func() { db.Close() })
			return db, dialect
		}
	}
	return dbs
}

// newStore creates a store in a table of its own, dropped after the test.
func newStore(t *testing.T, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	var r [4]byte
	_, _ = rand.Read(r[:])
	table := "gmfield_keys_t" + hex.EncodeToString(r[:])
	s, err := sqlstore.New(db, d, table)
	require.NoError(t, err)
	require.NoError(t, s.Init(ctx))
	require.NoError(t, s.Init(ctx), "idempotent")
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE " + table) })
	return s
}

func TestStoreOnEveryDatabase(t *testing.T) {
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			db, d := open(t)
			s := newStore(t, db, d)
			r := keyring.Record{ID: "k1", Keyspace: "test.dummy", State: keyring.StateActive, Created: time.Now().UTC(), KEK: "sm4:x", Wrapped: []byte{1, 2, 3}}
			require.NoError(t, s.Create(ctx, r))
			assert.ErrorIs(t, s.Create(ctx, r), keyring.ErrExists)
			got, err := s.Get(ctx, "k1")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), got.Rev)
			assert.Equal(t, r.Wrapped, got.Wrapped)
			got.Seals = 5
			require.NoError(t, s.Update(ctx, got))
			assert.ErrorIs(t, s.Update(ctx, got), keyring.ErrConflict)
			_, err = s.Get(ctx, "nope")
			assert.ErrorIs(t, err, keyring.ErrKeyNotFound)
			missing := r
			missing.ID, missing.Rev = "k9", 1
			assert.ErrorIs(t, s.Update(ctx, missing), keyring.ErrKeyNotFound)

			// The key ring over the table: seal, rotate, destroy.
			kek, err := local.NewSM4(bytes.Repeat([]byte{3}, 16))
			require.NoError(t, err)
			k := keyring.New(s, kek, keyring.WithReserve(2))
			loc := crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone"}
			var cts [][]byte
			for i := range 6 {
				key, err := k.Current(ctx, "citizen.phone")
				require.NoError(t, err)
				ct, err := key.SealText(nil, loc, []byte{byte('a' + i)})
				require.NoError(t, err)
				cts = append(cts, ct)
				if i == 3 {
					_, err := k.Rotate(ctx, "citizen.phone")
					require.NoError(t, err)
				}
			}
			fresh := keyring.New(s, kek)
			for i, ct := range cts {
				pt, err := crypto.OpenText(nil, fresh, loc, ct)
				require.NoError(t, err)
				assert.Equal(t, string(rune('a'+i)), string(pt))
			}
			e, err := crypto.ParseText(cts[0])
			require.NoError(t, err)
			require.NoError(t, k.Destroy(ctx, e.KeyID))
			_, err = crypto.OpenText(nil, keyring.New(s, kek), loc, cts[0])
			assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
			_, err = crypto.OpenText(nil, keyring.New(s, kek), loc, cts[5])
			require.NoError(t, err)
			recs, err := s.List(ctx)
			require.NoError(t, err)
			assert.Len(t, recs, 3)

			// Concurrent compare-and-swap from several connections.
			require.NoError(t, s.Create(ctx, keyring.Record{ID: "k2", Keyspace: "t.c", State: keyring.StateActive, Created: time.Now().UTC(), KEK: "x", Wrapped: []byte{1}}))
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 5 {
						for {
							r, err := s.Get(ctx, "k2")
							if !assert.NoError(t, err) {
								return
							}
							r.Seals++
							if err := s.Update(ctx, r); err == nil {
								break
							} else if !assert.ErrorIs(t, err, keyring.ErrConflict) {
								return
							}
						}
					}
				})
			}
			wg.Wait()
			final, err := s.Get(ctx, "k2")
			require.NoError(t, err)
			assert.Equal(t, uint64(20), final.Seals)
		})
	}
}

func TestNewRejectsBadNames(t *testing.T) {
	_, err := sqlstore.New(nil, sqlstore.SQLite, "keys; DROP TABLE x")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = sqlstore.New(nil, sqlstore.Dialect(9), "")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
}

func TestCorruptRowsAreErrors(t *testing.T) {
	db, d := databases(t)["sqlite"](t)
	s := newStore(t, db, d)
	table := s.Table()
	for name, rec := range map[string]string{
		"not JSON":          `{"id":`,
		"other id":          `{"id":"k9","keyspace":"t.c","state":"active","created":"2026-11-27T10:00:00Z","kek":"x","wrapped":"AQID"}`,
		"destroyed + bytes": `{"id":"k1","keyspace":"t.c","state":"destroyed","created":"2026-11-27T10:00:00Z","kek":"x","wrapped":"AQID"}`,
		"no wrapped key":    `{"id":"k1","keyspace":"t.c","state":"active","created":"2026-11-27T10:00:00Z","kek":"x"}`,
	} {
		_, err := db.Exec("DELETE FROM " + table)
		require.NoError(t, err)
		_, err = db.Exec("INSERT INTO "+table+" (id, keyspace, record, rev) VALUES ('k1', 't.c', ?, 1)", rec)
		require.NoError(t, err)
		_, err = s.Get(ctx, "k1")
		assert.ErrorIs(t, err, keyring.ErrCorrupt, name)
		_, err = s.List(ctx)
		assert.ErrorIs(t, err, keyring.ErrCorrupt, name)
	}
}
