package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := gmfield(t, "", "keyring", "init", "--dir", filepath.Join(dir, "keys"), "--kek", "sm4")
	require.Equal(t, 0, code, stderr)
	cfg := filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`keyring: {dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
roles:
  clerk: {default: mask}
`), 0o600))
	cases := []struct {
		args  []string
		code  int
		want  []string
		stdin string
	}{
		{[]string{"--dialect", "postgres", "INSERT INTO citizen (id, phone) VALUES ($1, $2)"}, 0, []string{
			"sends:  INSERT INTO citizen (id, phone, phone_bidx, phone_last4_bidx) VALUES ($1, $2, $3, $4)",
			"takes:  2 argument(s)",
			"bind 2: seal argument 2 for citizen.phone with its row key",
			"bind 4: last4 index of argument 2 for citizen.phone",
		}, ""},
		{[]string{"--dialect", "mysql", "-"}, 0, []string{
			"sends:  SELECT phone , citizen.id FROM citizen WHERE phone_bidx = ?",
			"column 1: citizen.phone, opened or masked per role",
			"hidden: 1 column(s)",
		}, "SELECT phone FROM citizen WHERE phone = '13800138000'"},
		{[]string{"--dialect", "sqlite", "SELECT 1 FROM orders"}, 0, []string{"passes through unchanged"}, ""},
		{[]string{"--dialect", "sqlite", "SELECT id FROM citizen ORDER BY phone"}, 1, nil, ""},
		{[]string{"SELECT 1"}, 2, nil, ""},
		{[]string{"--dialect", "oracle", "SELECT 1"}, 2, nil, ""},
	}
	for _, c := range cases {
		code, stdout, stderr := gmfield(t, c.stdin, append([]string{"plan", "--config", cfg}, c.args...)...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		for _, w := range c.want {
			assert.Contains(t, stdout, w, c.args)
		}
	}
	_, _, stderr = gmfield(t, "", "plan", "--config", cfg, "--dialect", "sqlite", "SELECT id FROM citizen ORDER BY phone")
	assert.Contains(t, stderr, "citizen.phone (ORDER BY)")
}

// TestPlanWarnsOfTablesWithoutRowKey (issue 9 item 9): values of a table
// without a row key can be swapped between rows undetected.
func TestPlanWarnsOfTablesWithoutRowKey(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := gmfield(t, "", "keyring", "init", "--dir", filepath.Join(dir, "keys"), "--kek", "sm4")
	require.Equal(t, 0, code, stderr)
	cfg := filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`keyring: {dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      phone: {mask: mobile}
  contact:
    columns:
      email: {mask: email}
roles:
  clerk: {default: mask}
`), 0o600))
	code, _, stderr = gmfield(t, "", "plan", "--config", cfg, "--dialect", "sqlite", "SELECT email FROM contact")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "warning: table contact has no row_key")
	assert.NotContains(t, stderr, "table citizen")
}
