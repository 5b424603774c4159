package keyring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gmfield/gmfield/crypto"
	"golang.org/x/sync/singleflight"
)

// Defaults of the options.
const (
	DefaultTTL       = 10 * time.Minute
	DefaultCacheSize = 4096
	// DefaultReserve is how many seals a process reserves in the store at a
	// time: one store write per this many seals.
	DefaultReserve = 1 << 16
)

// Keyring hands out DEKs. It implements crypto.KeySource. It is safe for
// concurrent use by many goroutines; several processes may share one
// Store.
type Keyring struct {
	store    Store
	kek      atomic.Pointer[providerBox]
	ttl      time.Duration
	size     int
	maxSeals uint64
	reserve  uint64
	now      func() time.Time
	kekDesc  string // WithKEKDescription
	// clocked is set by WithClock: entries then expire by comparing the
	// clock; otherwise a timer marks them stale, which keeps time.Now
	// (about 60 ns on a VM) off the hit path.
	clocked bool

	mu    sync.RWMutex
	byID  map[string]*cached
	roots map[string]*cachedRoot // blind-index roots: "" the deployment's, else by tenant keyspace
	// epoch counts destructions; a load caches what it read only if no
	// destruction happened since it started, so a key destroyed during
	// a load is not cached again.
	epoch uint64
	// active maps keyspaces to their current DEK; copy-on-write under
	// the rotate mutex, so the sealing path reads it without locking.
	active atomic.Pointer[map[string]*activeKey]

	mp  metric.MeterProvider
	tp  trace.TracerProvider
	tel *telemetry

	loads  singleflight.Group
	rotate sync.Mutex // serializes reservations, rotations and destroys in this process
}

type providerBox struct{ p Provider }

func (k *Keyring) provider() Provider { return k.kek.Load().p }

type cached struct {
	key     *crypto.Key
	born    int64 // unix nanoseconds: when the key was unwrapped
	expires int64 // born + TTL, when clocked
	stale   atomic.Bool
}

// nowNano is the time a key is unwrapped at.
func (k *Keyring) nowNano() int64 {
	if k.clocked {
		return k.now().UnixNano()
	}
	return time.Now().UnixNano()
}

// arm starts c's TTL, counted from born, the time its key was unwrapped:
// a key handed from one cache entry to another keeps its first expiry, so
// nothing is used longer than the TTL after the provider last unwrapped it.
func (k *Keyring) arm(c *cached, born int64) {
	c.born = born
	if k.clocked {
		c.expires = born + int64(k.ttl)
		return
	}
	left := time.Duration(born + int64(k.ttl) - time.Now().UnixNano())
	if left <= 0 {
		c.stale.Store(true)
		return
	}
	time.AfterFunc(left, func() { c.stale.Store(true) })
}

// fresh reports whether c is within its TTL.
func (k *Keyring) fresh(c *cached) bool {
	if k.clocked {
		return k.now().UnixNano() < c.expires
	}
	return !c.stale.Load()
}

// activeKey is the current DEK of a keyspace and this process's share of
// its seal reservation: seals (used, limit] are this process's to hand out.
type activeKey struct {
	cached
	rec   Record
	used  atomic.Uint64
	limit atomic.Uint64
}

// Option configures New.
type Option func(*Keyring)

// WithTTL sets how long an unwrapped DEK stays cached (DefaultTTL). After
// it, the DEK is unwrapped again: while the provider is unreachable, reads
// of keys cached less than the TTL ago keep working and others fail.
func WithTTL(d time.Duration) Option { return func(k *Keyring) { k.ttl = d } }

// WithCacheSize bounds the number of unwrapped DEKs kept (DefaultCacheSize).
func WithCacheSize(n int) Option { return func(k *Keyring) { k.size = n } }

// WithMaxSeals sets the seals per DEK after which the keyring rotates by
// itself (crypto.MaxSealsPerKey; lower it, never raise it past that).
func WithMaxSeals(n uint64) Option {
	return func(k *Keyring) { k.maxSeals = min(n, crypto.MaxSealsPerKey) }
}

// WithReserve sets how many seals are reserved in the store per write
// (DefaultReserve).
func WithReserve(n uint64) Option { return func(k *Keyring) { k.reserve = max(n, 1) } }

// WithClock sets the clock (time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(k *Keyring) { k.now, k.clocked = now, true }
}

// WithKEKDescription names the KEK in errors, such as "SM4 master key
// file keys/master.key" (ErrUnwrapFailed): a path, an environment
// variable or a provider's key name, never key bytes. local.Open sets it.
func WithKEKDescription(desc string) Option { return func(k *Keyring) { k.kekDesc = desc } }

// New returns a Keyring over store whose DEKs are wrapped by kek.
func New(store Store, kek Provider, opts ...Option) *Keyring {
	k := &Keyring{
		store: store,
		ttl:   DefaultTTL, size: DefaultCacheSize, maxSeals: crypto.MaxSealsPerKey, reserve: DefaultReserve,
		now:  time.Now,
		byID: map[string]*cached{}, roots: map[string]*cachedRoot{},
	}
	k.active.Store(&map[string]*activeKey{})
	k.kek.Store(&providerBox{kek})
	for _, o := range opts {
		o(k)
	}
	k.tel = newTelemetry(k.mp, k.tp)
	return k
}

// Key returns the DEK with the given id, unwrapping it on a cache miss. It
// implements crypto.KeySource; see KeyContext.
func (k *Keyring) Key(id string) (*crypto.Key, error) {
	return k.KeyContext(context.Background(), id)
}

// KeyContext returns the DEK with the given id: from the cache without
// allocating, or from the store and the provider (one unwrap however many
// goroutines miss at once; each waits only as long as its own ctx allows).
// A destroyed DEK returns ErrKeyDestroyed; an id that is not a key id (the
// reserved ids of the blind-index roots among them) ErrKeyNotFound; a
// DEK the KEK does not unwrap ErrUnwrapFailed. Every error names the id
// once (so crypto.Open does not add it again). The
// returned key belongs to the keyspace its record names, and opens only
// values of that keyspace.
func (k *Keyring) KeyContext(ctx context.Context, id string) (*crypto.Key, error) {
	k.mu.RLock()
	c := k.byID[id]
	k.mu.RUnlock()
	if c != nil && k.fresh(c) {
		return c.key, nil
	}
	if err := crypto.ValidateKeyID(id); err != nil {
		return nil, fmt.Errorf("key %q: %w: %v", id, ErrKeyNotFound, err)
	}
	v, err := k.load(ctx, id, func(ctx context.Context) (any, error) {
		epoch, born := k.epochNow(), k.nowNano()
		rec, err := k.store.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if rec.ID != id || reserved(rec.Keyspace) {
			return nil, fmt.Errorf("%w: key %s: the record is not a DEK of that id", ErrCorrupt, id)
		}
		// Any record of the keyspace opens its values, signed or not: a
		// value names its DEK, and an unsigned DEK (made by a process
		// holding only an SM2 public key) opens only what its maker wrote.
		key, _, err := k.unwrap(ctx, rec)
		if err != nil {
			return nil, err
		}
		k.put(epoch, id, key, born)
		return key, nil
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The one error of a load that does not name the key.
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	if err != nil {
		return nil, err
	}
	return v.(*crypto.Key), nil
}

// loadTimeout bounds a shared load, which runs detached from the
// cancellation of the caller that started it.
const loadTimeout = time.Minute

// load runs f once for all concurrent callers of key. f runs with a
// context that keeps ctx's values but not its cancellation, so one
// caller giving up does not fail the others; each caller waits as long
// as its own ctx allows.
func (k *Keyring) load(ctx context.Context, key string, f func(context.Context) (any, error)) (any, error) {
	ch := k.loads.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		return f(lctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// unwrap unwraps a DEK record; trusted reports whether the keyring may
// seal under it (see open).
func (k *Keyring) unwrap(ctx context.Context, rec Record) (key *crypto.Key, trusted bool, err error) {
	if rec.State == StateDestroyed {
		return nil, false, fmt.Errorf("key %s: %w", rec.ID, ErrKeyDestroyed)
	}
	dek, trusted, err := k.openRecord(ctx, k.provider(), rec)
	if err != nil {
		return nil, false, fmt.Errorf("key %s: %w", rec.ID, k.unwrapError(k.provider(), rec, err))
	}
	defer clear(dek)
	key, err = crypto.NewKey(rec.ID, rec.Keyspace, crypto.SM4GCM, dek)
	if err != nil {
		return nil, false, fmt.Errorf("key %s: %w", rec.ID, err)
	}
	return key, trusted, nil
}

// unwrapError is err, the failure to unwrap rec with p: an
// authentication failure is ErrUnwrapFailed, naming the KEK tried and
// the one the record names; others are "unwrap: " err.
func (k *Keyring) unwrapError(p Provider, rec Record, err error) error {
	if !errors.Is(err, crypto.ErrAuthentication) {
		return fmt.Errorf("unwrap: %w", err)
	}
	kek := kekName(p, rec.Wrapped)
	if k.kekDesc != "" {
		kek += " (" + k.kekDesc + ")"
	}
	made := ""
	if rec.KEK != "" {
		made = ", its record names " + rec.KEK
	}
	return fmt.Errorf("%w under KEK %s%s: the KEK is probably not the one the key ring was made with: %w", ErrUnwrapFailed, kek, made, err)
}

// open unwraps rec's key with p. The record is trusted when the provider
// that unwrapped it authenticates its maker: any provider that is not a
// RecordSigner (only a holder of the KEK can wrap), or a RecordSigner
// whose signature of the record verifies. A Fallback tries its primary,
// then its secondary, and the one that unwraps decides.
func open(p Provider, rec Record) (secret []byte, trusted bool, err error) {
	if f, ok := p.(fallback); ok {
		secret, trusted, err = open(f.primary, rec)
		if err == nil {
			return secret, trusted, nil
		}
		if s2, t2, err2 := open(f.secondary, rec); err2 == nil {
			return s2, t2, nil
		}
		return nil, false, err
	}
	secret, err = p.Decrypt(rec.Wrapped, AssociatedData(rec.ID, rec.Keyspace))
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrCannotUnwrap) {
			return nil, false, err
		}
		// A record rewrapped as open-only (openOnlyAD) opens, untrusted.
		if s2, err2 := p.Decrypt(rec.Wrapped, openOnlyAD(rec.ID, rec.Keyspace)); err2 == nil {
			return s2, false, nil
		}
		return nil, false, err
	}
	if v, ok := p.(RecordSigner); ok {
		return secret, v.VerifyRecord(RecordMessage(rec.ID, rec.Keyspace, rec.Wrapped), rec.Sig), nil
	}
	return secret, true, nil
}

// sign sets rec.Sig for a record wrapped by p: the signature when p is a
// RecordSigner holding its private key, nil when it holds only the public
// key or is no RecordSigner.
func sign(p Provider, rec *Record) error {
	rec.Sig = nil
	s, ok := signer(p)
	if !ok {
		return nil
	}
	sig, err := s.SignRecord(RecordMessage(rec.ID, rec.Keyspace, rec.Wrapped))
	if errors.Is(err, ErrCannotUnwrap) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("key %s: sign: %w", rec.ID, err)
	}
	rec.Sig = sig
	return nil
}

// signer returns the RecordSigner among p's wrapping providers (a
// Fallback wraps with its primary).
func signer(p Provider) (RecordSigner, bool) {
	if f, ok := p.(fallback); ok {
		p = f.primary
	}
	s, ok := p.(RecordSigner)
	return s, ok
}

// epochNow returns the destruction count.
func (k *Keyring) epochNow() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.epoch
}

// forget drops id from the cache and counts a destruction.
// A load already under way is forgotten too, so that a caller arriving
// after the destruction reads the store again instead of joining it.
func (k *Keyring) forget(id string) {
	k.loads.Forget(id)
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byID, id)
	k.epoch++
}

// put caches key if nothing was destroyed since epoch, evicting expired
// entries, then arbitrary ones, to stay within the size bound.
func (k *Keyring) put(epoch uint64, id string, key *crypto.Key, born int64) {
	c := &cached{key: key}
	k.arm(c, born)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.epoch != epoch {
		return
	}
	if len(k.byID) >= k.size {
		for kid, e := range k.byID {
			if !k.fresh(e) {
				delete(k.byID, kid)
			}
		}
		for kid := range k.byID {
			if len(k.byID) < k.size {
				break
			}
			delete(k.byID, kid)
		}
	}
	k.byID[id] = c
}

// Current returns the DEK that seals the next value of keyspace, creating
// the keyspace's first DEK if it has none. Each call counts one seal: call
// it once per value sealed. When a DEK reaches its seal limit, Current
// rotates to a new one. The cached path does not allocate.
func (k *Keyring) Current(ctx context.Context, keyspace string) (*crypto.Key, error) {
	if a := (*k.active.Load())[keyspace]; a == nil {
		// Checked once per keyspace and process: the hot path below only
		// ever holds keyspaces that passed.
		if err := ValidateKeyspace(keyspace); err != nil {
			return nil, err
		}
	}
	for range 100 {
		a := (*k.active.Load())[keyspace]
		if a != nil && k.fresh(&a.cached) {
			if n := a.used.Add(1); n <= a.limit.Load() {
				return a.key, nil
			}
		}
		if err := k.refresh(ctx, keyspace, a); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("keyspace %s: %w: could not reserve seals", keyspace, ErrConflict)
}

// refresh replaces the keyspace's active entry seen as old: it loads the
// active DEK (creating one if there is none it may seal under), reserves
// more seals, or rotates when the DEK is used up.
func (k *Keyring) refresh(ctx context.Context, keyspace string, old *activeKey) error {
	k.rotate.Lock()
	defer k.rotate.Unlock()
	if cur := (*k.active.Load())[keyspace]; cur != old {
		return nil // another goroutine refreshed it
	}
	var (
		rec  Record
		key  *crypto.Key
		err  error
		born = k.nowNano()
	)
	if old != nil {
		// Usually the same DEK needs more reservations: one read, no list.
		// Its cached key is reused only within the TTL of its unwrap;
		// past it, the provider must unwrap again.
		rec, err = k.store.Get(ctx, old.rec.ID)
		if err == nil && rec.State == StateActive {
			if k.fresh(&old.cached) {
				key, born = old.key, old.born
			} else if kk, trusted, err := k.unwrap(ctx, rec); err == nil && trusted {
				key = kk
			}
			// The store's counter only grows; one that went back (edited
			// by someone who may write the store) does not lower this
			// process's.
			if rec.ID == old.rec.ID {
				rec.Seals = max(rec.Seals, old.limit.Load())
			}
		}
	}
	if key == nil {
		born = k.nowNano()
		if rec, key, err = k.usableActive(ctx, keyspace); err != nil {
			return err
		}
	}
	for {
		if rec.Seals >= k.maxSeals {
			if rec, key, err = k.rotateLocked(ctx, keyspace); err != nil {
				return err
			}
			born = k.nowNano()
		}
		from := rec.Seals
		rec.Seals = min(from+k.reserve, k.maxSeals)
		err = k.store.Update(ctx, rec)
		if errors.Is(err, ErrConflict) {
			id := rec.ID
			if rec, err = k.store.Get(ctx, id); err != nil {
				return err
			}
			if rec.State != StateActive {
				if rec, key, err = k.usableActive(ctx, keyspace); err != nil {
					return err
				}
				born = k.nowNano()
			}
			continue
		}
		if err != nil {
			return err
		}
		rec.Rev++
		a := &activeKey{cached: cached{key: key}, rec: rec}
		k.arm(&a.cached, born)
		a.used.Store(from)
		a.limit.Store(rec.Seals)
		k.setActive(keyspace, a)
		k.put(k.epochNow(), rec.ID, key, born)
		return nil
	}
}

// setActive replaces (a nil a removes) the active DEK of keyspace. Callers
// hold the rotate mutex.
func (k *Keyring) setActive(keyspace string, a *activeKey) {
	old := *k.active.Load()
	m := make(map[string]*activeKey, len(old)+1)
	for ks, v := range old {
		m[ks] = v
	}
	if a == nil {
		delete(m, keyspace)
	} else {
		m[keyspace] = a
	}
	k.active.Store(&m)
}

// usableActive returns the newest active DEK of keyspace that this
// keyring may seal under, unwrapped: one that unwraps and is trusted
// (open). Untrusted active records — under SM2, DEKs made by holders of
// the public key only, or planted — are passed over and left alone. If
// there is none, it creates one. A provider that cannot unwrap (an SM2
// public key) can use no stored DEK: it creates its own and retires the
// other unsigned active ones, the DEKs of earlier write-only processes.
// Unwrap failures other than that fail: a wrong KEK must not start new
// DEKs.
func (k *Keyring) usableActive(ctx context.Context, keyspace string) (Record, *crypto.Key, error) {
	recs, err := k.store.List(ctx)
	if err != nil {
		return Record{}, nil, err
	}
	var active []Record
	for _, r := range recs {
		if r.Keyspace == keyspace && r.State == StateActive {
			active = append(active, r)
		}
	}
	slices.SortFunc(active, func(a, b Record) int { return b.Created.Compare(a.Created) })
	for _, r := range active {
		key, trusted, err := k.unwrap(ctx, r)
		if errors.Is(err, ErrCannotUnwrap) {
			fresh, key, err := k.create(ctx, keyspace)
			if err != nil {
				return Record{}, nil, err
			}
			return fresh, key, k.retire(ctx, active, func(r Record) bool { return len(r.Sig) == 0 })
		}
		if err != nil {
			return Record{}, nil, err
		}
		if trusted {
			return r, key, nil
		}
	}
	return k.create(ctx, keyspace)
}

// retire makes the records of recs for which which returns true
// decrypt-only, if they are still active.
func (k *Keyring) retire(ctx context.Context, recs []Record, which func(Record) bool) error {
	for _, r := range recs {
		if !which(r) {
			continue
		}
		if err := k.updateRetry(ctx, r.ID, func(r *Record) bool {
			if r.State != StateActive {
				return false
			}
			r.State, r.Retired = StateDecryptOnly, k.now().UTC()
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// create makes, wraps, signs and stores a new active DEK for keyspace,
// after making sure a tenant keyspace has a blind-index root. A
// provider that holds only an SM2 public key makes no root: its DEK is
// unsigned, and the first DEK a private-key holder makes starts the root.
func (k *Keyring) create(ctx context.Context, keyspace string) (Record, *crypto.Key, error) {
	n, err := parseKeyspace(keyspace)
	if err != nil {
		return Record{}, nil, err
	}
	rk := rootKey(n, keyspace) // "" is the deployment's root: made on first use (IndexRoot)
	if rk != "" {
		if err := k.rootForNewDEK(ctx, keyspace); err != nil && !errors.Is(err, ErrCannotUnwrap) {
			return Record{}, nil, fmt.Errorf("keyspace %s: %w", keyspace, err)
		}
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	id := "k" + hex.EncodeToString(idb[:])
	dek := make([]byte, crypto.KeySize)
	_, _ = rand.Read(dek)
	defer clear(dek)
	key, err := crypto.NewKey(id, keyspace, crypto.SM4GCM, dek)
	if err != nil {
		return Record{}, nil, err
	}
	p := k.provider()
	wrapped, err := k.call(ctx, p, "wrap", func() ([]byte, error) { return p.Encrypt(dek, AssociatedData(id, keyspace)) })
	if err != nil {
		return Record{}, nil, fmt.Errorf("keyspace %s: wrap new key: %w", keyspace, err)
	}
	rec := Record{ID: id, Keyspace: keyspace, State: StateActive, Created: k.now().UTC(), KEK: k.kekName(wrapped), Wrapped: wrapped}
	if err := sign(k.provider(), &rec); err != nil {
		return Record{}, nil, err
	}
	if err := k.store.Create(ctx, rec); err != nil {
		return Record{}, nil, err
	}
	rec.Rev = 1
	if rk != "" {
		// A concurrent destruction of the keyspace's last DEK (in another
		// process) may have destroyed the root between ensureRoot and
		// now: check again, now that this DEK is stored for it to see.
		if err := k.ensureRoot(ctx, rk); err != nil && !errors.Is(err, ErrCannotUnwrap) {
			return Record{}, nil, fmt.Errorf("keyspace %s: %w", keyspace, err)
		}
	}
	return rec, key, nil
}

// rootForNewDEK readies tenant keyspace ks's root before its new DEK is
// stored. A keyspace that has no DEK left but still a live root was
// shredded by a process that has not destroyed the root yet (or stopped
// before it did): that root goes now, and the new DEK gets the next
// generation, so that the shredded rows' indexes never match again.
func (k *Keyring) rootForNewDEK(ctx context.Context, ks string) error {
	recs, err := k.store.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Keyspace == ks && r.State != StateDestroyed {
			return k.ensureRoot(ctx, ks)
		}
	}
	if _, _, err := k.liveRoot(ctx, ks); err == nil {
		if err := k.destroyRoot(ctx, ks); err != nil {
			return err
		}
	}
	return k.ensureRoot(ctx, ks)
}

func (k *Keyring) kekName(wrapped []byte) string { return kekName(k.provider(), wrapped) }

// kekName names the KEK of p that made wrapped: its KEKName, or its type.
func kekName(p Provider, wrapped []byte) string {
	if n, ok := p.(KEKNamer); ok {
		return n.KEKName(wrapped)
	}
	return fmt.Sprintf("%T", p)
}

// Rotate makes a new active DEK for keyspace and retires the old ones to
// decrypt-only: new values use the new DEK, old values stay readable.
// Other processes sharing the store switch when their cached active DEK
// expires (the TTL).
func (k *Keyring) Rotate(ctx context.Context, keyspace string) (Record, error) {
	if err := ValidateKeyspace(keyspace); err != nil {
		return Record{}, fmt.Errorf("cannot rotate: %w", err)
	}
	k.rotate.Lock()
	defer k.rotate.Unlock()
	rec, _, err := k.rotateLocked(ctx, keyspace)
	return rec, err
}

func (k *Keyring) rotateLocked(ctx context.Context, keyspace string) (Record, *crypto.Key, error) {
	fresh, key, err := k.create(ctx, keyspace)
	if err != nil {
		return Record{}, nil, err
	}
	recs, err := k.store.List(ctx)
	if err != nil {
		return Record{}, nil, err
	}
	err = k.retire(ctx, recs, func(r Record) bool {
		return r.Keyspace == keyspace && r.State == StateActive && r.ID != fresh.ID
	})
	if err != nil {
		return Record{}, nil, err
	}
	k.setActive(keyspace, nil)
	return fresh, key, nil
}

// updateRetry applies change to the stored record id until the
// compare-and-swap succeeds; change returns false to leave it alone.
func (k *Keyring) updateRetry(ctx context.Context, id string, change func(*Record) bool) error {
	for range 100 {
		r, err := k.store.Get(ctx, id)
		if err != nil {
			return err
		}
		if !change(&r) {
			return nil
		}
		err = k.store.Update(ctx, r)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("key %s: %w", id, ErrConflict)
}

// Destroy erases the wrapped DEK id from the store and the cache: every
// value it sealed becomes unreadable (ErrKeyDestroyed), on purpose. Other
// processes keep a cached copy until their TTL ends. If id was the active
// DEK of its keyspace, the next Current creates a new one. When id was the
// last DEK of a tenant keyspace not yet destroyed, the keyspace's
// blind-index root is destroyed with it, so its rows can no longer be
// found by equality search either. The id of a blind-index root destroys
// every generation of that root; a destroyed deployment root comes back
// only through RenewIndexRoot.
func (k *Keyring) Destroy(ctx context.Context, id string) error {
	k.rotate.Lock()
	defer k.rotate.Unlock()
	return k.destroyLocked(ctx, id)
}

func (k *Keyring) destroyLocked(ctx context.Context, id string) error {
	rec, err := k.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if reserved(rec.Keyspace) {
		return k.destroyRoot(ctx, rootOf(rec.Keyspace))
	}
	if err := k.updateRetry(ctx, id, destroyRecord(k.now())); err != nil {
		return err
	}
	k.forget(id)
	keyspace := rec.Keyspace
	if a := (*k.active.Load())[keyspace]; a != nil && a.rec.ID == id {
		k.setActive(keyspace, nil)
	}
	if n, err := parseKeyspace(keyspace); err != nil || n.scope != PerTenantColumn {
		return nil
	}
	live := func() (bool, error) {
		recs, err := k.store.List(ctx)
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if r.Keyspace == keyspace && r.State != StateDestroyed {
				return true, nil
			}
		}
		return false, nil
	}
	if has, err := live(); err != nil || has {
		return err // a keyspace that still has a DEK keeps its indexes
	}
	if err := k.destroyRoot(ctx, keyspace); err != nil {
		return err
	}
	// Another process may have stored a new DEK for the keyspace since the
	// list: it needs a root (create checks too, after storing).
	if has, err := live(); err != nil || !has {
		return err
	}
	return k.ensureRoot(ctx, keyspace)
}

// destroyRecord returns the change that destroys a record: its wrapped
// key erased, its state destroyed (false if it already was).
func destroyRecord(now time.Time) func(*Record) bool {
	return func(r *Record) bool {
		if r.State == StateDestroyed {
			return false
		}
		clear(r.Wrapped)
		r.State, r.Wrapped, r.Sig, r.Destroyed = StateDestroyed, nil, nil, now.UTC()
		return true
	}
}

// DestroyTenant destroys every DEK of every keyspace of tenant (key scope
// tenant) and those keyspaces' blind-index roots: the tenant's values
// become unreadable and its rows unfindable by equality search. It returns
// the ids it destroyed, roots included, sorted.
func (k *Keyring) DestroyTenant(ctx context.Context, tenant string) ([]string, error) {
	if !validTenant(tenant) {
		return nil, fmt.Errorf("%w: tenant %q", crypto.ErrInvalidInput, tenant)
	}
	k.rotate.Lock()
	defer k.rotate.Unlock()
	ofTenant := func(r Record) (ks string, ok bool) {
		ks = r.Keyspace
		if reserved(ks) {
			ks = rootOf(ks)
		}
		n, err := parseKeyspace(ks)
		return ks, err == nil && n.tenant == tenant
	}
	before, err := k.store.List(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, r := range before {
		if _, ok := ofTenant(r); ok && r.State != StateDestroyed {
			live[r.ID] = true
		}
	}
	for _, r := range before {
		if ks, ok := ofTenant(r); ok && live[r.ID] {
			if reserved(r.Keyspace) {
				// A root whose keyspace has no DEK left (or never had one).
				err = k.destroyRoot(ctx, ks)
			} else {
				err = k.destroyLocked(ctx, r.ID)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	after, err := k.store.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids, left []string
	for _, r := range after {
		if live[r.ID] && r.State == StateDestroyed {
			ids = append(ids, r.ID)
		}
		if _, ok := ofTenant(r); ok && r.State != StateDestroyed {
			left = append(left, r.ID)
		}
	}
	slices.Sort(ids)
	if len(left) > 0 {
		return ids, fmt.Errorf("tenant %s: %w: %d keys were made while it was destroyed (%s…); destroy it again", tenant, ErrConflict, len(left), left[0])
	}
	return ids, nil
}

// Rewrap rewraps every DEK that is not destroyed under to (a new KEK),
// or, with to nil, under the current version of the keyring's own KEK
// (through the provider's Rewrapper when it has one). Values are not
// touched. Records trusted under the old KEK stay trusted (under a
// RecordSigner target, SM2, they are signed anew); untrusted ones — under
// an SM2 KEK, those not signed — are rewrapped open-only, so that no KEK
// change makes a planted record one the keyring seals under. It
// returns how many DEKs it rewrapped. While it runs and
// afterwards, this keyring unwraps with Fallback(to, old); processes that
// share the store need both KEKs (Fallback) until all of them have moved.
func (k *Keyring) Rewrap(ctx context.Context, to Provider) (int, error) {
	k.rotate.Lock()
	defer k.rotate.Unlock()
	old := k.provider()
	target := old
	if to != nil {
		target = to
		k.kek.Store(&providerBox{Fallback(to, old)})
	}
	recs, err := k.store.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rec := range recs {
		if rec.State == StateDestroyed {
			continue
		}
		var wrapErr error
		err := k.updateRetry(ctx, rec.ID, func(r *Record) bool {
			if r.State == StateDestroyed {
				return false
			}
			var wrapped []byte
			trusted := true
			if rw, ok := old.(Rewrapper); ok && to == nil {
				// Transit rewraps in place: whatever the record's AD was,
				// it stays.
				wrapped, wrapErr = k.call(ctx, old, "rewrap", func() ([]byte, error) { return rw.Rewrap(r.Wrapped, AssociatedData(r.ID, r.Keyspace)) })
			} else {
				var dek []byte
				if dek, trusted, wrapErr = k.openRecord(ctx, old, *r); wrapErr == nil {
					// A record not trusted before (under SM2: unsigned, made
					// by a holder of the public key, or planted) must not
					// become trusted: under the new KEK it is bound as
					// open-only.
					ad := AssociatedData(r.ID, r.Keyspace)
					if !trusted {
						ad = openOnlyAD(r.ID, r.Keyspace)
					}
					wrapped, wrapErr = k.call(ctx, target, "wrap", func() ([]byte, error) { return target.Encrypt(dek, ad) })
					clear(dek)
				}
			}
			if wrapErr != nil {
				return false
			}
			r.Wrapped, r.KEK, r.Sig = wrapped, kekName(target, wrapped), nil
			if trusted {
				wrapErr = sign(target, r)
			}
			return wrapErr == nil
		})
		if err == nil {
			err = wrapErr
		}
		if errors.Is(err, crypto.ErrAuthentication) {
			return n, fmt.Errorf("key %s: rewrap: %w", rec.ID, k.unwrapError(old, rec, err))
		}
		if err != nil {
			return n, fmt.Errorf("key %s: rewrap: %w", rec.ID, err)
		}
		n++
	}
	return n, nil
}

// Fallback returns a Provider that wraps with primary and unwraps with
// primary, then secondary: the provider to run with while DEKs move from
// the secondary KEK to the primary.
func Fallback(primary, secondary Provider) Provider {
	return fallback{primary, secondary}
}

type fallback struct{ primary, secondary Provider }

func (f fallback) Encrypt(p, ad []byte) ([]byte, error) { return f.primary.Encrypt(p, ad) }

func (f fallback) Decrypt(c, ad []byte) ([]byte, error) {
	p, err := f.primary.Decrypt(c, ad)
	if err == nil {
		return p, nil
	}
	if p2, err2 := f.secondary.Decrypt(c, ad); err2 == nil {
		return p2, nil
	}
	return nil, err
}

func (f fallback) KEKName(wrapped []byte) string { return kekName(f.primary, wrapped) }

// List returns every stored DEK record, sorted by keyspace and creation.
// Wrapped keys are included; they are useless without the KEK.
func (k *Keyring) List(ctx context.Context) ([]Record, error) {
	recs, err := k.store.List(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b Record) int {
		if a.Keyspace != b.Keyspace {
			if a.Keyspace < b.Keyspace {
				return -1
			}
			return 1
		}
		return a.Created.Compare(b.Created)
	})
	return recs, nil
}
