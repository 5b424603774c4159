package audit_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenSSLChecksTheVectors is docs/audit.md's evaluator recipe: with
// OpenSSL 3 alone, a leaf hash is SM3(0x00 ‖ leaf) and a checkpoint's
// signature verifies with the public key.
func TestOpenSSLChecksTheVectors(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "audit-vectors.json"))
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(raw, &v))
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	leaf := write("leaf", append([]byte{0}, v.Leaves[3]...))
	out, err := exec.Command("openssl", "dgst", "-sm3", "-r", leaf).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, v.LeafHashes[3], strings.Fields(string(out))[0])

	pub := write("pub.pem", []byte(v.PublicKey))
	check := func(n string) error {
		text, sigs, ok := strings.Cut(n, "\n\n")
		require.True(t, ok)
		line := strings.TrimSpace(sigs)
		b, err := base64.StdEncoding.DecodeString(line[strings.LastIndex(line, " ")+1:])
		require.NoError(t, err)
		msg := write("msg", []byte(text+"\n"))
		sig := write("sig", b[4:]) // after the 4-byte key id
		out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:1234567812345678", "-in", msg, "-sigfile", sig).CombinedOutput()
		if err != nil {
			return &exec.ExitError{Stderr: out}
		}
		return nil
	}
	require.NoError(t, check(v.Valid[0].Note))
	require.Error(t, check(v.Invalid[0].Note), "an altered size")
}
