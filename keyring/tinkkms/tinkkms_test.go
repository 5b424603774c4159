package tinkkms_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/tinkkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

func tinkAEAD(t *testing.T) tink.AEAD {
	t.Helper()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	a, err := aead.New(h)
	require.NoError(t, err)
	return a
}

// A tink.AEAD is a keyring.Provider as it is, and through the adapter.
var (
	_ keyring.Provider = tink.AEAD(nil)
	_ keyring.Provider = (*tinkkms.Provider)(nil)
	_ keyring.KEKNamer = (*tinkkms.Provider)(nil)
)

func TestTinkAEADAsKEK(t *testing.T) {
	ctx := context.Background()
	p := tinkkms.New(tinkAEAD(t), "local-keyset")
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	k := keyring.New(d, p)
	key, err := k.Current(ctx, "citizen.phone")
	require.NoError(t, err)
	loc := crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone"}
	ct, err := key.SealText(nil, loc, []byte("13800138000"))
	require.NoError(t, err)

	pt, err := crypto.OpenText(nil, keyring.New(d, p), loc, ct)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(pt))

	recs, err := k.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tink:local-keyset", recs[0].KEK)

	// Another keyset cannot unwrap; the associated data is bound.
	_, err = crypto.OpenText(nil, keyring.New(d, tinkkms.New(tinkAEAD(t), "other")), loc, ct)
	assert.ErrorContains(t, err, "tink other: decrypt")
	assert.ErrorIs(t, err, keyring.ErrUnwrapFailed, "another keyset is the wrong KEK")
	assert.ErrorContains(t, err, "tink:other")
	w, err := p.Encrypt([]byte("0123456789abcdef"), keyring.AssociatedData("k1", "a.b"))
	require.NoError(t, err)
	_, err = p.Decrypt(w, keyring.AssociatedData("k1", "a.c"))
	assert.Error(t, err)
}

func BenchmarkColdUnwrap(b *testing.B) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		b.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		b.Fatal(err)
	}
	p := tinkkms.New(a, "local-keyset")
	d, err := keyring.OpenDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k, err := keyring.New(d, p).Current(context.Background(), "citizen.phone")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("tink", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := keyring.New(d, p).Key(k.ID()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func Example() {
	// Any tink.AEAD: a cloud KMS client's AEAD for a key URI, Vault via
	// tink-go-hcvault, or (here) a local keyset.
	h, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	a, _ := aead.New(h)
	p := tinkkms.New(a, "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k")

	dir, _ := os.MkdirTemp("", "keys")
	defer os.RemoveAll(dir)
	store, _ := keyring.OpenDir(dir)
	k := keyring.New(store, p)
	key, _ := k.Current(context.Background(), "citizen.phone")
	recs, _ := k.List(context.Background())
	fmt.Println(recs[0].ID == key.ID(), recs[0].KEK)
	// Output: true tink:gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k
}
