package main

import (
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/masking"
)

// TestExportCommand migrates the lifecycle table, then exports it as a
// role into CSV and, with rules, into another SQLite database.
func TestExportCommand(t *testing.T) {
	cfg, dsn := lifecycleEnv(t, 120)
	for _, name := range []string{"ddl"} {
		code, out, errOut := gmfield(t, "", name, "--config", cfg, "--dsn", dsn)
		require.Equal(t, 0, code, errOut)
		db, err := sql.Open("sqlite", dsn)
		require.NoError(t, err)
		_, err = db.Exec(out)
		require.NoError(t, err)
		db.Close()
	}
	code, _, errOut := gmfield(t, "", "migrate", "--config", cfg, "--dsn", dsn)
	require.Equal(t, 0, code, errOut)

	dir := t.TempDir()
	out := filepath.Join(dir, "citizen.csv")
	t.Setenv("GMFIELD_MASK_KEY", "")
	code, _, errOut = gmfield(t, "", "export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--csv", out,
		"--rule", "phone=pseudonym:type=mobile", "--rule", "name=chinese_name", "--reason", "TEST", "--role", "admin")
	require.Equal(t, 2, code, "pseudonym needs a key")
	assert.Contains(t, errOut, "key")

	t.Setenv("GMFIELD_MASK_KEY", "00112233445566778899aabbccddeeff")
	code, stdout, errOut := gmfield(t, "", "export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--csv", out,
		"--rule", "phone=pseudonym:type=mobile", "--rule", "name=chinese_name", "--reason", "TEST", "--role", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, stdout, "export citizen → "+out+": 120 rows, 240 values masked by rules")
	f, err := os.Open(out)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Len(t, rows, 121)
	assert.Equal(t, []string{"id", "phone", "name"}, rows[0])
	for _, r := range rows[1:] {
		assert.NotContains(t, r[1], "1380013", "no original phone")
		assert.Equal(t, 0.95, masking.Validate(masking.KindMobile, r[1]))
		assert.True(t, strings.HasPrefix(r[2], "李*"), r[2])
	}

	target := filepath.Join(dir, "copy.db")
	args := []string{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--to-dsn", target, "--to-table", "citizen_copy", "--role", "admin",
		"--rule", "phone=mobile", "--reason", "TEST", "--json"}
	code, stdout, errOut = gmfield(t, "", args...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, stdout, `"changed": 120`)
	code, _, errOut = gmfield(t, "", args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not empty")
	code, _, errOut = gmfield(t, "", append(args, "--replace")...)
	assert.Equal(t, 0, code, errOut)
	db, err := sql.Open("sqlite", target)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM citizen_copy WHERE phone LIKE '138****%' AND name LIKE '李%'`).Scan(&n))
	assert.Equal(t, 120, n, "phones masked by the rule, names plain for admin")

	for _, bad := range [][]string{
		{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen"},
		{"export", "--config", cfg, "--dsn", dsn, "--csv", out},
		{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--csv", out, "--rule", "phone"},
		{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--csv", out, "--rule", "phone=bogus"},
		{"export", "--config", cfg, "--dsn", dsn, "--table", "citizen", "--csv", out, "--to-dsn", target},
	} {
		code, _, errOut := gmfield(t, "", bad...)
		assert.Equal(t, 2, code, "%v: %s", bad, errOut)
	}
}
