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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
)

// auditStart is the time of the first test event; event i is i hours later.
var auditStart = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

// auditEvent is test event i: principal u(i%3), alternately reading
// citizen.name and writing citizen.phone.
func auditEvent(i int) *audit.Event {
	e := &audit.Event{Time: auditStart.Add(time.Duration(i) * time.Hour), Instance: "desk-1", Principal: fmt.Sprintf("u%d", i%3),
		Roles: []string{"clerk"}, Kind: "select", Fingerprint: strings.Repeat("ab", 32), Shape: "select name from citizen where id = ?",
		Tables: []string{"citizen"}, Columns: []audit.Column{{Column: "citizen.name", Action: "mask"}}, Rows: 1, Decrypted: 1, Outcome: audit.OK}
	if i%2 == 1 {
		e.Kind, e.Shape, e.Decrypted = "update", "update citizen set phone = ? where id = ?", 0
		e.Columns = []audit.Column{{Column: "citizen.phone", Action: "write"}}
	}
	if i == 7 {
		e.Outcome, e.Reason, e.Rows = audit.Denied, "denied", 0
	}
	return e
}

const auditEvents = 20

// writeAuditLog records auditEvents events to l with a checkpoint after
// every 5 (Sync, and Close at the end): checkpoints of 5, 10, 15 and 20.
func writeAuditLog(t *testing.T, l *audit.Log) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < auditEvents; i++ {
		require.NoError(t, l.Record(ctx, auditEvent(i)))
		if i%5 == 4 && i < auditEvents-1 {
			require.NoError(t, l.Sync(ctx))
		}
	}
	require.NoError(t, l.Close())
}

// auditKeyFiles makes an SM2 key and writes its public key PEM; it
// returns the key, the PEM's path and a verifier of the default origin.
func auditKeyFiles(t *testing.T) (*crypto.SM2PrivateKey, string, note.Verifier) {
	t.Helper()
	k, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	pub, err := k.Public().MarshalPEM()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "audit.pub.pem")
	require.NoError(t, os.WriteFile(path, pub, 0o644))
	v, err := audit.NewVerifier(audit.DefaultOrigin, k.Public())
	require.NoError(t, err)
	return k, path, v
}

// auditDirLog writes a directory log and returns its directory, the
// public key's path and a verifier.
func auditDirLog(t *testing.T) (dir, pubPath string, v note.Verifier) {
	t.Helper()
	k, pubPath, v := auditKeyFiles(t)
	dir = filepath.Join(t.TempDir(), "audit")
	l, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: k, CheckpointEvery: -1})
	require.NoError(t, err)
	writeAuditLog(t, l)
	return dir, pubPath, v
}

func TestAuditKeygen(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "audit")
	code, out, errOut := gmfield(t, "", "audit", "keygen", "--out", prefix)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, prefix+".pem")

	privPEM, err := os.ReadFile(prefix + ".pem")
	require.NoError(t, err)
	st, err := os.Stat(prefix + ".pem")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	priv, err := crypto.ParseSM2PrivateKeyPEM(privPEM)
	require.NoError(t, err)
	pubPEM, err := os.ReadFile(prefix + ".pub.pem")
	require.NoError(t, err)
	pub, err := crypto.ParseSM2PublicKeyPEM(pubPEM)
	require.NoError(t, err)
	a, err := priv.Public().MarshalPKIX()
	require.NoError(t, err)
	b, err := pub.MarshalPKIX()
	require.NoError(t, err)
	assert.Equal(t, a, b, "the public key is the private key's")

	want, err := audit.VerifierKey(audit.DefaultOrigin, pub)
	require.NoError(t, err)
	assert.Equal(t, want+"\n", out)
	v, err := audit.ParseVerifierKey(strings.TrimSpace(out))
	require.NoError(t, err)
	assert.Equal(t, audit.DefaultOrigin, v.Name())

	// The key signs checkpoints that the printed verifier key accepts.
	s, err := audit.NewSigner(audit.DefaultOrigin, priv)
	require.NoError(t, err)
	signed, err := note.Sign(&note.Note{Text: "hello\n"}, s)
	require.NoError(t, err)
	_, err = note.Open(signed, note.VerifierList(v))
	require.NoError(t, err)

	// Refuses to overwrite either file, and leaves them as they were.
	code, out, errOut = gmfield(t, "", "audit", "keygen", "--out", prefix)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "already exists")
	again, err := os.ReadFile(prefix + ".pem")
	require.NoError(t, err)
	assert.Equal(t, privPEM, again)

	onlyPub := filepath.Join(dir, "other")
	require.NoError(t, os.WriteFile(onlyPub+".pub.pem", []byte("x"), 0o644))
	code, _, errOut = gmfield(t, "", "audit", "keygen", "--out", onlyPub)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "other.pub.pem already exists")
	assert.NoFileExists(t, onlyPub+".pem")

	code, out, errOut = gmfield(t, "", "audit", "keygen", "--out", filepath.Join(dir, "named"), "--origin", "example.com/audit")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "example.com/audit+"), out)

	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"audit", "keygen"}, "--out is required"},
		{[]string{"audit", "keygen", "--out", filepath.Join(dir, "bad"), "--origin", "has space"}, "origin"},
		{[]string{"audit", "keygen", "--out", filepath.Join(dir, "x"), "extra"}, "unexpected argument"},
		{[]string{"audit"}, "give a subcommand"},
		{[]string{"audit", "bogus"}, "unknown command"},
	}
	for _, c := range cases {
		code, _, errOut := gmfield(t, "", c.args...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
	assert.NoFileExists(t, filepath.Join(dir, "bad.pem"))
}

func TestAuditVerify(t *testing.T) {
	dir, pub, _ := auditDirLog(t)
	_, otherPub, _ := auditKeyFiles(t)
	kept := filepath.Join(t.TempDir(), "kept.note")
	cp, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(kept, cp, 0o600))

	verify := func(extra ...string) (int, string, string) {
		return gmfield(t, "", append([]string{"audit", "verify", "--log", dir}, extra...)...)
	}

	code, out, errOut := verify("--pubkey", pub)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "leaves:      20\ncheckpoints: 6 checked, latest size 20\nok\n", out)

	code, out, errOut = verify("--pubkey", pub, "--checkpoint", kept, "--json")
	require.Equal(t, 0, code, errOut)
	var rep verifyJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, verifyJSON{OK: true, Leaves: 20, Checkpoints: 7, Latest: 20}, rep)

	cases := []struct {
		name string
		args []string
		code int
		out  string // in stdout
		msg  string // in stderr
	}{
		{"another key", []string{"--pubkey", otherPub}, 1, "FAILED: bad checkpoint", "does not verify"},
		{"another origin", []string{"--pubkey", pub, "--origin", "example.com/other"}, 1, "FAILED: bad checkpoint", "does not verify"},
		{"bad kept checkpoint", []string{"--pubkey", pub, "--checkpoint", pub}, 1, "a kept checkpoint does not verify", "bad checkpoint"},
		{"missing kept checkpoint", []string{"--pubkey", pub, "--checkpoint", filepath.Join(dir, "nope")}, 1, "", "--checkpoint"},
		{"no pubkey", nil, 2, "", "--pubkey is required"},
		{"pubkey not PEM", []string{"--pubkey", filepath.Join(dir, "log.jsonl")}, 1, "", "PEM"},
		{"bad origin", []string{"--pubkey", pub, "--origin", "a+b"}, 2, "", "origin"},
		{"log and dsn", []string{"--pubkey", pub, "--dsn", "x.db"}, 2, "", "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := verify(c.args...)
			assert.Equal(t, c.code, code, errOut)
			assert.Contains(t, out, c.out)
			assert.Contains(t, errOut, c.msg)
			assert.True(t, strings.HasPrefix(errOut, "gmfield: "), errOut)
		})
	}

	t.Run("no source", func(t *testing.T) {
		t.Setenv("GMFIELD_DSN", "")
		code, _, errOut := gmfield(t, "", "audit", "verify", "--pubkey", pub)
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "give --log DIR or --dsn DSN")
	})
	t.Run("missing directory", func(t *testing.T) {
		code, _, errOut := gmfield(t, "", "audit", "verify", "--pubkey", pub, "--log", filepath.Join(dir, "nope"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "no such file")
	})

	t.Run("no checkpoint", func(t *testing.T) {
		bare := t.TempDir()
		raw, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bare, "log.jsonl"), raw, 0o600))
		code, out, errOut := gmfield(t, "", "audit", "verify", "--log", bare, "--pubkey", pub)
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "FAILED: no checkpoint")
		assert.Contains(t, errOut, "does not verify")
	})

	// One byte of leaf 12 edited: between the checkpoints of 10 and 15.
	path := filepath.Join(dir, "log.jsonl")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	i := bytes.Index(lines[12], []byte(`"principal":"u0"`))
	require.GreaterOrEqual(t, i, 0, string(lines[12]))
	lines[12][i+len(`"principal":"u`)] = '9'
	require.NoError(t, os.WriteFile(path, bytes.Join(lines, nil), 0o600))

	code, out, errOut = verify("--pubkey", pub)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAILED: edit at index 10, among leaves 10…14: ")
	assert.Contains(t, errOut, "gmfield: audit verify: the log does not verify: edit at index 10")
	code, out, _ = verify("--pubkey", pub, "--json")
	assert.Equal(t, 1, code)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.OK)
	assert.Equal(t, "edit", rep.Problem)
	assert.Equal(t, uint64(10), rep.Index)
	assert.Equal(t, uint64(15), rep.Until)
	assert.NotEmpty(t, rep.Detail)
}

func TestAuditVerifyUnsignedTail(t *testing.T) {
	k, pub, _ := auditKeyFiles(t)
	dir := t.TempDir()
	l, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: k, CheckpointEvery: -1})
	require.NoError(t, err)
	writeAuditLog(t, l)
	// Leaves appended by hand after the last checkpoint are read but not signed.
	f, err := os.OpenFile(filepath.Join(dir, "log.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"i":20,"t":"2026-01-02T08:00:00.000000Z"}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	code, out, errOut := gmfield(t, "", "audit", "verify", "--log", dir, "--pubkey", pub)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "unsigned:    leaves 20…20 are after the latest checkpoint\nok\n")
}

// auditProof parses audit prove's output back into an audit.Proof,
// checking that its hashes are hex.
func auditProof(t *testing.T, out string) *audit.Proof {
	t.Helper()
	var j struct {
		LeafHash string   `json:"leaf_hash"`
		Proof    []string `json:"proof"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &j), out)
	assert.Regexp(t, `^[0-9a-f]{64}$`, j.LeafHash)
	for _, h := range j.Proof {
		assert.Regexp(t, `^[0-9a-f]{64}$`, h)
	}
	var p audit.Proof
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	return &p
}

func TestAuditProve(t *testing.T) {
	dir, pub, v := auditDirLog(t)
	prove := func(extra ...string) (int, string, string) {
		return gmfield(t, "", append([]string{"audit", "prove", "--log", dir, "--pubkey", pub}, extra...)...)
	}
	cases := []struct {
		args        []string
		index, size uint64
	}{
		{[]string{"--index", "12"}, 12, 20},
		{[]string{"--index", "0"}, 0, 20},
		{[]string{"--index", "19"}, 19, 20},
		{[]string{"--index", "3", "--size", "5"}, 3, 5},
		{[]string{"--index", "9", "--size", "10"}, 9, 10},
	}
	for _, c := range cases {
		code, out, errOut := prove(c.args...)
		require.Equal(t, 0, code, "%v: %s", c.args, errOut)
		assert.True(t, strings.HasPrefix(out, "{\n  \"index\": "), "indented JSON: %s", out)
		p := auditProof(t, out)
		assert.Equal(t, c.index, p.Index, "%v", c.args)
		assert.Equal(t, c.size, p.Size, "%v", c.args)
		require.NoError(t, p.Verify(v), "%v", c.args)
		e, err := audit.ParseEvent([]byte(p.Leaf))
		require.NoError(t, err)
		assert.Equal(t, c.index, e.Index)
		assert.Equal(t, auditEvent(int(c.index)).Principal, e.Principal)

		// An altered proof does not verify.
		p.Leaf = strings.Replace(p.Leaf, `"rows":`, `"rows":9`, 1)
		assert.Error(t, p.Verify(v))
	}

	errCases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--index", "20"}, 1, "not below the checkpoint's size"},
		{[]string{"--index", "1", "--size", "7"}, 1, "no checkpoint of size 7"},
		{nil, 2, "--index is required"},
		{[]string{"--index", "-1"}, 2, "invalid argument"},
	}
	for _, c := range errCases {
		code, out, errOut := prove(c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
}

func TestAuditQuery(t *testing.T) {
	dir, _, _ := auditDirLog(t)
	want := func(keep func(i int, e *audit.Event) bool) []uint64 {
		var out []uint64
		for i := 0; i < auditEvents; i++ {
			if keep(i, auditEvent(i)) {
				out = append(out, uint64(i))
			}
		}
		return out
	}
	cases := []struct {
		name string
		args []string
		want []uint64
	}{
		{"all", nil, want(func(int, *audit.Event) bool { return true })},
		{"principal", []string{"--principal", "u1"}, want(func(_ int, e *audit.Event) bool { return e.Principal == "u1" })},
		{"column", []string{"--column", "citizen.phone"}, want(func(i int, _ *audit.Event) bool { return i%2 == 1 })},
		{"principal and column", []string{"--principal", "u1", "--column", "citizen.name"},
			want(func(i int, e *audit.Event) bool { return e.Principal == "u1" && i%2 == 0 })},
		{"table", []string{"--table", "citizen"}, want(func(int, *audit.Event) bool { return true })},
		{"other table", []string{"--table", "orders"}, nil},
		{"since RFC 3339", []string{"--since", "2026-01-01T18:00:00+08:00"}, want(func(i int, _ *audit.Event) bool { return i >= 2 })},
		{"since and until dates", []string{"--since", "2026-01-01", "--until", "2026-01-02"}, want(func(i int, _ *audit.Event) bool { return i < 16 })},
		{"until", []string{"--until", "2026-01-01T10:00:00Z"}, []uint64{0, 1}},
		{"nobody", []string{"--principal", "nobody"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"audit", "query", "--log", dir}, c.args...)
			code, out, errOut := gmfield(t, "", args...)
			require.Equal(t, 0, code, errOut)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			require.Equal(t, 1+len(c.want), len(lines), out)
			assert.Regexp(t, `^INDEX +TIME +PRINCIPAL +ROLES +KIND +COLUMNS +ROWS +DECRYPTED +OUTCOME$`, lines[0])
			for k, line := range lines[1:] {
				f := strings.Fields(line)
				require.GreaterOrEqual(t, len(f), 9, line)
				e := auditEvent(int(c.want[k]))
				outcome := string(e.Outcome)
				if e.Reason != "" {
					outcome += " (" + e.Reason + ")"
				}
				assert.Equal(t, outcome, strings.Join(f[8:], " "))
				assert.Equal(t, fmt.Sprint(c.want[k]), f[0])
				assert.Equal(t, e.Time.Format(auditTime), f[1])
				assert.Equal(t, []string{e.Principal, "clerk", e.Kind, e.Columns[0].Column + ":" + e.Columns[0].Action, fmt.Sprint(e.Rows), fmt.Sprint(e.Decrypted)}, f[2:8])
			}

			code, out, errOut = gmfield(t, "", append(args, "--json")...)
			require.Equal(t, 0, code, errOut)
			var got []uint64
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if line == "" {
					continue
				}
				var e eventJSON
				dec := json.NewDecoder(strings.NewReader(line))
				dec.DisallowUnknownFields()
				require.NoError(t, dec.Decode(&e), line)
				w := auditEvent(int(e.Index))
				assert.Equal(t, w.Principal, e.Principal)
				assert.Equal(t, w.Columns, e.Columns)
				assert.Equal(t, w.Outcome, e.Outcome)
				assert.Equal(t, w.Time.Format(auditTime), e.Time)
				got = append(got, e.Index)
			}
			assert.Equal(t, c.want, got)
		})
	}

	// The denied event shows its reason.
	code, out, _ := gmfield(t, "", "audit", "query", "--log", dir, "--principal", "u1", "--column", "citizen.phone")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "denied (denied)")

	errCases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--until", "2026-13-01"}, "--until"},
		{[]string{"--since", "2026-01-02", "--until", "2026-01-01"}, "before --until"},
		{[]string{"--dsn", "x.db"}, "not both"},
	}
	for _, c := range errCases {
		code, _, errOut := gmfield(t, "", append([]string{"audit", "query", "--log", dir}, c.args...)...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
}

func TestAuditQueryCell(t *testing.T) {
	assert.Equal(t, "plain", cell("plain"))
	assert.Equal(t, `a\tb\nc`, cell("a\tb\nc"))
}

func TestAuditTableLog(t *testing.T) {
	k, pub, v := auditKeyFiles(t)
	dsn := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, name := range []string{"", "app_audit"} {
		l, err := audit.OpenTable(context.Background(), audit.Table{DB: db, Dialect: "sqlite", Name: name}, audit.Options{Key: k, CheckpointEvery: -1})
		require.NoError(t, err)
		writeAuditLog(t, l)
	}

	code, out, errOut := gmfield(t, "", "audit", "verify", "--dsn", dsn, "--dialect", "sqlite", "--pubkey", pub)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "leaves:      20\ncheckpoints: 6 checked, latest size 20\nok\n", out)
	code, out, errOut = gmfield(t, "", "audit", "verify", "--dsn", dsn, "--log-table", "app_audit", "--pubkey", pub, "--json")
	require.Equal(t, 0, code, errOut)
	var rep verifyJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, verifyJSON{OK: true, Leaves: 20, Checkpoints: 6, Latest: 20}, rep)

	code, out, errOut = gmfield(t, "", "audit", "prove", "--dsn", dsn, "--dialect", "sqlite", "--pubkey", pub, "--index", "6")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, auditProof(t, out).Verify(v))

	code, out, errOut = gmfield(t, "", "audit", "query", "--dsn", dsn, "--principal", "u2", "--json")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 6, strings.Count(out, "\n"), out) // 2, 5, 8, 11, 14, 17

	// One byte of leaf 3 edited in the table.
	res, err := db.Exec(`UPDATE gmfield_audit SET leaf = replace(leaf, '"rows":1', '"rows":2') WHERE idx = 3`)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	code, out, errOut = gmfield(t, "", "audit", "verify", "--dsn", dsn, "--dialect", "sqlite", "--pubkey", pub)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAILED: edit at index 1, among leaves 1…4: ")
	assert.Contains(t, errOut, "does not verify")

	errCases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--dsn", filepath.Join(filepath.Dir(dsn), "missing.db")}, 1, "no such file"},
		{[]string{"--dsn", dsn, "--dialect", "oracle"}, 2, "--dialect must be"},
		{[]string{"--dsn", dsn, "--log-table", "Bad-Name"}, 2, "table name"},
		{[]string{"--dsn", dsn, "--log-table", "nope"}, 1, "nope_checkpoint"},
	}
	for _, c := range errCases {
		code, _, errOut := gmfield(t, "", append([]string{"audit", "verify", "--pubkey", pub}, c.args...)...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
	assert.NoFileExists(t, filepath.Join(filepath.Dir(dsn), "missing.db"), "a missing SQLite file is not created")
}

// verifyJSON is what audit verify --json prints.
type verifyJSON struct {
	OK          bool   `json:"ok"`
	Leaves      uint64 `json:"leaves"`
	Checkpoints uint64 `json:"checkpoints"`
	Latest      uint64 `json:"latest"`
	Unsigned    uint64 `json:"unsigned"`
	Problem     string `json:"problem"`
	Index       uint64 `json:"index"`
	Until       uint64 `json:"until"`
	Detail      string `json:"detail"`
}
