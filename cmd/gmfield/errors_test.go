package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/keyring/local"
)

// assertSaysOnce fails when an error line repeats itself: the same
// phrase twice in a row (": X: X"), or one key id named twice.
func assertSaysOnce(t *testing.T, stderr string, what ...any) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		parts := strings.Split(line, ": ")
		for i := 1; i < len(parts); i++ {
			assert.NotEqual(t, parts[i-1], parts[i], "%v: %q repeats in %q", what, parts[i], line)
		}
		for _, id := range regexp.MustCompile(`\bk[0-9a-f]{16}\b`).FindAllString(line, -1) {
			assert.Equal(t, 1, strings.Count(line, id), "%v: key %s named twice in %q", what, id, line)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// readyTables applies what gmfield ddl prints.
func readyTables(t *testing.T, cfg, dsn string) {
	t.Helper()
	code, out, errOut := gmfield(t, "", "ddl", "--config", cfg, "--dsn", dsn)
	require.Equal(t, 0, code, errOut)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(out)
	require.NoError(t, err)
}

// initKeys makes a key directory with gmfield keyring init.
func initKeys(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	code, _, errOut := gmfield(t, "", append([]string{"keyring", "init", "--dir", dir}, extra...)...)
	require.Equal(t, 0, code, errOut)
	return dir
}

func encryptIn(t *testing.T, dir, v string, extra ...string) string {
	t.Helper()
	code, out, errOut := gmfield(t, "", append([]string{"encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone"}, append(extra, v)...)...)
	require.Equal(t, 0, code, errOut)
	return strings.TrimSpace(out)
}

// A destroyed key's value used to read "key K: key K: key destroyed": the
// key id is named once, by the key ring.
func TestDestroyedKeyIsNamedOnce(t *testing.T) {
	dir := initKeys(t)
	ct := encryptIn(t, dir, "13800138000")
	id := keyIDOf(t, ct)
	code, _, errOut := gmfield(t, "", "keys", "destroy", "--keyring", dir, "--yes", id)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = gmfield(t, "", "decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", ct)
	assert.Equal(t, 1, code)
	assert.Equal(t, "gmfield: citizen.phone: key "+id+": gmfield/keyring: key destroyed\n", errOut)
	assertSaysOnce(t, errOut, "decrypt")
}

// The error paths through the driver and the jobs (lifecycle, sqldriver,
// crypto, keyring) each name the column, the row and the key once.
func TestErrorsDoNotRepeatThemselves(t *testing.T) {
	cfg, dsn := lifecycleEnv(t, 3)
	keys := filepath.Join(filepath.Dir(cfg), "keys")
	readyTables(t, cfg, dsn)
	code, _, errOut := gmfield(t, "", "migrate", "--config", cfg, "--dsn", dsn)
	require.Equal(t, 0, code, errOut)
	kr, err := local.Open(keys)
	require.NoError(t, err)
	key, err := kr.Current(t.Context(), "citizen.phone")
	require.NoError(t, err)
	id := key.ID()
	code, _, errOut = gmfield(t, "", "keys", "destroy", "--keyring", keys, "--yes", id)
	require.Equal(t, 0, code, errOut)

	dir := initKeys(t)
	ct := encryptIn(t, dir, "13800138000", "--row-key", "7")
	other := initKeys(t)
	for _, args := range [][]string{
		{"reencrypt", "--config", cfg, "--dsn", dsn, "--key-id", id},
		{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--role", "admin", "--csv", filepath.Join(t.TempDir(), "x.csv")},
		{"decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", ct},                     // wrong row key
		{"decrypt", "--keyring", other, "--table", "citizen", "--column", "phone", "--row-key", "7", ct}, // unknown key
		{"decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "gmf2:nope"},
		{"keys", "destroy", "--keyring", dir, "--yes", "k0000000000000000"},
		{"keys", "list", "--keyring", t.TempDir()},
		{"plan", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "SELECT 1"},
	} {
		code, _, errOut := gmfield(t, "", args...)
		assert.Equal(t, 1, code, "%v: %s", args, errOut)
		assertSaysOnce(t, errOut, args)
		if args[0] == "reencrypt" || args[0] == "export" {
			last := lastLine(errOut)
			assert.Contains(t, last, "key "+id+": gmfield/keyring: key destroyed", args)
			assert.Equal(t, 1, strings.Count(last, "citizen.phone"), "%v: %s", args, last)
		}
	}
}

// A key ring opened with another KEK than it was made with says so, and
// names the KEK it tried: the master key file, the environment variable,
// the SM2 key file; never key bytes.
func TestWrongKEKSaysSo(t *testing.T) {
	wrongWith := func(t *testing.T, dir, ct, names string) {
		t.Helper()
		for _, args := range [][]string{
			{"decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", ct},
			{"encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "x"},
			{"index", "--keyring", dir, "--table", "citizen", "--column", "phone", "x"},
			{"keys", "rewrap", "--keyring", dir},
		} {
			code, _, errOut := gmfield(t, "", args...)
			assert.Equal(t, 1, code, "%v: %s", args, errOut)
			assert.Contains(t, errOut, "does not authenticate under KEK", args)
			assert.Contains(t, errOut, "the KEK is probably not the one the key ring was made with", args)
			assert.Contains(t, errOut, names, args)
			assertSaysOnce(t, errOut, args)
		}
	}
	t.Run("master key file", func(t *testing.T) {
		dir := initKeys(t, "--kek", "sm4")
		ct := encryptIn(t, dir, "13800138000")
		_, _, _ = gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "x")
		c, err := local.ReadConfig(dir)
		require.NoError(t, err)
		file := filepath.Join(dir, c.KEK.File)
		require.NoError(t, os.WriteFile(file, []byte(strings.Repeat("5a", 16)+"\n"), 0o600))
		wrongWith(t, dir, ct, "SM4 master key file "+file)
		_, _, errOut := gmfield(t, "", "decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", ct)
		assert.NotContains(t, errOut, strings.Repeat("5a", 16))
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("GMFIELD_TEST_MASTER", strings.Repeat("11", 16))
		dir := initKeys(t, "--kek", "sm4", "--master-key-env", "GMFIELD_TEST_MASTER")
		ct := encryptIn(t, dir, "13800138000")
		_, _, _ = gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "x")
		t.Setenv("GMFIELD_TEST_MASTER", strings.Repeat("22", 16))
		wrongWith(t, dir, ct, "SM4 master key in $GMFIELD_TEST_MASTER")
	})
	t.Run("SM2 key file", func(t *testing.T) {
		dir := initKeys(t, "--kek", "sm2")
		ct := encryptIn(t, dir, "13800138000")
		_, _, _ = gmfield(t, "", "index", "--keyring", dir, "--table", "citizen", "--column", "phone", "x")
		c, err := local.ReadConfig(dir)
		require.NoError(t, err)
		prefix := filepath.Join(t.TempDir(), "other")
		code, _, errOut := gmfield(t, "", "audit", "keygen", "--out", prefix)
		require.Equal(t, 0, code, errOut)
		pem, err := os.ReadFile(prefix + ".pem")
		require.NoError(t, err)
		file := filepath.Join(dir, c.KEK.File)
		require.NoError(t, os.WriteFile(file, pem, 0o600))
		wrongWith(t, dir, ct, "SM2 key file "+file)
	})
}

// With VAULT_ADDR unset (or empty), whatever needs Vault says so instead
// of trying the Vault client's default https://127.0.0.1:8200.
func TestVaultAddrNotSet(t *testing.T) {
	base := t.TempDir()
	keys := filepath.Join(base, "keys")
	require.NoError(t, os.MkdirAll(filepath.Join(keys, "keys"), 0o700))
	kc, err := json.Marshal(map[string]any{"format": local.FormatV1, "kek": local.KEKConfig{Kind: local.KindVaultTransit, Mount: "transit", Key: "gmfield"}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(keys, local.ConfigFile), kc, 0o600))
	cfg := filepath.Join(base, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(lifecycleConfig, "local-sm4", "vault-transit", 1)), 0o600))

	for _, unset := range []bool{false, true} {
		t.Setenv("VAULT_ADDR", "")
		if unset {
			require.NoError(t, os.Unsetenv("VAULT_ADDR"))
		}
		for _, args := range [][]string{
			{"keyring", "init", "--dir", filepath.Join(t.TempDir(), "k"), "--kek", "vault-transit"},
			{"keyring", "init", "--dir", filepath.Join(t.TempDir(), "k"), "--kek", "vault-kv", "--vault-mount", "secret"},
			{"keys", "list", "--keyring", keys},
			{"keys", "rewrap", "--keyring", keys},
			{"keys", "list", "--config", cfg},
			{"plan", "--config", cfg, "--dialect", "sqlite", "SELECT phone FROM citizen"},
		} {
			code, _, errOut := gmfield(t, "", args...)
			assert.Equal(t, 1, code, "%v: %s", args, errOut)
			assert.Contains(t, errOut, "VAULT_ADDR is not set: ", args)
			assert.Contains(t, errOut, "Vault", args)
			assert.NotContains(t, errOut, "127.0.0.1", args)
			assertSaysOnce(t, errOut, args)
		}
	}
}
