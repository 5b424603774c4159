package keyring_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sm2Pair(t *testing.T) (full, pubOnly *local.SM2) {
	t.Helper()
	priv, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	full, err = local.NewSM2(priv)
	require.NoError(t, err)
	pubOnly, err = local.NewSM2Public(priv.Public())
	require.NoError(t, err)
	return full, pubOnly
}

// TestPlantedActiveDEKIsNotSealedUnder: under SM2 anyone with the public
// key can store an active DEK whose bytes they know. A private-key holder
// used to adopt it and seal every new value under it; now it seals only
// under DEKs it signed, and still opens what the writer wrote.
func TestPlantedActiveDEKIsNotSealedUnder(t *testing.T) {
	full, pubOnly := sm2Pair(t)
	writer, d := newRing(t, pubOnly)
	written := seal(t, writer, "citizen.phone", "13800138000")
	plantedID := mustEnvelope(t, written).KeyID
	rec, err := d.Get(ctx, plantedID)
	require.NoError(t, err)
	assert.Empty(t, rec.Sig, "a public-key holder cannot sign")
	assert.Equal(t, keyring.StateActive, rec.State)

	reader := keyring.New(d, full)
	key, err := reader.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.NotEqual(t, plantedID, key.ID(), "the unsigned DEK is not sealed under")
	signed, err := d.Get(ctx, key.ID())
	require.NoError(t, err)
	assert.True(t, full.VerifyRecord(keyring.RecordMessage(signed.ID, signed.Keyspace, signed.Wrapped), signed.Sig))
	rec, err = d.Get(ctx, plantedID)
	require.NoError(t, err)
	assert.Equal(t, keyring.StateActive, rec.State, "the writer's DEK is left to the writer")

	pt, err := crypto.OpenText(nil, reader, locOf("citizen.phone"), written)
	require.NoError(t, err, "values the writer sealed still open")
	assert.Equal(t, "13800138000", string(pt))

	// A forged signature (copied from another record) does not help.
	rec.Sig = signed.Sig
	require.NoError(t, d.Update(ctx, rec))
	fresh := keyring.New(d, full)
	key2, err := fresh.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, key.ID(), key2.ID())
}

// TestWriterChurnRetiresOnlyUnsignedDEKs: a write-only process that cannot
// unwrap the reader's DEK makes its own, retiring only the unsigned ones
// of earlier writers, never the reader's.
func TestWriterChurnRetiresOnlyUnsignedDEKs(t *testing.T) {
	full, pubOnly := sm2Pair(t)
	reader, d := newRing(t, full)
	rkey, err := reader.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	w1 := keyring.New(d, pubOnly)
	k1, err := w1.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	w2 := keyring.New(d, pubOnly)
	k2, err := w2.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	states := map[string]keyring.State{}
	recs, err := d.List(ctx)
	require.NoError(t, err)
	for _, r := range recs {
		states[r.ID] = r.State
	}
	assert.Equal(t, keyring.StateActive, states[rkey.ID()])
	assert.Equal(t, keyring.StateDecryptOnly, states[k1.ID()])
	assert.Equal(t, keyring.StateActive, states[k2.ID()])
}

// TestPlantedRootIsIgnored: a public-key holder cannot make a blind-index
// root, and a root record it plants is passed over by private-key
// holders, who make a signed one of the next generation.
func TestPlantedRootIsIgnored(t *testing.T) {
	full, pubOnly := sm2Pair(t)
	writer, d := newRing(t, pubOnly)
	_, err := writer.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrCannotUnwrap)
	recs, err := d.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing was stored")

	// Plant generation 1 by hand: wrapped with the public key, unsigned.
	plantedSecret := make([]byte, crypto.IndexRootSize)
	wrapped, err := pubOnly.Encrypt(plantedSecret, keyring.AssociatedData(keyring.IndexRootID, keyring.IndexRootKeyspace))
	require.NoError(t, err)
	require.NoError(t, d.Create(ctx, keyring.Record{ID: keyring.IndexRootID, Keyspace: keyring.IndexRootKeyspace, State: keyring.StateActive,
		Created: time.Now().UTC(), KEK: "sm2:x", Wrapped: wrapped}))
	planted, err := crypto.NewIndexRoot(plantedSecret)
	require.NoError(t, err)

	reader := keyring.New(d, full)
	_, err = reader.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound, "an untrusted root is not a root, and the first-use creation does not apply")
	id, err := reader.RenewIndexRoot(ctx)
	require.NoError(t, err)
	assert.Equal(t, keyring.IndexRootID+".2", id)
	root, err := reader.IndexRoot(ctx)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull}
	assert.NotEqual(t, indexOf(t, planted, spec, "13800138000"), indexOf(t, root, spec, "13800138000"))

	// Tenant roots: the writer's first DEK of a tenant keyspace makes no
	// root; the reader's first signed DEK does.
	_, err = writer.Current(ctx, "tenant/a/citizen.phone")
	require.NoError(t, err)
	_, err = reader.IndexRootFor(ctx, "tenant/a/citizen.phone")
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound)
	_, err = reader.Current(ctx, "tenant/a/citizen.phone")
	require.NoError(t, err)
	_, err = reader.IndexRootFor(ctx, "tenant/a/citizen.phone")
	require.NoError(t, err)
}

func indexOf(t *testing.T, root *crypto.IndexRoot, spec crypto.IndexSpec, v string) string {
	t.Helper()
	ix, err := root.Index(spec)
	require.NoError(t, err)
	s, err := ix.SumHex(nil, []byte(v))
	require.NoError(t, err)
	return string(s)
}

// TestRewrapDoesNotLaunderPlantedRecords: rewrapping under SM2 signs only
// the records that were trusted before it.
func TestRewrapDoesNotLaunderPlantedRecords(t *testing.T) {
	full, pubOnly := sm2Pair(t)
	writer, d := newRing(t, pubOnly)
	plantedID := mustEnvelope(t, seal(t, writer, "citizen.phone", "1")).KeyID
	reader := keyring.New(d, full)
	genuine, err := reader.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	full2, _ := sm2Pair(t)
	_, err = reader.Rewrap(ctx, full2)
	require.NoError(t, err)
	for id, want := range map[string]bool{plantedID: false, genuine.ID(): true} {
		rec, err := d.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, full2.VerifyRecord(keyring.RecordMessage(rec.ID, rec.Keyspace, rec.Wrapped), rec.Sig), id)
	}
	after := keyring.New(d, full2)
	key, err := after.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, genuine.ID(), key.ID())
}

// TestSM4RecordsNeedNoSignature: providers whose wrapping authenticates
// (SM4, Vault, Tink) store no signature and trust what unwraps.
func TestSM4RecordsNeedNoSignature(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	k, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	rec, err := d.Get(ctx, k.ID())
	require.NoError(t, err)
	assert.Empty(t, rec.Sig)
	k2, err := keyring.New(d, sm4Provider(t, 1)).Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, k.ID(), k2.ID())
}

// afterReadStore reads a record, then waits at the gate before returning
// it: a load that read a record just before a destruction.
type afterReadStore struct {
	keyring.Store
	id   string
	once sync.Once
	read chan struct{}
	gate chan struct{}
}

func (s *afterReadStore) Get(ctx context.Context, id string) (keyring.Record, error) {
	rec, err := s.Store.Get(ctx, id)
	if id == s.id {
		first := false
		s.once.Do(func() { first = true })
		if first {
			close(s.read)
			<-s.gate
		}
	}
	return rec, err
}

// TestDestroyDuringLoadIsNotCached: a load that read a DEK before Destroy
// and finished after it cached the destroyed DEK for a whole TTL.
func TestDestroyDuringLoadIsNotCached(t *testing.T) {
	w, d := newRing(t, sm4Provider(t, 1))
	id := mustEnvelope(t, seal(t, w, "citizen.phone", "13800138000")).KeyID
	s := &afterReadStore{Store: d, id: id, read: make(chan struct{}), gate: make(chan struct{})}
	r := keyring.New(s, sm4Provider(t, 1))
	done := make(chan error, 1)
	go func() { _, err := r.KeyContext(ctx, id); done <- err }()
	<-s.read
	require.NoError(t, r.Destroy(ctx, id))
	close(s.gate)
	require.NoError(t, <-done, "the load that started before the destruction returns what it read")
	_, err := r.KeyContext(ctx, id)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed, "but it is not cached")
}

// TestDestroyDuringRootLoadIsNotCached: the same race for a tenant
// keyspace's blind-index root.
func TestDestroyDuringRootLoadIsNotCached(t *testing.T) {
	w, d := newRing(t, sm4Provider(t, 1))
	ks := "tenant/a/citizen.phone"
	id := mustEnvelope(t, seal(t, w, ks, "13800138000")).KeyID
	recs, err := d.List(ctx)
	require.NoError(t, err)
	var rootRec string
	for _, rec := range recs {
		if strings.HasPrefix(rec.ID, "index-root-") {
			rootRec = rec.ID
		}
	}
	require.NotEmpty(t, rootRec)
	s := &afterReadStore{Store: d, id: rootRec, read: make(chan struct{}), gate: make(chan struct{})}
	r := keyring.New(s, sm4Provider(t, 1))
	done := make(chan error, 1)
	go func() { _, err := r.IndexRootFor(ctx, ks); done <- err }()
	<-s.read
	require.NoError(t, r.Destroy(ctx, id)) // the last DEK: the root goes with it
	close(s.gate)
	require.NoError(t, <-done)
	_, err = r.IndexRootFor(ctx, ks)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
}

// destroyOnCreate runs hook before storing the first DEK record it is
// given: another process shredding the keyspace between the new DEK's
// root check and its store.
type destroyOnCreate struct {
	keyring.Store
	once sync.Once
	hook func()
}

func (s *destroyOnCreate) Create(ctx context.Context, r keyring.Record) error {
	if !strings.HasPrefix(r.ID, "index-root") {
		s.once.Do(s.hook)
	}
	return s.Store.Create(ctx, r)
}

// TestNewDEKRacingShreddingGetsARoot: a DEK stored just after another
// process destroyed the keyspace's last DEK and its root was left without
// a root, and every index written under it failed.
func TestNewDEKRacingShreddingGetsARoot(t *testing.T) {
	other, d := newRing(t, sm4Provider(t, 1))
	ks := "tenant/a/citizen.phone"
	old := mustEnvelope(t, seal(t, other, ks, "1")).KeyID
	s := &destroyOnCreate{Store: d, hook: func() { require.NoError(t, other.Destroy(ctx, old)) }}
	r := keyring.New(s, sm4Provider(t, 1))
	_, err := r.Rotate(ctx, ks)
	require.NoError(t, err)
	_, err = r.IndexRootFor(ctx, ks)
	require.NoError(t, err, "the new DEK's keyspace has a live root")
	_, err = other.IndexRootFor(ctx, ks)
	require.NoError(t, err)
}

// TestDeploymentRootLifecycle: a destroyed deployment root is no longer
// silently recreated by the next read; it reaches running processes
// within their TTL, and only RenewIndexRoot starts a new generation.
func TestDeploymentRootLifecycle(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, d := newRing(t, sm4Provider(t, 1))
	first, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	running := keyring.New(d, sm4Provider(t, 1), keyring.WithClock(clock), keyring.WithTTL(time.Minute))
	_, err = running.IndexRoot(ctx)
	require.NoError(t, err)

	_, err = r.RenewIndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrExists, "a live root is not renewed")
	require.NoError(t, r.Destroy(ctx, keyring.IndexRootID))
	_, err = r.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	_, err = keyring.New(d, sm4Provider(t, 1)).IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed, "not recreated on first use")
	_, err = running.IndexRoot(ctx)
	require.NoError(t, err, "cached within the TTL")
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	_, err = running.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed, "gone after the TTL")
	_, err = r.Current(ctx, "citizen.phone")
	require.NoError(t, err, "values can still be sealed")

	id, err := r.RenewIndexRoot(ctx)
	require.NoError(t, err)
	assert.Equal(t, "index-root.2", id)
	second, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "t", Column: "c", Transform: crypto.TransformFull}
	assert.NotEqual(t, indexOf(t, first, spec, "x"), indexOf(t, second, spec, "x"))
	// Destroying by the id of any generation destroys them all.
	require.NoError(t, r.Destroy(ctx, keyring.IndexRootID))
	_, err = r.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
}

func TestRecordIDGenerations(t *testing.T) {
	h := strings.Repeat("0", 32)
	for id, ok := range map[string]bool{
		"index-root": true, "index-root.2": true, "index-root.1000": true,
		"index-root.1": false, "index-root.02": false, "index-root.x": false, "index-root.": false, "index-root.1001": false,
		"index-root-" + h: true, "index-root-" + h + ".3": true, "index-root-" + h + ".1": false,
		"k1": true, "index-rootx": false,
	} {
		assert.Equal(t, ok, keyring.ValidateRecordID(id) == nil, id)
	}
}

func mustEnvelope(t *testing.T, text []byte) crypto.Envelope {
	t.Helper()
	e, err := crypto.ParseText(text)
	require.NoError(t, err)
	return e
}

// TestRewrapToSM4KeepsUnsignedRecordsOpenOnly: moving an SM2 store to a KEK
// that does not sign used to rewrap planted records (and every DEK of a
// write-only service) as ordinary ones, which the new KEK then vouched
// for: readers sealed under a DEK, and indexed under a root, that the
// public-key holder knew.
func TestRewrapToSM4KeepsUnsignedRecordsOpenOnly(t *testing.T) {
	full, pubOnly := sm2Pair(t)
	reader, d := newRing(t, full)
	genuine, err := reader.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	first, err := reader.IndexRoot(ctx)
	require.NoError(t, err)
	writer := keyring.New(d, pubOnly)
	written := seal(t, writer, "citizen.phone", "13800138000")
	// A planted generation 2 of the deployment root, wrapped with the
	// public key: the attacker knows its bytes.
	known := make([]byte, crypto.IndexRootSize)
	wrapped, err := pubOnly.Encrypt(known, keyring.AssociatedData(keyring.IndexRootID+".2", keyring.IndexRootKeyspace))
	require.NoError(t, err)
	require.NoError(t, d.Create(ctx, keyring.Record{ID: keyring.IndexRootID + ".2", Keyspace: keyring.IndexRootKeyspace,
		State: keyring.StateActive, Created: time.Now().UTC(), KEK: "sm2:x", Wrapped: wrapped}))

	sm4 := sm4Provider(t, 7)
	_, err = reader.Rewrap(ctx, sm4)
	require.NoError(t, err)
	after := keyring.New(d, sm4)
	key, err := after.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, genuine.ID(), key.ID(), "the writer's DEK does not become the one sealed under")
	root, err := after.IndexRoot(ctx)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "t", Column: "c", Transform: crypto.TransformFull}
	assert.Equal(t, indexOf(t, first, spec, "x"), indexOf(t, root, spec, "x"), "the planted root is not adopted")
	pt, err := crypto.OpenText(nil, after, locOf("citizen.phone"), written)
	require.NoError(t, err, "what the writer wrote still opens")
	assert.Equal(t, "13800138000", string(pt))
	// Even set active by someone who may write the store, the open-only
	// record is not sealed under: the KEK binds it as open-only.
	wid := mustEnvelope(t, written).KeyID
	rec, err := d.Get(ctx, wid)
	require.NoError(t, err)
	rec.Created = time.Now().Add(time.Hour).UTC()
	require.NoError(t, d.Update(ctx, rec))
	_, err = keyring.New(d, sm4).Rotate(ctx, "other.col")
	require.NoError(t, err)
	key, err = keyring.New(d, sm4).Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.NotEqual(t, wid, key.ID())
}

// listHook runs hook once, on the first List.
type listHook struct {
	keyring.Store
	once sync.Once
	hook func()
}

func (s *listHook) List(ctx context.Context) ([]keyring.Record, error) {
	s.once.Do(s.hook)
	return s.Store.List(ctx)
}

// TestShreddingRacingANewDEKStillEndsTheRoot: another process's new DEK,
// made between the destruction of a tenant keyspace's last DEK and the
// check for what is left, kept the shredded keyspace's root alive, and its
// rows stayed findable.
func TestShreddingRacingANewDEKStillEndsTheRoot(t *testing.T) {
	other, d := newRing(t, sm4Provider(t, 1))
	ks := "tenant/a/citizen.phone"
	old := mustEnvelope(t, seal(t, other, ks, "1")).KeyID
	before, err := other.IndexRootFor(ctx, ks)
	require.NoError(t, err)
	fresh := keyring.New(d, sm4Provider(t, 1))
	destroyer := keyring.New(&listHook{Store: d, hook: func() {
		_, err := fresh.Rotate(ctx, ks)
		require.NoError(t, err)
	}}, sm4Provider(t, 1))
	require.NoError(t, destroyer.Destroy(ctx, old))
	now, err := keyring.New(d, sm4Provider(t, 1)).IndexRootFor(ctx, ks)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull}
	assert.NotEqual(t, indexOf(t, before, spec, "13800138000"), indexOf(t, now, spec, "13800138000"))
}

// TestReservationsDoNotExtendTheTTL: each reservation re-armed the cached
// DEK for a full TTL without unwrapping it again, so a busy process used
// it for ever, even with the provider down (a revoked KEK went unnoticed).
func TestReservationsDoNotExtendTheTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := &flaky{Provider: sm4Provider(t, 1)}
	r, _ := newRing(t, f, keyring.WithClock(clock), keyring.WithTTL(time.Minute), keyring.WithReserve(1))
	ct := seal(t, r, "citizen.phone", "x")
	for range 5 {
		mu.Lock()
		now = now.Add(30 * time.Second)
		mu.Unlock()
		_, err := r.Current(ctx, "citizen.phone")
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, f.decrypts.Load(), int64(2), "the provider unwrapped the DEK again after each TTL")
	// The last unwrap was at 2 minutes; at 3 minutes 15 the DEK is past
	// its TTL however many reservations were made since.
	mu.Lock()
	now = now.Add(45 * time.Second)
	mu.Unlock()
	f.down.Store(true)
	_, err := r.Current(ctx, "citizen.phone")
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	_, err = crypto.OpenText(nil, r, locOf("citizen.phone"), ct)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
}

// gatedProvider blocks Decrypt until the gate opens.
type gatedProvider struct {
	keyring.Provider
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gatedProvider) Decrypt(c, ad []byte) ([]byte, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.gate
	}
	return g.Provider.Decrypt(c, ad)
}

// TestReadAfterDestroyDoesNotJoinAnEarlierLoad: a read that started after
// Destroy returned joined a load begun before it and got the destroyed
// key.
func TestReadAfterDestroyDoesNotJoinAnEarlierLoad(t *testing.T) {
	w, d := newRing(t, sm4Provider(t, 1))
	id := mustEnvelope(t, seal(t, w, "citizen.phone", "x")).KeyID
	g := &gatedProvider{Provider: sm4Provider(t, 1), entered: make(chan struct{}), gate: make(chan struct{})}
	r := keyring.New(d, g)
	go func() { _, _ = r.KeyContext(ctx, id) }()
	<-g.entered
	require.NoError(t, r.Destroy(ctx, id))
	done := make(chan error, 1)
	go func() { _, err := r.KeyContext(ctx, id); done <- err }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	case <-time.After(5 * time.Second):
		t.Fatal("the read joined the load that began before the destruction")
	}
	close(g.gate)
}

// TestSealCounterNeverGoesBack: a store whose seal counter was set back
// (by someone who may write it) let a DEK seal past its limit.
func TestSealCounterNeverGoesBack(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1), keyring.WithMaxSeals(4), keyring.WithReserve(1))
	first, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	ids := map[string]int{}
	for range 12 {
		k, err := r.Current(ctx, "citizen.phone")
		require.NoError(t, err)
		ids[k.ID()]++
		rec, err := d.Get(ctx, first.ID())
		require.NoError(t, err)
		if rec.State == keyring.StateActive && rec.Seals > 0 {
			rec.Seals = 0
			require.NoError(t, d.Update(ctx, rec))
		}
	}
	assert.LessOrEqual(t, ids[first.ID()], 3, "the first DEK sealed at most its 4 (one before the loop)")
}

// TestDestroyTenantFindsEveryGeneration: a missing generation file hid the
// live generations after it from DestroyTenant.
func TestDestroyTenantFindsEveryGeneration(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	ks := "tenant/acme/citizen.phone"
	id := mustEnvelope(t, seal(t, r, ks, "1")).KeyID
	require.NoError(t, r.Destroy(ctx, id)) // generation 1 destroyed
	_ = seal(t, r, ks, "2")                // generation 2
	recs, err := d.List(ctx)
	require.NoError(t, err)
	var gen1 string
	for _, rec := range recs {
		if strings.HasPrefix(rec.ID, "index-root-") && !strings.Contains(rec.ID, ".") {
			gen1 = rec.ID
		}
	}
	require.NotEmpty(t, gen1)
	file := filepath.Join(d.Path(), "keys", gen1+".json")
	saved, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.Remove(file))
	_, err = r.DestroyTenant(ctx, "acme")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, saved, 0o600))
	_, err = keyring.New(d, sm4Provider(t, 1)).IndexRootFor(ctx, ks)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
}

// TestStoresRefuseRecordsThatWouldNotReadBack: a record the store would
// read back as corrupt made every List (and so every Current) fail.
func TestStoresRefuseRecordsThatWouldNotReadBack(t *testing.T) {
	_, d := newRing(t, sm4Provider(t, 1))
	err := d.Create(ctx, keyring.Record{ID: "kabc", Keyspace: "gmfield:index-root/t.c", State: keyring.StateActive, Created: time.Now(), Wrapped: []byte{1}})
	assert.ErrorIs(t, err, keyring.ErrCorrupt)
	recs, err := d.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, recs)
}
