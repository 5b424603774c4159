package vault

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The integration tests against a real Vault live in the vaultit module;
// these check the error mapping and names without a server.
func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&api.ResponseError{StatusCode: 503, Errors: []string{"Vault is sealed"}}, keyring.ErrProviderUnavailable},
		{&api.ResponseError{StatusCode: 500, Errors: []string{"internal error"}}, keyring.ErrProviderUnavailable},
		{&api.ResponseError{StatusCode: 400, Errors: []string{"cipher: message authentication failed"}}, crypto.ErrAuthentication},
		{&api.ResponseError{StatusCode: 400, Errors: []string{"ciphertext or signature version is disallowed by policy (too old)"}}, ErrVersionDisallowed},
		{&api.ResponseError{StatusCode: 404, Errors: []string{"no such key"}}, keyring.ErrKeyNotFound},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: errors.New("connection refused")}, keyring.ErrProviderUnavailable},
		{context.DeadlineExceeded, keyring.ErrProviderUnavailable},
	}
	for _, c := range cases {
		assert.ErrorIs(t, classify("op", c.err), c.want, "%v", c.err)
	}
	err := classify("op", &api.ResponseError{StatusCode: 403, Errors: []string{"permission denied"}})
	assert.ErrorContains(t, err, "403")
	assert.NotErrorIs(t, err, keyring.ErrProviderUnavailable)
	assert.NoError(t, classify("op", nil))
}

func TestKEKNames(t *testing.T) {
	tr := NewTransit(nil, "", "gmfield")
	assert.Equal(t, "transit:gmfield:v3", tr.KEKName([]byte("vault:v3:abc")))
	assert.Equal(t, "transit:gmfield:?", tr.KEKName([]byte("garbage")))
	// A damaged record's bytes never become the "version" (it goes into
	// errors): no colon, a non-numeric version, a newline.
	for _, w := range []string{"vault:SECRETWRAPPEDDEKBASE64AAAA=", "vault:vX:abc", "vault:v3\nforged:abc", "vault::abc", "vault:v:abc", "vault:v12345678901:abc"} {
		assert.Equal(t, "transit:gmfield:?", tr.KEKName([]byte(w)), "%q", w)
	}
	kv := &KV{path: "gm/master"}
	assert.Equal(t, "kv:gm/master:v7", kv.KEKName([]byte{0, 0, 0, 7, 1}))
	_, err := kv.Decrypt([]byte{0, 0}, nil)
	assert.ErrorIs(t, err, crypto.ErrMalformed)
	_, err = kv.Decrypt([]byte{0, 0, 0, 0, 1, 2}, nil)
	assert.ErrorIs(t, err, crypto.ErrMalformed)
}

// Without VAULT_ADDR the Vault kinds fail at once, naming the variable,
// instead of trying the client's default https://127.0.0.1:8200.
func TestNoAddress(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "t")
	for _, unset := range []bool{false, true} {
		t.Setenv(api.EnvVaultAddress, "")
		if unset {
			require.NoError(t, os.Unsetenv(api.EnvVaultAddress))
		}
		for _, kc := range []local.KEKConfig{
			{Kind: local.KindVaultTransit, Key: "gmfield"},
			{Kind: local.KindVaultKV, Mount: "secret", Path: "gmfield/master"},
		} {
			var err error
			if kc.Kind == local.KindVaultTransit {
				_, err = transitKind{}.Provider(t.Context(), kc)
			} else {
				err = kvKind{}.Create(t.Context(), kc)
			}
			assert.ErrorIs(t, err, ErrNoAddress, "%s unset=%v", kc.Kind, unset)
			assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
			assert.True(t, strings.HasPrefix(err.Error(), "VAULT_ADDR is not set: "), err.Error())
			assert.NotContains(t, err.Error(), "127.0.0.1")
		}
	}
}
