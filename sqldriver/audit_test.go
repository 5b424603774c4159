package sqldriver_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
)

// syncBuffer is a bytes.Buffer safe for the slog handler's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuditEvents runs statements of every outcome through the driver
// with a synchronous directory log and a slog sink, on every backend,
// and checks each event, that the log verifies, and that no value the
// test wrote, nor its ciphertext or blind index, is in any audit output.
func TestAuditEvents(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		key, err := crypto.GenerateSM2Key()
		require.NoError(t, err)
		dir := t.TempDir()
		log, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, CheckpointEvery: -1})
		require.NoError(t, err)
		var slogOut syncBuffer
		cfg := newConfig(t, testConfig)
		cfg.Audit = audit.Fanout{log, audit.SlogSink{Logger: slog.New(slog.NewJSONHandler(&slogOut, nil))}}
		cfg.Instance = "desk-7"
		raw, db := b.open(t, cfg)
		seed(t, b, db)
		ctx := as("clerk")

		var names []string
		rows, err := db.QueryContext(ctx, `SELECT name, phone FROM citizen WHERE id_no = ?`, people[0].idNo)
		require.NoError(t, err)
		for rows.Next() {
			var n, p string
			require.NoError(t, rows.Scan(&n, &p))
			names = append(names, n)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		assert.Equal(t, []string{people[0].maskedName}, names)

		grant := masking.Principal{ID: "officer-9", Roles: []string{"clerk"}, Grants: []masking.Grant{{Column: "citizen.id_no", Expires: time.Now().Add(time.Hour), Reason: "ticket 123"}}}
		var idNo string
		require.NoError(t, db.QueryRowContext(sqldriver.WithPrincipal(context.Background(), grant), `SELECT id_no FROM citizen WHERE id = ?`, 2).Scan(&idNo))
		assert.Equal(t, people[1].idNo, idNo)

		_, err = db.QueryContext(as("guard"), `SELECT id_no FROM citizen`)
		assert.ErrorIs(t, err, masking.ErrDenied)
		_, err = db.QueryContext(ctx, `SELECT id FROM citizen ORDER BY phone`)
		assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)
		_, err = db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 1, "13700000000")
		assert.Error(t, err, "duplicate primary key")
		_, err = db.ExecContext(as("admin"), `UPDATE citizen SET phone = ? WHERE id = ?`, "13600000000", 3)
		require.NoError(t, err)
		var city string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT city FROM citizen WHERE id = ?`, 1).Scan(&city))
		require.NoError(t, db.Close()) // closes the sinks: the log is flushed

		var events []*audit.Event
		require.NoError(t, audit.Query(context.Background(), audit.DirSource(dir), audit.Filter{}, func(e *audit.Event) error {
			events = append(events, e)
			return nil
		}))
		find := func(outcome audit.Outcome, kind, principal string) *audit.Event {
			for _, e := range events {
				if e.Outcome == outcome && e.Kind == kind && e.Principal == principal {
					return e
				}
			}
			t.Fatalf("no %s %s event of %s in %d events", outcome, kind, principal, len(events))
			return nil
		}
		sel := find(audit.OK, "select", "tester")
		assert.Equal(t, "desk-7", sel.Instance)
		assert.Equal(t, []string{"clerk"}, sel.Roles)
		assert.ElementsMatch(t, []audit.Column{{Column: "citizen.name", Action: "mask"}, {Column: "citizen.phone", Action: "mask"}, {Column: "citizen.id_no", Action: "search"}}, sel.Columns)
		assert.EqualValues(t, 1, sel.Rows)
		assert.EqualValues(t, 2, sel.Decrypted)
		assert.Len(t, sel.Fingerprint, 64)
		assert.Equal(t, "select name , phone from citizen where id_no = ?", sel.Shape, "the caller's statement, values left out")

		g := find(audit.OK, "select", "officer-9")
		require.Len(t, g.Grants, 1)
		assert.Equal(t, "ticket 123", g.Grants[0].Reason)
		assert.Equal(t, []audit.Column{{Column: "citizen.id_no", Action: "plain"}}, g.Columns)
		assert.EqualValues(t, 1, g.Decrypted)

		assert.Equal(t, "denied", find(audit.Denied, "select", "tester").Reason)
		ref := find(audit.Refused, "other", "tester")
		assert.Equal(t, "unsupported use of a protected column", ref.Reason)
		assert.Len(t, ref.Fingerprint, 64)
		assert.Equal(t, "database error", find(audit.DriverError, "insert", "tester").Reason)
		upd := find(audit.OK, "update", "tester")
		assert.EqualValues(t, 1, upd.Rows)
		assert.Contains(t, upd.Columns, audit.Column{Column: "citizen.phone", Action: "write"})
		var plainSel *audit.Event
		for _, e := range events {
			if e.Kind == "select" && len(e.Columns) == 0 && e.Outcome == audit.OK {
				plainSel = e
			}
		}
		require.NotNil(t, plainSel, "a SELECT of unprotected columns of a protected table is recorded")
		assert.EqualValues(t, -1, plainSel.Rows)

		v, err := audit.NewVerifier(audit.DefaultOrigin, key.Public())
		require.NoError(t, err)
		r, err := audit.Verify(context.Background(), audit.DirSource(dir), v)
		require.NoError(t, err)
		assert.True(t, r.OK(), "%+v", r)

		// No value, ciphertext or blind index in any audit output.
		var secrets []string
		for _, p := range people {
			secrets = append(secrets, p.idNo, p.phone, p.name, p.city, p.maskedIDNo, p.maskedPhone)
		}
		secrets = append(secrets, "13700000000", "13600000000")
		stored, err := raw.Query(b.ph(`SELECT id_no, id_no_bidx, phone, phone_bidx, name FROM citizen`))
		require.NoError(t, err)
		for stored.Next() {
			var vals [5]*string
			require.NoError(t, stored.Scan(&vals[0], &vals[1], &vals[2], &vals[3], &vals[4]))
			for _, s := range vals {
				if s != nil {
					secrets = append(secrets, *s, (*s)[len(*s)/2:len(*s)/2+12])
				}
			}
		}
		require.NoError(t, stored.Err())
		outputs := map[string]string{"slog": slogOut.String()}
		require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				raw, err := os.ReadFile(p)
				outputs[p] = string(raw)
				return err
			}
			return err
		}))
		require.Contains(t, outputs["slog"], `"principal":"officer-9"`)
		for where, out := range outputs {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s holds %q", where, s)
				}
			}
		}
	})
}

// TestAuditFailsClosed: a statement whose event cannot be written fails,
// before it runs when the sink says so (Gate), and at its end otherwise.
func TestAuditFailsClosed(t *testing.T) {
	b := sqliteBackend
	cfg := newConfig(t, testConfig)
	sink := &failingSink{}
	cfg.Audit = sink
	_, db := b.open(t, cfg)
	seed(t, b, db)
	sink.fail.Store(true)
	_, err := db.ExecContext(as("admin"), `UPDATE citizen SET phone = ? WHERE id = ?`, "13600000000", 3)
	assert.ErrorIs(t, err, sqldriver.ErrAudit)
	rows, err := db.QueryContext(as("admin"), `SELECT phone FROM citizen`)
	require.NoError(t, err)
	for rows.Next() {
	}
	assert.ErrorIs(t, rows.Err(), sqldriver.ErrAudit, "the end of the result reports the lost event")
	sink.fail.Store(false)
	sink.notReady.Store(true)
	_, err = db.ExecContext(as("admin"), `UPDATE citizen SET phone = ? WHERE id = ?`, "13500000000", 3)
	assert.ErrorIs(t, err, sqldriver.ErrAudit)
	sink.notReady.Store(false)
	var phone string
	require.NoError(t, db.QueryRowContext(as("admin"), `SELECT phone FROM citizen WHERE id = ?`, 3).Scan(&phone))
	assert.Equal(t, "13600000000", phone, "the refused UPDATE did not run")
}

type failingSink struct {
	fail, notReady atomic.Bool
}

func (f *failingSink) Record(context.Context, *audit.Event) error {
	if f.fail.Load() {
		return audit.ErrUnavailable
	}
	return nil
}

func (f *failingSink) Release() {}

func (f *failingSink) Reserve() error {
	if f.notReady.Load() {
		return audit.ErrQueueFull
	}
	return nil
}

// ctxSink records events, refusing any whose context has ended, as a
// sink that waits on its context does.
type ctxSink struct {
	mu     sync.Mutex
	events []*audit.Event
}

func (c *ctxSink) Record(ctx context.Context, e *audit.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	return nil
}

// TestAuditRecordsCanceledQuery: a query whose context is canceled while
// its rows are read is recorded; database/sql closes such rows itself and
// drops Close's error, so a sink given the canceled context would lose
// the event silently.
func TestAuditRecordsCanceledQuery(t *testing.T) {
	b := sqliteBackend
	cfg := newConfig(t, testConfig)
	sink := &ctxSink{}
	cfg.Audit = sink
	_, db := b.open(t, cfg)
	seed(t, b, db)
	ctx, cancel := context.WithCancel(as("admin"))
	rows, err := db.QueryContext(ctx, `SELECT phone FROM citizen`)
	require.NoError(t, err)
	require.True(t, rows.Next())
	cancel()
	for rows.Next() {
	}
	_ = rows.Close()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var found *audit.Event
	for _, e := range sink.events {
		if e.Kind == "select" && e.Principal == "tester" {
			found = e
		}
	}
	require.NotNil(t, found, "the canceled query's event")
	assert.GreaterOrEqual(t, found.Decrypted, int64(1))
}
