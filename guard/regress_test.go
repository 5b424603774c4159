package guard_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
)

// TestLeaseServesOneBudget (a hostile read's finding): budget taken ahead
// under one role set is not spent under another whose budget is used
// up; leases were keyed by principal and window only, and a clerk's
// 10/1h was passed by ~1000 values.
func TestLeaseServesOneBudget(t *testing.T) {
	g := newGuard(t, guard.Config{Roles: map[string]guard.Role{
		"batch": {Budget: guard.Budget{Values: 100000, Window: time.Hour}},
		"clerk": {Budget: guard.Budget{Values: 10, Window: time.Hour}},
	}})
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	ctx := context.Background()
	u, err := g.Admit(ctx, who("p", "batch"), sel)
	require.NoError(t, err)
	_, err = rowsOf(u, 11, 100) // 1100 values as batch; the lease grows to 1024
	require.NoError(t, err)
	// Now p acts as a clerk: 10 per hour, and p has decrypted 1100 this hour.
	u, err = g.Admit(ctx, who("p", "clerk"), sel)
	require.NoError(t, err)
	n, err := rowsOf(u, 2000, 1)
	assert.Equal(t, 0, n, "clerk budget 10/1h is already exceeded by p's 1100 values, got %d more (err %v)", n, err)
}

// TestShortWindows (a hostile read's finding): SlotWidth(1s) was cut to
// 16ms, so 62 slots covered 992ms and a 1s window could hold twice its
// budget. For every window, a value taken at the worst moment (the last
// millisecond of a slot) still counts a window and half a slot (a
// lease's life) later.
func TestShortWindows(t *testing.T) {
	for _, w := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 7 * time.Second, 59 * time.Second, time.Minute, 10 * time.Minute, 25 * time.Hour} {
		slot := guard.SlotWidth(w)
		require.GreaterOrEqual(t, 60*slot, w, "%v", w)
		base := time.UnixMilli((1_700_000_000_000 / slot.Milliseconds()) * slot.Milliseconds())
		now := base.Add(slot - time.Millisecond)
		c := guard.NewMemoryCounter(func() time.Time { return now })
		ctx := context.Background()
		_, ok, _ := c.Take(ctx, "p", 10, 10, w)
		require.True(t, ok)
		first := now
		now = first.Add(w + slot/2)
		_, ok, _ = c.Take(ctx, "p", 1, 10, w)
		assert.False(t, ok, "window %v: 11 values within %v", w, now.Sub(first))
	}
}

// TestWhitelistCommentBreak (a hostile read's finding): a shape is
// written as a YAML comment, and U+0085 or U+2028 in a quoted name of a
// learned statement, which YAML reads as line breaks, added an entry to
// the printed whitelist.
func TestWhitelistCommentBreak(t *testing.T) {
	evil := strings.Repeat("e", 64)
	for _, br := range []string{"\u0085", "\u2028"} {
		var out bytes.Buffer
		l := guard.Learned{Fingerprint: fpA, Kind: "select", Roles: []string{"clerk"},
			Shape: `select name from citizen where "x` + br + `      - ` + evil + ` #" = ?`}
		require.NoError(t, guard.WriteWhitelist(&out, []guard.Learned{l}, "default"))
		var doc struct {
			Roles map[string]struct{ Statements []string } `yaml:"roles"`
		}
		require.NoError(t, yaml.Unmarshal(out.Bytes(), &doc), out.String())
		assert.Equal(t, []string{fpA}, doc.Roles["clerk"].Statements, "%q", out.String())
	}
}

// TestUnlimitedBudgetOverride (a second hostile read): a principal
// override of Budget{Values: Unlimited} was refused by New for its
// window; it removes the roles' budget.
func TestUnlimitedBudgetOverride(t *testing.T) {
	g, err := guard.New(guard.Config{
		Roles:      map[string]guard.Role{"clerk": {Budget: guard.Budget{Values: 10, Window: time.Hour}}},
		Principals: map[string]guard.Role{"nightly": {Budget: guard.Budget{Values: guard.Unlimited}}},
	})
	require.NoError(t, err, "budget: none for a principal")
	u, err := g.Admit(context.Background(), masking.Principal{ID: "nightly", Roles: []string{"clerk"}}, &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true})
	require.NoError(t, err)
	n, err := rowsOf(u, 50, 1)
	assert.Equal(t, 50, n)
	assert.NoError(t, err)
}

// TestRoleNamesCollide (a second hostile read): two role entries that
// differ only in case are one role to the guard; New kept one of them at
// random (map order) instead of refusing the configuration.
func TestRoleNamesCollide(t *testing.T) {
	_, err := guard.New(guard.Config{Roles: map[string]guard.Role{"clerk": {PerStatement: 1}, "Clerk": {PerStatement: 1000}}})
	assert.ErrorIs(t, err, guard.ErrInvalidConfig)
	limits := map[int64]int{}
	for i := 0; i < 50; i++ {
		g, err := guard.New(guard.Config{Roles: map[string]guard.Role{
			"clerk": {PerStatement: 1},
			"Clerk": {PerStatement: 1000},
		}})
		if err != nil {
			return // refused: fine
		}
		u, err := g.Admit(context.Background(), masking.Principal{ID: "p", Roles: []string{"clerk"}}, &guard.Statement{Kind: guard.KindSelect, Tables: []string{"citizen"}, Reads: true, Where: true})
		require.NoError(t, err)
		if u.Row(2, "citizen.name") == nil {
			limits[1000]++
		} else {
			limits[1]++
		}
	}
	assert.Len(t, limits, 1, "the same configuration gives clerk per_statement 1 in %d runs and 1000 in %d", limits[1], limits[1000])
}

// TestLeaseSweepConcurrent (a second hostile read, which held): statements of one principal draw on its
// lease while many other principals make the guard sweep; the budget
// still holds.
func TestLeaseSweepConcurrent(t *testing.T) {
	g, err := guard.New(guard.Config{Roles: map[string]guard.Role{"clerk": {Budget: guard.Budget{Values: 200, Window: time.Hour}}}})
	require.NoError(t, err)
	sel := &guard.Statement{Kind: guard.KindSelect, Tables: []string{"citizen"}, Reads: true, Where: true}
	var mu sync.Mutex
	got := 0
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				u, err := g.Admit(context.Background(), masking.Principal{ID: "p", Roles: []string{"clerk"}}, sel)
				require.NoError(t, err)
				for r := 0; r < 3; r++ {
					if u.Row(1, "citizen.name") == nil {
						mu.Lock()
						got++
						mu.Unlock()
					}
				}
			}
		}()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				u, _ := g.Admit(context.Background(), masking.Principal{ID: fmt.Sprintf("o-%d-%d", w, i), Roles: []string{"clerk"}}, sel)
				u.Row(1, "citizen.name")
			}
		}(w)
	}
	wg.Wait()
	assert.LessOrEqual(t, got, 200)
}

// TestBlockKeepsLifts (a second hostile read): a statement blocked after
// an approval lifted another of its rules kept no record of the
// approval; the block's error carries it, for the audit event.
func TestBlockKeepsLifts(t *testing.T) {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	signer, err := audit.NewSigner(guard.DefaultApprover, key)
	require.NoError(t, err)
	vk, err := audit.NewVerifier(guard.DefaultApprover, key.Public())
	require.NoError(t, err)
	g := newGuard(t, guard.Config{Whitelist: guard.WhitelistEnforce, Approvers: []note.Verifier{vk}, Roles: map[string]guard.Role{"clerk": {}}})
	now := time.Now()
	tok, err := guard.Issue(guard.Approval{Principal: "c1", Rules: []guard.Rule{guard.RuleWhitelist}, NotBefore: now.Add(-time.Minute), Expires: now.Add(time.Hour), Reason: "ticket 5"}, signer)
	require.NoError(t, err)
	_, err = g.Admit(guard.WithApproval(context.Background(), tok), who("c1", "clerk"), &guard.Statement{Kind: guard.KindDelete, Fingerprint: fpA})
	var ge *guard.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, guard.RuleDeleteAll, ge.Rule)
	require.Len(t, ge.Lifted, 1)
	assert.Equal(t, guard.RuleWhitelist, ge.Lifted[0].Rule)
	assert.Equal(t, "ticket 5", ge.Lifted[0].Approval.Reason)
}
