package lifecycle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// TestExportOneTenant exports one tenant: the other tenant's rows are
// not read at all (they were exported, hashed or failing, before).
func TestExportOneTenant(t *testing.T) {
	e := migrated(t, backends[0], opts{tenant: true}, 6)
	out := filepath.Join(t.TempDir(), "t.csv")
	sum, err := (&lifecycle.Export{Source: e.wrapped(t), Config: e.cfg, Dialect: "sqlite", Table: "citizen", Tenant: "t-a",
		Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, To: lifecycle.NewCSVSink(out)}).Run(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 3, sum.Changed)
	rows := readCSV(t, out)
	require.Equal(t, "tenant", rows[0][1])
	for _, r := range rows[1:] {
		assert.Equal(t, "t-a", r[1])
	}
	_, err = (&lifecycle.Export{Source: e.wrapped(t), Config: e.cfg, Dialect: "sqlite", Table: "citizen",
		Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, To: lifecycle.NewCSVSink(out)}).Run(t.Context())
	assert.ErrorIs(t, err, lifecycle.ErrInvalid, "key_scope tenant needs the tenant")
}

// TestExportResumesOnlyItself: an interrupted export as admin is not
// continued by an export as a clerk with rules; the clerk's file holds no
// value the admin run wrote.
func TestExportResumesOnlyItself(t *testing.T) {
	e := newExportEnv(t, backends[0], 100)
	out := filepath.Join(t.TempDir(), "r.csv")
	_, err := (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen", Batch: 32,
		Principal: masking.Principal{ID: "x", Roles: []string{"admin"}}, To: &failingSink{Sink: lifecycle.NewCSVSink(out), n: 3}}).Run(t.Context())
	require.ErrorIs(t, err, errCrash)
	sum, err := (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen", Batch: 32,
		Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, Rules: rules(t, staticRules), Reason: "r",
		To: lifecycle.NewCSVSink(out)}).Run(t.Context())
	require.NoError(t, err)
	assert.False(t, sum.Resumed)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	for i := 1; i <= 100; i++ {
		require.NotContains(t, string(b), citizenOf(i).idNo)
	}
}

// TestExportCSVLocked: two exports never write one CSV file.
func TestExportCSVLocked(t *testing.T) {
	e := newExportEnv(t, backends[0], 5)
	out := filepath.Join(t.TempDir(), "l.csv")
	first := lifecycle.NewCSVSink(out)
	_, err := first.Open(t.Context(), "other", []lifecycle.SinkColumn{{Name: "id", Key: true}})
	require.NoError(t, err)
	x := &lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen",
		Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, To: lifecycle.NewCSVSink(out)}
	_, err = x.Run(t.Context())
	assert.ErrorIs(t, err, lifecycle.ErrBusy)
	first.Abort()
	x.To = lifecycle.NewCSVSink(out)
	_, err = x.Run(t.Context())
	require.NoError(t, err)
}

// TestExportRefusesOddColumnNames: a source column whose name would
// break out of its quotes is refused before the target is touched.
func TestExportRefusesOddColumnNames(t *testing.T) {
	e := newExportEnv(t, backends[0], 3)
	_, err := e.raw.Exec(`ALTER TABLE citizen ADD COLUMN "x"" TEXT); CREATE TABLE pwned (a TEXT); --" TEXT`)
	require.NoError(t, err)
	target, _ := testdb.SQLite(t)
	_, err = (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen",
		Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, To: lifecycle.NewTableSink(target, "sqlite", "", "copy", false)}).Run(t.Context())
	require.ErrorIs(t, err, lifecycle.ErrInvalid)
	var n int
	require.NoError(t, target.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('pwned', 'copy')`).Scan(&n))
	assert.Zero(t, n)
	assert.False(t, strings.Contains(err.Error(), "pwned"))
}

func TestRedactedTargetError(t *testing.T) {
	err := lifecycle.Redact(errors.New(`Error 1366 (22007): Incorrect string value: '\xE7\x8E\x8B\xE8\x8A\xB3' for column "name" at row 1`))
	assert.Equal(t, `Error 1366 (22007): Incorrect string value: '…' for column '…' at row 1`, err.Error())
}
