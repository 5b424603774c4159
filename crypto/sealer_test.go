package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSealerSealsWhatGMSMSeals: a batch of binary and text values of
// lengths 0 to 5000 (past the batched limit), under three keys and over
// more columns than the shared hashes keep, with items that must fail
// among them, gives each envelope exactly the bytes gmsm's GCM gives
// for its nonce and additional data, and each envelope opens with Open.
// The Sealer is used twice, so that reused buffers are checked too.
func TestSealerSealsWhatGMSMSeals(t *testing.T) {
	const ks = "citizen.phone"
	var keys []*Key
	for i := range 3 {
		secret := make([]byte, KeySize)
		_, _ = rand.Read(secret)
		k, err := NewKey(fmt.Sprintf("k%d", i), ks, SM4GCM, secret)
		require.NoError(t, err)
		keys = append(keys, k)
	}
	stranger := testKey(t, "k-other") // keyspace ""
	r := mrand.New(mrand.NewPCG(7, 8))
	var s Sealer
	for round := range 2 {
		var items []SealItem
		type want struct{ err error }
		var wants []want
		for i := range 150 + 50*round {
			n := r.IntN(64)
			if i%23 == 0 {
				n = r.IntN(5000)
			}
			plain := make([]byte, n)
			_, _ = rand.Read(plain)
			loc := Location{Keyspace: ks, Schema: "public", Table: "citizen", Column: fmt.Sprintf("c%d", r.IntN(20)), RowKey: fmt.Sprint(i)}
			if i%5 == 0 {
				loc.RowKey = ""
			}
			it := SealItem{Key: keys[r.IntN(3)], Loc: loc, Plain: plain, Text: r.IntN(2) == 0}
			var w want
			switch i % 31 {
			case 3:
				it.Key, w.err = nil, ErrKeyNotFound
			case 7:
				it.Key, w.err = stranger, ErrKeyMismatch
			case 11:
				it.Loc.Column, w.err = "", ErrInvalidLocation
			}
			items = append(items, it)
			wants = append(wants, w)
		}
		out := s.Seal([]byte("prefix"), items)
		require.Equal(t, "prefix", string(out[:6]))
		nonces := map[string]bool{}
		for i, it := range items {
			if wants[i].err != nil {
				require.ErrorIs(t, it.Err, wants[i].err, "item %d", i)
				require.Nil(t, it.Sealed)
				continue
			}
			require.NoError(t, it.Err, "item %d", i)
			bin := it.Sealed
			if it.Text {
				var err error
				bin, err = decodeText(nil, it.Sealed)
				require.NoError(t, err)
				got, err := OpenText(nil, it.Key, it.Loc, it.Sealed)
				require.NoError(t, err, "item %d", i)
				require.Equal(t, it.Plain, got, "item %d", i)
			}
			e, err := Parse(bin)
			require.NoError(t, err)
			require.Equal(t, it.Key.ID(), e.KeyID)
			require.False(t, nonces[string(e.Nonce)], "nonce repeated")
			nonces[string(e.Nonce)] = true
			want := it.Key.aead.Seal(bytes.Clone(bin[:len(e.header)+NonceSize]), e.Nonce, it.Plain, appendAAD(nil, e.header, it.Loc))
			require.Equal(t, want, bin, "item %d (%d bytes): not gmsm's sealing", i, len(it.Plain))
			got, err := Open(nil, it.Key, it.Loc, bin)
			require.NoError(t, err)
			require.Equal(t, it.Plain, got)
		}
		assert.Equal(t, make([]byte, cap(s.ctr)), s.ctr[:cap(s.ctr)], "keystream left in the Sealer")
		assert.Empty(t, s.places.list, "column hashes left in the Sealer")
	}
}

func TestSealerRefusesWhatSealRefuses(t *testing.T) {
	k := testKey(t, "dek-1")
	var s Sealer
	items := []SealItem{
		{Key: k, Loc: Location{Table: "t", Column: "c"}, Plain: make([]byte, MaxPlaintextSize+1)},
		{Key: k, Loc: Location{Table: "t", Column: "c"}, Plain: []byte("ok")},
	}
	s.Seal(nil, items)
	_, err := k.Seal(nil, items[0].Loc, items[0].Plain)
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorIs(t, items[0].Err, ErrTooLarge)
	require.NoError(t, items[1].Err)
	require.True(t, errors.Is(items[0].Err, ErrTooLarge))
}

// BenchmarkSealer seals n 16-byte text values one at a time with
// Key.SealText (side=single) and as one batch (side=batch); ns/value is
// per value. Report ratios with
//
//	go test ./crypto -run '^$' -bench Sealer -benchmem -count 6 | benchstat -col /side -
func BenchmarkSealer(b *testing.B) {
	k := testKey(b, "citizen.phone:1")
	for _, n := range []int{1, 8, 300} {
		items := make([]SealItem, n)
		for i := range items {
			items[i] = SealItem{Key: k, Loc: Location{Schema: "public", Table: "citizen", Column: "phone", RowKey: fmt.Sprint(1000 + i)}, Plain: make([]byte, 16), Text: true}
		}
		b.Run(fmt.Sprintf("n=%d/side=single", n), func(b *testing.B) {
			dst := make([]byte, 0, 128)
			b.ReportAllocs()
			for b.Loop() {
				for _, it := range items {
					if _, err := k.SealText(dst[:0], it.Loc, it.Plain); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
		b.Run(fmt.Sprintf("n=%d/side=batch", n), func(b *testing.B) {
			var s Sealer
			dst := make([]byte, 0, 128*n)
			b.ReportAllocs()
			for b.Loop() {
				s.Seal(dst[:0], items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
	}
}
