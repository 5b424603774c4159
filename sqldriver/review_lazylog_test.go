package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// countingDriver counts the connections it has open.
type countingDriver struct {
	inner driver.Driver
	live  *atomic.Int64
}

func (d countingDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.inner.Open(dsn)
	if err != nil {
		return nil, err
	}
	d.live.Add(1)
	return countingConn{Conn: c, live: d.live}, nil
}

type countingConn struct {
	driver.Conn
	live *atomic.Int64
}

func (c countingConn) Close() error {
	c.live.Add(-1)
	return c.Conn.Close()
}

// TestReviewLazyLogLeaksPools: the YAML audit: table log is opened by
// lazyLog at the first statement, and again at every statement while
// opening fails; each attempt sql.Opens a new *sql.DB and never closes
// it. A log the writer refuses (here: leaves and no checkpoint) fails
// every statement, as it should, but each failure leaves one more pool
// holding an idle connection to the audit database, until its
// max_connections is exhausted. (A successfully opened log's *sql.DB is
// never closed either, by lazyLog.Close.)
func TestReviewLazyLogLeaksPools(t *testing.T) {
	raw, dsn := testdb.SQLite(t)
	var live atomic.Int64
	drvName := "gmfield-review-count-" + suffix()
	sql.Register(drvName, countingDriver{inner: raw.Driver(), live: &live})
	// A log whose checkpoints were removed: the writer refuses it.
	for _, q := range []string{
		`CREATE TABLE gmfield_audit (idx BIGINT PRIMARY KEY, leaf TEXT NOT NULL)`,
		`CREATE TABLE gmfield_audit_checkpoint (size BIGINT PRIMARY KEY, note TEXT NOT NULL, frontier TEXT NOT NULL)`,
		`INSERT INTO gmfield_audit VALUES (0, '{"v":1,"i":0}')`,
	} {
		_, err := raw.Exec(q)
		require.NoError(t, err)
	}
	dir := keyDir(t)
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	pem, err := key.MarshalPEM()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.pem"), pem, 0o600))
	env := "GMFIELD_REVIEW_AUDIT_DSN_" + suffix()
	t.Setenv(env, dsn)
	cfg, err := config.Parse([]byte(testConfig+`
audit:
  table: gmfield_audit
  driver: `+drvName+`
  dsn_env: `+env+`
  dialect: sqlite
  key: ./audit.pem
`), dir)
	require.NoError(t, err)
	appRaw, db := sqliteBackend.open(t, cfg)
	sqliteBackend.schema(t, tdb{DB: appRaw, ph: same})
	for i := 0; i < 20; i++ {
		_, err := db.ExecContext(as("admin"), `UPDATE citizen SET city = ? WHERE id = ?`, "x", 1)
		require.ErrorIs(t, err, sqldriver.ErrAudit)
	}
	require.NoError(t, db.Close())
	assert.LessOrEqual(t, live.Load(), int64(2), "20 failed opens of the audit log left %d connections to the audit database open", live.Load())
	_ = context.Background
}
