package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

const lifecycleConfig = `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      phone: {mask: mobile, max_len: 20, index: {phone_bidx: full}}
      name:  {mask: chinese_name, max_len: 40}
roles:
  admin: {default: plain}
`

// lifecycleEnv makes a configuration and an SQLite file with n plaintext
// citizens.
func lifecycleEnv(t *testing.T, n int) (cfgPath, dsn string) {
	dir := t.TempDir()
	_, err := local.Init(context.Background(), filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	cfgPath = filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(lifecycleConfig), 0o600))
	dsn = filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE citizen (id INTEGER PRIMARY KEY, phone VARCHAR(20), name VARCHAR(40))`)
	require.NoError(t, err)
	for i := 1; i <= n; i++ {
		_, err = db.Exec(`INSERT INTO citizen VALUES (?, ?, ?)`, i, fmt.Sprintf("1380013%04d", i), fmt.Sprintf("李%d", i))
		require.NoError(t, err)
	}
	return cfgPath, dsn
}

func rawPhones(t *testing.T, dsn string) []sql.NullString {
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT phone FROM citizen ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []sql.NullString
	for rows.Next() {
		var s sql.NullString
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func TestLifecycleCommands(t *testing.T) {
	cfg, dsn := lifecycleEnv(t, 120)
	common := []string{"--config", cfg, "--dsn", dsn}
	cmd := func(name string, extra ...string) []string {
		return append(append([]string{name}, common...), extra...)
	}

	code, out, errOut := gmfield(t, "", cmd("ddl")...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "ALTER TABLE \"citizen\" ADD COLUMN \"phone_bidx\" CHAR(32) NULL;\nCREATE INDEX \"citizen_phone_bidx_idx\" ON \"citizen\" (\"phone_bidx\");\n", out)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	_, err = db.Exec(out)
	require.NoError(t, err)
	db.Close()
	code, out, errOut = gmfield(t, "", cmd("ddl")...)
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "nothing to change")

	code, out, _ = gmfield(t, "", cmd("verify")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "plaintext 120")

	code, out, errOut = gmfield(t, "", cmd("migrate", "--dry-run", "--json")...)
	require.Equal(t, 0, code, errOut)
	var sums []lifecycle.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sums))
	require.Len(t, sums, 1)
	assert.Equal(t, lifecycle.Summary{Job: "migrate", Table: "citizen", DryRun: true, Scanned: 120, Changed: 120, Values: 240, Elapsed: sums[0].Elapsed}, sums[0])
	assert.Equal(t, "13800130001", rawPhones(t, dsn)[0].String)
	assert.Contains(t, errOut, "gmfield: job done", "log lines off a terminal")

	code, out, errOut = gmfield(t, "", cmd("migrate", "--batch", "50")...)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^migrate citizen: scanned 120 rows, changed 120 \(240 values\), skipped 0, retried 0, failed 0, `, out)
	assert.True(t, strings.HasPrefix(rawPhones(t, dsn)[0].String, crypto.TextPrefix))
	code, out, _ = gmfield(t, "", cmd("migrate")...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "changed 0 (0 values), skipped 120")

	code, out, errOut = gmfield(t, "", cmd("verify", "--json")...)
	require.Equal(t, 0, code, errOut)
	var reps []lifecycle.Report
	require.NoError(t, json.Unmarshal([]byte(out), &reps))
	require.Len(t, reps, 1)
	assert.True(t, reps[0].OK())
	assert.Equal(t, int64(120), reps[0].Columns[0].Opened)
	var oldKey string
	for k := range reps[0].Columns[0].Keys {
		oldKey = k
	}

	// keys learn the configuration.
	code, out, errOut = gmfield(t, "", "keys", "rotate", "--config", cfg, "--table", "citizen", "--column", "phone")
	require.Equal(t, 0, code, errOut)
	newKey := regexp.MustCompile(`new active key (\S+)`).FindStringSubmatch(out)[1]
	code, _, errOut = gmfield(t, "", "keys", "rotate", "--config", cfg, "--table", "citizen", "--column", "phnoe")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "citizen.phnoe is not a protected column")
	code, _, errOut = gmfield(t, "", "keys", "rotate", "--keyring", filepath.Join(filepath.Dir(cfg), "keys"), "--table", "citizen", "--column", "phnoe")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "has no key yet")
	code, out, _ = gmfield(t, "", "keys", "list", "--config", cfg, "--table", "citizen", "--column", "phone")
	require.Equal(t, 0, code)
	assert.Contains(t, out, oldKey)
	assert.Contains(t, out, newKey)
	assert.Equal(t, 3, strings.Count(out, "\n"), "header and the phone column's two keys")

	code, out, errOut = gmfield(t, "", cmd("reencrypt", "--older-than-current")...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "changed 120 (120 values)")
	code, _, errOut = gmfield(t, "", cmd("reencrypt")...)
	assert.Equal(t, 2, code, errOut)

	// keys destroy names the rows that still use a key.
	code, _, errOut = gmfield(t, "no\n", "keys", "destroy", "--config", cfg, "--dsn", dsn, newKey)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is the active key of keyspace")
	assert.Contains(t, errOut, "120 values in table citizen still use "+newKey)
	code, _, errOut = gmfield(t, "", "keys", "destroy", "--config", cfg, "--dsn", dsn, "--yes", oldKey)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "no value in the configured tables uses "+oldKey)

	// shred asks first, then destroys the key and clears its values.
	code, _, errOut = gmfield(t, "nope\n", cmd("shred", "--key-id", newKey)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not confirmed")
	assert.True(t, rawPhones(t, dsn)[0].Valid)
	code, out, errOut = gmfield(t, newKey+"\n", cmd("shred", "--key-id", newKey)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "shred citizen: scanned 120 rows, changed 120")
	for _, p := range rawPhones(t, dsn) {
		assert.False(t, p.Valid)
	}
	code, out, _ = gmfield(t, "", "keys", "list", "--config", cfg, "--table", "citizen", "--column", "phone")
	require.Equal(t, 0, code)
	assert.Regexp(t, newKey+`\s+\S+\s+destroyed`, out)
}

func TestDDLWithoutDatabase(t *testing.T) {
	cfg, _ := lifecycleEnv(t, 0)
	w := crypto.TextLen(crypto.MaxKeyIDLen, 20)
	code, out, errOut := gmfield(t, "", "ddl", "--config", cfg, "--dialect", "postgres")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, fmt.Sprintf(`ALTER TABLE "citizen" ALTER COLUMN "phone" TYPE varchar(%d) USING "phone"::text;`, w))
	assert.Contains(t, out, `ALTER TABLE "citizen" ADD COLUMN "phone_bidx" CHAR(32) NULL;`)
	code, out, _ = gmfield(t, "", "ddl", "--config", cfg, "--dialect", "mysql", "--table", "citizen")
	require.Equal(t, 0, code)
	assert.Contains(t, out, fmt.Sprintf("ALTER TABLE `citizen` MODIFY COLUMN `phone` VARCHAR(%d) NULL;", w))
	assert.Contains(t, out, "ADD COLUMN `phone_bidx` CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL;")
	code, _, errOut = gmfield(t, "", "ddl", "--config", cfg, "--dialect", "mysql", "--table", "nope")
	assert.Equal(t, 2, code, errOut)
}

func TestLifecycleUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, "--config"},
		{[]string{"migrate", "--config", "x.yaml"}, "--dsn"},
		{[]string{"shred", "--config", "x", "--dsn", "y"}, "--tenant or --key-id"},
		{[]string{"keys", "frobnicate"}, "unknown command"},
		{[]string{"keyring"}, "give a subcommand"},
	} {
		code, _, errOut := gmfield(t, "", c.args...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Contains(t, errOut, c.want, "%v", c.args)
	}
}

const tenantConfig = `
keyring: {provider: local-sm4, dir: ./keys}
key_scope: tenant
tables:
  citizen:
    row_key: id
    tenant_column: tenant
    columns:
      phone: {mask: mobile, max_len: 20, index: {phone_bidx: full}}
roles:
  admin: {default: plain}
`

// Under key scope tenant, rotate refuses a tenant with no keys (a typo)
// and destroy a key of a keyspace the configuration does not declare.
func TestKeysTenantScopeRefusals(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	kr, err := local.Init(context.Background(), keys, local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	cfg := filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(tenantConfig), 0o600))
	_, err = kr.Current(t.Context(), "tenant/acme/citizen.phone")
	require.NoError(t, err)
	other, err := kr.Current(t.Context(), "payroll.salary")
	require.NoError(t, err)

	code, _, errOut := gmfield(t, "", "keys", "rotate", "--config", cfg, "--tenant", "acmee")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no keys yet")
	code, out, errOut := gmfield(t, "", "keys", "rotate", "--config", cfg, "--tenant", "acme")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "tenant/acme/citizen.phone: new active key")
	recs, err := kr.List(t.Context())
	require.NoError(t, err)
	for _, r := range recs {
		assert.NotContains(t, r.Keyspace, "acmee")
	}
	code, _, errOut = gmfield(t, "", "keys", "destroy", "--config", cfg, "--yes", other.ID())
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "does not declare")
	_, err = kr.KeyContext(t.Context(), other.ID())
	assert.NoError(t, err)
}

// shred --key-id refuses keys outside the configuration, and a table
// that is not ready, before destroying anything.
func TestShredRefusesBeforeDestroying(t *testing.T) {
	cfg, dsn := lifecycleEnv(t, 3)
	kr, err := local.Open(filepath.Join(filepath.Dir(cfg), "keys"))
	require.NoError(t, err)
	phone, err := kr.Current(t.Context(), "citizen.phone")
	require.NoError(t, err)
	code, _, errOut := gmfield(t, "", "shred", "--config", cfg, "--dsn", dsn, "--key-id", phone.ID(), "--yes")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "phone_bidx")
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	_, err = db.Exec(`ALTER TABLE citizen ADD COLUMN phone_bidx CHAR(32)`)
	require.NoError(t, err)
	db.Close()
	other, err := kr.Current(t.Context(), "payroll.salary")
	require.NoError(t, err)
	for _, id := range []string{other.ID(), "index-root"} {
		code, _, errOut = gmfield(t, "", "shred", "--config", cfg, "--dsn", dsn, "--key-id", id, "--yes")
		assert.Equal(t, 1, code, errOut)
		assert.Contains(t, errOut, "invalid job")
	}
	recs, err := kr.List(t.Context())
	require.NoError(t, err)
	for _, r := range recs {
		assert.NotEqual(t, keyring.StateDestroyed, r.State, r.ID)
	}
}
