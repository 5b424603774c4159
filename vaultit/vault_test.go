// Package vaultit runs the key ring's Vault integration tests against a
// real Vault: Vault's own in-process test cluster, from the last MPL-2.0
// release (v1.13.0), kept in this nested module so that the library
// requires only github.com/hashicorp/vault/api. The server's set-up is
// package devserver's, shared with cmd/devvault (a throwaway Vault for
// trying gmfield, run with go run -C vaultit ./cmd/devvault).
package vaultit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	gmvault "github.com/gmfield/gmfield/keyring/vault"
	"github.com/gmfield/gmfield/vaultit/devserver"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/vault"
	gotesting "github.com/mitchellh/go-testing-interface"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

type env struct {
	cluster *vault.TestCluster
	client  *api.Client
}

// start runs the throwaway Vault of package devserver: one core with
// Transit at transit/, KV v2 at kv2/ and AppRole enabled.
func start(t *testing.T) env {
	t.Helper()
	s, err := devserver.Start(t, devserver.Options{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return env{cluster: s.Cluster, client: s.Client}
}

func dirStore(t *testing.T) *keyring.Dir {
	t.Helper()
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	return d
}

// locOf is the place of the tests' values in keyspace "citizen.COLUMN".
func locOf(keyspace string) crypto.Location {
	col := strings.TrimPrefix(keyspace, "citizen.")
	return crypto.Location{Keyspace: keyspace, Table: "citizen", Column: col}
}

// sealedIn remembers the keyspace each test value was sealed in, so that
// open reads it back from the same place.
var sealedIn sync.Map

func sealWith(t *testing.T, k *keyring.Keyring, keyspace, v string) []byte {
	t.Helper()
	key, err := k.Current(ctx, keyspace)
	require.NoError(t, err)
	ct, err := key.SealText(nil, locOf(keyspace), []byte(v))
	require.NoError(t, err)
	sealedIn.Store(string(ct), keyspace)
	return ct
}

func open(t *testing.T, k *keyring.Keyring, ct []byte) (string, error) {
	t.Helper()
	ks, ok := sealedIn.Load(string(ct))
	require.True(t, ok, "value not sealed by sealWith")
	pt, err := crypto.OpenText(nil, k, locOf(ks.(string)), ct)
	return string(pt), err
}

func TestTransitWrapUnwrap(t *testing.T) {
	e := start(t)
	p := gmvault.NewTransit(e.client, "transit", "gmfield")
	require.NoError(t, p.CreateKey(ctx))
	ad := keyring.AssociatedData("k1", "citizen.phone")
	dek := []byte("0123456789abcdef")
	w, err := p.Encrypt(dek, ad)
	require.NoError(t, err)
	assert.Regexp(t, `^vault:v1:`, string(w))
	assert.Equal(t, "transit:gmfield:v1", p.KEKName(w))
	got, err := p.Decrypt(w, ad)
	require.NoError(t, err)
	assert.Equal(t, dek, got)
	_, err = p.Decrypt(w, keyring.AssociatedData("k2", "citizen.phone"))
	assert.ErrorIs(t, err, crypto.ErrAuthentication)
	_, err = p.Decrypt([]byte("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ad)
	assert.ErrorIs(t, err, crypto.ErrAuthentication)
}

// TestTransitRotateRewrapMinDecryptionVersion: KEK rotation in Vault,
// then transit/rewrap of every stored DEK, touching no data; afterwards
// min_decryption_version can retire the old KEK version.
func TestTransitRotateRewrapMinDecryptionVersion(t *testing.T) {
	e := start(t)
	p := gmvault.NewTransit(e.client, "", "gmfield")
	require.NoError(t, p.CreateKey(ctx))
	store := dirStore(t)
	k := keyring.New(store, p)
	ct := sealWith(t, k, "citizen.phone", "13800138000")
	ct2 := sealWith(t, k, "citizen.id_no", "11010519491231002X")
	before, err := k.List(ctx)
	require.NoError(t, err)
	oldWrapped := before[0].Wrapped

	require.NoError(t, p.Rotate(ctx))
	n, err := k.Rewrap(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	after, err := k.List(ctx)
	require.NoError(t, err)
	for _, r := range after {
		assert.Equal(t, "transit:gmfield:v2", r.KEK)
		assert.Regexp(t, `^vault:v2:`, string(r.Wrapped))
	}

	require.NoError(t, p.SetMinDecryptionVersion(ctx, 2))
	fresh := keyring.New(store, p)
	for want, c := range map[string][]byte{"13800138000": ct, "11010519491231002X": ct2} {
		got, err := open(t, fresh, c)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err = p.Decrypt(oldWrapped, keyring.AssociatedData(before[0].ID, before[0].Keyspace))
	assert.ErrorIs(t, err, gmvault.ErrVersionDisallowed)
}

func TestKVMasterKeyVersions(t *testing.T) {
	e := start(t)
	p := gmvault.NewKV(e.client, "kv2", "gmfield/master")
	_, err := p.Encrypt([]byte("0123456789abcdef"), nil)
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound, "no master key yet")
	v, err := p.Rotate(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, v)

	store := dirStore(t)
	k := keyring.New(store, p)
	ct1 := sealWith(t, k, "citizen.phone", "v1 value")
	v, err = p.Rotate(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	_, err = k.Rotate(ctx, "citizen.phone")
	require.NoError(t, err)
	ct2 := sealWith(t, k, "citizen.phone", "v2 value")

	recs, err := k.List(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "kv:gmfield/master:v1", recs[0].KEK)
	assert.Equal(t, "kv:gmfield/master:v2", recs[1].KEK)

	fresh := keyring.New(store, gmvault.NewKV(e.client, "kv2", "gmfield/master"))
	for want, c := range map[string][]byte{"v1 value": ct1, "v2 value": ct2} {
		got, err := open(t, fresh, c)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestKVStoreAndCryptoShredding(t *testing.T) {
	e := start(t)
	p := gmvault.NewTransit(e.client, "transit", "gmfield")
	require.NoError(t, p.CreateKey(ctx))
	store := gmvault.NewKVStore(e.client, "kv2", "gmfield/keys")
	k := keyring.New(store, p, keyring.WithReserve(2))
	ct := sealWith(t, k, "citizen.phone", "13800138000")
	for range 5 {
		sealWith(t, k, "citizen.phone", "x") // several reservation updates
	}
	kept := sealWith(t, k, "citizen.id_no", "11010519491231002X")
	recs, err := k.List(ctx)
	require.NoError(t, err)
	assert.Len(t, recs, 2)

	// Compare-and-swap on the KV version.
	r, err := store.Get(ctx, recs[0].ID)
	require.NoError(t, err)
	require.NoError(t, store.Update(ctx, r))
	assert.ErrorIs(t, store.Update(ctx, r), keyring.ErrConflict)
	assert.ErrorIs(t, store.Create(ctx, r), keyring.ErrExists)

	env, err := crypto.ParseText(ct)
	require.NoError(t, err)
	require.NoError(t, k.Destroy(ctx, env.KeyID))
	_, err = open(t, keyring.New(store, p), ct)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	got, err := open(t, keyring.New(store, p), kept)
	require.NoError(t, err)
	assert.Equal(t, "11010519491231002X", got)

	// No earlier version of the destroyed record keeps the wrapped key.
	versions, err := e.client.KVv2("kv2").GetVersionsAsList(ctx, "gmfield/keys/"+env.KeyID)
	require.NoError(t, err)
	require.Greater(t, len(versions), 2)
	for _, v := range versions[:len(versions)-1] {
		assert.True(t, v.Destroyed, "version %d still holds key material", v.Version)
	}
}

func TestAppRoleLogin(t *testing.T) {
	e := start(t)
	p := gmvault.NewTransit(e.client, "transit", "gmfield")
	require.NoError(t, p.CreateKey(ctx))
	require.NoError(t, e.client.Sys().PutPolicy("gmfield-app", `
path "transit/encrypt/gmfield" { capabilities = ["update"] }
path "transit/decrypt/gmfield" { capabilities = ["update"] }
`))
	_, err := e.client.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "gmfield-app"})
	require.NoError(t, err)
	rid, err := e.client.Logical().Read("auth/approle/role/app/role-id")
	require.NoError(t, err)
	sid, err := e.client.Logical().Write("auth/approle/role/app/secret-id", nil)
	require.NoError(t, err)

	app, err := e.client.Clone()
	require.NoError(t, err)
	app.ClearToken()
	_, err = gmvault.NewTransit(app, "transit", "gmfield").Encrypt([]byte("0123456789abcdef"), nil)
	assert.Error(t, err, "no token yet")

	require.NoError(t, gmvault.LoginAppRole(ctx, app, "", rid.Data["role_id"].(string), sid.Data["secret_id"].(string)))
	ap := gmvault.NewTransit(app, "transit", "gmfield")
	k := keyring.New(dirStore(t), ap)
	ct := sealWith(t, k, "citizen.phone", "13800138000")
	got, err := open(t, k, ct)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", got)
	assert.Error(t, ap.Rotate(ctx), "the app's policy cannot rotate the KEK")

	err = gmvault.LoginAppRole(ctx, app, "", rid.Data["role_id"].(string), "wrong-secret-id")
	assert.Error(t, err)
}

// TestSealedVault: reads keep working from cached DEKs until their TTL
// ends, then fail with ErrProviderUnavailable; writes that need a new DEK
// fail the same way.
func TestSealedVault(t *testing.T) {
	e := start(t)
	p := gmvault.NewTransit(e.client, "transit", "gmfield")
	require.NoError(t, p.CreateKey(ctx))
	now := time.Now()
	clock := func() time.Time { return now }
	k := keyring.New(dirStore(t), p, keyring.WithTTL(time.Minute), keyring.WithClock(clock))
	ct := sealWith(t, k, "citizen.phone", "13800138000")

	e.cluster.Cores[0].Seal(t)
	_, err := p.Encrypt([]byte("0123456789abcdef"), nil)
	require.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	assert.Contains(t, err.Error(), "503")

	got, err := open(t, k, ct)
	require.NoError(t, err, "cached DEK inside its TTL")
	assert.Equal(t, "13800138000", got)
	_, err = k.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	_, err = k.Current(ctx, "citizen.new")
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)

	now = now.Add(2 * time.Minute)
	_, err = open(t, k, ct)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	_, err = k.Current(ctx, "citizen.phone")
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)

	e.cluster.UnsealCores(t)
	_, err = open(t, k, ct)
	require.NoError(t, err)
}

func TestUnreachableVault(t *testing.T) {
	cfg := api.DefaultConfig()
	cfg.Address = "http://127.0.0.1:1"
	cfg.MaxRetries = 0
	cfg.Timeout = 2 * time.Second
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken("unused")
	start := time.Now()
	_, err = gmvault.NewTransit(c, "transit", "gmfield").Encrypt([]byte("0123456789abcdef"), nil)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	assert.Less(t, time.Since(start), 2*time.Second)
	_, err = gmvault.NewKVStore(c, "kv2", "keys").List(ctx)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
}

func TestNewClientFromEnvironment(t *testing.T) {
	e := start(t)
	t.Setenv("VAULT_ADDR", e.client.Address())
	t.Setenv("VAULT_CACERT", e.cluster.CACertPEMFile)
	t.Setenv("VAULT_TOKEN", e.cluster.RootToken)
	t.Setenv("VAULT_NAMESPACE", "")
	c, err := gmvault.NewClient()
	require.NoError(t, err)
	p := gmvault.NewTransit(c, "transit", "envkey")
	require.NoError(t, p.CreateKey(ctx))
	_, err = p.Encrypt([]byte("0123456789abcdef"), []byte("ad"))
	require.NoError(t, err)
}

// BenchmarkColdUnwrap measures a cache miss through Vault: Transit
// (an HTTPS round trip per unwrap) and KV v2 (the master key is fetched
// once per version, then unwrapping is local).
func BenchmarkColdUnwrap(b *testing.B) {
	// Start takes a testing.T; RuntimeT stands in for one.
	s, err := devserver.Start(&gotesting.RuntimeT{}, devserver.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := s.Client
	tp := gmvault.NewTransit(c, "transit", "gmfield")
	if err := tp.CreateKey(ctx); err != nil {
		b.Fatal(err)
	}
	kvp := gmvault.NewKV(c, "kv2", "gmfield/master")
	if _, err := kvp.Rotate(ctx); err != nil {
		b.Fatal(err)
	}
	for name, p := range map[string]keyring.Provider{"vault-transit": tp, "vault-kv": kvp} {
		d, err := keyring.OpenDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		k, err := keyring.New(d, p).Current(ctx, "citizen.phone")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keyring.New(d, p).Key(k.ID()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
