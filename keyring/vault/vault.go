// Package vault holds HashiCorp Vault integrations of the key ring: a
// Transit provider (the KEK never leaves Vault), a KV v2 provider (an SM4
// master key kept as a versioned secret), and a KV v2 Store for wrapped
// DEK records. It talks to Vault through github.com/hashicorp/vault/api;
// NewClient honours VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT
// and the other standard variables.
package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
)

// ErrVersionDisallowed reports a ciphertext wrapped under a Transit key
// version below the key's min_decryption_version. Rewrap the DEKs (keys
// rewrap) before raising that minimum.
var ErrVersionDisallowed = errors.New("gmfield/keyring/vault: key version below min_decryption_version")

// ErrNoAddress reports that VAULT_ADDR is not set where a Vault KEK kind
// needs Vault: the providers refuse to fall back on the Vault client's
// default address (https://127.0.0.1:8200). It also matches
// keyring.ErrProviderUnavailable.
var ErrNoAddress = errors.New("VAULT_ADDR is not set")

// DefaultTimeout bounds each call a provider makes (the Provider methods
// take no context).
const DefaultTimeout = 10 * time.Second

// NewClient returns a Vault client configured from the standard
// environment (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT,
// VAULT_CLIENT_CERT, VAULT_SKIP_VERIFY, VAULT_MAX_RETRIES, …).
func NewClient() (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("gmfield/keyring/vault: %w", cfg.Error)
	}
	return api.NewClient(cfg)
}

// LoginAppRole logs c in with AppRole (mount "approle" when mount is
// empty) and sets the resulting token on c.
func LoginAppRole(ctx context.Context, c *api.Client, mount, roleID, secretID string) error {
	var opts []approle.LoginOption
	if mount != "" {
		opts = append(opts, approle.WithMountPath(mount))
	}
	auth, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromString: secretID}, opts...)
	if err != nil {
		return fmt.Errorf("gmfield/keyring/vault: approle: %w", err)
	}
	s, err := c.Auth().Login(ctx, auth)
	if err != nil {
		return classify("approle login", err)
	}
	if s == nil || s.Auth == nil {
		return fmt.Errorf("gmfield/keyring/vault: approle login returned no token")
	}
	return nil
}

// classify maps Vault and transport errors to the key ring's sentinels:
// sealed, unreachable or failing servers to keyring.ErrProviderUnavailable,
// authentication failures to crypto.ErrAuthentication.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := strings.Join(re.Errors, "; ")
		switch {
		case re.StatusCode == 503 || re.StatusCode >= 500 || re.StatusCode == 429:
			return fmt.Errorf("vault %s: %w: HTTP %d: %s", op, keyring.ErrProviderUnavailable, re.StatusCode, msg)
		case strings.Contains(msg, "disallowed by policy") || strings.Contains(msg, "min_decryption_version"):
			return fmt.Errorf("vault %s: %w: %s", op, ErrVersionDisallowed, msg)
		case strings.Contains(msg, "message authentication failed") || strings.Contains(msg, "invalid ciphertext"):
			return fmt.Errorf("vault %s: %w", op, crypto.ErrAuthentication)
		case re.StatusCode == 404:
			return fmt.Errorf("vault %s: %w: %s", op, keyring.ErrKeyNotFound, msg)
		}
		return fmt.Errorf("vault %s: HTTP %d: %s", op, re.StatusCode, msg)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("vault %s: %w: %v", op, keyring.ErrProviderUnavailable, err)
	}
	return fmt.Errorf("vault %s: %w", op, err)
}
