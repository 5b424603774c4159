package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func sm4Provider(t testing.TB, b byte) *local.SM4 {
	t.Helper()
	p, err := local.NewSM4(bytes.Repeat([]byte{b}, 16))
	require.NoError(t, err)
	return p
}

func newRing(t testing.TB, kek keyring.Provider, opts ...keyring.Option) (*keyring.Keyring, *keyring.Dir) {
	t.Helper()
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	return keyring.New(d, kek, opts...), d
}

// flaky wraps a provider and can be switched off, like a sealed Vault.
type flaky struct {
	keyring.Provider
	down     atomic.Bool
	decrypts atomic.Int64
}

func (f *flaky) Encrypt(p, ad []byte) ([]byte, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("%w: sealed", keyring.ErrProviderUnavailable)
	}
	return f.Provider.Encrypt(p, ad)
}

func (f *flaky) Decrypt(c, ad []byte) ([]byte, error) {
	f.decrypts.Add(1)
	if f.down.Load() {
		return nil, fmt.Errorf("%w: sealed", keyring.ErrProviderUnavailable)
	}
	time.Sleep(time.Millisecond) // a round trip, so concurrent misses overlap
	return f.Provider.Decrypt(c, ad)
}

// loc is where the tests' values live; locOf the same in another keyspace.
var loc = locOf("citizen.phone")

func locOf(keyspace string) crypto.Location {
	return crypto.Location{Keyspace: keyspace, Table: "citizen", Column: "phone"}
}

func seal(t testing.TB, r *keyring.Keyring, keyspace, v string) []byte {
	t.Helper()
	k, err := r.Current(ctx, keyspace)
	require.NoError(t, err)
	out, err := k.SealText(nil, locOf(keyspace), []byte(v))
	require.NoError(t, err)
	return out
}

func TestCurrentAndKeyByID(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	ct := seal(t, r, "citizen.phone", "13800138000")
	pt, err := crypto.OpenText(nil, r, loc, ct)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(pt))

	// Another keyring over the same store (another process) opens it.
	r2 := keyring.New(d, sm4Provider(t, 1))
	pt, err = crypto.OpenText(nil, r2, loc, ct)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(pt))
	// With another master key it cannot.
	r3 := keyring.New(d, sm4Provider(t, 2))
	_, err = crypto.OpenText(nil, r3, loc, ct)
	assert.ErrorIs(t, err, crypto.ErrAuthentication)

	_, err = r.Key("k0000000000000000")
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound)
	_, err = r.Current(ctx, "")
	assert.Error(t, err)

	recs, err := r.List(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, keyring.StateActive, recs[0].State)
	assert.Equal(t, "citizen.phone", recs[0].Keyspace)
	assert.Regexp(t, `^sm4:[0-9a-f]{16}$`, recs[0].KEK)
	assert.GreaterOrEqual(t, recs[0].Seals, uint64(1))
}

func TestRotateKeepsOldValuesReadable(t *testing.T) {
	r, _ := newRing(t, sm4Provider(t, 1))
	before := seal(t, r, "citizen.phone", "before")
	k1, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	rec, err := r.Rotate(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.NotEqual(t, k1.ID(), rec.ID)
	k2, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.Equal(t, rec.ID, k2.ID())
	after := seal(t, r, "citizen.phone", "after")

	for v, ct := range map[string][]byte{"before": before, "after": after} {
		pt, err := crypto.OpenText(nil, r, loc, ct)
		require.NoError(t, err)
		assert.Equal(t, v, string(pt))
	}
	recs, err := r.List(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, keyring.StateDecryptOnly, recs[0].State)
	assert.False(t, recs[0].Retired.IsZero())
	assert.Equal(t, keyring.StateActive, recs[1].State)
	// Keyspaces are independent.
	kOther, err := r.Current(ctx, "citizen.id_no")
	require.NoError(t, err)
	assert.NotEqual(t, k2.ID(), kOther.ID())
}

func TestRotatesItselfAtTheSealLimit(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1), keyring.WithMaxSeals(10), keyring.WithReserve(3))
	uses := map[string]int{}
	var cts [][]byte
	for i := range 35 {
		k, err := r.Current(ctx, "t.c")
		require.NoError(t, err)
		uses[k.ID()]++
		ct, err := k.SealText(nil, locOf("t.c"), fmt.Appendf(nil, "v%d", i))
		require.NoError(t, err)
		cts = append(cts, ct)
	}
	assert.Len(t, uses, 4)
	for id, n := range uses {
		assert.LessOrEqual(t, n, 10, id)
	}
	// A second process shares the count: reservations never overlap.
	r2 := keyring.New(d, sm4Provider(t, 1), keyring.WithMaxSeals(10), keyring.WithReserve(3))
	for range 5 {
		k, err := r2.Current(ctx, "t.c")
		require.NoError(t, err)
		uses[k.ID()]++
	}
	recs, err := r.List(ctx)
	require.NoError(t, err)
	for _, rec := range recs {
		assert.LessOrEqual(t, rec.Seals, uint64(10))
		assert.LessOrEqual(t, uint64(uses[rec.ID]), rec.Seals, "every seal was reserved")
	}
	for i, ct := range cts {
		pt, err := crypto.OpenText(nil, r2, locOf("t.c"), ct)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("v%d", i), string(pt))
	}
}

func TestDestroy(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	doomed := seal(t, r, "citizen.phone", "13800138000")
	kept := seal(t, r, "citizen.id_no", "11010519491231002X")
	e, err := crypto.ParseText(doomed)
	require.NoError(t, err)

	require.NoError(t, r.Destroy(ctx, e.KeyID))
	_, err = crypto.OpenText(nil, r, loc, doomed)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	assert.Contains(t, err.Error(), e.KeyID)
	pt, err := crypto.OpenText(nil, r, locOf("citizen.id_no"), kept)
	require.NoError(t, err)
	assert.Equal(t, "11010519491231002X", string(pt))

	// Nothing is left on disk, and another process cannot read it either.
	raw, err := os.ReadFile(filepath.Join(d.Path(), "keys", e.KeyID+".json"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "wrapped")
	_, err = crypto.OpenText(nil, keyring.New(d, sm4Provider(t, 1)), loc, doomed)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)

	// The keyspace gets a new active key; destroying twice is harmless.
	k, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	assert.NotEqual(t, e.KeyID, k.ID())
	require.NoError(t, r.Destroy(ctx, e.KeyID))
	assert.ErrorIs(t, r.Destroy(ctx, "knope"), keyring.ErrKeyNotFound)
}

func TestProviderDownUsesCacheUntilTTL(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	p := &flaky{Provider: sm4Provider(t, 1)}
	r, _ := newRing(t, p, keyring.WithTTL(time.Minute), keyring.WithClock(clock))
	ct := seal(t, r, "citizen.phone", "13800138000")

	p.down.Store(true)
	advance(30 * time.Second)
	_, err := crypto.OpenText(nil, r, loc, ct)
	require.NoError(t, err, "cached key still readable inside the TTL")
	_, err = r.Current(ctx, "citizen.phone")
	require.NoError(t, err, "cached active key still seals inside the TTL")
	_, err = r.Current(ctx, "citizen.other")
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable, "a new keyspace needs the provider")

	advance(31 * time.Second)
	_, err = crypto.OpenText(nil, r, loc, ct)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	_, err = r.Current(ctx, "citizen.phone")
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)

	p.down.Store(false)
	_, err = crypto.OpenText(nil, r, loc, ct)
	require.NoError(t, err)
}

func TestConcurrentMissesUnwrapOnce(t *testing.T) {
	p := &flaky{Provider: sm4Provider(t, 1)}
	r, d := newRing(t, p)
	ct := seal(t, r, "citizen.phone", "x")
	e, err := crypto.ParseText(ct)
	require.NoError(t, err)

	cold := keyring.New(d, p)
	p.decrypts.Store(0)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := cold.Key(e.KeyID)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), p.decrypts.Load())
}

func TestHitPathsDoNotAllocate(t *testing.T) {
	r, _ := newRing(t, sm4Provider(t, 1))
	k, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	id := k.ID()
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = r.Key(id) }))
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = r.Current(ctx, "citizen.phone") }))
}

func TestCacheIsBounded(t *testing.T) {
	p := &flaky{Provider: sm4Provider(t, 1)}
	r, d := newRing(t, p)
	var ids []string
	for i := range 10 {
		k, err := r.Current(ctx, fmt.Sprintf("t.c%d", i))
		require.NoError(t, err)
		ids = append(ids, k.ID())
	}
	small := keyring.New(d, p, keyring.WithCacheSize(3))
	for _, id := range ids {
		_, err := small.Key(id)
		require.NoError(t, err)
	}
	p.decrypts.Store(0)
	for _, id := range ids {
		_, err := small.Key(id)
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, p.decrypts.Load(), int64(7), "at most 3 keys stay cached")
}

func TestRewrapUnderNewKEK(t *testing.T) {
	old := sm4Provider(t, 1)
	r, d := newRing(t, old)
	ct := seal(t, r, "citizen.phone", "13800138000")
	ct2 := seal(t, r, "citizen.id_no", "11010519491231002X")
	before, err := r.List(ctx)
	require.NoError(t, err)

	priv, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	sm2, err := local.NewSM2(priv)
	require.NoError(t, err)
	n, err := r.Rewrap(ctx, sm2)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	after, err := r.List(ctx)
	require.NoError(t, err)
	for i := range after {
		assert.Equal(t, before[i].ID, after[i].ID, "same DEKs: data untouched")
		assert.NotEqual(t, before[i].Wrapped, after[i].Wrapped)
		assert.Regexp(t, `^sm2:`, after[i].KEK)
	}
	// A fresh process with only the new KEK reads everything; one with
	// only the old KEK reads nothing.
	fresh := keyring.New(d, sm2)
	for v, c := range map[string][]byte{"13800138000": ct, "11010519491231002X": ct2} {
		where := loc
		if v == "11010519491231002X" {
			where = locOf("citizen.id_no")
		}
		pt, err := crypto.OpenText(nil, fresh, where, c)
		require.NoError(t, err)
		assert.Equal(t, v, string(pt))
	}
	_, err = crypto.OpenText(nil, keyring.New(d, old), loc, ct)
	assert.ErrorIs(t, err, crypto.ErrUnsupportedVersion, "an SM2-wrapped key is not an SM4 one")
	// Both KEKs during a migration.
	_, err = crypto.OpenText(nil, keyring.New(d, keyring.Fallback(old, sm2)), loc, ct)
	require.NoError(t, err)

	// Rewrap in place under the same provider re-encrypts every DEK.
	n, err = fresh.Rewrap(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = crypto.OpenText(nil, keyring.New(d, sm2), loc, ct)
	require.NoError(t, err)
}

func TestPublicKeyOnlyCanCreateButNotRead(t *testing.T) {
	priv, err := crypto.GenerateSM2Key()
	require.NoError(t, err)
	pubOnly, err := local.NewSM2Public(priv.Public())
	require.NoError(t, err)
	full, err := local.NewSM2(priv)
	require.NoError(t, err)

	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	writer, d := newRing(t, pubOnly, keyring.WithTTL(time.Minute), keyring.WithClock(clock))
	ct := seal(t, writer, "citizen.phone", "13800138000")

	// The writer cannot read a key it did not create in this process.
	_, err = crypto.OpenText(nil, keyring.New(d, pubOnly), loc, ct)
	assert.ErrorIs(t, err, keyring.ErrCannotUnwrap)
	// After its cached key expires, it starts a fresh DEK instead of failing.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	ct2 := seal(t, writer, "citizen.phone", "13900139000")

	reader := keyring.New(d, full)
	for v, c := range map[string][]byte{"13800138000": ct, "13900139000": ct2} {
		pt, err := crypto.OpenText(nil, reader, loc, c)
		require.NoError(t, err)
		assert.Equal(t, v, string(pt))
	}
}

// TestRotationUnderLoad: 16 goroutines seal and open while DEKs rotate
// and the KEK is rewrapped; every value written before, during and after
// opens at the end.
func TestRotationUnderLoad(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1), keyring.WithReserve(7))
	type sealed struct {
		v, ks string
		ct    []byte
	}
	var (
		mu  sync.Mutex
		all []sealed
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			ks := fmt.Sprintf("t.c%d", g%4)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, err := r.Current(ctx, ks)
				if !assert.NoError(t, err) {
					return
				}
				v := fmt.Sprintf("g%d-%d", g, i)
				ct, err := k.SealText(nil, locOf(ks), []byte(v))
				if !assert.NoError(t, err) {
					return
				}
				pt, err := crypto.OpenText(nil, r, locOf(ks), ct)
				if !assert.NoError(t, err) || !assert.Equal(t, v, string(pt)) {
					return
				}
				mu.Lock()
				all = append(all, sealed{v, ks, ct})
				mu.Unlock()
			}
		})
	}
	newKEK := sm4Provider(t, 9)
	for i := range 12 {
		time.Sleep(5 * time.Millisecond)
		_, err := r.Rotate(ctx, fmt.Sprintf("t.c%d", i%4))
		require.NoError(t, err)
		if i == 6 {
			_, err := r.Rewrap(ctx, newKEK)
			require.NoError(t, err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	close(stop)
	wg.Wait()

	reader := keyring.New(d, newKEK)
	require.Greater(t, len(all), 100)
	for _, s := range all {
		pt, err := crypto.OpenText(nil, reader, locOf(s.ks), s.ct)
		require.NoError(t, err)
		require.Equal(t, s.v, string(pt))
	}
	recs, err := reader.List(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(recs), 12, "each rotation made a key")
	active := map[string]int{}
	for _, r := range recs {
		if r.State == keyring.StateActive {
			active[r.Keyspace]++
		}
	}
	assert.Equal(t, map[string]int{"t.c0": 1, "t.c1": 1, "t.c2": 1, "t.c3": 1}, active, "one active key per keyspace")
}

func TestAssociatedData(t *testing.T) {
	assert.Equal(t, "gmfield:dek:v1\x00\x00\x00\x02k1\x00\x00\x00\x03t.c", string(keyring.AssociatedData("k1", "t.c")))
	assert.NotEqual(t, keyring.AssociatedData("k1", "t.c"), keyring.AssociatedData("k1t", ".c"))
}

func TestIndexRoot(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	root, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	spec := crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull}
	ix, err := root.Index(spec)
	require.NoError(t, err)
	a, err := ix.SumHex(nil, []byte("13800138000"))
	require.NoError(t, err)

	// The same root from another process, and after a KEK rewrap.
	other := keyring.New(d, sm4Provider(t, 1))
	n, err := other.Rewrap(ctx, sm4Provider(t, 7))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	root2, err := keyring.New(d, sm4Provider(t, 7)).IndexRoot(ctx)
	require.NoError(t, err)
	ix2, err := root2.Index(spec)
	require.NoError(t, err)
	b, err := ix2.SumHex(nil, []byte("13800138000"))
	require.NoError(t, err)
	assert.Equal(t, a, b)

	_, err = r.Current(ctx, keyring.IndexRootKeyspace)
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = r.Rotate(ctx, keyring.IndexRootKeyspace)
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
}

// TestTTLWithoutClock: without WithClock, entries expire by timer.
func TestTTLWithoutClock(t *testing.T) {
	p := &flaky{Provider: sm4Provider(t, 1)}
	r, _ := newRing(t, p, keyring.WithTTL(50*time.Millisecond))
	ct := seal(t, r, "citizen.phone", "13800138000")
	p.down.Store(true)
	_, err := crypto.OpenText(nil, r, loc, ct)
	require.NoError(t, err, "inside the TTL")
	require.Eventually(t, func() bool {
		_, err := crypto.OpenText(nil, r, loc, ct)
		return errors.Is(err, keyring.ErrProviderUnavailable)
	}, 2*time.Second, 10*time.Millisecond, "the cached DEK expires")
	// The active entry has its own timer; it expires within the same TTL.
	require.Eventually(t, func() bool {
		_, err := r.Current(ctx, "citizen.phone")
		return errors.Is(err, keyring.ErrProviderUnavailable)
	}, 2*time.Second, 10*time.Millisecond, "the cached active DEK expires")
	p.down.Store(false)
	_, err = r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
}

// countingStore counts List calls.
type countingStore struct {
	keyring.Store
	lists atomic.Int64
}

func (c *countingStore) List(ctx context.Context) ([]keyring.Record, error) {
	c.lists.Add(1)
	return c.Store.List(ctx)
}

func TestReservationsDoNotListTheStore(t *testing.T) {
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	cs := &countingStore{Store: d}
	r := keyring.New(cs, sm4Provider(t, 1), keyring.WithReserve(2))
	for range 50 {
		_, err := r.Current(ctx, "citizen.phone")
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), cs.lists.Load(), "only the first lookup lists; 25 reservations read one record each")
	rec, err := d.Get(ctx, mustCurrentID(t, r))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rec.Seals, uint64(51))
}

func mustCurrentID(t *testing.T, r *keyring.Keyring) string {
	t.Helper()
	k, err := r.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	return k.ID()
}

func TestPrefixAD(t *testing.T) {
	ad := keyring.AssociatedData("k1", "t.c")
	msg := keyring.PrefixAD([]byte("0123456789abcdef"), ad)
	assert.Len(t, msg, 32+16)
	key, err := keyring.StripAD(msg, ad)
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef", string(key))
	_, err = keyring.StripAD(msg, keyring.AssociatedData("k2", "t.c"))
	assert.ErrorIs(t, err, crypto.ErrAuthentication)
	_, err = keyring.StripAD(msg[:32], ad)
	assert.ErrorIs(t, err, crypto.ErrAuthentication, "nothing after the prefix")
}

// TestRewrapRenamesKEK: after a rewrap, every record names the KEK that
// now wraps it, even a provider that cannot name itself.
func TestRewrapRenamesKEK(t *testing.T) {
	r, _ := newRing(t, sm4Provider(t, 1))
	seal(t, r, "citizen.phone", "x")
	plain := &flaky{Provider: sm4Provider(t, 2)} // no KEKName method
	_, err := r.Rewrap(ctx, plain)
	require.NoError(t, err)
	recs, err := r.List(ctx)
	require.NoError(t, err)
	for _, rec := range recs {
		assert.Equal(t, "*keyring_test.flaky", rec.KEK)
	}
}
