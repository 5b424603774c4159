package guard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
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

var update = flag.Bool("update", false, "rewrite testdata/approval-vectors.json")

type approvalVector struct {
	Comment string `json:"comment"`
	Token   string `json:"token"`
	// Valid vectors: what the token carries.
	Principal string   `json:"principal,omitempty"`
	Rules     []string `json:"rules,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Expires   string   `json:"expires,omitempty"`
	// Invalid vectors: "invalid" or "expired".
	Error string `json:"error,omitempty"`
}

type approvalVectors struct {
	Comment     string           `json:"comment"`
	VerifierKey string           `json:"verifier_key"`
	Now         string           `json:"now"`
	MaxDuration string           `json:"max_duration"`
	Valid       []approvalVector `json:"valid"`
	Invalid     []approvalVector `json:"invalid"`
}

const vectorPath = "testdata/approval-vectors.json"

// makeVectors signs the vectors with a new key (go test -run Vectors -update).
func makeVectors(t *testing.T) approvalVectors {
	key, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	other, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	signer, err := audit.NewSigner(guard.DefaultApprover, key)
	require.NoError(t, err)
	otherSigner, err := audit.NewSigner(guard.DefaultApprover, other)
	require.NoError(t, err)
	vkey, err := audit.VerifierKey(guard.DefaultApprover, key.Public())
	require.NoError(t, err)
	nb := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	v := approvalVectors{
		Comment:     "guard approval tokens (docs/format.md §11); regenerate with go test ./guard -run Vectors -update",
		VerifierKey: vkey, Now: "2026-12-03T09:00:00Z", MaxDuration: "24h",
	}
	issue := func(a guard.Approval, s note.Signer) string {
		tok, err := guard.Issue(a, s)
		require.NoError(t, err)
		return tok
	}
	raw := func(text string, s note.Signer) string {
		msg, err := note.Sign(&note.Note{Text: text}, s)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(msg)
	}
	good := guard.Approval{Principal: "clerk-7", Rules: []guard.Rule{guard.RuleMaxRows, guard.RuleBulkSelect}, NotBefore: nb, Expires: nb.Add(2 * time.Hour), Reason: "ticket 123 (工单)"}
	v.Valid = append(v.Valid,
		approvalVector{Comment: "two rules for two hours", Token: issue(good, signer), Principal: "clerk-7", Rules: []string{"bulk_select", "max_rows"}, Reason: good.Reason, Expires: "2026-12-03T10:00:00Z"})
	one := good
	one.Rules, one.Expires = []guard.Rule{guard.RuleBulkSelect}, nb.Add(24*time.Hour)
	v.Valid = append(v.Valid,
		approvalVector{Comment: "one rule, the longest allowed", Token: issue(one, signer), Principal: "clerk-7", Rules: []string{"bulk_select"}, Reason: good.Reason, Expires: "2026-12-04T08:00:00Z"})

	tok := issue(good, signer)
	msg, _ := base64.RawURLEncoding.DecodeString(tok)
	text := string(msg[:strings.LastIndex(string(msg), "\n\n")+1])
	sig := string(msg[len(text):])
	reencode := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	changed := strings.Replace(text, "clerk-7", "clerk-8", 1)
	// The signature line is "\n— name base64(keyhash ‖ sig)\n": change the key hash.
	line := strings.TrimSuffix(strings.TrimPrefix(sig, "\n"), "\n")
	name, b64, _ := strings.Cut(strings.TrimPrefix(line, "— "), " ")
	sigBytes, _ := base64.StdEncoding.DecodeString(b64)
	sigBytes[0] ^= 1
	badHash := []byte("\n— " + name + " " + base64.StdEncoding.EncodeToString(sigBytes) + "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	swap := append([]string{}, lines...)
	swap[len(swap)-1], swap[len(swap)-2] = swap[len(swap)-2], swap[len(swap)-1]
	long := good
	long.Expires = nb.Add(48 * time.Hour)
	past := good
	past.NotBefore, past.Expires = nb.Add(-3*time.Hour), nb.Add(-time.Hour)
	future := good
	future.NotBefore, future.Expires = nb.Add(2*time.Hour), nb.Add(3*time.Hour)
	replaceLine := func(prefix, with string) string {
		out := append([]string{}, lines...)
		for i, l := range out {
			if strings.HasPrefix(l, prefix) {
				out[i] = with
			}
		}
		return strings.Join(out, "\n") + "\n"
	}
	v.Invalid = []approvalVector{
		{Comment: "the body changed (another principal) under the original signature", Token: reencode(changed + sig), Error: "invalid"},
		{Comment: "signed by another key", Token: issue(good, otherSigner), Error: "invalid"},
		{Comment: "a key id that does not match", Token: reencode(text + string(badHash)), Error: "invalid"},
		{Comment: "lasts 48h, over the maximum", Token: issue(long, signer), Error: "invalid"},
		{Comment: "expired an hour before now", Token: issue(past, signer), Error: "expired"},
		{Comment: "not valid before an hour after now", Token: issue(future, signer), Error: "expired"},
		{Comment: "an unknown rule", Token: raw(replaceLine("rule max_rows", "rule everything"), signer), Error: "invalid"},
		{Comment: "rules not in ascending order", Token: raw(strings.Replace(strings.Replace(text, "rule bulk_select", "rule x", 1), "rule max_rows", "rule bulk_select", 1)+"", signer), Error: "invalid"},
		{Comment: "an empty reason", Token: raw(replaceLine("reason ", "reason "), signer), Error: "invalid"},
		{Comment: "a control character in the reason", Token: raw(replaceLine("reason ", "reason ticket\u0085123"), signer), Error: "invalid"},
		{Comment: "nonce and reason lines out of order", Token: raw(strings.Join(swap, "\n")+"\n", signer), Error: "invalid"},
		{Comment: "a time with a zone offset", Token: raw(replaceLine("expires ", "expires 2026-12-03T18:00:00+08:00"), signer), Error: "invalid"},
		{Comment: "not base64url", Token: "not a token!", Error: "invalid"},
	}
	// "rule x" then "rule bulk_select": out of order (and x unknown); make it only unsorted.
	v.Invalid[7].Token = raw(strings.Replace(strings.Replace(text, "rule bulk_select\n", "", 1), "rule max_rows\n", "rule max_rows\nrule bulk_select\n", 1), signer)
	return v
}

func TestApprovalVectors(t *testing.T) {
	if *update {
		v := makeVectors(t)
		b, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.FromSlash(vectorPath), append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(filepath.FromSlash(vectorPath))
	require.NoError(t, err)
	var v approvalVectors
	require.NoError(t, json.Unmarshal(b, &v))
	vk, err := audit.ParseVerifierKey(v.VerifierKey)
	require.NoError(t, err)
	now, err := time.Parse(time.RFC3339, v.Now)
	require.NoError(t, err)
	maxDur, err := time.ParseDuration(v.MaxDuration)
	require.NoError(t, err)
	g, err := guard.New(guard.Config{Roles: map[string]guard.Role{"clerk": {NoBulk: true}}, Approvers: []note.Verifier{vk}, MaxApproval: maxDur, Now: func() time.Time { return now }})
	require.NoError(t, err)
	bulk := &guard.Statement{Kind: guard.KindSelect, Reads: true, Tables: []string{"citizen"}}
	admit := func(principal, token string) (*guard.Use, error) {
		ctx := guard.WithApproval(context.Background(), token)
		return g.Admit(ctx, masking.Principal{ID: principal, Roles: []string{"clerk"}}, bulk)
	}
	require.NotEmpty(t, v.Valid)
	for _, c := range v.Valid {
		t.Run("valid/"+c.Comment, func(t *testing.T) {
			a, err := guard.ParseApproval(c.Token, vk)
			require.NoError(t, err)
			assert.Equal(t, c.Principal, a.Principal)
			assert.Equal(t, c.Reason, a.Reason)
			assert.Equal(t, c.Expires, a.Expires.Format(time.RFC3339))
			var rules []string
			for _, r := range a.Rules {
				rules = append(rules, string(r))
			}
			assert.Equal(t, c.Rules, rules)
			u, err := admit(c.Principal, c.Token)
			require.NoError(t, err, "the approval lifts bulk_select")
			require.Len(t, u.Lifts(), 1)
			assert.Equal(t, guard.RuleBulkSelect, u.Lifts()[0].Rule)
			// Another principal presenting it is refused.
			_, err = admit("clerk-9", c.Token)
			assert.ErrorIs(t, err, guard.ErrHighRisk)
			assert.ErrorIs(t, err, guard.ErrApprovalInvalid)
		})
	}
	require.NotEmpty(t, v.Invalid)
	for _, c := range v.Invalid {
		t.Run("invalid/"+c.Comment, func(t *testing.T) {
			want := map[string]error{"invalid": guard.ErrApprovalInvalid, "expired": guard.ErrApprovalExpired}[c.Error]
			require.NotNil(t, want, "vector error %q", c.Error)
			_, err := admit("clerk-7", c.Token)
			require.ErrorIs(t, err, guard.ErrBlocked)
			assert.ErrorIs(t, err, guard.ErrHighRisk)
			assert.ErrorIs(t, err, want)
			if c.Error == "invalid" && !strings.Contains(c.Comment, "over the maximum") {
				_, perr := guard.ParseApproval(c.Token, vk)
				assert.ErrorIs(t, perr, guard.ErrApprovalInvalid)
			}
		})
	}
}
