package sqldriver_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// guardRoles are the guard settings of the behavioural suite: a clerk
// desk (no bulk reads, 4 values per statement), an admin who may change
// and drop, an analyst of at most 2 rows.
func guardRoles() map[string]guard.Role {
	return map[string]guard.Role{
		"clerk":   {NoBulk: true, PerStatement: 4},
		"admin":   {Allow: []guard.Rule{guard.RuleUpdateAll, guard.RuleDeleteAll, guard.RuleDrop, guard.RuleTruncate, guard.RuleAlter}},
		"analyst": {MaxRows: 2},
	}
}

type approver struct {
	signer note.Signer
	key    note.Verifier
}

func newApprover(t *testing.T) approver {
	k, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	s, err := audit.NewSigner(guard.DefaultApprover, k)
	require.NoError(t, err)
	v, err := audit.NewVerifier(guard.DefaultApprover, k.Public())
	require.NoError(t, err)
	return approver{s, v}
}

func (a approver) grant(t *testing.T, principal string, from, until time.Time, rules ...guard.Rule) string {
	tok, err := guard.Issue(guard.Approval{Principal: principal, Rules: rules, NotBefore: from, Expires: until, Reason: "ticket 77"}, a.signer)
	require.NoError(t, err)
	return tok
}

func blockedBy(t *testing.T, err error, rule guard.Rule) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, guard.ErrBlocked)
	var ge *guard.Error
	if assert.ErrorAs(t, err, &ge) {
		assert.Equal(t, rule, ge.Rule, "%v", err)
	}
}

func TestGuardRules(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		ap := newApprover(t)
		var logs syncBuffer
		g, err := guard.New(guard.Config{Roles: guardRoles(), Approvers: []note.Verifier{ap.key}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		require.NoError(t, err)
		key, err := crypto.GenerateSM2Key()
		require.NoError(t, err)
		dir := t.TempDir()
		lg, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: key, CheckpointEvery: -1})
		require.NoError(t, err)
		cfg := newConfig(t, testConfig)
		cfg.Guard, cfg.Audit = g, lg
		raw, db := b.open(t, cfg)
		seed(t, b, db)
		clerk := as("clerk")
		ctx := context.Background()

		// High-risk writes and schema changes.
		_, err = db.ExecContext(clerk, `UPDATE citizen SET city = ?`, "x")
		blockedBy(t, err, guard.RuleUpdateAll)
		assert.ErrorIs(t, err, guard.ErrHighRisk)
		_, err = db.ExecContext(clerk, `UPDATE citizen SET city = ? WHERE 1 = 1`, "x")
		blockedBy(t, err, guard.RuleUpdateAll)
		_, err = db.ExecContext(clerk, `UPDATE citizen SET city = ? WHERE id = ?`, "广州", 3)
		require.NoError(t, err)
		_, err = db.ExecContext(clerk, `DELETE FROM citizen`)
		blockedBy(t, err, guard.RuleDeleteAll)
		_, err = db.ExecContext(clerk, `ALTER TABLE citizen ADD COLUMN extra `+b.short)
		blockedBy(t, err, guard.RuleAlter)
		_, err = db.ExecContext(clerk, `DROP TABLE citizen`)
		blockedBy(t, err, guard.RuleDrop)
		if b.name != "sqlite" {
			_, err = db.ExecContext(clerk, `TRUNCATE TABLE citizen`)
			blockedBy(t, err, guard.RuleTruncate)
		}
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM citizen`).Scan(&n))
		assert.Equal(t, 3, n, "nothing ran")
		_, err = db.ExecContext(as("admin"), `ALTER TABLE citizen ADD COLUMN extra `+b.short)
		assert.NoError(t, err, "admin may alter")

		// Bulk reads: a clerk needs a WHERE or a LIMIT; counting reads no protected column.
		_, err = db.QueryContext(clerk, `SELECT name FROM citizen`)
		blockedBy(t, err, guard.RuleBulkSelect)
		require.NoError(t, db.QueryRowContext(clerk, `SELECT count(*) FROM citizen`).Scan(&n))
		var name string
		require.NoError(t, db.QueryRowContext(clerk, `SELECT name FROM citizen WHERE id = ?`, 1).Scan(&name))
		assert.Equal(t, people[0].maskedName, name)

		// The per-statement budget stops the result: 4 values, 2 rows of name and phone.
		rows, err := db.QueryContext(clerk, `SELECT name, phone FROM citizen WHERE id > ? ORDER BY id`, 0)
		require.NoError(t, err)
		var got []string
		for rows.Next() {
			var nm, ph string
			require.NoError(t, rows.Scan(&nm, &ph))
			got = append(got, nm, ph)
		}
		blockedBy(t, rows.Err(), guard.RuleStatementBudget)
		assert.ErrorIs(t, rows.Err(), guard.ErrBudgetExceeded)
		assert.Equal(t, []string{people[0].maskedName, people[0].maskedPhone, people[1].maskedName, people[1].maskedPhone}, got)
		msg := rows.Err().Error()
		assert.Contains(t, msg, "role clerk")
		assert.Contains(t, msg, "citizen.name")
		assert.Contains(t, msg, "limit 4")
		for _, p := range people {
			assert.NotContains(t, msg, p.name)
			assert.NotContains(t, msg, p.phone)
		}
		require.NoError(t, rows.Close())
		// NULLs are not decrypted, and count for no budget: three notes, one NULL.
		rows, err = db.QueryContext(clerk, `SELECT note, note, note FROM citizen WHERE id > ? ORDER BY id`, 0)
		require.NoError(t, err)
		count := 0
		for rows.Next() {
			count++
		}
		blockedBy(t, rows.Err(), guard.RuleStatementBudget)
		assert.Equal(t, 1, count, "3 values fit, 6 do not")
		require.NoError(t, rows.Close())
		rows, err = db.QueryContext(clerk, `SELECT note, note FROM citizen WHERE id > ? ORDER BY id`, 1)
		require.NoError(t, err)
		count = 0
		for rows.Next() {
			count++
		}
		require.NoError(t, rows.Err(), "rows 2 and 3: 2 values and a NULL")
		assert.Equal(t, 2, count)
		require.NoError(t, rows.Close())

		// max_rows: an analyst reads at most 2 rows with protected columns.
		rows, err = db.QueryContext(as("analyst"), `SELECT name FROM citizen WHERE id > ? ORDER BY id`, 0)
		require.NoError(t, err)
		count = 0
		for rows.Next() {
			count++
		}
		blockedBy(t, rows.Err(), guard.RuleMaxRows)
		assert.Equal(t, 2, count)
		require.NoError(t, rows.Close())

		// Approvals: one lifts bulk_select for its principal; an expired one, another
		// principal's, or a forged one does not.
		now := time.Now()
		tok := ap.grant(t, "officer-3", now.Add(-time.Minute), now.Add(time.Hour), guard.RuleBulkSelect)
		officer := guard.WithApproval(sqldriver.WithRoles(ctx, "officer-3", "clerk"), tok)
		rows, err = db.QueryContext(officer, `SELECT city FROM citizen`)
		require.NoError(t, err, "city is not protected: no read of a protected column")
		require.NoError(t, rows.Close())
		rows, err = db.QueryContext(officer, `SELECT id_no FROM citizen WHERE id < ?`, 2)
		require.NoError(t, err)
		require.NoError(t, rows.Close())
		var id string
		require.NoError(t, db.QueryRowContext(officer, `SELECT id_no FROM citizen ORDER BY id`).Scan(&id), "bulk_select lifted")
		assert.Equal(t, people[0].maskedIDNo, id)
		expired := ap.grant(t, "officer-3", now.Add(-2*time.Hour), now.Add(-time.Hour), guard.RuleBulkSelect)
		_, err = db.QueryContext(guard.WithApproval(sqldriver.WithRoles(ctx, "officer-3", "clerk"), expired), `SELECT id_no FROM citizen`)
		blockedBy(t, err, guard.RuleBulkSelect)
		assert.ErrorIs(t, err, guard.ErrApprovalExpired)
		_, err = db.QueryContext(guard.WithApproval(sqldriver.WithRoles(ctx, "officer-4", "clerk"), tok), `SELECT id_no FROM citizen`)
		assert.ErrorIs(t, err, guard.ErrApprovalInvalid, "another principal's approval")
		forged := newApprover(t).grant(t, "officer-3", now.Add(-time.Minute), now.Add(time.Hour), guard.RuleBulkSelect)
		_, err = db.QueryContext(guard.WithApproval(sqldriver.WithRoles(ctx, "officer-3", "clerk"), forged), `SELECT id_no FROM citizen`)
		assert.ErrorIs(t, err, guard.ErrApprovalInvalid, "signed by an untrusted key")

		require.NoError(t, db.Close())
		var events []*audit.Event
		require.NoError(t, audit.Query(ctx, audit.DirSource(dir), audit.Filter{}, func(e *audit.Event) error {
			events = append(events, e)
			return nil
		}))
		byRule := map[string][]*audit.Event{}
		for _, e := range events {
			if e.Outcome == audit.Blocked {
				byRule[e.Rule] = append(byRule[e.Rule], e)
			}
		}
		for _, r := range []guard.Rule{guard.RuleUpdateAll, guard.RuleDeleteAll, guard.RuleAlter, guard.RuleDrop, guard.RuleBulkSelect, guard.RuleStatementBudget, guard.RuleMaxRows} {
			assert.NotEmpty(t, byRule[string(r)], "a blocked event for %s", r)
		}
		if e := byRule[string(guard.RuleStatementBudget)]; len(e) == 1 {
			assert.EqualValues(t, 2, e[0].Rows)
			assert.EqualValues(t, 4, e[0].Decrypted, "nothing past the budget was decrypted")
			assert.Equal(t, "decryption budget exceeded", e[0].Reason)
		}
		lifted := 0
		for _, e := range events {
			for _, gr := range e.Grants {
				if gr.Rule == "bulk_select" {
					lifted++
					assert.Equal(t, "ticket 77", gr.Reason)
					assert.Equal(t, "officer-3", e.Principal)
					assert.Equal(t, audit.OK, e.Outcome)
				}
			}
		}
		assert.Equal(t, 1, lifted, "the approval is recorded where it lifted a rule")
		assert.Contains(t, logs.String(), `"rule":"statement_budget"`)
		assert.NotContains(t, logs.String(), tok[:24])
		for _, p := range people {
			assert.NotContains(t, logs.String(), p.phone)
		}
	})
}

// TestGuardWhitelist: learn, print the whitelist, enforce it.
func TestGuardWhitelist(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		learnFile := filepath.Join(t.TempDir(), "learned.jsonl")
		// Callers of roles the guard does not list get its default entry.
		doc := testConfig + fmt.Sprintf("guard:\n  whitelist: learn\n  learn_file: %s\n  roles: {default: {}}\n", learnFile)
		keys := keyDir(t)
		parse := func(doc string) *sqldriver.Config {
			cfg, err := config.Parse([]byte(doc), keys)
			require.NoError(t, err)
			return cfg
		}
		_, db, wrap := b.openMore(t, parse(doc))
		seed(t, b, db)
		clerk := as("clerk")
		lookup := `SELECT name, phone FROM citizen WHERE id_no = ?`
		for _, p := range people {
			var n, ph string
			require.NoError(t, db.QueryRowContext(clerk, lookup, p.idNo).Scan(&n, &ph))
		}
		_, err := db.ExecContext(clerk, `UPDATE citizen SET phone = ? WHERE id = ?`, "13700000000", 2)
		require.NoError(t, err)
		f, err := os.Open(learnFile)
		require.NoError(t, err)
		learned, err := guard.ReadLearned(f)
		f.Close()
		require.NoError(t, err)
		var clerkFPs []string
		for _, l := range learned {
			if len(l.Roles) == 1 && l.Roles[0] == "clerk" {
				clerkFPs = append(clerkFPs, l.Fingerprint)
				assert.NotContains(t, l.Shape, people[0].idNo, "a shape holds no value")
			}
		}
		require.Len(t, clerkFPs, 2, "one line per statement, whatever its values: %v", learned)
		var yml bytes.Buffer
		require.NoError(t, guard.WriteWhitelist(&yml, learned, "default"))

		var section strings.Builder
		section.WriteString("guard:\n  whitelist: enforce\n")
		for _, line := range strings.SplitAfter(yml.String(), "\n") {
			if line != "" {
				section.WriteString("  " + line)
			}
		}
		enforce := parse(testConfig + section.String())
		db2 := wrap(enforce)
		var n, ph string
		require.NoError(t, db2.QueryRowContext(clerk, strings.ReplaceAll(lookup, "?", " ? "), people[1].idNo).Scan(&n, &ph), "same shape, other spacing and value")
		_, err = db2.QueryContext(clerk, `SELECT name FROM citizen WHERE id = ?`, 1)
		blockedBy(t, err, guard.RuleWhitelist)
		assert.ErrorIs(t, err, guard.ErrNotAllowed)
		_, err = db2.QueryContext(as("admin"), lookup, people[1].idNo)
		assert.ErrorIs(t, err, guard.ErrNotAllowed, "admin learned nothing")
		// Statements that touch no protected table are not the whitelist's.
		require.NoError(t, db2.QueryRowContext(clerk, `SELECT count(*) FROM orders`).Scan(&n))
	})
}

// TestGuardBudgetConcurrent: 16 goroutines of one principal on one
// handle never decrypt more than the window budget together.
func TestGuardBudgetConcurrent(t *testing.T) {
	b := sqliteBackend
	cfg := newConfig(t, testConfig)
	var err error
	cfg.Guard, err = guard.New(guard.Config{Roles: map[string]guard.Role{"clerk": {Budget: guard.Budget{Values: 301, Window: time.Hour}}}})
	require.NoError(t, err)
	_, db := b.open(t, cfg)
	seed(t, b, db)
	total := runLookups(t, []tdb{db}, 16, 20)
	assert.Equal(t, int64(300), total, "150 lookups of 2 values; the 151st would pass 301")
}

// runLookups runs lookups of two values each from goroutines spread over
// the handles, and returns the values they decrypted.
func runLookups(t *testing.T, dbs []tdb, goroutines, each int) int64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	ctx := sqldriver.WithRoles(context.Background(), "clerk-7", "clerk")
	for i := range goroutines {
		db := dbs[i%len(dbs)]
		wg.Go(func() {
			for j := range each {
				var n, ph string
				err := db.QueryRowContext(ctx, `SELECT name, phone FROM citizen WHERE id = ?`, 1+(i+j)%3).Scan(&n, &ph)
				if err != nil {
					assert.ErrorIs(t, err, guard.ErrBlocked)
					continue
				}
				total.Add(2)
			}
		})
	}
	wg.Wait()
	return total.Load()
}

func redisAddr(t *testing.T) string {
	addr := os.Getenv("GMFIELD_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("GMFIELD_TEST_REDIS_ADDR is not set (scripts/test.sh sets it)")
	}
	return addr
}

// TestGuardRedisShared: two handles (two application instances) whose
// guards count in one Redis never together pass the shared budget.
func TestGuardRedisShared(t *testing.T) {
	addr := redisAddr(t)
	prefix := fmt.Sprintf("gmfield-test:%d:", time.Now().UnixNano())
	doc := testConfig + fmt.Sprintf(`guard:
  budgets:
    store: redis
    redis: {addr: %q, prefix: %q, timeout: 2s}
  roles:
    clerk: {budget: 101/1h}
`, addr, prefix)
	b := sqliteBackend
	dir := keyDir(t)
	parse := func() *sqldriver.Config {
		cfg, err := config.Parse([]byte(doc), dir)
		require.NoError(t, err)
		return cfg
	}
	_, db1, wrap := b.openMore(t, parse())
	seed(t, b, db1)
	db2 := wrap(parse())
	total := runLookups(t, []tdb{db1, db2}, 16, 10)
	// Never more than the budget; at most each instance's lease (a
	// sixteenth of the budget: 6 values) left unused when it ends.
	assert.LessOrEqual(t, total, int64(100), "two instances, one budget of 101: at most 50 lookups of 2")
	assert.GreaterOrEqual(t, total, int64(100-2*6))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.NotContains(t, keys[0], "clerk-7")
}

// TestGuardRedisDown: a budget store that does not answer blocks reads
// (fail_closed, the default) or counts them in process (local).
func TestGuardRedisDown(t *testing.T) {
	for _, c := range []struct {
		fallback string
		values   int64
	}{{"", 0}, {"on_unavailable: local", 4}} {
		doc := testConfig + fmt.Sprintf(`guard:
  budgets:
    store: redis
    redis: {addr: "127.0.0.1:1", timeout: 300ms}
    %s
  roles:
    clerk: {budget: 4/1h}
`, c.fallback)
		b := sqliteBackend
		cfg := newConfig(t, doc)
		_, db := b.open(t, cfg)
		seed(t, b, db)
		got := runLookups(t, []tdb{db}, 1, 4)
		assert.Equal(t, c.values, got, c.fallback)
		err := db.QueryRowContext(sqldriver.WithRoles(context.Background(), "clerk-7", "clerk"), `SELECT name FROM citizen WHERE id = ?`, 1).Scan(new(string))
		if c.fallback == "" {
			assert.ErrorIs(t, err, guard.ErrUnavailable)
		} else {
			assert.ErrorIs(t, err, guard.ErrBudgetExceeded)
		}
		var ok sql.NullString
		require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT city FROM citizen WHERE id = ?`, 1).Scan(&ok), "reads of no protected value need no budget")
	}
}

func TestGuardConfig(t *testing.T) {
	k, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	vkey, err := audit.VerifierKey(guard.DefaultApprover, k.Public())
	require.NoError(t, err)
	good := testConfig + fmt.Sprintf(`guard:
  whitelist: enforce
  approvals: {keys: [%q], max_duration: 8h}
  roles:
    clerk: {per_statement: 20, budget: 2000/10m, max_rows: 50, bulk: false, statements: [%s]}
    admin: {allow: [drop, truncate]}
  principals:
    night-job: {per_statement: none, budget: 1000000/24h, allow: [max_rows]}
`, vkey, strings.Repeat("a", 64))
	cfg, err := config.Parse([]byte(good), keyDir(t))
	require.NoError(t, err)
	require.NotNil(t, cfg.Guard)
	for _, c := range []struct{ doc, want string }{
		{"guard:\n  whitelist: maybe\n", "whitelist mode"},
		{"guard:\n  whitelist: learn\n", "learn_file"},
		{"guard:\n  roles:\n    clerk: {budget: 2000}\n", "values/window"},
		{"guard:\n  roles:\n    clerk: {per_statement: -3}\n", "positive"},
		{"guard:\n  roles:\n    clerk: {per_statement: none}\n", "positive"},
		{"guard:\n  roles:\n    clerk: {allow: [window_budget]}\n", "cannot be allowed"},
		{"guard:\n  roles:\n    clerk: {allow: [everything]}\n", "unknown rule"},
		{"guard:\n  roles:\n    clerk: {statements: [select]}\n", "fingerprint"},
		{"guard:\n  roles:\n    clerk: {colour: red}\n", "unknown key"},
		{"guard:\n  budgets: {store: redis}\n", "addr"},
		{"guard:\n  budgets: {on_unavailable: maybe}\n", "on_unavailable"},
		{"guard:\n  approvals: {keys: [nope]}\n", "approvals keys"},
	} {
		_, err := config.Parse([]byte(testConfig+c.doc), keyDir(t))
		require.Error(t, err, c.doc)
		assert.ErrorIs(t, err, sqldriver.ErrInvalidConfig, c.doc)
		assert.Contains(t, err.Error(), c.want, c.doc)
	}
}

type closeRecorder struct {
	syncBuffer
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// TestGuardClosedWithHandle: closing the handle of Wrap closes its guard
// (here, its learn writer).
func TestGuardClosedWithHandle(t *testing.T) {
	w := &closeRecorder{}
	g, err := guard.New(guard.Config{Whitelist: guard.WhitelistLearn, Learn: w, Roles: map[string]guard.Role{"default": {}}})
	require.NoError(t, err)
	cfg := newConfig(t, testConfig)
	cfg.Guard = g
	_, db := sqliteBackend.open(t, cfg)
	seed(t, sqliteBackend, db)
	require.NoError(t, db.Close())
	assert.True(t, w.closed.Load())
	assert.Contains(t, w.String(), `"kind":"insert"`)
}
