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
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
)

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

// KEKConfig names a local KEK: kind "sm4" (a hex master key in File, or in
// the environment variable Env) or "sm2" (a PEM key in File: the private
// key to read and write, or the public key to write only). A relative File
// is relative to the key directory.
type KEKConfig struct {
	Kind string `json:"kind"`
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
}

// Init creates a key directory with a fresh KEK of kind "sm4" or "sm2",
// written into the directory with mode 0600 (move it elsewhere and edit
// keyring.json, or use Env, to keep it apart from the wrapped keys), and
// the blind-index root key. It refuses a directory that is already
// initialized.
func Init(ctx context.Context, dir, kind string) (*keyring.Keyring, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), keyring.ErrExists)
	}
	if _, err := keyring.OpenDir(dir); err != nil {
		return nil, err
	}
	kc, err := newKEKFile(dir, kind)
	if err != nil {
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
func newKEKFile(dir, kind string) (KEKConfig, error) {
	var r [3]byte
	_, _ = rand.Read(r[:])
	stamp := time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(r[:])
	switch kind {
	case "sm4":
		secret := make([]byte, crypto.KeySize)
		_, _ = rand.Read(secret)
		defer clear(secret)
		name := "master-" + stamp + ".key"
		if err := writeNew(filepath.Join(dir, name), []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return KEKConfig{}, err
		}
		return KEKConfig{Kind: "sm4", File: name}, nil
	case "sm2":
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
		return KEKConfig{Kind: "sm2", File: name}, nil
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
	tmp := filepath.Join(dir, ".tmp-"+ConfigFile)
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, ConfigFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Provider returns the provider a KEKConfig names, relative to dir.
func (kc KEKConfig) Provider(dir string) (keyring.Provider, error) {
	file := kc.File
	if file != "" && !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	switch kc.Kind {
	case "sm4":
		if kc.Env != "" {
			v := os.Getenv(kc.Env)
			if v == "" {
				return nil, fmt.Errorf("%w: %s is not set", crypto.ErrInvalidKey, kc.Env)
			}
			return ParseSM4Hex(v)
		}
		return LoadSM4(file)
	case "sm2":
		return LoadSM2(file)
	}
	return nil, fmt.Errorf("%w: %s: KEK kind %q", keyring.ErrCorrupt, ConfigFile, kc.Kind)
}

// Open opens the key directory dir: its Dir store and its KEK (with the
// previous KEKs as fallbacks while a KEK rotation is unfinished).
func Open(dir string, opts ...keyring.Option) (*keyring.Keyring, error) {
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
	return keyring.New(store, p, opts...), nil
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

// RotateKEK generates a new local KEK of kind ("sm4" or "sm2"; "" keeps
// the current kind), rewraps every DEK under it, and makes it the
// directory's KEK. It is crash-safe: keyring.json names the new KEK and
// lists the old one as previous before any DEK moves, and drops the old
// one only after all have moved. The old key file is left in place for
// the administrator to destroy once backups are verified. It returns the
// number of keys rewrapped.
func RotateKEK(ctx context.Context, dir, kind string) (int, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return 0, err
	}
	if kind == "" {
		kind = c.KEK.Kind
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
	n, err := keyring.New(store, old).Rewrap(ctx, next)
	if err != nil {
		return n, err
	}
	return n, writeConfig(dir, Config{Format: FormatV1, KEK: kc})
}
