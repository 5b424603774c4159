package keyring_test

import (
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
)

// BenchmarkCached measures the hit paths: a DEK by id (opening) and the
// current DEK of a keyspace (sealing, one counted seal per call).
func BenchmarkCached(b *testing.B) {
	r, _ := newRing(b, sm4Provider(b, 1))
	k, err := r.Current(ctx, "citizen.phone")
	if err != nil {
		b.Fatal(err)
	}
	id := k.ID()
	b.Run("key-by-id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Key(id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("current", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Current(ctx, "citizen.phone"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("current-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Current(ctx, "citizen.phone"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkColdUnwrap measures a cache miss: store read, provider unwrap
// and key set-up, for each local provider.
func BenchmarkColdUnwrap(b *testing.B) {
	priv, err := crypto.GenerateSM2Key()
	if err != nil {
		b.Fatal(err)
	}
	sm2, err := local.NewSM2(priv)
	if err != nil {
		b.Fatal(err)
	}
	for name, p := range map[string]keyring.Provider{"sm4": sm4Provider(b, 1), "sm2": sm2} {
		r, d := newRing(b, p)
		k, err := r.Current(ctx, "citizen.phone")
		if err != nil {
			b.Fatal(err)
		}
		id := k.ID()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cold := keyring.New(d, p)
				if _, err := cold.Key(id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
