package vaultit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring/local"
	gmvault "github.com/gmfield/gmfield/keyring/vault"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vaultEnv points the standard Vault environment at the test cluster.
func vaultEnv(t *testing.T, e env) {
	t.Setenv("VAULT_ADDR", e.client.Address())
	t.Setenv("VAULT_CACERT", e.cluster.CACertPEMFile)
	t.Setenv("VAULT_TOKEN", e.cluster.RootToken)
	t.Setenv(gmvault.RoleIDEnv, "")
	t.Setenv(gmvault.SecretIDEnv, "")
}

func TestKeyDirectoryWithVaultKEKs(t *testing.T) {
	e := start(t)
	vaultEnv(t, e)
	for _, kc := range []local.KEKConfig{
		{Kind: "vault-transit", Key: "gmfield"},
		{Kind: "vault-kv", Mount: "kv2", Path: "gmfield/master"},
	} {
		t.Run(string(kc.Kind), func(t *testing.T) {
			dir := t.TempDir()
			k, err := local.Init(ctx, dir, kc)
			require.NoError(t, err)
			ct := sealWith(t, k, "citizen.phone", "13800138000")
			n, err := local.RotateKEK(ctx, dir, "")
			require.NoError(t, err)
			assert.Equal(t, 2, n, "the DEK and the index root")
			reopened, err := local.Open(dir)
			require.NoError(t, err)
			got, err := open(t, reopened, ct)
			require.NoError(t, err)
			assert.Equal(t, "13800138000", got)
			recs, err := reopened.List(ctx)
			require.NoError(t, err)
			for _, r := range recs {
				assert.True(t, strings.HasSuffix(r.KEK, ":v2"), r.KEK)
			}
			_, err = local.RotateKEK(ctx, dir, "sm4")
			assert.ErrorIs(t, err, crypto.ErrInvalidInput, "no in-place move from Vault to a local KEK")
		})
	}
}

// TestCLIWithVault runs the gmfield binary against Vault: init with a
// Transit KEK, encrypt and decrypt, KEK rotation and rewrap, and AppRole
// login from the environment.
func TestCLIWithVault(t *testing.T) {
	e := start(t)
	vaultEnv(t, e)
	bin := filepath.Join(t.TempDir(), "gmfield")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gmfield")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	run := func(stdin string, args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Stdin = strings.NewReader(stdin)
		c.Env = os.Environ()
		var o, eb strings.Builder
		c.Stdout, c.Stderr = &o, &eb
		err := c.Run()
		if err != nil {
			return eb.String(), err
		}
		return o.String(), nil
	}
	dir := filepath.Join(t.TempDir(), "keys")
	out2, err := run("", "keyring", "init", "--dir", dir, "--kek", "vault-transit", "--vault-key", "cli")
	require.NoError(t, err, out2)
	ct, err := run("", "encrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", "13800138000")
	require.NoError(t, err, ct)
	out2, err = run("", "keys", "rewrap", "--keyring", dir)
	require.NoError(t, err, out2)
	assert.Contains(t, out2, "rewrapped 2 keys")
	list, err := run("", "keys", "list", "--keyring", dir)
	require.NoError(t, err, list)
	assert.Contains(t, list, "transit:cli:v2")

	// AppRole instead of a token.
	require.NoError(t, e.client.Sys().PutPolicy("cli-app", `
path "transit/encrypt/cli" { capabilities = ["update"] }
path "transit/decrypt/cli" { capabilities = ["update"] }
`))
	_, err = e.client.Logical().Write("auth/approle/role/cli", map[string]any{"token_policies": "cli-app"})
	require.NoError(t, err)
	rid, err := e.client.Logical().Read("auth/approle/role/cli/role-id")
	require.NoError(t, err)
	sid, err := e.client.Logical().Write("auth/approle/role/cli/secret-id", nil)
	require.NoError(t, err)
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv(gmvault.RoleIDEnv, rid.Data["role_id"].(string))
	t.Setenv(gmvault.SecretIDEnv, sid.Data["secret_id"].(string))
	pt, err := run("", "decrypt", "--keyring", dir, "--table", "citizen", "--column", "phone", strings.TrimSpace(ct))
	require.NoError(t, err, pt)
	assert.Equal(t, "13800138000\n", pt)
	msg, err := run("", "keys", "rewrap", "--keyring", dir)
	assert.Error(t, err, "the app role may not rotate the KEK")
	assert.Contains(t, msg, "gmfield:")
}
