package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/atomicfile"
	"github.com/gmfield/gmfield/keyring"
)

// remoteTimeout bounds opening a remote KEK's provider.
const remoteTimeout = 10 * time.Second

// ConfigFile is the name of a key directory's configuration file.
const ConfigFile = "keyring.json"

// FormatV1 identifies version 1 of the key directory layout.
const FormatV1 = "gmfield-keyring/1"

// Config is the content of DIR/keyring.json: which KEK wraps the DEKs in
// DIR/keys, and, during a KEK rotation, the previous KEKs that may still
// wrap some of them.
type Config struct {
	Format   string      `json:"format"`
	KEK      KEKConfig   `json:"kek"`
	Previous []KEKConfig `json:"previous,omitempty"`
}

// KEKKind is the kind of a key directory's KEK.
type KEKKind string

// KEK kinds. The Vault kinds are registered by importing
// github.com/gmfield/gmfield/keyring/vault, so that a program using only
// local keys does not link the Vault client.
const (
	KindSM4          KEKKind = "sm4"
	KindSM2          KEKKind = "sm2"
	KindVaultTransit KEKKind = "vault-transit"
	KindVaultKV      KEKKind = "vault-kv"
)

// KEKConfig names the KEK of a key directory:
//   - KindSM4: a hex master key in File, or in the environment variable Env;
//   - KindSM2: a PEM key in File (the private key to read and write, or the
//     public key to write only);
//   - KindVaultTransit: the Transit key Key at Mount;
//   - KindVaultKV: the KV v2 master key secret at Path in the engine at Mount.
//
// A relative File is relative to the key directory. The Vault kinds take
// the client from the standard environment (VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT, …) and log in with AppRole when
// GMFIELD_VAULT_ROLE_ID and GMFIELD_VAULT_SECRET_ID are set.
type KEKConfig struct {
	Kind  KEKKind `json:"kind"`
	File  string  `json:"file,omitempty"`
	Env   string  `json:"env,omitempty"`
	Mount string  `json:"mount,omitempty"`
	Key   string  `json:"key,omitempty"`
	Path  string  `json:"path,omitempty"`
}

// Remote is a KEK kind whose key lives in another system (Vault), as its
// package registers it with RegisterRemote.
type Remote interface {
	// Provider returns the provider of kc.
	Provider(ctx context.Context, kc KEKConfig) (keyring.Provider, error)
	// Create makes kc's key if it does not exist yet (keyring init).
	Create(ctx context.Context, kc KEKConfig) error
	// Rotate starts a new version of kc's key and returns the provider
	// that wraps under it, to rewrap every DEK.
	Rotate(ctx context.Context, kc KEKConfig) (keyring.Provider, error)
}

var remotes = struct {
	sync.RWMutex
	m map[KEKKind]Remote
}{m: map[KEKKind]Remote{}}

// RegisterRemote makes kind usable in key directories. It panics if kind
// is registered twice.
func RegisterRemote(kind KEKKind, r Remote) {
	remotes.Lock()
	defer remotes.Unlock()
	if _, dup := remotes.m[kind]; dup {
		panic("gmfield/keyring/local: KEK kind " + string(kind) + " registered twice")
	}
	remotes.m[kind] = r
}

// remote returns the registered Remote of kind.
func remote(kind KEKKind) (Remote, error) {
	remotes.RLock()
	r, ok := remotes.m[kind]
	remotes.RUnlock()
	if !ok {
		if kind == KindVaultTransit || kind == KindVaultKV {
			return nil, fmt.Errorf("%w: KEK kind %s needs the Vault integration: import _ \"github.com/gmfield/gmfield/keyring/vault\"", crypto.ErrInvalidInput, kind)
		}
		return nil, fmt.Errorf("%w: KEK kind %q (sm4, sm2, vault-transit, vault-kv)", crypto.ErrInvalidInput, kind)
	}
	return r, nil
}

// Init creates a key directory and the blind-index root key. For kinds
// "sm4" and "sm2" with no File or Env it generates the KEK and writes it
// into the directory with mode 0600 (move it elsewhere and edit
// keyring.json, or use Env, to keep it apart from the wrapped keys). For
// "vault-transit" it creates the Transit key if missing; for "vault-kv" it
// writes the first master key version if the secret has none. It refuses
// a directory that is already initialized.
func Init(ctx context.Context, dir string, kek KEKConfig) (*keyring.Keyring, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), keyring.ErrExists)
	}
	kc := kek
	switch {
	case (kek.Kind == KindSM4 || kek.Kind == KindSM2) && kek.File == "" && kek.Env == "":
		if _, err := keyring.OpenDir(dir); err != nil {
			return nil, err
		}
		var err error
		if kc, err = newKEKFile(dir, kek.Kind); err != nil {
			return nil, err
		}
	case kek.Kind != KindSM4 && kek.Kind != KindSM2:
		r, err := remote(kek.Kind)
		if err != nil {
			return nil, err
		}
		if err := r.Create(ctx, kek); err != nil {
			return nil, err
		}
	}
	if _, err := keyring.OpenDir(dir); err != nil {
		return nil, err
	}
	if err := writeConfig(dir, Config{Format: FormatV1, KEK: kc}); err != nil {
		return nil, err
	}
	k, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if _, err := k.IndexRoot(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// newKEKFile generates a KEK of kind and writes it into dir.
func newKEKFile(dir string, kind KEKKind) (KEKConfig, error) {
	var r [3]byte
	_, _ = rand.Read(r[:])
	stamp := time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(r[:])
	switch kind {
	case KindSM4:
		secret := make([]byte, crypto.KeySize)
		_, _ = rand.Read(secret)
		defer clear(secret)
		name := "master-" + stamp + ".key"
		if err := writeNew(filepath.Join(dir, name), []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return KEKConfig{}, err
		}
		return KEKConfig{Kind: KindSM4, File: name}, nil
	case KindSM2:
		priv, err := crypto.GenerateSM2Key()
		if err != nil {
			return KEKConfig{}, err
		}
		privPEM, err := priv.MarshalPEM()
		if err != nil {
			return KEKConfig{}, err
		}
		pubPEM, err := priv.Public().MarshalPEM()
		if err != nil {
			return KEKConfig{}, err
		}
		name := "kek-" + stamp + ".pem"
		if err := writeNew(filepath.Join(dir, name), privPEM, 0o600); err != nil {
			return KEKConfig{}, err
		}
		if err := writeNew(filepath.Join(dir, "kek-"+stamp+".pub.pem"), pubPEM, 0o644); err != nil {
			return KEKConfig{}, err
		}
		return KEKConfig{Kind: KindSM2, File: name}, nil
	}
	return KEKConfig{}, fmt.Errorf("%w: KEK kind %q (sm4 or sm2)", crypto.ErrInvalidInput, kind)
}

// writeNew creates name with perm, failing if it exists.
func writeNew(name string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadConfig reads and validates DIR/keyring.json.
func ReadConfig(dir string) (Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("%s: not a key directory (run gmfield keyring init): %w", dir, err)
	}
	if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", keyring.ErrCorrupt, ConfigFile, err)
	}
	if c.Format != FormatV1 {
		return Config{}, fmt.Errorf("%w: %s: format %q, want %q", keyring.ErrCorrupt, ConfigFile, c.Format, FormatV1)
	}
	return c, nil
}

func writeConfig(dir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o600)
}

// Provider returns the provider a KEKConfig names, relative to dir.
func (kc KEKConfig) Provider(dir string) (keyring.Provider, error) {
	file := kc.File
	if file != "" && !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	switch kc.Kind {
	case KindSM4:
		if kc.Env != "" {
			v := os.Getenv(kc.Env)
			if v == "" {
				return nil, fmt.Errorf("%w: %s is not set", crypto.ErrInvalidKey, kc.Env)
			}
			return ParseSM4Hex(v)
		}
		return LoadSM4(file)
	case KindSM2:
		return LoadSM2(file)
	}
	if kc.Kind != KindVaultTransit && kc.Kind != KindVaultKV {
		return nil, fmt.Errorf("%w: %s: KEK kind %q", keyring.ErrCorrupt, ConfigFile, kc.Kind)
	}
	r, err := remote(kc.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	return r.Provider(ctx, kc)
}

// Open opens the key directory dir: its Dir store and its KEK (with the
// previous KEKs as fallbacks while a KEK rotation is unfinished).
//
// Whoever may write dir itself (not only dir/keys) may name another KEK in
// its configuration: Open refuses a directory, or a keyring.json, that
// group or others may write.
func Open(dir string, opts ...keyring.Option) (*keyring.Keyring, error) {
	for _, name := range []string{dir, filepath.Join(dir, ConfigFile)} {
		if fi, err := os.Stat(name); err == nil && fi.Mode().Perm()&0o022 != 0 {
			return nil, fmt.Errorf("%w: %s is writable by group or others (mode %v): whoever may write it may name the KEK", crypto.ErrInvalidKey, name, fi.Mode().Perm())
		}
	}
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	p, err := c.provider(dir)
	if err != nil {
		return nil, err
	}
	store, err := keyring.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	opts = append([]keyring.Option{keyring.WithKEKDescription(c.KEK.Describe(dir))}, opts...)
	return keyring.New(store, p, opts...), nil
}

// Describe names the KEK for messages, relative to the key directory dir:
// its file, environment variable or Vault key; never key material.
func (kc KEKConfig) Describe(dir string) string {
	file := kc.File
	if file != "" && !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	switch {
	case kc.Kind == KindSM4 && kc.Env != "":
		return "SM4 master key in $" + kc.Env
	case kc.Kind == KindSM4:
		return "SM4 master key file " + file
	case kc.Kind == KindSM2:
		return "SM2 key file " + file
	case kc.Kind == KindVaultTransit:
		mount := kc.Mount
		if mount == "" {
			mount = "transit"
		}
		return "Vault Transit key " + mount + "/" + kc.Key
	case kc.Kind == KindVaultKV:
		return "Vault KV master key " + kc.Mount + "/" + kc.Path
	}
	return string(kc.Kind) + " KEK"
}

func (c Config) provider(dir string) (keyring.Provider, error) {
	p, err := c.KEK.Provider(dir)
	if err != nil {
		return nil, err
	}
	for _, prev := range c.Previous {
		pp, err := prev.Provider(dir)
		if err != nil {
			return nil, fmt.Errorf("previous KEK: %w", err)
		}
		p = keyring.Fallback(p, pp)
	}
	return p, nil
}

// RotateKEK rotates the directory's KEK and rewraps every DEK under the
// new one, touching no data, and returns the number of keys rewrapped.
//
// For "sm4" and "sm2" (kind may switch between them; "" keeps the current
// kind) it generates a new KEK file. It is crash-safe: keyring.json names
// the new KEK and lists the old one as previous before any DEK moves, and
// drops the old one only after all have moved. The old key file is left
// for the administrator to destroy once backups are verified.
//
// For "vault-transit" it rotates the Transit key and rewraps inside Vault
// (transit/rewrap); for "vault-kv" it writes a new master key version and
// rewraps under it.
func RotateKEK(ctx context.Context, dir string, kind KEKKind) (int, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return 0, err
	}
	if kind == "" {
		kind = c.KEK.Kind
	}
	local := func(k KEKKind) bool { return k == KindSM4 || k == KindSM2 }
	if !local(c.KEK.Kind) || !local(kind) {
		if kind != c.KEK.Kind {
			return 0, fmt.Errorf("%w: cannot rewrap from %s to %s in place; use keyring.Rewrap with both providers", crypto.ErrInvalidInput, c.KEK.Kind, kind)
		}
		r, err := remote(kind)
		if err != nil {
			return 0, err
		}
		p, err := r.Rotate(ctx, c.KEK)
		if err != nil {
			return 0, err
		}
		store, err := keyring.OpenDir(dir)
		if err != nil {
			return 0, err
		}
		return keyring.New(store, p, keyring.WithKEKDescription(c.KEK.Describe(dir))).Rewrap(ctx, nil)
	}
	old, err := c.provider(dir)
	if err != nil {
		return 0, err
	}
	kc, err := newKEKFile(dir, kind)
	if err != nil {
		return 0, err
	}
	next, err := kc.Provider(dir)
	if err != nil {
		return 0, err
	}
	mid := Config{Format: FormatV1, KEK: kc, Previous: append([]KEKConfig{c.KEK}, c.Previous...)}
	if err := writeConfig(dir, mid); err != nil {
		return 0, err
	}
	store, err := keyring.OpenDir(dir)
	if err != nil {
		return 0, err
	}
	n, err := keyring.New(store, old, keyring.WithKEKDescription(c.KEK.Describe(dir))).Rewrap(ctx, next)
	if err != nil {
		return n, err
	}
	return n, writeConfig(dir, Config{Format: FormatV1, KEK: kc})
}
