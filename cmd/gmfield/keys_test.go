package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeysWorkflow(t *testing.T) {
	for _, kek := range []string{"sm4", "sm2"} {
		t.Run(kek, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			code, out, errOut := gmfield(t, "", "keyring", "init", "--dir", dir, "--kek", kek)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "initialized")
			assert.Contains(t, errOut, "keep a copy")
			code, _, errOut = gmfield(t, "", "keyring", "init", "--dir", dir)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "already exists")

			enc := func(v string, extra ...string) string {
				args := append([]string{"encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone"}, extra...)
				code, out, errOut := gmfield(t, "", append(args, v)...)
				require.Equal(t, 0, code, errOut)
				return strings.TrimSpace(out)
			}
			dec := func(v string, extra ...string) (int, string, string) {
				args := append([]string{"decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone"}, extra...)
				return gmfield(t, "", append(args, v)...)
			}
			ct := enc("13800138000")
			assert.True(t, strings.HasPrefix(ct, "gmf2:"), ct)
			code, out, _ = dec(ct)
			assert.Equal(t, 0, code)
			assert.Equal(t, "13800138000\n", out)

			withRow := enc("13900139000", "--row-key", "42")
			code, _, errOut = dec(withRow)
			assert.Equal(t, 1, code, "the row key is bound")
			assert.Contains(t, errOut, "authentication failed")
			assert.NotContains(t, errOut, "13900139000")
			code, out, _ = dec(withRow, "--row-key", "42")
			assert.Equal(t, 0, code)
			assert.Equal(t, "13900139000\n", out)

			// Lines from stdin.
			code, out, _ = gmfield(t, "a\nb\n", "encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "-")
			require.Equal(t, 0, code)
			code, out, _ = gmfield(t, out, "decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "-")
			require.Equal(t, 0, code)
			assert.Equal(t, "a\nb\n", out)

			// Blind indexes: stable, transform-aware.
			code, a, _ := gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
			require.Equal(t, 0, code)
			assert.Regexp(t, `^[0-9a-f]{32}\n$`, a)
			_, b, _ := gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "--transform", "digits", "138-0013-8000")
			_, c, _ := gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "--transform", "digits", "13800138000")
			assert.Equal(t, b, c)
			assert.NotEqual(t, a, b)

			// Rotation: old values still open.
			code, out, _ = gmfield(t, "", "keys", "rotate", "--keyring", dir, "--table", "citizen", "--column", "phone")
			require.Equal(t, 0, code)
			assert.Contains(t, out, "citizen.phone: new active key k")
			code, out, _ = dec(ct)
			assert.Equal(t, 0, code)
			assert.Equal(t, "13800138000\n", out)

			code, out, _ = gmfield(t, "", "keys", "list", "--keyring", dir)
			require.Equal(t, 0, code)
			assert.Contains(t, out, "decrypt-only")
			assert.Contains(t, out, "active")
			assert.Contains(t, out, "index-root")
			assert.Regexp(t, kek+`:[0-9a-f]{16}`, out)

			// KEK rotation.
			code, out, errOut = gmfield(t, "", "keys", "rewrap", "--keyring", dir)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "rewrapped 3 keys")
			code, out, _ = dec(ct)
			assert.Equal(t, 0, code)
			assert.Equal(t, "13800138000\n", out)
			_, a2, _ := gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
			assert.Equal(t, a, a2, "the index root survives a KEK rotation")

			// Crypto-shredding, with confirmation.
			id := keyIDOf(t, ct)
			assert.Regexp(t, regexp.MustCompile(`^k[0-9a-f]{16}$`), id)
			code, _, errOut = gmfield(t, "no\n", "keys", "destroy", "--keyring", dir, id)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "not confirmed")
			code, out, _ = dec(ct)
			assert.Equal(t, 0, code, "still readable")
			assert.Equal(t, "13800138000\n", out)
			code, _, _ = gmfield(t, id+"\n", "keys", "destroy", "--keyring", dir, id)
			assert.Equal(t, 0, code)
			code, _, errOut = dec(ct)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "key destroyed")
			code, _, _ = gmfield(t, "", "keys", "destroy", "--keyring", dir, "--yes", id)
			assert.Equal(t, 0, code, "destroying twice is harmless")

			// The blind-index root: destroyed, it stays destroyed until renewed.
			code, _, errOut = gmfield(t, "", "keys", "renew-index-root", "--keyring", dir)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "is live")
			code, _, _ = gmfield(t, "", "keys", "destroy", "--keyring", dir, "--yes", "index-root")
			require.Equal(t, 0, code)
			code, _, errOut = gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "key destroyed")
			code, out, errOut = gmfield(t, "", "keys", "renew-index-root", "--keyring", dir)
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, "new blind-index root index-root.2\n", out)
			assert.Contains(t, errOut, "re-index")
			_, a3, _ := gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
			assert.Regexp(t, `^[0-9a-f]{32}\n$`, a3)
			assert.NotEqual(t, a, a3)
		})
	}
}

// keyIDOf returns the key id a text-form value names.
func keyIDOf(t *testing.T, text string) string {
	t.Helper()
	e, err := crypto.ParseText([]byte(text))
	require.NoError(t, err)
	return e.KeyID
}

func TestKeysUsageErrors(t *testing.T) {
	t.Setenv("GMFIELD_KEYRING", "")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"keys", "list"}, 2, "--keyring"},
		{[]string{"keyring", "init"}, 2, "--dir"},
		{[]string{"keys", "rotate", "--keyring", "x", "--table", "t"}, 2, "both"},
		{[]string{"encrypt", "--keyring", "x", "v"}, 2, "--table"},
		{[]string{"encrypt", "--keyring", "x", "--table", "t", "--column", "c"}, 2, "VALUE"},
		{[]string{"index", "--keyring", "x", "--table", "t", "--column", "c", "--transform", "soundex", "v"}, 2, "transform"},
		{[]string{"keys", "list", "--keyring", t.TempDir()}, 1, "not a key directory"},
		{[]string{"keys", "destroy", "--keyring", "x"}, 2, "key ID"},
	}
	for _, c := range cases {
		code, out, errOut := gmfield(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
}

// TestDecryptRefusesAnotherKeyspace: a value is read at the place the flags
// name, and a DEK of another keyspace is refused (issue 9 item 1).
func TestDecryptRefusesAnotherKeyspace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, _, errOut := gmfield(t, "", "keyring", "init", "--dir", dir)
	require.Equal(t, 0, code, errOut)
	code, ct, errOut := gmfield(t, "", "encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
	require.Equal(t, 0, code, errOut)
	ct = strings.TrimSpace(ct)
	for _, place := range [][]string{
		{"--table", "citizen", "--column", "id_no"},
		{"--table", "other", "--column", "col"},
		{"--table", "citizen", "--column", "phone", "--scope", "table"},
		{"--table", "citizen", "--column", "phone", "--scope", "tenant", "--tenant", "acme"},
		{"--table", "citizen", "--column", "phone", "--schema", "public"},
	} {
		code, out, errOut := gmfield(t, "", append(append([]string{"decrypt", "--keyring", dir}, place...), ct)...)
		assert.Equal(t, 1, code, "%v", place)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "key belongs to another keyspace", "%v", place)
		assert.NotContains(t, errOut, "13800138000")
	}
	// Tenants: each tenant's values open only for that tenant.
	tenant := func(cmd, t2, v string) (int, string, string) {
		return gmfield(t, "", cmd, "--keyring", dir, "--table", "citizen", "--column", "phone", "--scope", "tenant", "--tenant", t2, v)
	}
	code, acme, _ := tenant("encrypt", "acme", "13900139000")
	require.Equal(t, 0, code)
	acme = strings.TrimSpace(acme)
	code, out, _ := tenant("decrypt", "acme", acme)
	assert.Equal(t, 0, code)
	assert.Equal(t, "13900139000\n", out)
	code, _, errOut = tenant("decrypt", "globex", acme)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "another keyspace")
	_, ia, _ := tenant("index", "acme", "13900139000")
	_, ig, _ := tenant("index", "globex", "13900139000")
	assert.NotEqual(t, ia, ig, "tenants have their own blind-index roots")
	// Shredding a tenant.
	code, out, errOut = gmfield(t, "", "keys", "destroy", "--keyring", dir, "--tenant", "acme", "--yes")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "tenant acme: 2 keys destroyed")
	code, _, errOut = tenant("index", "acme", "13900139000")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "key destroyed")
}

// TestRawValues: --raw takes all of stdin as one value, so values with
// newlines and values over the old 16 MiB line limit round-trip.
func TestRawValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, _, errOut := gmfield(t, "", "keyring", "init", "--dir", dir)
	require.Equal(t, 0, code, errOut)
	args := []string{"--keyring", dir, "--table", "doc", "--column", "body", "--raw", "-"}
	for name, v := range map[string]string{
		"newlines": "第一行\n第二行\r\n\n",
		"20 MiB":   strings.Repeat("0123456789abcdef", 20<<16),
		"empty":    "",
	} {
		code, ct, errOut := gmfield(t, v, append([]string{"encrypt"}, args...)...)
		require.Equal(t, 0, code, "%s: %s", name, errOut)
		require.Equal(t, 1, strings.Count(ct, "\n"), name)
		code, out, errOut := gmfield(t, ct, append([]string{"decrypt"}, args...)...)
		require.Equal(t, 0, code, "%s: %s", name, errOut)
		assert.True(t, out == v, "%s: round trip", name)
	}
	// Line mode reads long lines too, without a token limit.
	long := strings.Repeat("x", 17<<20)
	code, ct, errOut := gmfield(t, long+"\n", "encrypt", "--keyring", dir, "--table", "doc", "--column", "body", "-")
	require.Equal(t, 0, code, errOut)
	code, out, _ := gmfield(t, ct, "decrypt", "--keyring", dir, "--table", "doc", "--column", "body", "-")
	require.Equal(t, 0, code)
	assert.True(t, out == long+"\n")
	code, _, errOut = gmfield(t, "", "encrypt", "--keyring", dir, "--table", "doc", "--column", "body", "--raw", "v")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--raw reads the value from stdin")
}
