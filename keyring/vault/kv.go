package vault

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/hashicorp/vault/api"
)

// KV wraps DEKs with an SM4 master key kept in Vault KV v2 as a versioned
// secret (field "key", 32 hex digits). Each wrapped DEK is the 4-byte
// big-endian secret version followed by the crypto.KEK wrapping, so older
// versions still unwrap the DEKs they wrapped after Rotate. The master key
// is read into the process; prefer Transit where the KEK must stay in
// Vault.
type KV struct {
	kv      *api.KVv2
	path    string
	timeout time.Duration

	mu   sync.Mutex
	keks map[int]*crypto.KEK
}

// NewKV returns a provider for the secret at path in the KV v2 engine
// mounted at mount.
func NewKV(c *api.Client, mount, secretPath string) *KV {
	return &KV{kv: c.KVv2(strings.Trim(mount, "/")), path: secretPath, timeout: DefaultTimeout, keks: map[int]*crypto.KEK{}}
}

// Rotate writes a new random master key as a new version of the secret
// and returns the version; Init it this way the first time.
func (p *KV) Rotate(ctx context.Context) (int, error) {
	secret := make([]byte, crypto.KeySize)
	_, _ = rand.Read(secret)
	defer clear(secret)
	s, err := p.kv.Put(ctx, p.path, map[string]any{"key": hex.EncodeToString(secret)})
	if err != nil {
		return 0, classify("write master key", err)
	}
	return s.VersionMetadata.Version, nil
}

// Init writes the first master key version if the secret has none, and
// returns the newest version.
func (p *KV) Init(ctx context.Context) (int, error) {
	_, v, err := p.kek(ctx, 0)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return p.Rotate(ctx)
	}
	return v, err
}

func (p *KV) kek(ctx context.Context, version int) (*crypto.KEK, int, error) {
	p.mu.Lock()
	k := p.keks[version]
	p.mu.Unlock()
	if k != nil {
		return k, version, nil
	}
	var s *api.KVSecret
	var err error
	if version == 0 {
		s, err = p.kv.Get(ctx, p.path)
	} else {
		s, err = p.kv.GetVersion(ctx, p.path, version)
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, 0, fmt.Errorf("vault kv %s v%d: %w", p.path, version, keyring.ErrKeyNotFound)
	}
	if err != nil {
		return nil, 0, classify("read master key", err)
	}
	h, _ := s.Data["key"].(string)
	secret, err := hex.DecodeString(h)
	if err != nil {
		return nil, 0, fmt.Errorf("vault kv %s: %w: field key is not hex", p.path, crypto.ErrInvalidKey)
	}
	defer clear(secret)
	k, err = crypto.NewKEK(secret)
	if err != nil {
		return nil, 0, err
	}
	v := s.VersionMetadata.Version
	p.mu.Lock()
	p.keks[v] = k
	p.mu.Unlock()
	return k, v, nil
}

// Encrypt wraps a DEK under the newest version of the master key.
func (p *KV) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	k, v, err := p.kek(ctx, 0)
	if err != nil {
		return nil, err
	}
	w, err := k.Wrap(plaintext, associatedData)
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(v)), w...), nil
}

// Decrypt unwraps a DEK with the master key version it names.
func (p *KV) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < 5 {
		return nil, fmt.Errorf("%w: wrapped key too short", crypto.ErrMalformed)
	}
	v := int(binary.BigEndian.Uint32(ciphertext))
	if v == 0 {
		return nil, fmt.Errorf("%w: master key version 0", crypto.ErrMalformed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	k, _, err := p.kek(ctx, v)
	if err != nil {
		return nil, err
	}
	return k.Unwrap(ciphertext[4:], associatedData)
}

// KEKName names the secret and version: "kv:PATH:vN".
func (p *KV) KEKName(wrapped []byte) string {
	v := "?"
	if len(wrapped) >= 4 {
		v = strconv.FormatUint(uint64(binary.BigEndian.Uint32(wrapped)), 10)
	}
	return "kv:" + p.path + ":v" + v
}

// KVStore is a keyring.Store in Vault KV v2: one secret per DEK at
// PREFIX/ID, the record as JSON in field "record", the KV version as the
// record's revision (updates use KV v2 check-and-set). When a DEK is
// destroyed, every earlier version of its secret is destroyed too, so no
// copy of the wrapped key survives in KV history.
type KVStore struct {
	c      *api.Client
	mount  string
	kv     *api.KVv2
	prefix string
}

// NewKVStore returns a store under prefix in the KV v2 engine at mount.
func NewKVStore(c *api.Client, mount, prefix string) *KVStore {
	mount = strings.Trim(mount, "/")
	return &KVStore{c: c, mount: mount, kv: c.KVv2(mount), prefix: strings.Trim(prefix, "/")}
}

func (s *KVStore) key(id string) (string, error) {
	if err := crypto.ValidateKeyID(id); err != nil {
		return "", err
	}
	return path.Join(s.prefix, id), nil
}

func (s *KVStore) put(ctx context.Context, r keyring.Record, cas int) (*api.KVSecret, error) {
	p, err := s.key(r.ID)
	if err != nil {
		return nil, err
	}
	r.Rev = 0
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	out, err := s.kv.Put(ctx, p, map[string]any{"record": string(b)}, api.WithCheckAndSet(cas))
	if err != nil && strings.Contains(err.Error(), "check-and-set") {
		if cas == 0 {
			return nil, fmt.Errorf("key %s: %w", r.ID, keyring.ErrExists)
		}
		return nil, fmt.Errorf("key %s: %w", r.ID, keyring.ErrConflict)
	}
	if err != nil {
		return nil, classify("write key record", err)
	}
	return out, nil
}

// Create stores a new record.
func (s *KVStore) Create(ctx context.Context, r keyring.Record) error {
	_, err := s.put(ctx, r, 0)
	return err
}

// Update replaces a record whose KV version still equals r.Rev.
func (s *KVStore) Update(ctx context.Context, r keyring.Record) error {
	if r.Rev == 0 {
		return fmt.Errorf("key %s: %w: no revision", r.ID, keyring.ErrConflict)
	}
	out, err := s.put(ctx, r, int(r.Rev))
	if err != nil {
		return err
	}
	if r.State == keyring.StateDestroyed {
		old := make([]int, 0, out.VersionMetadata.Version-1)
		for v := 1; v < out.VersionMetadata.Version; v++ {
			old = append(old, v)
		}
		p, _ := s.key(r.ID)
		if err := s.kv.Destroy(ctx, p, old); err != nil {
			return classify("destroy old key versions", err)
		}
	}
	return nil
}

// Get returns a record.
func (s *KVStore) Get(ctx context.Context, id string) (keyring.Record, error) {
	p, err := s.key(id)
	if err != nil {
		return keyring.Record{}, fmt.Errorf("key %q: %w", id, keyring.ErrKeyNotFound)
	}
	sec, err := s.kv.Get(ctx, p)
	if errors.Is(err, api.ErrSecretNotFound) {
		return keyring.Record{}, fmt.Errorf("key %s: %w", id, keyring.ErrKeyNotFound)
	}
	if err != nil {
		return keyring.Record{}, classify("read key record", err)
	}
	raw, _ := sec.Data["record"].(string)
	var r keyring.Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return keyring.Record{}, fmt.Errorf("%w: vault record %s", keyring.ErrCorrupt, id)
	}
	r.Rev = uint64(sec.VersionMetadata.Version)
	if err := r.Validate(id); err != nil {
		return keyring.Record{}, err
	}
	return r, nil
}

// List returns every record under the prefix.
func (s *KVStore) List(ctx context.Context) ([]keyring.Record, error) {
	sec, err := s.c.Logical().ListWithContext(ctx, s.mount+"/metadata/"+s.prefix)
	if err != nil {
		return nil, classify("list key records", err)
	}
	if sec == nil || sec.Data == nil {
		return nil, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	var recs []keyring.Record
	for _, k := range keys {
		id, _ := k.(string)
		if strings.HasSuffix(id, "/") {
			continue
		}
		r, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}
