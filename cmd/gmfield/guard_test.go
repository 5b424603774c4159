package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
)

// TestGuardGrant: keygen, then a grant the guard accepts for its
// principal and rules only.
func TestGuardGrant(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "approver")
	code, vkey, errOut := gmfield(t, "", "guard", "keygen", "--out", prefix)
	require.Equal(t, 0, code, errOut)
	vkey = strings.TrimSpace(vkey)
	assert.True(t, strings.HasPrefix(vkey, guard.DefaultApprover+"+"), vkey)
	code, _, errOut = gmfield(t, "", "guard", "keygen", "--out", prefix)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "already exists")

	code, tok, errOut := gmfield(t, "", "guard", "grant", "--principal", "officer-3", "--rule", "max_rows", "--rule", "bulk_select",
		"--for", "2h", "--reason", "ticket 123", "--key", prefix+".pem")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "officer-3")
	tok = strings.TrimSpace(tok)
	v, err := audit.ParseVerifierKey(vkey)
	require.NoError(t, err)
	a, err := guard.ParseApproval(tok, v)
	require.NoError(t, err)
	assert.Equal(t, "officer-3", a.Principal)
	assert.Equal(t, []guard.Rule{guard.RuleBulkSelect, guard.RuleMaxRows}, a.Rules)
	assert.Equal(t, "ticket 123", a.Reason)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), a.Expires, 5*time.Second)

	g, err := guard.New(guard.Config{Approvers: []note.Verifier{v}, Roles: map[string]guard.Role{"clerk": {NoBulk: true}}})
	require.NoError(t, err)
	bulk := &guard.Statement{Kind: guard.KindSelect, Reads: true}
	ctx := guard.WithApproval(context.Background(), tok)
	_, err = g.Admit(ctx, masking.Principal{ID: "officer-3", Roles: []string{"clerk"}}, bulk)
	assert.NoError(t, err)
	_, err = g.Admit(ctx, masking.Principal{ID: "officer-4", Roles: []string{"clerk"}}, bulk)
	assert.ErrorIs(t, err, guard.ErrApprovalInvalid)

	for _, args := range [][]string{
		{"--rule", "drop", "--for", "1h", "--reason", "r", "--key", prefix + ".pem"},
		{"--principal", "p", "--for", "1h", "--reason", "r", "--key", prefix + ".pem"},
		{"--principal", "p", "--rule", "everything", "--for", "1h", "--reason", "r", "--key", prefix + ".pem"},
		{"--principal", "p", "--rule", "drop", "--reason", "r", "--key", prefix + ".pem"},
		{"--principal", "p", "--rule", "drop", "--for", "1h", "--key", prefix + ".pem"},
		{"--principal", "p\nq", "--rule", "drop", "--for", "1h", "--reason", "r", "--key", prefix + ".pem"},
		{"--principal", "p", "--rule", "drop", "--for", "1h", "--reason", "r"},
	} {
		code, out, errOut := gmfield(t, "", append([]string{"guard", "grant"}, args...)...)
		assert.NotEqual(t, 0, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.NotEmpty(t, errOut)
	}
}

func TestGuardLearned(t *testing.T) {
	fp1, fp2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	file := filepath.Join(t.TempDir(), "learned.jsonl")
	lines := `{"fp":"` + fp2 + `","shape":"update citizen set phone = ? where id = ?","kind":"update","tables":["citizen"],"roles":["clerk"]}
{"fp":"` + fp1 + `","shape":"select name from citizen where id_no = ?","kind":"select","tables":["citizen"],"roles":["clerk","desk"]}
{"fp":"` + fp1 + `","shape":"select name from citizen where id_no = ?","kind":"select","tables":["citizen"],"roles":[]}
`
	require.NoError(t, os.WriteFile(file, []byte(lines), 0o600))
	code, out, errOut := gmfield(t, "", "guard", "learned", "--file", file)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `roles:
  clerk:
    statements:
      - `+fp1+` # select: select name from citizen where id_no = ?
      - `+fp2+` # update: update citizen set phone = ? where id = ?
  default:
    statements:
      - `+fp1+` # select: select name from citizen where id_no = ?
  desk:
    statements:
      - `+fp1+` # select: select name from citizen where id_no = ?
`, out)
	require.NoError(t, os.WriteFile(file, []byte("not json\n"), 0o600))
	code, _, errOut = gmfield(t, "", "guard", "learned", "--file", file)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "line 1")
}
