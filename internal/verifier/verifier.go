// Package verifier runs crypto/testdata/verify_vectors.py, the
// independent Python implementation of docs/format.md, from tests.
package verifier

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing tool of
// the independent check from a skip into a failure; the test script sets
// it.
const RequireEnv = "GMFIELD_TEST_INDEPENDENT"

// Run runs the verifier script with args and returns its output. It
// skips t (or fails it, when $GMFIELD_TEST_INDEPENDENT is set) when
// python3, its cryptography package, the openssl command (if needOpenSSL)
// or UnicodeData.txt (the script exits 3) is missing, and fails t when the
// script does.
func Run(t *testing.T, script string, needOpenSSL bool, args ...string) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("independent check: %s ($%s is set)", what, RequireEnv)
		}
		t.Skipf("independent check skipped: %s (set $%s to require it)", what, RequireEnv)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 not installed")
	}
	if err := exec.Command(py, "-c", "import cryptography.hazmat.primitives.ciphers.aead").Run(); err != nil {
		missing("python3 has no cryptography package")
	}
	if _, err := exec.LookPath("openssl"); err != nil && needOpenSSL {
		missing("openssl not installed")
	}
	out, err := exec.Command(py, append([]string{script}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		missing(string(out))
	}
	if err != nil {
		t.Fatalf("independent check failed: %v\n%s", err, out)
	}
	return string(out)
}
