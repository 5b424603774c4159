package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gmfield/gmfield/crypto"
)

// maxRootGenerations bounds the generations of one root: a keyspace
// shredded and reborn more often than this is refused.
const maxRootGenerations = 1000

// IndexRoot returns the deployment's blind-index root key
// (crypto.IndexRootSize bytes), the root of every keyspace of the column
// and table scopes. It is stored wrapped like a DEK (docs/format.md
// §8.2) and created on first use, when the store has never held one.
// Once destroyed it stays destroyed (ErrKeyDestroyed) until
// RenewIndexRoot starts a new generation: every blind index of those
// scopes is then unrecomputable and must be re-indexed. Rewrap covers it.
// Roots are cached like DEKs, for the TTL.
func (k *Keyring) IndexRoot(ctx context.Context) (*crypto.IndexRoot, error) {
	return k.root(ctx, "")
}

// IndexRootFor returns the blind-index root of keyspace ks. Keyspaces of
// the column and table scopes share the deployment's root (IndexRoot). A
// tenant keyspace ("tenant/…") has its own root (docs/format.md §8.2),
// created with the keyspace's first DEK (Current) and destroyed with its
// last: before the first, IndexRootFor returns ErrKeyNotFound (the
// keyspace has no values to find), after the last ErrKeyDestroyed, until
// the keyspace gets a new DEK, which starts a new root. IndexRootFor
// itself never creates a tenant root, so searches and reads write nothing
// to the store.
func (k *Keyring) IndexRootFor(ctx context.Context, ks string) (*crypto.IndexRoot, error) {
	n, err := parseKeyspace(ks)
	if err != nil {
		return nil, err
	}
	return k.root(ctx, rootKey(n, ks))
}

// RenewIndexRoot starts a new generation of the deployment's blind-index
// root after the old one was destroyed, and returns its id. It refuses
// (ErrExists) while the deployment has a live root: a new root makes every
// index written before it unsearchable.
func (k *Keyring) RenewIndexRoot(ctx context.Context) (string, error) {
	k.rotate.Lock()
	defer k.rotate.Unlock()
	_, top, err := k.liveRoot(ctx, "")
	switch {
	case err == nil:
		return "", fmt.Errorf("%w: the deployment's blind-index root is live; destroy it first", ErrExists)
	case !errors.Is(err, ErrKeyDestroyed) && !errors.Is(err, ErrKeyNotFound):
		return "", err
	}
	_, err = k.createRoot(ctx, "", top+1)
	k.dropRoot("")
	return rootID("", top+1), err
}

// rootKey is the key of keyspace n's root among the roots: "" for the
// deployment's, else the tenant keyspace ks.
func rootKey(n keyspaceName, ks string) string {
	if n.scope == PerTenantColumn {
		return ks
	}
	return ""
}

// root returns the live root of rk, from the cache or the store. Only
// the deployment's root is created here, and only when none was ever
// stored.
func (k *Keyring) root(ctx context.Context, rk string) (*crypto.IndexRoot, error) {
	k.mu.RLock()
	c := k.roots[rk]
	k.mu.RUnlock()
	if c != nil && k.fresh(&c.cached) {
		return c.root, nil
	}
	v, err := k.load(ctx, "root:"+rk, func(ctx context.Context) (any, error) {
		epoch, born := k.epochNow(), k.nowNano()
		root, top, err := k.liveRoot(ctx, rk)
		if errors.Is(err, ErrKeyNotFound) && rk == "" && top == 0 {
			root, err = k.createRoot(ctx, "", 1)
			if errors.Is(err, ErrExists) {
				root, _, err = k.liveRoot(ctx, "") // another process was first
				if errors.Is(err, ErrKeyNotFound) {
					err = fmt.Errorf("index root: %w: created concurrently but not readable", ErrConflict)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		k.putRoot(epoch, rk, root, born)
		return root, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*crypto.IndexRoot), nil
}

// cachedRoot is an unwrapped root in the cache.
type cachedRoot struct {
	cached
	root *crypto.IndexRoot
}

func (k *Keyring) putRoot(epoch uint64, rk string, root *crypto.IndexRoot, born int64) {
	c := &cachedRoot{root: root}
	k.arm(&c.cached, born)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.epoch != epoch {
		return
	}
	if len(k.roots) >= k.size {
		clear(k.roots)
	}
	k.roots[rk] = c
}

// dropRoot removes rk's root from the cache and counts a destruction.
func (k *Keyring) dropRoot(rk string) {
	k.loads.Forget("root:" + rk)
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.roots, rk)
	k.epoch++
}

// roots returns every stored generation of rk's root, oldest first.
func (k *Keyring) rootRecords(ctx context.Context, rk string) ([]Record, error) {
	var recs []Record
	for gen := 1; gen <= maxRootGenerations; gen++ {
		rec, err := k.store.Get(ctx, rootID(rk, gen))
		if errors.Is(err, ErrKeyNotFound) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Keyspace != rootKeyspace(rk) {
			return nil, fmt.Errorf("%w: key %s is not the index root of %q", ErrCorrupt, rec.ID, rk)
		}
		recs = append(recs, rec)
	}
	return nil, fmt.Errorf("index root of %q: more than %d generations", rk, maxRootGenerations)
}

// liveRoot returns rk's live root (docs/format.md §8.2): the highest
// generation that is destroyed (then there is none: ErrKeyDestroyed) or
// trusted (open), passing over untrusted ones; ErrKeyNotFound when there
// is none. top is the highest stored generation, 0 if none. Any failure
// to unwrap fails, so that a wrong KEK never leads to a new root.
func (k *Keyring) liveRoot(ctx context.Context, rk string) (root *crypto.IndexRoot, top int, err error) {
	recs, err := k.rootRecords(ctx, rk)
	if err != nil {
		return nil, 0, err
	}
	top = len(recs)
	for i := top - 1; i >= 0; i-- {
		rec := recs[i]
		if rec.State == StateDestroyed {
			return nil, top, fmt.Errorf("index root %s: %w", rec.ID, ErrKeyDestroyed)
		}
		secret, trusted, err := k.openRecord(ctx, k.provider(), rec)
		if err != nil {
			return nil, top, fmt.Errorf("index root %s: %w", rec.ID, k.unwrapError(k.provider(), rec, err))
		}
		root, err := crypto.NewIndexRoot(secret)
		clear(secret)
		if err != nil {
			return nil, top, fmt.Errorf("index root %s: %w", rec.ID, err)
		}
		if trusted {
			return root, top, nil
		}
	}
	return nil, top, fmt.Errorf("index root of %q: %w", rk, ErrKeyNotFound)
}

// ensureRoot makes sure rk has a live root before a new DEK seals into
// it: the first generation, or for a tenant keyspace the next one after
// it was shredded. A destroyed deployment root stays destroyed
// (RenewIndexRoot). A provider holding only an SM2 public key cannot
// make one (ErrCannotUnwrap).
func (k *Keyring) ensureRoot(ctx context.Context, rk string) error {
	_, top, err := k.liveRoot(ctx, rk)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrKeyDestroyed) && rk == "":
		return nil
	case !errors.Is(err, ErrKeyDestroyed) && !errors.Is(err, ErrKeyNotFound):
		return err
	}
	_, err = k.createRoot(ctx, rk, top+1)
	if errors.Is(err, ErrExists) {
		return nil // another process started it
	}
	k.dropRoot(rk)
	return err
}

// destroyRoot destroys every generation of rk's root that is not
// destroyed yet.
func (k *Keyring) destroyRoot(ctx context.Context, rk string) error {
	// Every record of the root's keyspace, from the list: a generation
	// missing from the store does not hide the ones after it.
	all, err := k.store.List(ctx)
	if err != nil {
		return err
	}
	for _, rec := range all {
		if rec.Keyspace != rootKeyspace(rk) || rec.State == StateDestroyed {
			continue
		}
		if err := k.updateRetry(ctx, rec.ID, destroyRecord(k.now())); err != nil {
			return err
		}
	}
	k.dropRoot(rk)
	return nil
}

// createRoot makes, wraps, signs and stores generation gen of rk's root.
func (k *Keyring) createRoot(ctx context.Context, rk string, gen int) (*crypto.IndexRoot, error) {
	if gen > maxRootGenerations {
		return nil, fmt.Errorf("index root of %q: more than %d generations", rk, maxRootGenerations)
	}
	id, keyspace := rootID(rk, gen), rootKeyspace(rk)
	secret := make([]byte, crypto.IndexRootSize)
	_, _ = rand.Read(secret)
	defer clear(secret)
	p := k.provider()
	wrapped, err := k.call(ctx, p, "wrap", func() ([]byte, error) { return p.Encrypt(secret, AssociatedData(id, keyspace)) })
	if err != nil {
		return nil, fmt.Errorf("index root %s: wrap: %w", id, err)
	}
	rec := Record{ID: id, Keyspace: keyspace, State: StateActive, Created: k.now().UTC(), KEK: k.kekName(wrapped), Wrapped: wrapped}
	if err := sign(k.provider(), &rec); err != nil {
		return nil, err
	}
	if _, ok := signer(k.provider()); ok && rec.Sig == nil {
		return nil, fmt.Errorf("index root %s: %w: a blind-index root must be signed, and only the private key signs", id, ErrCannotUnwrap)
	}
	if err := k.store.Create(ctx, rec); err != nil {
		return nil, err
	}
	return crypto.NewIndexRoot(secret)
}
