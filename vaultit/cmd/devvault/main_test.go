package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// devvault is a devvault run in process, as the walkthrough of
// docs/keys.md starts it.
type devvault struct {
	env    map[string]string // VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT
	dir    string
	stdout []string
	stop   func() (int, string) // exit status and stderr
}

func startDevvault(t *testing.T) *devvault {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"-dir", dir}, pw, &stderr)
		pw.Close()
	}()
	d := &devvault{env: map[string]string{}, dir: dir}
	sc := bufio.NewScanner(pr)
	export := regexp.MustCompile(`^export (VAULT_[A-Z]+)=(.*)$`)
	for sc.Scan() {
		line := sc.Text()
		d.stdout = append(d.stdout, line)
		if m := export.FindStringSubmatch(line); m != nil {
			d.env[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "# next") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var once sync.Once
	var code int
	d.stop = func() (int, string) {
		once.Do(func() {
			cancel()
			code = <-status
		})
		return code, stderr.String()
	}
	t.Cleanup(func() { d.stop() })
	require.Len(t, d.env, 3, "stdout:\n%s\nstderr:\n%s", strings.Join(d.stdout, "\n"), stderr.String())
	return d
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// buildGmfield builds the CLI of the main module in the background; the
// function it returns waits for the binary's path.
func buildGmfield(t *testing.T) func() string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gmfield")
	done := make(chan error, 1)
	var out []byte
	go func() {
		build := exec.Command("go", "build", "-o", bin, "./cmd/gmfield")
		build.Dir = filepath.Join("..", "..", "..")
		var err error
		out, err = build.CombinedOutput()
		done <- err
	}()
	return func() string {
		t.Helper()
		require.NoError(t, <-done, "%s", out)
		return bin
	}
}

// gmfield returns a function that runs bin with the environment of d
// only (no VAULT_* or GMFIELD_* of the caller's), returning its stdout,
// stderr and exit status.
func gmfield(t *testing.T, bin string, d *devvault) func(stdin string, args ...string) (string, string, int) {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "GMFIELD_") {
			env = append(env, kv)
		}
	}
	for k, v := range d.env {
		env = append(env, k+"="+v)
	}
	return func(stdin string, args ...string) (string, string, int) {
		c := exec.Command(bin, args...)
		c.Env = env
		c.Stdin = strings.NewReader(stdin)
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return o.String(), e.String(), code
	}
}

// vaultClient is an operator's client of d, from the printed environment.
func vaultClient(t *testing.T, d *devvault) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = d.env["VAULT_ADDR"]
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: d.env["VAULT_CACERT"]}))
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(d.env["VAULT_TOKEN"])
	return c
}

// keyID is the id (k + 16 hex digits) in a rotate line or list row.
var keyID = regexp.MustCompile(`\bk[0-9a-f]{16}\b`)

// TestWalkthrough drives the "Trying it with a local Vault" section of
// docs/keys.md: devvault, then the gmfield CLI with a vault-transit and
// a vault-kv key directory.
func TestWalkthrough(t *testing.T) {
	bin := buildGmfield(t)
	d := startDevvault(t)
	assert.Regexp(t, `^https://127\.0\.0\.1:\d+$`, d.env["VAULT_ADDR"])
	assert.Equal(t, filepath.Join(d.dir, "ca_cert.pem"), d.env["VAULT_CACERT"])
	assert.FileExists(t, d.env["VAULT_CACERT"])
	fi, err := os.Stat(d.dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "the directory holds the server's keys")
	sourced, err := os.ReadFile(filepath.Join(d.dir, EnvFile))
	require.NoError(t, err)
	for k, v := range d.env {
		assert.Contains(t, string(sourced), "export "+k+"="+v+"\n")
	}
	assert.Contains(t, strings.Join(d.stdout, "\n"), "root token, printed on purpose")

	// The server's certificate names the CA as its issuer, not itself:
	// OpenSSL clients (curl) verify it with VAULT_CACERT.
	pem, err := os.ReadFile(d.env["VAULT_CACERT"])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.env["VAULT_ADDR"], "https://"), &tls.Config{RootCAs: roots})
	require.NoError(t, err)
	leaf := conn.ConnectionState().PeerCertificates[0]
	assert.NotEqual(t, leaf.Subject.String(), leaf.Issuer.String())
	require.NoError(t, conn.Close())
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--cacert", d.env["VAULT_CACERT"], d.env["VAULT_ADDR"]+"/v1/sys/health").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), `"sealed":false`)
	}
	gm := gmfield(t, bin(), d)
	ok := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := gm(stdin, args...)
		require.Equal(t, 0, code, "gmfield %s: %s", strings.Join(args, " "), errOut)
		return out
	}
	place := []string{"--table", "citizen", "--column", "phone"}
	withPlace := func(args ...string) []string { return append(args, place...) }

	for _, tc := range []struct {
		kek, mount, kekV1, kekV2 string
		init                     []string
		retireV1                 func(*api.Client) error
	}{
		{"vault-transit", "transit", "transit:gmfield:v1", "transit:gmfield:v2", nil, func(c *api.Client) error {
			_, err := c.Logical().Write("transit/keys/gmfield/config", map[string]any{"min_decryption_version": 2})
			return err
		}},
		{"vault-kv", "kv2", "kv:gmfield/master:v1", "kv:gmfield/master:v2", []string{"--vault-mount", "kv2"}, func(c *api.Client) error {
			return c.KVv2("kv2").Destroy(context.Background(), "gmfield/master", []int{1})
		}},
	} {
		t.Run(tc.kek, func(t *testing.T) {
			keys := filepath.Join(t.TempDir(), "keys")
			out := ok("", append([]string{"keyring", "init", "--dir", keys, "--kek", tc.kek}, tc.init...)...)
			assert.Equal(t, "initialized "+keys+" with the "+tc.kek+" KEK at "+tc.mount+"\n", out)

			ct1 := strings.TrimSpace(ok("", withPlace("encrypt", "--keyring", keys, "13800138000")...))
			assert.NotContains(t, ct1, "13800138000")
			assert.Equal(t, "13800138000\n", ok("", withPlace("decrypt", "--keyring", keys, ct1)...))

			list := ok("", "keys", "list", "--keyring", keys)
			assert.Regexp(t, `k[0-9a-f]{16}\s+citizen\.phone\s+active\s.*`+regexp.QuoteMeta(tc.kekV1), list)
			oldID := keyID.FindString(list)
			require.NotEmpty(t, oldID)

			// DEK rotation: new values under a new DEK, old ones still open.
			out = ok("", withPlace("keys", "rotate", "--keyring", keys)...)
			assert.Regexp(t, `^citizen\.phone: new active key k[0-9a-f]{16}\n$`, out)
			newID := keyID.FindString(out)
			assert.NotEqual(t, oldID, newID)
			ct2 := strings.TrimSpace(ok("", withPlace("encrypt", "--keyring", keys, "13900139000")...))
			assert.Equal(t, "13800138000\n", ok("", withPlace("decrypt", "--keyring", keys, ct1)...))
			assert.Equal(t, "13900139000\n", ok("", withPlace("decrypt", "--keyring", keys, ct2)...))
			list = ok("", "keys", "list", "--keyring", keys)
			assert.Regexp(t, oldID+`\s+citizen\.phone\s+decrypt-only`, list)
			assert.Regexp(t, newID+`\s+citizen\.phone\s+active`, list)

			// A rotation of a keyspace that has no key yet is refused.
			_, errOut, code := gm("", "keys", "rotate", "--keyring", keys, "--table", "citizen", "--column", "phoen")
			assert.Equal(t, 2, code)
			assert.Contains(t, errOut, "keyspace citizen.phoen has no key yet")

			// KEK rotation in Vault and rewrap of every DEK and the index
			// root: no value touched.
			out = ok("", "keys", "rewrap", "--keyring", keys)
			assert.Equal(t, "rewrapped 3 keys under the new "+tc.kek+" KEK ("+tc.mount+")\n", out)
			list = ok("", "keys", "list", "--keyring", keys)
			assert.Equal(t, 4, strings.Count(list, "\n"), list) // header, index root, two DEKs
			assert.Equal(t, 3, strings.Count(list, tc.kekV2), list)
			assert.NotContains(t, list, tc.kekV1)
			assert.Equal(t, "13800138000\n", ok("", withPlace("decrypt", "--keyring", keys, ct1)...))
			assert.Equal(t, "13900139000\n", ok("", withPlace("decrypt", "--keyring", keys, ct2)...))
			// The operator's step with no gmfield command (docs: curl):
			// retire KEK version 1 once no DEK uses it.
			require.NoError(t, tc.retireV1(vaultClient(t, d)))
			assert.Equal(t, "13800138000\n", ok("", withPlace("decrypt", "--keyring", keys, ct1)...))
			assert.Equal(t, "13900139000\n", ok("", withPlace("decrypt", "--keyring", keys, ct2)...))

			// Crypto-shredding: a wrong confirmation destroys nothing.
			_, errOut, code = gm("no\n", "keys", "destroy", "--keyring", keys, oldID)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "not confirmed; nothing destroyed")
			assert.Equal(t, "13800138000\n", ok("", withPlace("decrypt", "--keyring", keys, ct1)...))
			out = ok(oldID+"\n", "keys", "destroy", "--keyring", keys, oldID)
			assert.Equal(t, "destroyed "+oldID+"\n", out)
			_, errOut, code = gm("", withPlace("decrypt", "--keyring", keys, ct1)...)
			assert.Equal(t, 1, code)
			assert.Regexp(t, `^gmfield: citizen\.phone: key `+oldID+`: .*gmfield/keyring: key destroyed\n$`, errOut)
			assert.Equal(t, "13900139000\n", ok("", withPlace("decrypt", "--keyring", keys, ct2)...))
			assert.Regexp(t, oldID+`\s+citizen\.phone\s+destroyed`, ok("", "keys", "list", "--keyring", keys))

			// Destroying the active key warns first.
			out, errOut, code = gm("", "keys", "destroy", "--keyring", keys, "--yes", newID)
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, "destroyed "+newID+"\n", out)
			assert.Contains(t, errOut, "warning: "+newID+" is the active key of keyspace citizen.phone")
			_, errOut, code = gm("", withPlace("decrypt", "--keyring", keys, ct2)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "key destroyed")
		})
	}

	code, stderr := d.stop()
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "devvault: stopped; removed "+d.dir)
	assert.NoDirExists(t, d.dir)
}

func TestFlags(t *testing.T) {
	var out, errOut strings.Builder
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "usage: devvault")
	assert.Contains(t, errOut.String(), "-dir")
	assert.Empty(t, out.String())

	errOut.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, &out, &errOut))
	errOut.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"extra"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `unexpected argument "extra"`)
	errOut.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"-log-level", "loud"}, &out, &errOut))

	// A directory with anything in it is refused: it is removed at exit.
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep")
	require.NoError(t, os.WriteFile(keep, []byte("x"), 0o600))
	errOut.Reset()
	assert.Equal(t, 1, run(context.Background(), []string{"-dir", dir}, &out, &errOut))
	assert.Contains(t, errOut.String(), "is not empty")
	assert.FileExists(t, keep)
	assert.Empty(t, out.String())
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "/tmp/devvault-1/ca_cert.pem", shellQuote("/tmp/devvault-1/ca_cert.pem"))
	assert.Equal(t, "https://127.0.0.1:8200", shellQuote("https://127.0.0.1:8200"))
	assert.Equal(t, `'/tmp/my dir/it'\''s'`, shellQuote("/tmp/my dir/it's"))
	assert.Equal(t, "''", shellQuote(""))
}
