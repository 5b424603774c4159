package crypto

// Hostile-review tests for the batched GCM (Opener, Sealer, places).

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto/internal/ghash"
)

type reviewKeys map[string]*Key

func (m reviewKeys) Key(id string) (*Key, error) {
	if k, ok := m[id]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
}

func reviewKey(t testing.TB, id, ks string) *Key {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret)
	k, err := NewKey(id, ks, SM4GCM, secret)
	require.NoError(t, err)
	return k
}

// TestReviewBatchCrossPlace: values of many places (more than maxPlaces),
// under keys of several id lengths and two keyspaces, version 1 and 2,
// with names whose boundaries shift (table "ab" column "c" / table "a"
// column "bc", schema "" table "xt" / schema "x" table "t"), all opened in
// ONE batch at every place: each opens only where it was sealed.
func TestReviewBatchCrossPlace(t *testing.T) {
	keys := reviewKeys{}
	ks := []*Key{
		reviewKey(t, "a", "ks1"),
		reviewKey(t, "k0123456789abcdef", "ks1"),
		reviewKey(t, strings.Repeat("z", 64), "ks1"),
		reviewKey(t, "b", "ks2"),
	}
	for _, k := range ks {
		keys[k.id] = k
	}
	var locs []Location
	for _, kspace := range []string{"ks1", "ks2"} {
		for _, sc := range []string{"", "x", "public"} {
			for _, tc := range [][2]string{{"ab", "c"}, {"a", "bc"}, {"xt", "c"}, {"t", "c"}, {"citizen", "phone"}} {
				for _, rk := range []string{"", "1", "11"} {
					locs = append(locs, Location{Keyspace: kspace, Schema: sc, Table: tc[0], Column: tc[1], RowKey: rk})
				}
			}
		}
	}
	type sealed struct {
		loc    Location
		key    *Key
		stored []byte
		text   bool
		plain  []byte
		v1     bool
	}
	var all []sealed
	var s Sealer
	var items []SealItem
	r := mrand.New(mrand.NewPCG(9, 9))
	for i, loc := range locs {
		for _, k := range ks {
			if k.keyspace != loc.Keyspace {
				continue
			}
			plain := make([]byte, r.IntN(40))
			_, _ = rand.Read(plain)
			items = append(items, SealItem{Key: k, Loc: loc, Plain: plain, Text: i%2 == 0})
			if loc.Schema == "" {
				nonce := make([]byte, NonceSize)
				_, _ = rand.Read(nonce)
				all = append(all, sealed{loc: loc, key: k, stored: sealV1(t, k, loc, plain, nonce), plain: plain, v1: true})
			}
		}
	}
	s.Seal(nil, items)
	for _, it := range items {
		require.NoError(t, it.Err)
		all = append(all, sealed{loc: it.Loc, key: it.Key, stored: it.Sealed, text: it.Text, plain: it.Plain})
	}
	// One batch: every value at every location.
	var batch []Item
	for _, v := range all {
		for _, loc := range locs {
			batch = append(batch, Item{Loc: loc, Stored: v.stored, Text: v.text})
		}
	}
	r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	var o Opener
	o.Open(nil, keys, batch)
	opened := 0
	for _, it := range batch {
		var v *sealed
		for i := range all {
			if bytes.Equal(all[i].stored, it.Stored) {
				v = &all[i]
			}
		}
		want := it.Loc == v.loc
		if it.Err == nil {
			opened++
			require.True(t, want, "a value sealed at %+v opened at %+v", v.loc, it.Loc)
			require.Equal(t, v.plain, it.Plain)
		} else {
			require.False(t, want, "did not open at its own place %+v: %v", v.loc, it.Err)
		}
	}
	t.Logf("%d items, %d opened, %d places", len(batch), opened, len(locs))
	require.Equal(t, len(all), opened)
}

// TestReviewLengthsAroundMaxBatched: plaintexts of 4060…4120 bytes (the
// batched limit is 4096) sealed in a batch among short values and alone,
// under key ids of 1, 17 and 64 bytes and schemas of several lengths (so
// every split of the shared additional data), are gmsm's bytes, open in a
// batch and alone, and fail with any one bit of the tag flipped.
func TestReviewLengthsAroundMaxBatched(t *testing.T) {
	keys := reviewKeys{}
	var ks []*Key
	for _, id := range []string{"a", "k0123456789abcdef", strings.Repeat("q", 64)} {
		k := reviewKey(t, id, "")
		keys[id] = k
		ks = append(ks, k)
	}
	var s Sealer
	var o Opener
	for n := 4060; n <= 4120; n++ {
		for ki, k := range ks {
			loc := Location{Schema: strings.Repeat("s", (n+ki)%19), Table: "t", Column: "c", RowKey: fmt.Sprint(n)}
			plain := make([]byte, n)
			_, _ = rand.Read(plain)
			for _, alone := range []bool{false, true} {
				items := []SealItem{{Key: k, Loc: loc, Plain: plain}}
				if !alone {
					items = append([]SealItem{{Key: k, Loc: loc, Plain: []byte("x")}}, items...)
					items = append(items, SealItem{Key: k, Loc: loc, Plain: nil})
				}
				s.Seal(nil, items)
				for _, it := range items {
					require.NoError(t, it.Err)
					e, err := Parse(it.Sealed)
					require.NoError(t, err)
					want := it.Key.aead.Seal(bytes.Clone(it.Sealed[:len(e.header)+NonceSize]), e.Nonce, it.Plain, appendAAD(nil, e.header, it.Loc))
					require.Equal(t, want, it.Sealed, "n=%d alone=%v", len(it.Plain), alone)
				}
				// open in a batch, tampered copies beside
				var batch []Item
				for _, it := range items {
					batch = append(batch, Item{Loc: it.Loc, Stored: it.Sealed})
					bad := bytes.Clone(it.Sealed)
					bad[len(bad)-1-(n%16)] ^= 0x80
					batch = append(batch, Item{Loc: it.Loc, Stored: bad})
				}
				o.Open(nil, keys, batch)
				for i, it := range batch {
					if i%2 == 0 {
						require.NoError(t, it.Err, "n=%d", n)
						require.True(t, bytes.Equal(items[i/2].Plain, it.Plain))
					} else {
						require.ErrorIs(t, it.Err, ErrAuthentication, "tampered n=%d", n)
					}
				}
			}
		}
	}
}

// TestReviewPlacesGrowthLeavesPrefix: places.list grows by append; the
// arrays it leaves behind keep the column hashes (as secret as H), which
// reset does not reach.
func TestReviewPlacesGrowthLeavesPrefix(t *testing.T) {
	k := reviewKey(t, "a", "")
	var c places
	hdr := []byte{Version2, byte(SM4GCM), 1, 'a'}
	c.find(k, hdr, &Location{Table: "t", Column: "c0"})
	old := &c.list[0].p // the first backing array
	for i := 1; i < 5; i++ {
		c.find(k, hdr, &Location{Table: "t", Column: fmt.Sprint("c", i)})
	}
	c.reset()
	require.Equal(t, ghash.Prefix{}, *old, "a column hash is left in an array places grew out of")
}

// FuzzReviewOpenerBatch: any bytes, cut into items (binary and text),
// beside a valid value, never panic, and the batch agrees with Open.
func FuzzReviewOpenerBatch(f *testing.F) {
	k := reviewKey(f, "k1", "")
	loc := Location{Table: "t", Column: "c", RowKey: "1"}
	good, _ := k.Seal(nil, loc, []byte("13800138000"))
	goodText, _ := k.SealText(nil, loc, []byte("x"))
	f.Add(good, uint8(3))
	f.Add(goodText, uint8(1))
	f.Add([]byte{2, 1, 2, 'k', '1'}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, cuts uint8) {
		items := []Item{{Loc: loc, Stored: good}}
		n := int(cuts%5) + 1
		step := len(data)/n + 1
		for i := 0; i < len(data); i += step {
			b := data[i:min(len(data), i+step)]
			items = append(items, Item{Loc: loc, Stored: b, Text: IsText(b)})
		}
		items = append(items, Item{Loc: loc, Stored: data, Text: IsText(data)}, Item{Loc: loc, Stored: goodText, Text: true})
		var o Opener
		o.Open(nil, k, items)
		for _, it := range items {
			var want []byte
			var err error
			if it.Text {
				want, err = OpenText(nil, k, it.Loc, it.Stored)
			} else {
				want, err = Open(nil, k, it.Loc, it.Stored)
			}
			if (err == nil) != (it.Err == nil) || !bytes.Equal(want, it.Plain) {
				t.Fatalf("batch %v / single %v", it.Err, err)
			}
		}
	})
}

// TestReviewLanes re-runs the batch tests with the ECB pass unpadded and
// padded to 8 and 16 blocks.
func TestReviewLanes(t *testing.T) {
	saved := ecbLanes
	defer func() { ecbLanes = saved }()
	for _, l := range []int{1, 8, 16} {
		ecbLanes = l
		t.Run(fmt.Sprint(l), func(t *testing.T) {
			TestReviewLengthsAroundMaxBatched(t)
			TestReviewBatchCrossPlace(t)
		})
	}
}

// TestReviewEnvelopeOpenMutatedFields: Envelope's Nonce and Ciphertext are
// exported; Envelope.Open checks the header but not their lengths, and
// panics instead of returning ErrMalformed.
func TestReviewEnvelopeOpenMutatedFields(t *testing.T) {
	k := reviewKey(t, "k1", "")
	loc := Location{Table: "t", Column: "c"}
	b, err := k.Seal(nil, loc, []byte("x"))
	require.NoError(t, err)
	for name, mut := range map[string]func(e *Envelope){
		"short ciphertext": func(e *Envelope) { e.Ciphertext = e.Ciphertext[:3] },
		"short nonce":      func(e *Envelope) { e.Nonce = e.Nonce[:5] },
	} {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(b)
			require.NoError(t, err)
			mut(&e)
			require.NotPanics(t, func() { _, err = e.Open(nil, k, loc) }, name)
			require.ErrorIs(t, err, ErrMalformed, name)
		})
	}
}
