package vault

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/hashicorp/vault/api"
)

// AppRole environment variables read by the Vault KEK kinds of key
// directories.
const (
	RoleIDEnv       = "GMFIELD_VAULT_ROLE_ID"
	SecretIDEnv     = "GMFIELD_VAULT_SECRET_ID"
	AppRoleMountEnv = "GMFIELD_VAULT_APPROLE_MOUNT"
)

func init() {
	local.RegisterRemote(local.KindVaultTransit, transitKind{})
	local.RegisterRemote(local.KindVaultKV, kvKind{})
}

// envClient returns a client from the standard environment, logged in
// with AppRole when GMFIELD_VAULT_ROLE_ID is set, for kc. Without
// VAULT_ADDR it fails (ErrNoAddress) rather than let the client try its
// default address.
func envClient(ctx context.Context, kc local.KEKConfig) (*api.Client, error) {
	if strings.TrimSpace(os.Getenv(api.EnvVaultAddress)) == "" {
		return nil, fmt.Errorf("%w: the %s needs Vault: export VAULT_ADDR, and VAULT_TOKEN or AppRole credentials (%w)",
			ErrNoAddress, kc.Describe(""), keyring.ErrProviderUnavailable)
	}
	c, err := NewClient()
	if err != nil {
		return nil, err
	}
	if role := os.Getenv(RoleIDEnv); role != "" {
		if err := LoginAppRole(ctx, c, os.Getenv(AppRoleMountEnv), role, os.Getenv(SecretIDEnv)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type transitKind struct{}

func (transitKind) transit(ctx context.Context, kc local.KEKConfig) (*Transit, error) {
	if kc.Key == "" {
		return nil, fmt.Errorf("%w: vault-transit needs a key name", crypto.ErrInvalidInput)
	}
	c, err := envClient(ctx, kc)
	if err != nil {
		return nil, err
	}
	return NewTransit(c, kc.Mount, kc.Key), nil
}

func (k transitKind) Provider(ctx context.Context, kc local.KEKConfig) (keyring.Provider, error) {
	return k.transit(ctx, kc)
}

func (k transitKind) Create(ctx context.Context, kc local.KEKConfig) error {
	t, err := k.transit(ctx, kc)
	if err != nil {
		return err
	}
	return t.CreateKey(ctx)
}

func (k transitKind) Rotate(ctx context.Context, kc local.KEKConfig) (keyring.Provider, error) {
	t, err := k.transit(ctx, kc)
	if err != nil {
		return nil, err
	}
	return t, t.Rotate(ctx)
}

type kvKind struct{}

func (kvKind) kv(ctx context.Context, kc local.KEKConfig) (*KV, error) {
	if kc.Mount == "" || kc.Path == "" {
		return nil, fmt.Errorf("%w: vault-kv needs a mount and a path", crypto.ErrInvalidInput)
	}
	c, err := envClient(ctx, kc)
	if err != nil {
		return nil, err
	}
	return NewKV(c, kc.Mount, kc.Path), nil
}

func (k kvKind) Provider(ctx context.Context, kc local.KEKConfig) (keyring.Provider, error) {
	return k.kv(ctx, kc)
}

func (k kvKind) Create(ctx context.Context, kc local.KEKConfig) error {
	p, err := k.kv(ctx, kc)
	if err != nil {
		return err
	}
	_, err = p.Init(ctx)
	return err
}

func (k kvKind) Rotate(ctx context.Context, kc local.KEKConfig) (keyring.Provider, error) {
	p, err := k.kv(ctx, kc)
	if err != nil {
		return nil, err
	}
	_, err = p.Rotate(ctx)
	return p, err
}
