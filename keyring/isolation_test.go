package keyring_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDEKOpensOnlyItsKeyspace is the regression test of issue 9 item 1:
// a value sealed at other.col with the citizen.phone DEK opened through the
// key ring. The reader now refuses the DEK before decrypting.
func TestDEKOpensOnlyItsKeyspace(t *testing.T) {
	r, _ := newRing(t, sm4Provider(t, 1))
	phone, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, "citizen.phone", phone.Keyspace())

	// A caller holding the citizen.phone DEK cannot seal for other.col...
	other := crypto.Location{Keyspace: "other.col", Table: "other", Column: "col"}
	_, err = phone.SealText(nil, other, []byte("x"))
	assert.ErrorIs(t, err, crypto.ErrKeyMismatch)

	// ...and a forger who leaked its bytes and sealed a value for other.col
	// under its id is refused by the reader.
	text, err := phone.SealText(nil, locOf("citizen.phone"), []byte("13800138000"))
	require.NoError(t, err)
	_, err = crypto.OpenText(nil, r, crypto.Location{Keyspace: "other.col", Table: "citizen", Column: "phone"}, text)
	assert.ErrorIs(t, err, crypto.ErrKeyMismatch)
	_, err = crypto.OpenText(nil, r, crypto.Location{Keyspace: "tenant/a/citizen.phone", Table: "citizen", Column: "phone"}, text)
	assert.ErrorIs(t, err, crypto.ErrKeyMismatch)
	pt, err := crypto.OpenText(nil, r, locOf("citizen.phone"), text)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(pt))
}

// TestReservedAndUnsafeIDs covers issue 9 item 3: index-root could be named
// by an envelope, "." and ".." became file names, ids differing only in
// case collided on case-insensitive file systems.
func TestReservedAndUnsafeIDs(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	_, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	for _, id := range []string{"index-root", "index-root-" + strings.Repeat("0", 32), ".", "..", ".lock", "K1", "a/b", "../x"} {
		_, err := r.KeyContext(ctx, id)
		assert.ErrorIs(t, err, keyring.ErrKeyNotFound, "%q", id)
	}
	for _, id := range []string{".", "..", ".tmp-x", "K1", "Abc", "a:b", "a/b", "../x", ""} {
		err := d.Create(ctx, keyring.Record{ID: id, Keyspace: "citizen.phone", State: keyring.StateActive, Created: time.Now(), Wrapped: []byte{1}})
		assert.Error(t, err, "Create(%q)", id)
		assert.True(t, errors.Is(err, crypto.ErrInvalidKey), "Create(%q): %v", id, err)
	}
	// The index root's record is not a DEK, and a DEK record cannot
	// claim a reserved keyspace.
	rec, err := d.Get(ctx, keyring.IndexRootID)
	require.NoError(t, err)
	assert.Equal(t, keyring.IndexRootKeyspace, rec.Keyspace)
	planted := filepath.Join(d.Path(), "keys", "k1.json")
	rec.ID = "k1"
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(planted, b, 0o600))
	_, err = r.KeyContext(ctx, "k1")
	assert.ErrorIs(t, err, keyring.ErrCorrupt)
	// A record file whose id is not its name is corrupt.
	require.NoError(t, os.WriteFile(planted, []byte(strings.Replace(string(b), `"k1"`, `"k2"`, 1)), 0o600))
	_, err = r.KeyContext(ctx, "k1")
	assert.ErrorIs(t, err, keyring.ErrCorrupt)
	// And a root id with a DEK keyspace.
	rootish := keyring.Record{ID: keyring.IndexRootID, Keyspace: "citizen.phone", State: keyring.StateActive, Created: time.Now(), Wrapped: []byte{1}, Rev: 1}
	assert.ErrorIs(t, rootish.Validate(keyring.IndexRootID), keyring.ErrCorrupt)
}

// TestPlantedSM2RecordStaysInItsKeyspace covers issue 9 item 4: anyone with
// the SM2 public key can create a record for any id. Readers refuse a
// record that is not the one asked for, and a planted DEK opens only
// values of the keyspace its record names.
func TestPlantedSM2RecordStaysInItsKeyspace(t *testing.T) {
	priv, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	pubOnly, err := local.NewSM2Public(priv.Public())
	require.NoError(t, err)
	full, err := local.NewSM2(priv)
	require.NoError(t, err)
	writer, d := newRing(t, pubOnly)
	// The write-only service plants a DEK for the keyspace it writes.
	planted, err := writer.Current(ctx, "audit_log.note")
	require.NoError(t, err)
	// It seals a value for citizen.phone under the planted DEK's id,
	// binding citizen.phone in the AAD.
	forger, err := crypto.NewKey(planted.ID(), "citizen.phone", crypto.SM4GCM, dekOf(t, d, full, planted.ID()))
	require.NoError(t, err)
	forged, err := forger.SealText(nil, locOf("citizen.phone"), []byte("13800000000"))
	require.NoError(t, err)
	reader := keyring.New(d, full)
	_, err = crypto.OpenText(nil, reader, locOf("citizen.phone"), forged)
	assert.ErrorIs(t, err, crypto.ErrKeyMismatch, "a planted DEK is limited to the keyspace its record names")
}

// dekOf unwraps a stored DEK (what an attacker holding the wrapping
// inputs knows).
func dekOf(t *testing.T, d *keyring.Dir, p keyring.Provider, id string) []byte {
	t.Helper()
	rec, err := d.Get(ctx, id)
	require.NoError(t, err)
	dek, err := p.Decrypt(rec.Wrapped, keyring.AssociatedData(rec.ID, rec.Keyspace))
	require.NoError(t, err)
	return dek
}

// TestTenantIndexRoots covers issue 9 item 7: blind indexes survived
// crypto-shredding and linked tenants. Each tenant keyspace has its own
// root, destroyed with its last DEK; a reborn keyspace gets a new one.
func TestTenantIndexRoots(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	deploy, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull}
	sum := func(root *crypto.IndexRoot) string {
		ix, err := root.Index(spec)
		require.NoError(t, err)
		out, err := ix.SumHex(nil, []byte("13800138000"))
		require.NoError(t, err)
		return string(out)
	}
	acmeKS, globexKS := "tenant/acme/citizen.phone", "tenant/globex/citizen.phone"
	_, err = r.Current(ctx, acmeKS)
	require.NoError(t, err)
	_, err = r.Current(ctx, globexKS)
	require.NoError(t, err)
	acme, err := r.IndexRootFor(ctx, acmeKS)
	require.NoError(t, err)
	globex, err := r.IndexRootFor(ctx, globexKS)
	require.NoError(t, err)
	assert.NotEqual(t, sum(acme), sum(globex), "the same phone is unlinkable across tenants")
	assert.NotEqual(t, sum(acme), sum(deploy))
	col, err := r.IndexRootFor(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, sum(deploy), sum(col), "column keyspaces use the deployment root")
	// Another process computes the same indexes.
	r2 := keyring.New(d, sm4Provider(t, 1))
	acme2, err := r2.IndexRootFor(ctx, acmeKS)
	require.NoError(t, err)
	assert.Equal(t, sum(acme), sum(acme2))

	// Rotation keeps the root; destroying one of two DEKs keeps it.
	old, err := r.Current(ctx, acmeKS)
	require.NoError(t, err)
	_, err = r.Rotate(ctx, acmeKS)
	require.NoError(t, err)
	require.NoError(t, r.Destroy(ctx, old.ID()))
	still, err := keyring.New(d, sm4Provider(t, 1)).IndexRootFor(ctx, acmeKS)
	require.NoError(t, err)
	assert.Equal(t, sum(acme), sum(still))

	// Destroying the last DEK destroys the root: the tenant's rows can no
	// longer be found.
	cur, err := r.Current(ctx, acmeKS)
	require.NoError(t, err)
	require.NoError(t, r.Destroy(ctx, cur.ID()))
	_, err = r.IndexRootFor(ctx, acmeKS)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	_, err = keyring.New(d, sm4Provider(t, 1)).IndexRootFor(ctx, acmeKS)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	// Reborn: a new DEK brings a new root, under which old indexes never match.
	_, err = r.Current(ctx, acmeKS)
	require.NoError(t, err)
	reborn, err := r.IndexRootFor(ctx, acmeKS)
	require.NoError(t, err)
	assert.NotEqual(t, sum(acme), sum(reborn))

	// DestroyTenant shreds every keyspace of one tenant, roots included.
	_, err = r.Current(ctx, "tenant/globex/citizen.id_no")
	require.NoError(t, err)
	ids, err := r.DestroyTenant(ctx, "globex")
	require.NoError(t, err)
	assert.Len(t, ids, 4, "two DEKs and two roots: %v", ids)
	for _, ks := range []string{globexKS, "tenant/globex/citizen.id_no"} {
		_, err = r.IndexRootFor(ctx, ks)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed, ks)
	}
	_, err = r.IndexRootFor(ctx, acmeKS)
	require.NoError(t, err, "other tenants are untouched")
}

// gatedStore blocks Get until released (or its context ends, as a SQL
// store's would), to make concurrent loads overlap.
type gatedStore struct {
	keyring.Store
	gate chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, id string) (keyring.Record, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return keyring.Record{}, ctx.Err()
	}
	return g.Store.Get(ctx, id)
}

// TestCancelledWaiterDoesNotFailOthers: the shared unwrap ran with the
// first caller's context, so one cancelled request failed every waiter.
func TestCancelledWaiterDoesNotFailOthers(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	ct := seal(t, r, "citizen.phone", "13800138000")
	e, err := crypto.ParseText(ct)
	require.NoError(t, err)
	g := &gatedStore{Store: d, gate: make(chan struct{})}
	fresh := keyring.New(g, sm4Provider(t, 1))
	first, cancel := context.WithCancel(ctx)
	errs := make(chan error, 2)
	go func() { _, err := fresh.KeyContext(first, e.KeyID); errs <- err }()
	time.Sleep(20 * time.Millisecond) // the first caller leads the load
	go func() { _, err := fresh.KeyContext(ctx, e.KeyID); errs <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-errs, context.Canceled, "the cancelled caller returns at once")
	close(g.gate)
	require.NoError(t, <-errs, "the other caller still gets the key")
}

// existsStore answers every Create with ErrExists and every Get with
// ErrKeyNotFound: a store that would have made IndexRoot recurse for ever.
type existsStore struct{ keyring.Store }

func (existsStore) Create(context.Context, keyring.Record) error { return keyring.ErrExists }
func (existsStore) Get(context.Context, string) (keyring.Record, error) {
	return keyring.Record{}, keyring.ErrKeyNotFound
}

func TestIndexRootRetryIsBounded(t *testing.T) {
	_, d := newRing(t, sm4Provider(t, 1))
	r := keyring.New(existsStore{d}, sm4Provider(t, 1))
	_, err := r.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrConflict)
	_, err = r.IndexRootFor(ctx, "tenant/a/t.c")
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound, "a read never creates a tenant root")
}
