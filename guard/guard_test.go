package guard_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
)

const fpA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const fpB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func newGuard(t *testing.T, c guard.Config) *guard.Guard {
	t.Helper()
	g, err := guard.New(c)
	require.NoError(t, err)
	return g
}

func who(id string, roles ...string) masking.Principal {
	return masking.Principal{ID: id, Roles: roles}
}

func TestHighRiskRules(t *testing.T) {
	g := newGuard(t, guard.Config{Roles: map[string]guard.Role{
		"clerk": {NoBulk: true},
		"admin": {Allow: []guard.Rule{guard.RuleUpdateAll, guard.RuleDeleteAll, guard.RuleDrop, guard.RuleTruncate, guard.RuleAlter}},
		"batch": {},
	}})
	tables := []string{"citizen"}
	cases := []struct {
		name  string
		st    guard.Statement
		roles []string
		rule  guard.Rule // "" passes
	}{
		{"update with where", guard.Statement{Kind: guard.KindUpdate, Where: true}, []string{"clerk"}, ""},
		{"update all", guard.Statement{Kind: guard.KindUpdate}, []string{"clerk"}, guard.RuleUpdateAll},
		{"update all, limit does not help", guard.Statement{Kind: guard.KindUpdate, Limit: true}, []string{"clerk"}, guard.RuleUpdateAll},
		{"update all by admin", guard.Statement{Kind: guard.KindUpdate}, []string{"admin"}, ""},
		{"delete all", guard.Statement{Kind: guard.KindDelete}, []string{"batch"}, guard.RuleDeleteAll},
		{"delete all by admin", guard.Statement{Kind: guard.KindDelete}, []string{"admin"}, ""},
		{"drop", guard.Statement{Kind: guard.KindSchema, Schema: guard.SchemaDrop}, []string{"batch"}, guard.RuleDrop},
		{"truncate", guard.Statement{Kind: guard.KindSchema, Schema: guard.SchemaTruncate}, []string{"clerk"}, guard.RuleTruncate},
		{"alter", guard.Statement{Kind: guard.KindSchema, Schema: guard.SchemaAlter}, []string{"clerk"}, guard.RuleAlter},
		{"alter by admin", guard.Statement{Kind: guard.KindSchema, Schema: guard.SchemaAlter}, []string{"admin"}, ""},
		{"create index", guard.Statement{Kind: guard.KindSchema, Schema: guard.SchemaOther}, []string{"clerk"}, ""},
		{"bulk select by clerk", guard.Statement{Kind: guard.KindSelect, Reads: true}, []string{"clerk"}, guard.RuleBulkSelect},
		{"select with limit by clerk", guard.Statement{Kind: guard.KindSelect, Reads: true, Limit: true}, []string{"clerk"}, ""},
		{"select with where by clerk", guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}, []string{"clerk"}, ""},
		{"count(*) by clerk reads no protected column", guard.Statement{Kind: guard.KindSelect}, []string{"clerk"}, ""},
		{"bulk select by batch", guard.Statement{Kind: guard.KindSelect, Reads: true}, []string{"batch"}, ""},
		{"clerk and batch: the most permissive", guard.Statement{Kind: guard.KindSelect, Reads: true}, []string{"clerk", "batch"}, ""},
		{"an unknown role has no permission", guard.Statement{Kind: guard.KindSelect, Reads: true}, []string{"visitor"}, guard.RuleBulkSelect},
		{"no role has no permission", guard.Statement{Kind: guard.KindDelete}, nil, guard.RuleDeleteAll},
		{"insert", guard.Statement{Kind: guard.KindInsert}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := c.st
			st.Tables, st.Fingerprint = tables, fpA
			u, err := g.Admit(context.Background(), who("u1", c.roles...), &st)
			if c.rule == "" {
				require.NoError(t, err)
				require.NotNil(t, u)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, guard.ErrBlocked)
			assert.ErrorIs(t, err, guard.ErrHighRisk)
			var ge *guard.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, c.rule, ge.Rule)
			assert.Contains(t, err.Error(), string(c.rule))
		})
	}
}

func TestWhitelist(t *testing.T) {
	var learned bytes.Buffer
	roles := map[string]guard.Role{"clerk": {Statements: []string{fpA}}, "analyst": {Statements: []string{fpB}}}
	enforce := newGuard(t, guard.Config{Roles: roles, Whitelist: guard.WhitelistEnforce, Principals: map[string]guard.Role{"p9": {Statements: []string{fpB}}}})
	st := func(fp string) *guard.Statement {
		return &guard.Statement{Kind: guard.KindSelect, Where: true, Fingerprint: fp, Shape: "select name from citizen where id = ?", Tables: []string{"citizen"}}
	}
	ctx := context.Background()
	_, err := enforce.Admit(ctx, who("u1", "clerk"), st(fpA))
	require.NoError(t, err)
	_, err = enforce.Admit(ctx, who("u1", "clerk"), st(fpB))
	assert.ErrorIs(t, err, guard.ErrNotAllowed)
	assert.ErrorIs(t, err, guard.ErrBlocked)
	_, err = enforce.Admit(ctx, who("u1", "clerk", "analyst"), st(fpB))
	assert.NoError(t, err, "the union of the roles' statements")
	_, err = enforce.Admit(ctx, who("p9", "clerk"), st(fpB))
	assert.NoError(t, err, "a principal's own statements")
	_, err = enforce.Admit(ctx, who("u1"), st(fpA))
	assert.ErrorIs(t, err, guard.ErrNotAllowed, "no role: nothing is whitelisted")

	learn := newGuard(t, guard.Config{Roles: roles, Whitelist: guard.WhitelistLearn, Learn: &learned})
	for range 3 {
		_, err = learn.Admit(ctx, who("u1", "Clerk"), st(fpB))
		require.NoError(t, err)
	}
	_, err = learn.Admit(ctx, who("u2", "analyst", "clerk"), st(fpB))
	require.NoError(t, err)
	got, err := guard.ReadLearned(strings.NewReader(learned.String()))
	require.NoError(t, err)
	require.Len(t, got, 2, "one line per fingerprint and roles")
	assert.Equal(t, guard.Learned{Fingerprint: fpB, Shape: "select name from citizen where id = ?", Kind: "select", Tables: []string{"citizen"}, Roles: []string{"clerk"}}, got[0])
	var yaml bytes.Buffer
	require.NoError(t, guard.WriteWhitelist(&yaml, got, "default"))
	assert.Equal(t, "roles:\n  analyst:\n    statements:\n      - "+fpB+" # select: select name from citizen where id = ?\n  clerk:\n    statements:\n      - "+fpB+" # select: select name from citizen where id = ?\n", yaml.String())

	_, err = guard.New(guard.Config{Whitelist: guard.WhitelistLearn})
	assert.ErrorIs(t, err, guard.ErrInvalidConfig, "learn mode needs a writer")
	_, err = guard.New(guard.Config{Roles: map[string]guard.Role{"x": {Statements: []string{"select 1"}}}})
	assert.ErrorIs(t, err, guard.ErrInvalidConfig)
}

// row feeds rows of need values each and returns how many passed and the
// error that stopped them.
func rowsOf(u *guard.Use, n int, need int64) (int, error) {
	for i := range n {
		if err := u.Row(need, "citizen.phone"); err != nil {
			return i, err
		}
	}
	return n, nil
}

func TestBudgets(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := newGuard(t, guard.Config{Now: clock, Roles: map[string]guard.Role{
		"clerk":   {PerStatement: 10, Budget: guard.Budget{Values: 25, Window: 10 * time.Minute}, MaxRows: 8},
		"analyst": {PerStatement: 100},
	}, Principals: map[string]guard.Role{"night-job": {PerStatement: guard.Unlimited, MaxRows: guard.Unlimited, Budget: guard.Budget{Values: 1000, Window: time.Hour}}}})
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true, Fingerprint: fpA}
	ctx := context.Background()
	admit := func(p masking.Principal) *guard.Use {
		u, err := g.Admit(ctx, p, sel)
		require.NoError(t, err)
		return u
	}

	u := admit(who("c1", "clerk"))
	n, err := rowsOf(u, 20, 2)
	assert.Equal(t, 5, n, "10 values per statement: 5 rows of 2")
	assert.ErrorIs(t, err, guard.ErrBudgetExceeded)
	var ge *guard.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, guard.Error{Rule: guard.RuleStatementBudget, Reason: guard.ErrBudgetExceeded, Role: "clerk", Column: "citizen.phone", Limit: 10}, *ge)
	assert.Equal(t, "gmfield/guard: decryption budget exceeded: rule statement_budget, role clerk, column citizen.phone, limit 10", err.Error())

	u = admit(who("c1", "clerk"))
	n, err = rowsOf(u, 20, 0)
	assert.Equal(t, 8, n, "max_rows counts rows, even those with nothing to decrypt")
	assert.ErrorIs(t, err, guard.ErrHighRisk)

	// The window: 10 taken above; 15 left for c1 in this window.
	u = admit(who("c1", "clerk"))
	n, err = rowsOf(u, 8, 1)
	assert.Equal(t, 8, n)
	require.NoError(t, err)
	u = admit(who("c1", "clerk"))
	n, err = rowsOf(u, 8, 1)
	assert.Equal(t, 7, n, "25 per window: 10 + 8 + 7")
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, guard.RuleWindowBudget, ge.Rule)
	assert.Equal(t, 10*time.Minute, ge.Window)
	assert.Contains(t, err.Error(), "limit 25 per 10m0s")
	// Another principal has its own window.
	u = admit(who("c2", "clerk"))
	n, _ = rowsOf(u, 8, 1)
	assert.Equal(t, 8, n)
	// Still full a minute before the window has passed; free after it.
	advance(9 * time.Minute)
	u = admit(who("c1", "clerk"))
	_, err = rowsOf(u, 1, 1)
	assert.ErrorIs(t, err, guard.ErrBudgetExceeded)
	advance(2*time.Minute + time.Second)
	u = admit(who("c1", "clerk"))
	n, err = rowsOf(u, 8, 1)
	assert.Equal(t, 8, n)
	assert.NoError(t, err)

	// The most permissive role: analyst has no window budget and 100 per statement.
	u = admit(who("c1", "clerk", "analyst"))
	n, err = rowsOf(u, 60, 1)
	assert.Equal(t, 60, n)
	assert.NoError(t, err)
	// A principal override lifts the per-statement limit and max_rows.
	u = admit(who("night-job", "clerk"))
	n, err = rowsOf(u, 500, 2)
	assert.Equal(t, 500, n)
	assert.NoError(t, err)
	// No known role: nothing decrypted, though rows with nothing to decrypt pass.
	u = admit(who("x"))
	n, _ = rowsOf(u, 3, 0)
	assert.Equal(t, 3, n)
	_, err = rowsOf(u, 1, 1)
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, "(no guard role)", ge.Role)
	assert.Equal(t, int64(0), ge.Limit)
}

// TestLeases: budget taken ahead for a principal is used by its next
// statements, so nothing is lost within one instance, and what is left
// when the lease ends is given back.
func TestLeases(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := guard.NewMemoryCounter(clock)
	g := newGuard(t, guard.Config{Counter: c, Now: clock, Roles: map[string]guard.Role{"r": {Budget: guard.Budget{Values: 1000, Window: time.Minute}}}})
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	total := 0
	for range 100 {
		u, err := g.Admit(context.Background(), who("p", "r"), sel)
		require.NoError(t, err)
		n, _ := rowsOf(u, 7, 3)
		total += 3 * n
	}
	assert.Equal(t, 999, total, "every value of the budget is usable")

	u, err := g.Admit(context.Background(), who("q", "r"), sel)
	require.NoError(t, err)
	_, err = rowsOf(u, 40, 1) // the lease has taken ahead
	require.NoError(t, err)
	_, ok, _ := c.Take(context.Background(), "q", 1000-40, 1000, time.Minute)
	assert.False(t, ok, "the lease holds budget taken ahead")
	now = now.Add(guard.SlotWidth(time.Minute))
	_, err = rowsOf(u, 1, 1) // the lease ended: what was left is given back first
	require.NoError(t, err)
	// 41 used. The last lease took 64 (1, 1, 2, …, 32), 24 were left and
	// its batch was 62 (a sixteenth of the budget): the new one takes
	// 62 − 24 = 38, of which 37 are left.
	_, ok, _ = c.Take(context.Background(), "q", 1000-41-37+1, 1000, time.Minute)
	assert.False(t, ok)
	_, ok, _ = c.Take(context.Background(), "q", 1000-41-37, 1000, time.Minute)
	assert.True(t, ok, "given back, less what the new lease holds")
}

// TestBudgetConcurrent: 16 goroutines of one principal never decrypt
// more than the window budget together.
func TestBudgetConcurrent(t *testing.T) {
	g := newGuard(t, guard.Config{Roles: map[string]guard.Role{"r": {Budget: guard.Budget{Values: 1000, Window: time.Hour}}}})
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 16 {
		wg.Go(func() {
			for range 20 {
				u, err := g.Admit(context.Background(), who("p", "r"), sel)
				if !assert.NoError(t, err) {
					return
				}
				n, _ := rowsOf(u, 7, 2)
				mu.Lock()
				total += 2 * n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, total, 1000)
	assert.Equal(t, 1000, total, "one instance loses nothing to its leases")
}

type failingCounter struct{}

var errDown = errors.New("store down")

func (failingCounter) Take(context.Context, string, int64, int64, time.Duration) (int64, bool, error) {
	return 0, false, errDown
}
func (failingCounter) Give(context.Context, string, int64, int64, time.Duration) error {
	return errDown
}

func TestUnavailable(t *testing.T) {
	roles := map[string]guard.Role{"r": {Budget: guard.Budget{Values: 10, Window: time.Hour}}}
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	for _, c := range []struct {
		fb   guard.Fallback
		rows int
	}{{guard.FailClosed, 0}, {guard.FailOpen, 30}, {guard.FailLocal, 10}} {
		var logs bytes.Buffer
		g := newGuard(t, guard.Config{Roles: roles, Counter: failingCounter{}, OnUnavailable: c.fb, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		u, err := g.Admit(context.Background(), who("p", "r"), sel)
		require.NoError(t, err)
		n, err := rowsOf(u, 30, 1)
		assert.Equal(t, c.rows, n, "fallback %d", c.fb)
		if c.fb != guard.FailOpen {
			require.Error(t, err)
		}
		if c.fb == guard.FailClosed {
			assert.ErrorIs(t, err, guard.ErrUnavailable)
			assert.ErrorIs(t, err, errDown)
		}
		assert.Contains(t, logs.String(), "level=WARN")
	}
}

func TestApprovalLiftsRules(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	signer, err := audit.NewSigner(guard.DefaultApprover, key)
	require.NoError(t, err)
	vk, err := audit.NewVerifier(guard.DefaultApprover, key.Public())
	require.NoError(t, err)
	now := time.Now()
	var logs bytes.Buffer
	g := newGuard(t, guard.Config{Approvers: []note.Verifier{vk}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Roles: map[string]guard.Role{"clerk": {PerStatement: 2, NoBulk: true}}})
	tok, err := guard.Issue(guard.Approval{Principal: "c1", Rules: []guard.Rule{guard.RuleStatementBudget, guard.RuleDeleteAll}, NotBefore: now.Add(-time.Minute), Expires: now.Add(time.Hour), Reason: "ticket 9"}, signer)
	require.NoError(t, err)
	ctx := guard.WithApproval(context.Background(), "garbage")
	ctx = guard.WithApproval(ctx, tok)

	u, err := g.Admit(ctx, who("c1", "clerk"), &guard.Statement{Kind: guard.KindDelete})
	require.NoError(t, err, "delete_all lifted")
	n, err := rowsOf(u, 10, 1)
	assert.Equal(t, 10, n, "statement_budget lifted")
	require.NoError(t, err)
	lifts := u.Lifts()
	require.Len(t, lifts, 2)
	assert.Equal(t, guard.RuleDeleteAll, lifts[0].Rule)
	assert.Equal(t, guard.RuleStatementBudget, lifts[1].Rule)
	assert.Equal(t, "ticket 9", lifts[1].Approval.Reason)

	_, err = g.Admit(ctx, who("c1", "clerk"), &guard.Statement{Kind: guard.KindSelect, Reads: true})
	assert.ErrorIs(t, err, guard.ErrHighRisk, "bulk_select is not in the approval")
	assert.ErrorIs(t, err, guard.ErrApprovalInvalid, "the garbage token is reported")
	assert.Contains(t, logs.String(), `"rule":"bulk_select"`)
	assert.NotContains(t, logs.String(), tok[:20], "a token is never logged")

	_, err = guard.Issue(guard.Approval{Principal: "c1", Rules: []guard.Rule{"everything"}, NotBefore: now, Expires: now.Add(time.Hour), Reason: "x"}, signer)
	assert.ErrorIs(t, err, guard.ErrApprovalInvalid)
	_, err = guard.Issue(guard.Approval{Principal: "c1\n", Rules: []guard.Rule{guard.RuleDrop}, NotBefore: now, Expires: now.Add(time.Hour), Reason: "x"}, signer)
	assert.ErrorIs(t, err, guard.ErrApprovalInvalid)
}

func TestParseBudget(t *testing.T) {
	b, err := guard.ParseBudget("2000/10m")
	require.NoError(t, err)
	assert.Equal(t, guard.Budget{Values: 2000, Window: 10 * time.Minute}, b)
	assert.Equal(t, "2000/10m0s", b.String())
	for _, bad := range []string{"2000", "x/10m", "-1/10m", "5/10ms", "5/"} {
		_, err := guard.ParseBudget(bad)
		assert.ErrorIs(t, err, guard.ErrInvalidConfig, bad)
	}
}

type closeCounter struct {
	*guard.MemoryCounter
	closed *bool
}

func (c closeCounter) Close() error { *c.closed = true; return nil }

type closeWriter struct {
	bytes.Buffer
	closed bool
}

func (w *closeWriter) Close() error { w.closed = true; return nil }

// TestClose: a guard closes the counter and learn writer it was given
// when they are io.Closers.
func TestClose(t *testing.T) {
	counterClosed := false
	w := &closeWriter{}
	g := newGuard(t, guard.Config{Counter: closeCounter{guard.NewMemoryCounter(nil), &counterClosed}, Whitelist: guard.WhitelistLearn, Learn: w})
	require.NoError(t, g.Close())
	assert.True(t, counterClosed)
	assert.True(t, w.closed)
	require.NoError(t, newGuard(t, guard.Config{}).Close(), "nothing to close")
}
