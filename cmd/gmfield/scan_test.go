package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/scan"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// idNumber makes a resident ID with a valid check character.
func idNumber(i int) string {
	body := fmt.Sprintf("110105%d%02d%02d%03d", 1950+i%50, 1+i%12, 1+i%28, i%1000)
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for j := range 17 {
		sum += int(body[j]-'0') * w[j]
	}
	return body + string("10X98765432"[sum%11])
}

func TestScanCommand(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE citizen (id INTEGER PRIMARY KEY, xm TEXT, sfzh TEXT, phone TEXT, order_no TEXT)`)
	require.NoError(t, err)
	names := []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"}
	var secrets []string
	for i := range 60 {
		id, phone := idNumber(i), fmt.Sprintf("139%08d", (i*7919*104729)%100000000)
		secrets = append(secrets, id, phone)
		_, err := db.Exec(`INSERT INTO citizen VALUES (?, ?, ?, ?, ?)`, i+1, names[i%len(names)], id, phone, fmt.Sprint(13800000000+i))
		require.NoError(t, err)
	}
	db.Close()

	var stdout, stderr bytes.Buffer
	report, proposal := filepath.Join(dir, "report.json"), filepath.Join(dir, "gmfield.yaml")
	code := run([]string{"scan", "--dsn", dsn, "--out", report, "--propose", proposal}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stderr.String(), "scanned 1 tables, 5 columns: 3 personal, 1 sensitive")

	var rep scan.Report
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	kinds := map[string]string{}
	for _, c := range rep.Tables[0].Columns {
		kinds[c.Name] = string(c.Kind)
	}
	assert.Equal(t, map[string]string{"id": "", "xm": "chinese_name", "sfzh": "id_card", "phone": "mobile", "order_no": ""}, kinds)

	y, err := os.ReadFile(proposal)
	require.NoError(t, err)
	ddl, err := os.ReadFile(strings.TrimSuffix(proposal, ".yaml") + ".ddl.sql")
	require.NoError(t, err)
	assert.Contains(t, string(ddl), `ALTER TABLE "citizen" ADD COLUMN "sfzh_bidx"`)
	for _, s := range secrets {
		for name, out := range map[string][]byte{"report": b, "proposal": y, "ddl": ddl, "stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
			require.NotContains(t, string(out), s, "%s holds a value", name)
		}
	}
	_, err = local.Init(context.Background(), filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	_, err = config.Load(proposal)
	require.NoError(t, err, "the proposal loads as is")

	for _, format := range []string{"md", "html"} {
		stdout.Reset()
		require.Equal(t, 0, run([]string{"scan", "--dsn", dsn, "--format", format}, nil, &stdout, &stderr), stderr.String())
		assert.Contains(t, stdout.String(), "citizen")
	}
}

func TestScanUsage(t *testing.T) {
	t.Setenv("GMFIELD_DSN", "")
	for _, args := range [][]string{
		{"scan"},
		{"scan", "--dsn", "x.db", "--format", "pdf"},
		{"scan", "--dsn", "x.db", "--dialect", "oracle"},
		{"scan", "--dsn", "x.db", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, run(args, nil, &stdout, &stderr), "%v: %s", args, stderr.String())
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"scan", "--dsn", missing}, nil, &stdout, &stderr))
	assert.NoFileExists(t, missing, "scanning never creates a database")
}
