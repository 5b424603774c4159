package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/verifier"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// The commands of docs/evidence.md (and its Chinese twin) are run here, as
// the page says to run them: each fenced block preceded by
// "<!-- evidence: FILE -->" is part of FILE, the blocks of one file joined
// in order.
var evidenceMarker = regexp.MustCompile(`^<!-- evidence: ([A-Za-z0-9_.-]+) -->$`)

// evidenceFiles extracts the marked blocks of a Markdown file.
func evidenceFiles(t *testing.T, path string) (files map[string]string, order []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	files = map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		m := evidenceMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		require.Less(t, i+1, len(lines), "%s:%d: a marker at the end", path, i+1)
		require.True(t, strings.HasPrefix(lines[i+1], "```"), "%s:%d: the marker is not followed by a fenced block", path, i+1)
		var b strings.Builder
		j := i + 2
		for ; j < len(lines) && lines[j] != "```"; j++ {
			b.WriteString(lines[j])
			b.WriteByte('\n')
		}
		require.Less(t, j, len(lines), "%s:%d: unclosed block", path, i+2)
		if _, ok := files[m[1]]; !ok {
			order = append(order, m[1])
		}
		files[m[1]] += b.String()
		i = j
	}
	return files, order
}

// requireIndependentTools skips t unless $GMFIELD_TEST_INDEPENDENT is set,
// and fails it when the variable is set and a tool is missing.
func requireIndependentTools(t *testing.T) {
	t.Helper()
	if os.Getenv(verifier.RequireEnv) == "" {
		t.Skipf("the evaluator's commands of docs/evidence.md need bash, openssl, python3 (cryptography), sqlite3, jq and xxd: set $%s=1 to run them", verifier.RequireEnv)
	}
	for _, tool := range []string{"bash", "openssl", "python3", "sqlite3", "jq", "xxd", "base64", "od"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("docs/evidence.md: %s is not installed ($%s is set)", tool, verifier.RequireEnv)
		}
	}
	if err := exec.Command("python3", "-c", "import cryptography.hazmat.primitives.ciphers").Run(); err != nil {
		t.Fatalf("docs/evidence.md: python3 has no cryptography package ($%s is set)", verifier.RequireEnv)
	}
}

const evidenceConfig = `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
      name:  {mask: chinese_name}
      photo: {mask: mask_all, form: binary}
roles:
  admin: {default: plain}
`

var evidencePhoto = []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff, '\n'}

// evidenceDB writes three citizens through the driver into a new SQLite
// database, with a local SM4 key ring beside it.
func evidenceDB(t *testing.T) (dir, cfgPath, dbPath string) {
	dir = t.TempDir()
	ctx := context.Background()
	_, err := local.Init(ctx, filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
	require.NoError(t, err)
	cfgPath = filepath.Join(dir, "gmfield.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(evidenceConfig), 0o600))
	cfg, err := config.Load(cfgPath)
	require.NoError(t, err)
	dbPath = filepath.Join(dir, "citizen.db")
	db, err := sqldriver.Open("sqlite", dbPath, cfg)
	require.NoError(t, err)
	admin := sqldriver.WithRoles(ctx, "evidence-test", "admin")
	_, err = db.ExecContext(admin, `CREATE TABLE citizen (id INTEGER PRIMARY KEY, name TEXT,
		phone TEXT, phone_bidx TEXT, phone_last4_bidx TEXT, photo BLOB)`)
	require.NoError(t, err)
	for _, c := range []struct {
		id          int
		name, phone string
		photo       []byte
	}{
		{1001, "张三", "13800138000", evidencePhoto},
		{1002, "李四", "13912345678", []byte("photo 2")},
		{1003, "欧阳娜娜", "18600001234", nil},
	} {
		_, err = db.ExecContext(admin, `INSERT INTO citizen (id, name, phone, photo) VALUES (?, ?, ?, ?)`, c.id, c.name, c.phone, c.photo)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	return dir, cfgPath, dbPath
}

func rawExec(t *testing.T, dbPath, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(query, args...)
	require.NoError(t, err)
}

func rawString(t *testing.T, dbPath, query string) string {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	var s string
	require.NoError(t, db.QueryRow(query).Scan(&s))
	return s
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o600))
}

// runScript runs bash SCRIPT in dir with the page's variables.
func runScript(t *testing.T, dir, script string, vars map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestEvidenceDoc(t *testing.T) {
	files, order := evidenceFiles(t, "../../docs/evidence.md")
	require.Equal(t, []string{"ghash.py", "evidence.sh", "sm2-unwrap.sh", "gmf_evidence.py", "python.sh"}, order)
	zh, zhOrder := evidenceFiles(t, "../../docs/zh/evidence.md")
	require.Equal(t, order, zhOrder, "docs/zh/evidence.md keeps the same blocks")
	for name, body := range files {
		require.Equal(t, body, zh[name], "docs/zh/evidence.md: %s differs from the English page's", name)
	}
	requireIndependentTools(t)

	dir, cfgPath, dbPath := evidenceDB(t)
	work := t.TempDir()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(body), 0o600))
	}
	phoneIdx := rawString(t, dbPath, `SELECT phone_bidx FROM citizen WHERE id = 1001`)
	last4Idx := rawString(t, dbPath, `SELECT phone_last4_bidx FROM citizen WHERE id = 1001`)
	require.Regexp(t, `^[0-9a-f]{32}$`, phoneIdx)
	stored := rawString(t, dbPath, `SELECT phone FROM citizen WHERE id = 1001`)
	require.True(t, strings.HasPrefix(stored, crypto.TextPrefix))

	// The variables of section 2.
	vars := map[string]string{
		"DB": dbPath, "KEYS": filepath.Join(dir, "keys"),
		"TABLE": "citizen", "COLUMN": "phone", "SCHEMA": "", "ROW_KEY_COLUMN": "id", "ROW_KEY": "1001",
		"KEYSPACE": "citizen.phone", "INDEX_COLUMN": "phone_bidx", "TRANSFORM": "full", "SIZE": "16",
	}
	indexLine := func(idx string) string { return "blind index: " + idx + " (computed), " + idx + " (stored)\n" }

	t.Run("openssl", func(t *testing.T) {
		code, out, errOut := runScript(t, work, "evidence.sh", vars)
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Contains(t, out, "tag: ok\n")
		assert.Contains(t, out, "plaintext: 13800138000\n")
		assert.Contains(t, out, indexLine(phoneIdx))
		assert.Contains(t, out, "negative checks: ok (flipped tag bit and row 10010 both rejected)\n")
		assert.Equal(t, 2, strings.Count(errOut, "REJECTED: tag mismatch"), errOut)

		code, out, errOut = runScript(t, work, "evidence.sh", with(vars, "INDEX_COLUMN", "phone_last4_bidx", "TRANSFORM", "last4"))
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Contains(t, out, indexLine(last4Idx))

		code, out, errOut = runScript(t, work, "evidence.sh", with(vars, "COLUMN", "name", "KEYSPACE", "citizen.name", "INDEX_COLUMN", ""))
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Contains(t, out, "plaintext: 张三\n")
		assert.NotContains(t, out, "blind index")

		// The binary column, read as hex.
		code, out, errOut = runScript(t, work, "evidence.sh", with(vars, "COLUMN", "photo", "KEYSPACE", "citizen.photo", "INDEX_COLUMN", ""))
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Contains(t, out, "plaintext (hex): "+hex.EncodeToString(evidencePhoto)+"\n")

		// Another keyspace's DEK is refused before decrypting.
		code, out, errOut = runScript(t, work, "evidence.sh", with(vars, "KEYSPACE", "citizen.name"))
		assert.Equal(t, 1, code)
		assert.NotContains(t, out, "plaintext")
		assert.Contains(t, errOut, "REJECTED: the record's keyspace is not citizen.name")
	})

	// Two tampered copies: row 1001's phone with one tag byte flipped, and
	// row 1001's phone moved into row 1002.
	flipped := filepath.Join(t.TempDir(), "flipped.db")
	copyFile(t, dbPath, flipped)
	env, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, crypto.TextPrefix))
	require.NoError(t, err)
	env[len(env)-1] ^= 0x01
	rawExec(t, flipped, `UPDATE citizen SET phone = ? WHERE id = 1001`, crypto.TextPrefix+base64.StdEncoding.EncodeToString(env))
	moved := filepath.Join(t.TempDir(), "moved.db")
	copyFile(t, dbPath, moved)
	rawExec(t, moved, `UPDATE citizen SET phone = (SELECT phone FROM citizen WHERE id = 1001) WHERE id = 1002`)
	rejected := func(t *testing.T, script string, extra ...string) {
		t.Helper()
		for _, c := range []map[string]string{with(vars, "DB", flipped), with(vars, "DB", moved, "ROW_KEY", "1002")} {
			code, out, errOut := runScript(t, work, script, with(c, extra...))
			assert.Equal(t, 1, code, "%s: %s\n%s", c["DB"], out, errOut)
			assert.NotContains(t, out, "13800138000")
			assert.NotContains(t, out, "plaintext")
			assert.Contains(t, errOut, "REJECTED: tag mismatch", c["DB"])
		}
	}
	t.Run("openssl rejects", func(t *testing.T) { rejected(t, "evidence.sh") })

	t.Run("python", func(t *testing.T) {
		for _, mode := range []string{"", "ctr"} {
			code, out, errOut := runScript(t, work, "python.sh", with(vars, "GMF_SM4_GCM", mode))
			require.Equal(t, 0, code, "%s\n%s", out, errOut)
			assert.Contains(t, out, "plaintext: 13800138000\n")
			assert.Contains(t, out, indexLine(phoneIdx))
			code, out, errOut = runScript(t, work, "python.sh", with(vars, "GMF_SM4_GCM", mode, "INDEX_COLUMN", "phone_last4_bidx", "TRANSFORM", "last4"))
			require.Equal(t, 0, code, "%s\n%s", out, errOut)
			assert.Contains(t, out, indexLine(last4Idx))
			code, out, errOut = runScript(t, work, "python.sh", with(vars, "GMF_SM4_GCM", mode, "COLUMN", "name", "KEYSPACE", "citizen.name", "INDEX_COLUMN", ""))
			require.Equal(t, 0, code, "%s\n%s", out, errOut)
			assert.Contains(t, out, "plaintext: 张三\n")
		}
	})
	t.Run("python rejects", func(t *testing.T) {
		rejected(t, "python.sh")
		rejected(t, "python.sh", "GMF_SM4_GCM", "ctr")
	})

	t.Run("python binary", func(t *testing.T) {
		// python.sh prints the plaintext as text; the binary value is
		// checked through gmf_evidence.py directly, as section 4 allows.
		value := strings.ToLower(rawHex(t, dbPath, 1001))
		dek := pyOut(t, work, "unwrap", vars["KEYS"], keyID(t, value), "citizen.photo")
		for _, mode := range []string{"", "ctr"} {
			cmd := exec.Command("python3", "gmf_evidence.py", "open", dek, value, "citizen.photo", "", "citizen", "photo", "1001")
			cmd.Dir, cmd.Env = work, append(os.Environ(), "GMF_SM4_GCM="+mode)
			out, err := cmd.Output()
			require.NoError(t, err)
			assert.Equal(t, evidencePhoto, out)
		}
	})

	t.Run("sm2", func(t *testing.T) {
		// The SM2 unwrap of section 3.7, in place of the SM4 one, on the
		// key-directory vector of format.md §8.
		var v struct {
			PrivateKeyPEM string          `json:"private_key_pem"`
			Record        json.RawMessage `json:"record"`
			Keyspace      string          `json:"keyspace"`
			Schema        string          `json:"schema"`
			Table         string          `json:"table"`
			Column        string          `json:"column"`
			RowKey        string          `json:"row_key"`
			Plaintext     string          `json:"plaintext"`
			Text          string          `json:"text"`
		}
		data, err := os.ReadFile("../../keyring/testdata/keyring-vector-sm2.json")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &v))
		var rec struct{ ID string }
		require.NoError(t, json.Unmarshal(v.Record, &rec))
		keys := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.MkdirAll(filepath.Join(keys, "keys"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(keys, "keyring.json"), []byte(`{"format": "gmfield-keyring/1", "kek": {"kind": "sm2", "file": "kek.pem"}}`), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(keys, "kek.pem"), []byte(v.PrivateKeyPEM), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(keys, "keys", rec.ID+".json"), v.Record, 0o600))
		db := filepath.Join(t.TempDir(), "sm2.db")
		rawExec(t, db, `CREATE TABLE `+v.Table+` (id INTEGER PRIMARY KEY, `+v.Column+` TEXT)`)
		rawExec(t, db, `INSERT INTO `+v.Table+` VALUES (?, ?)`, v.RowKey, v.Text)

		var script strings.Builder
		sc := bufio.NewScanner(strings.NewReader(files["evidence.sh"]))
		inserted := false
		for sc.Scan() {
			script.WriteString(sc.Text() + "\n")
			if sc.Text() == "}" && strings.Contains(script.String(), "unwrap() {") && !inserted {
				script.WriteString(files["sm2-unwrap.sh"])
				inserted = true
			}
		}
		require.True(t, inserted)
		require.NoError(t, os.WriteFile(filepath.Join(work, "evidence-sm2.sh"), []byte(script.String()), 0o600))
		sv := map[string]string{
			"DB": db, "KEYS": keys, "TABLE": v.Table, "COLUMN": v.Column, "SCHEMA": v.Schema,
			"ROW_KEY_COLUMN": "id", "ROW_KEY": v.RowKey, "KEYSPACE": v.Keyspace, "INDEX_COLUMN": "", "TRANSFORM": "full", "SIZE": "16",
		}
		code, out, errOut := runScript(t, work, "evidence-sm2.sh", sv)
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Contains(t, out, "plaintext: "+v.Plaintext+"\n")
		assert.Contains(t, out, "negative checks: ok")
		// The SM3(AD) check: the record relabelled with another id does
		// not unwrap.
		relabelled := bytes.Replace(v.Record, []byte(`"`+rec.ID+`"`), []byte(`"k0000000000000000"`), 1)
		require.NoError(t, os.WriteFile(filepath.Join(keys, "keys", rec.ID+".json"), relabelled, 0o600))
		code, out, errOut = runScript(t, work, "evidence-sm2.sh", sv)
		assert.Equal(t, 1, code)
		assert.NotContains(t, out, "plaintext")
		assert.Contains(t, errOut, "REJECTED: SM3(AD) does not match")
	})

	t.Run("gmfield verify", func(t *testing.T) {
		code, out, errOut := gmfield(t, "", "verify", "--config", cfgPath, "--dsn", dbPath)
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		assert.Regexp(t, `(?m)^citizen: 3 rows, OK `, out)
		assert.Regexp(t, `(?m)^  phone: sealed 3, opened 3, failed 0, stale index 0, plaintext 0, null 0$`, out)
		code, out, _ = gmfield(t, "", "verify", "--config", cfgPath, "--dsn", moved)
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "  phone: sealed 3, opened 2, failed 1, stale index 0, plaintext 0, null 0\n")
		assert.Contains(t, out, "  failure: phone row 1002: authentication failed (altered, or moved from another row or column)\n")
	})
}

func rawHex(t *testing.T, dbPath string, id int) string {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	var b []byte
	require.NoError(t, db.QueryRow(`SELECT photo FROM citizen WHERE id = ?`, id).Scan(&b))
	return hex.EncodeToString(b)
}

func keyID(t *testing.T, envHex string) string {
	t.Helper()
	b, err := hex.DecodeString(envHex)
	require.NoError(t, err)
	require.Greater(t, len(b), 3+int(b[2]))
	return string(b[3 : 3+int(b[2])])
}

func pyOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"gmf_evidence.py"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// TestEvidenceZhHeadings checks the Chinese page's heading convention: each
// heading is followed by "<!-- en: TEXT -->", TEXT the English page's
// heading at the same place, with the same level.
func TestEvidenceZhHeadings(t *testing.T) {
	en := markdownHeadings(t, "../../docs/evidence.md")
	zhData, err := os.ReadFile("../../docs/zh/evidence.md")
	require.NoError(t, err)
	lines := strings.Split(string(zhData), "\n")
	var zh []string
	fence := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(l, "#") {
			continue
		}
		level := strings.Index(l, " ")
		require.Greater(t, level, 0, "zh line %d", i+1)
		require.Less(t, i+1, len(lines))
		m := regexp.MustCompile(`^<!-- en: (.*) -->$`).FindStringSubmatch(lines[i+1])
		require.NotNil(t, m, "zh line %d: heading not followed by <!-- en: … -->", i+1)
		zh = append(zh, l[:level]+" "+m[1])
	}
	assert.Equal(t, en, zh)
}

func markdownHeadings(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var hs []string
	fence := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(l, "#") {
			hs = append(hs, l)
		}
	}
	return hs
}
