package crypto_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
)

// keySet is a KeySource of a few keys, counting the lookups.
type keySet struct {
	keys    map[string]*crypto.Key
	lookups int
}

func (s *keySet) Key(id string) (*crypto.Key, error) {
	s.lookups++
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s", crypto.ErrKeyNotFound, id)
}

func newKeySet(t testing.TB, keyspace string, n int) (*keySet, []*crypto.Key) {
	s := &keySet{keys: map[string]*crypto.Key{}}
	var list []*crypto.Key
	for i := range n {
		secret := make([]byte, crypto.KeySize)
		_, _ = rand.Read(secret)
		k, err := crypto.NewKey(fmt.Sprintf("k%016x", i+1), keyspace, crypto.SM4GCM, secret)
		require.NoError(t, err)
		s.keys[k.ID()] = k
		list = append(list, k)
	}
	return s, list
}

// TestOpenerOpensWhatOpenOpens: a batch of binary and text values of
// lengths 0 to 5000 (past the batched limit too), under three keys, with
// values that must fail among them — moved to another row, tampered,
// under an unknown key, of another keyspace, malformed — gives each
// item what crypto.Open gives it, and asks the key source once per id.
func TestOpenerOpensWhatOpenOpens(t *testing.T) {
	const ks = "citizen.phone"
	keys, list := newKeySet(t, ks, 3)
	other, _ := newKeySet(t, "citizen.name", 1)
	stranger := other.keys["k0000000000000001"]
	r := mrand.New(mrand.NewPCG(5, 6))
	var items []crypto.Item
	var want [][]byte
	for i := range 200 {
		n := r.IntN(64)
		if i%17 == 0 {
			n = r.IntN(5000)
		}
		plain := make([]byte, n)
		_, _ = rand.Read(plain)
		loc := crypto.Location{Keyspace: ks, Table: "citizen", Column: "phone", RowKey: fmt.Sprint(i)}
		k := list[i%3]
		text := i%2 == 0
		var stored []byte
		var err error
		if text {
			stored, err = k.SealText(nil, loc, plain)
		} else {
			stored, err = k.Seal(nil, loc, plain)
		}
		require.NoError(t, err)
		switch i % 11 {
		case 3: // moved to another row
			loc.RowKey = "other"
		case 5: // tampered
			stored[len(stored)-1] ^= 1
		case 7: // a key of another keyspace
			if stored, err = stranger.Seal(nil, crypto.Location{Keyspace: ks, Table: "citizen", Column: "phone", RowKey: fmt.Sprint(i)}, plain); err != nil {
				// a key of another keyspace cannot seal here: forge with
				// its own place instead and open here
				stored, err = stranger.Seal(nil, crypto.Location{Keyspace: "citizen.name", Table: "citizen", Column: "phone", RowKey: fmt.Sprint(i)}, plain)
				require.NoError(t, err)
			}
			text = false
		case 9: // malformed
			stored = []byte("gmf2:@@@")
			text = true
		}
		items = append(items, crypto.Item{Loc: loc, Stored: stored, Text: text})
		want = append(want, plain)
	}
	keys.keys[stranger.ID()+"x"] = stranger // unrelated, never asked
	var o crypto.Opener
	out := o.Open(make([]byte, 0, 16), keys, items)
	require.NotNil(t, out)
	assert.LessOrEqual(t, keys.lookups, 4, "one lookup per key id")
	for i, it := range items {
		var plain []byte
		var err error
		if it.Text {
			plain, err = crypto.OpenText(nil, keys, it.Loc, it.Stored)
		} else {
			plain, err = crypto.Open(nil, keys, it.Loc, it.Stored)
		}
		if err != nil {
			require.Error(t, it.Err, "item %d", i)
			assert.Equal(t, err.Error(), it.Err.Error(), "item %d: the same error", i)
			assert.Nil(t, it.Plain)
			continue
		}
		require.NoError(t, it.Err, "item %d", i)
		assert.True(t, bytes.Equal(want[i], it.Plain) && bytes.Equal(plain, it.Plain), "item %d", i)
	}
	// Reused: the same results, and nothing of the last batch leaks in.
	o.Open(out[:0], keys, items[:5])
	for i, it := range items[:5] {
		if it.Err == nil {
			assert.Equal(t, want[i], it.Plain)
		}
	}
}

// TestOpenerRejectsEveryBitFlip: every single-bit flip of a stored
// envelope — header, key id, nonce, ciphertext, tag — fails in a batch,
// and the unflipped values beside it still open.
func TestOpenerRejectsEveryBitFlip(t *testing.T) {
	keys, list := newKeySet(t, "", 1)
	loc := crypto.Location{Table: "citizen", Column: "phone", RowKey: "1"}
	stored, err := list[0].Seal(nil, loc, []byte("13800138000"))
	require.NoError(t, err)
	var o crypto.Opener
	for i := range 8 * len(stored) {
		bad := bytes.Clone(stored)
		bad[i/8] ^= 1 << (i % 8)
		items := []crypto.Item{{Loc: loc, Stored: stored}, {Loc: loc, Stored: bad}, {Loc: loc, Stored: stored}}
		o.Open(nil, keys, items)
		require.Error(t, items[1].Err, "bit %d", i)
		require.Nil(t, items[1].Plain)
		require.Equal(t, "13800138000", string(items[0].Plain))
		require.Equal(t, "13800138000", string(items[2].Plain))
	}
}

// TestOpenerAllocatesNothingPerValue: a batch of 300 text values opens
// without allocating once the Opener's buffers have grown.
func TestOpenerAllocatesNothingPerValue(t *testing.T) {
	items, keys := batch(t, 300, 16)
	var o crypto.Opener
	dst := make([]byte, 0, 300*16)
	o.Open(dst, keys, items)
	allocs := testing.AllocsPerRun(20, func() { o.Open(dst[:0], keys, items) })
	assert.Zero(t, allocs)
	for _, it := range items {
		require.NoError(t, it.Err)
	}
}

func batch(t testing.TB, n, size int) ([]crypto.Item, *keySet) { return batchOf(t, n, size, true) }

func batchOf(t testing.TB, n, size int, text bool) ([]crypto.Item, *keySet) {
	keys, list := newKeySet(t, "citizen.phone", 1)
	items := make([]crypto.Item, n)
	for i := range items {
		plain := make([]byte, size)
		_, _ = rand.Read(plain)
		loc := crypto.Location{Keyspace: "citizen.phone", Schema: "public", Table: "citizen", Column: "phone", RowKey: fmt.Sprint(1000 + i)}
		seal := list[0].Seal
		if text {
			seal = list[0].SealText
		}
		stored, err := seal(nil, loc, plain)
		require.NoError(t, err)
		items[i] = crypto.Item{Loc: loc, Stored: stored, Text: text}
	}
	return items, keys
}

// BenchmarkOpener opens n 16-byte values (text or binary form, about 60
// bytes of additional data each) one at a time with crypto.OpenText or
// crypto.Open (side=single) and as one batch (side=batch); ns/value is
// per value. Report ratios with
//
//	go test ./crypto -run '^$' -bench Opener -benchmem -count 6 | benchstat -col /side -
func BenchmarkOpener(b *testing.B) {
	for _, form := range []string{"text", "binary"} {
		for _, n := range []int{1, 8, 300} {
			benchOpener(b, form, n)
		}
	}
}

func benchOpener(b *testing.B, form string, n int) {
	{
		items, keys := batchOf(b, n, 16, form == "text")
		open := crypto.Open
		if form == "text" {
			open = crypto.OpenText
		}
		b.Run(fmt.Sprintf("%s/n=%d/side=single", form, n), func(b *testing.B) {
			dst := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				for _, it := range items {
					if _, err := open(dst[:0], keys, it.Loc, it.Stored); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
		b.Run(fmt.Sprintf("%s/n=%d/side=batch", form, n), func(b *testing.B) {
			var o crypto.Opener
			dst := make([]byte, 0, 16*n)
			b.ReportAllocs()
			for b.Loop() {
				o.Open(dst[:0], keys, items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
	}
}
