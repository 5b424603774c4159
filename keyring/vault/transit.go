package vault

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/hashicorp/vault/api"
)

// Transit wraps DEKs with a Vault Transit key: the KEK never leaves
// Vault. The plaintext sent to Vault is SM3(associatedData) ‖ DEK, checked
// on decrypt, so the associated data is bound whatever the key type.
// Transit implements keyring.Provider, keyring.KEKNamer and
// keyring.Rewrapper.
type Transit struct {
	c       *api.Client
	mount   string
	key     string
	timeout time.Duration
}

// NewTransit returns a provider for the Transit key named key at mount
// ("transit" when empty).
func NewTransit(c *api.Client, mount, key string) *Transit {
	if mount == "" {
		mount = "transit"
	}
	return &Transit{c: c, mount: strings.Trim(mount, "/"), key: key, timeout: DefaultTimeout}
}

func (t *Transit) path(op string) string { return t.mount + "/" + op + "/" + t.key }

func (t *Transit) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), t.timeout)
}

// CreateKey creates the Transit key (aes256-gcm96) if it does not exist.
func (t *Transit) CreateKey(ctx context.Context) error {
	_, err := t.c.Logical().WriteWithContext(ctx, t.mount+"/keys/"+t.key, map[string]any{"type": "aes256-gcm96"})
	return classify("create transit key", err)
}

// Rotate adds a new version to the Transit key; new DEKs are wrapped with
// it, old ones still unwrap until min_decryption_version passes them.
func (t *Transit) Rotate(ctx context.Context) error {
	_, err := t.c.Logical().WriteWithContext(ctx, t.mount+"/keys/"+t.key+"/rotate", nil)
	return classify("rotate transit key", err)
}

// SetMinDecryptionVersion refuses to unwrap DEKs wrapped under key
// versions below v.
func (t *Transit) SetMinDecryptionVersion(ctx context.Context, v int) error {
	_, err := t.c.Logical().WriteWithContext(ctx, t.mount+"/keys/"+t.key+"/config", map[string]any{"min_decryption_version": v})
	return classify("configure transit key", err)
}

// Encrypt wraps a DEK.
func (t *Transit) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("%w: nothing to wrap", crypto.ErrInvalidInput)
	}
	msg := keyring.PrefixAD(plaintext, associatedData)
	defer clear(msg)
	ctx, cancel := t.ctx()
	defer cancel()
	s, err := t.c.Logical().WriteWithContext(ctx, t.path("encrypt"), map[string]any{"plaintext": base64.StdEncoding.EncodeToString(msg)})
	if err != nil {
		return nil, classify("encrypt", err)
	}
	ct, ok := field(s, "ciphertext")
	if !ok || !strings.HasPrefix(ct, "vault:v") {
		return nil, fmt.Errorf("vault encrypt: %w: no ciphertext in the response", crypto.ErrMalformed)
	}
	return []byte(ct), nil
}

// Decrypt unwraps a DEK and checks its associated data.
func (t *Transit) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	ctx, cancel := t.ctx()
	defer cancel()
	s, err := t.c.Logical().WriteWithContext(ctx, t.path("decrypt"), map[string]any{"ciphertext": string(ciphertext)})
	if err != nil {
		return nil, classify("decrypt", err)
	}
	b64, ok := field(s, "plaintext")
	if !ok {
		return nil, fmt.Errorf("vault decrypt: %w: no plaintext in the response", crypto.ErrMalformed)
	}
	msg, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("vault decrypt: %w: %v", crypto.ErrMalformed, err)
	}
	key, err := keyring.StripAD(msg, associatedData)
	if err != nil {
		clear(msg)
		return nil, fmt.Errorf("vault decrypt: %w", err)
	}
	return key, nil
}

// Rewrap moves a wrapped DEK to the key's newest version inside Vault.
func (t *Transit) Rewrap(wrapped, _ []byte) ([]byte, error) {
	ctx, cancel := t.ctx()
	defer cancel()
	s, err := t.c.Logical().WriteWithContext(ctx, t.path("rewrap"), map[string]any{"ciphertext": string(wrapped)})
	if err != nil {
		return nil, classify("rewrap", err)
	}
	ct, ok := field(s, "ciphertext")
	if !ok {
		return nil, fmt.Errorf("vault rewrap: %w: no ciphertext in the response", crypto.ErrMalformed)
	}
	return []byte(ct), nil
}

// KEKName names the Transit key and the version that wrapped: e.g.
// "transit:gmfield:v3". A wrapped key without a well-formed version
// ("vault:v" and digits) is named with version "?": the name goes into
// errors, and a damaged record must not put its bytes there.
func (t *Transit) KEKName(wrapped []byte) string {
	v := "?"
	if rest, ok := strings.CutPrefix(string(wrapped), "vault:"); ok {
		if ver, _, found := strings.Cut(rest, ":"); found && transitVersion(ver) {
			v = ver
		}
	}
	return "transit:" + t.key + ":" + v
}

// transitVersion reports whether s is a Transit key version, "v" and 1
// to 10 digits.
func transitVersion(s string) bool {
	digits, ok := strings.CutPrefix(s, "v")
	if !ok || len(digits) == 0 || len(digits) > 10 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func field(s *api.Secret, name string) (string, bool) {
	if s == nil || s.Data == nil {
		return "", false
	}
	v, ok := s.Data[name].(string)
	return v, ok
}
