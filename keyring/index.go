package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/crypto"
)

const (
	// IndexRootID is the record id of the blind-index root key.
	IndexRootID = "index-root"
	// IndexRootKeyspace is the reserved keyspace of the index root key.
	// Keyspaces starting with "gmfield:" are reserved.
	IndexRootKeyspace = "gmfield:index-root"
)

func reserved(keyspace string) bool { return strings.HasPrefix(keyspace, "gmfield:") }

// IndexRoot returns the blind-index root key (crypto.IndexRootSize
// bytes), stored wrapped like a DEK under IndexRootID, creating it on
// first use. Rewrap covers it; destroying it makes every blind index
// unrecomputable (the columns must be re-indexed under a new root).
func (k *Keyring) IndexRoot(ctx context.Context) (*crypto.IndexRoot, error) {
	rec, err := k.store.Get(ctx, IndexRootID)
	if errors.Is(err, ErrKeyNotFound) {
		secret := make([]byte, crypto.IndexRootSize)
		_, _ = rand.Read(secret)
		defer clear(secret)
		wrapped, werr := k.provider().Encrypt(secret, AssociatedData(IndexRootID, IndexRootKeyspace))
		if werr != nil {
			return nil, fmt.Errorf("index root: wrap: %w", werr)
		}
		rec = Record{ID: IndexRootID, Keyspace: IndexRootKeyspace, State: StateActive, Created: k.now().UTC(), KEK: k.kekName(wrapped), Wrapped: wrapped}
		err = k.store.Create(ctx, rec)
		if errors.Is(err, ErrExists) {
			return k.IndexRoot(ctx) // another process created it first
		}
		if err != nil {
			return nil, err
		}
		return crypto.NewIndexRoot(secret)
	}
	if err != nil {
		return nil, err
	}
	if rec.State == StateDestroyed {
		return nil, fmt.Errorf("index root: %w", ErrKeyDestroyed)
	}
	secret, err := k.provider().Decrypt(rec.Wrapped, AssociatedData(rec.ID, rec.Keyspace))
	if err != nil {
		return nil, fmt.Errorf("index root: unwrap: %w", err)
	}
	defer clear(secret)
	return crypto.NewIndexRoot(secret)
}
