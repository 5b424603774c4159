package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gmfield/gmfield/crypto"
)

// maxRootGenerations bounds the generations of one keyspace's root: a
// keyspace shredded and reborn more often than this is refused.
const maxRootGenerations = 1000

// IndexRoot returns the deployment's blind-index root key
// (crypto.IndexRootSize bytes), stored wrapped like a DEK under
// IndexRootID, creating it on first use. Rewrap covers it; destroying it
// makes every blind index of the column and table scopes unrecomputable
// (the columns must be re-indexed under a new root).
func (k *Keyring) IndexRoot(ctx context.Context) (*crypto.IndexRoot, error) {
	for range 3 {
		rec, err := k.store.Get(ctx, IndexRootID)
		if errors.Is(err, ErrKeyNotFound) {
			root, err := k.createRoot(ctx, IndexRootID, IndexRootKeyspace)
			if errors.Is(err, ErrExists) {
				continue // another process created it first: read it
			}
			return root, err
		}
		if err != nil {
			return nil, err
		}
		return k.unwrapRoot(rec)
	}
	return nil, fmt.Errorf("index root: %w: created concurrently but not readable", ErrConflict)
}

// IndexRootFor returns the blind-index root of keyspace ks. Keyspaces of
// the column and table scopes share the deployment's root (IndexRoot). A
// tenant keyspace ("tenant/…") has its own root (docs/format.md §8.2),
// created on first use and destroyed with the keyspace's last DEK, so
// that a shredded tenant's rows cannot even be found by equality search:
// after that, IndexRootFor returns ErrKeyDestroyed until the keyspace gets
// a new DEK (Current), which starts a new root. Roots are cached like DEKs.
func (k *Keyring) IndexRootFor(ctx context.Context, ks string) (*crypto.IndexRoot, error) {
	n, err := parseKeyspace(ks)
	if err != nil {
		return nil, err
	}
	if n.scope != PerTenantColumn {
		return k.IndexRoot(ctx)
	}
	k.mu.RLock()
	c := k.roots[ks]
	k.mu.RUnlock()
	if c != nil && k.fresh(&c.cached) {
		return c.root, nil
	}
	v, err := k.load(ctx, "root:"+ks, func(ctx context.Context) (any, error) {
		for range 3 {
			rec, gen, err := k.latestRoot(ctx, ks)
			if err != nil {
				return nil, err
			}
			var root *crypto.IndexRoot
			switch {
			case gen == 0:
				root, err = k.createRoot(ctx, rootID(ks, 1), rootKeyspace(ks))
				if errors.Is(err, ErrExists) {
					continue // another process created it first: read it
				}
			case rec.State == StateDestroyed:
				return nil, fmt.Errorf("index root of %s: %w", ks, ErrKeyDestroyed)
			default:
				root, err = k.unwrapRoot(rec)
			}
			if err != nil {
				return nil, err
			}
			k.putRoot(ks, root)
			return root, nil
		}
		return nil, fmt.Errorf("index root of %s: %w: created concurrently but not readable", ks, ErrConflict)
	})
	if err != nil {
		return nil, err
	}
	return v.(*crypto.IndexRoot), nil
}

// cachedRoot is an unwrapped keyspace root in the cache.
type cachedRoot struct {
	cached
	root *crypto.IndexRoot
}

func (k *Keyring) putRoot(ks string, root *crypto.IndexRoot) {
	c := &cachedRoot{root: root}
	k.arm(&c.cached)
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.roots) >= k.size {
		clear(k.roots)
	}
	k.roots[ks] = c
}

// latestRoot returns the newest generation of ks's root record, and its
// generation number (0 when ks has no root yet).
func (k *Keyring) latestRoot(ctx context.Context, ks string) (Record, int, error) {
	var last Record
	for gen := 1; gen <= maxRootGenerations; gen++ {
		rec, err := k.store.Get(ctx, rootID(ks, gen))
		if errors.Is(err, ErrKeyNotFound) {
			return last, gen - 1, nil
		}
		if err != nil {
			return Record{}, 0, err
		}
		if rec.Keyspace != rootKeyspace(ks) {
			return Record{}, 0, fmt.Errorf("%w: key %s is not the index root of %s", ErrCorrupt, rec.ID, ks)
		}
		last = rec
	}
	return Record{}, 0, fmt.Errorf("index root of %s: more than %d generations", ks, maxRootGenerations)
}

// ensureRoot makes sure tenant keyspace ks has a live root before a new
// DEK seals into it: the first generation, or the next one after the
// keyspace was shredded.
func (k *Keyring) ensureRoot(ctx context.Context, ks string) error {
	rec, gen, err := k.latestRoot(ctx, ks)
	if err != nil {
		return err
	}
	if gen > 0 && rec.State != StateDestroyed {
		return nil
	}
	_, err = k.createRoot(ctx, rootID(ks, gen+1), rootKeyspace(ks))
	if errors.Is(err, ErrExists) {
		return nil // another process started it
	}
	k.mu.Lock()
	delete(k.roots, ks)
	k.mu.Unlock()
	return err
}

// destroyRoot destroys the live root of tenant keyspace ks, if any.
func (k *Keyring) destroyRoot(ctx context.Context, ks string) error {
	rec, gen, err := k.latestRoot(ctx, ks)
	if err != nil || gen == 0 || rec.State == StateDestroyed {
		return err
	}
	if err := k.updateRetry(ctx, rec.ID, destroyRecord(k.now())); err != nil {
		return err
	}
	k.mu.Lock()
	delete(k.roots, ks)
	k.mu.Unlock()
	return nil
}

// createRoot makes, wraps and stores a new root key under id.
func (k *Keyring) createRoot(ctx context.Context, id, keyspace string) (*crypto.IndexRoot, error) {
	secret := make([]byte, crypto.IndexRootSize)
	_, _ = rand.Read(secret)
	defer clear(secret)
	wrapped, err := k.provider().Encrypt(secret, AssociatedData(id, keyspace))
	if err != nil {
		return nil, fmt.Errorf("index root %s: wrap: %w", id, err)
	}
	rec := Record{ID: id, Keyspace: keyspace, State: StateActive, Created: k.now().UTC(), KEK: k.kekName(wrapped), Wrapped: wrapped}
	if err := k.store.Create(ctx, rec); err != nil {
		return nil, err
	}
	return crypto.NewIndexRoot(secret)
}

// unwrapRoot unwraps a root record.
func (k *Keyring) unwrapRoot(rec Record) (*crypto.IndexRoot, error) {
	if rec.State == StateDestroyed {
		return nil, fmt.Errorf("index root %s: %w", rec.ID, ErrKeyDestroyed)
	}
	secret, err := k.provider().Decrypt(rec.Wrapped, AssociatedData(rec.ID, rec.Keyspace))
	if err != nil {
		return nil, fmt.Errorf("index root %s: unwrap: %w", rec.ID, err)
	}
	defer clear(secret)
	root, err := crypto.NewIndexRoot(secret)
	if err != nil {
		return nil, fmt.Errorf("index root %s: %w", rec.ID, err)
	}
	return root, nil
}
