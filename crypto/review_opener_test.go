package crypto

// Tests from the hostile review of the Opener's header fast path (issue
// 16): random batches against Open and OpenText, item by item, with key
// ids that are prefixes of one another, both envelope versions, more
// columns than the place cache holds, edited headers, shared stored
// bytes and a key source that changes from one batch to the next; and
// after each batch, no keystream, column hash or key left behind. Set
// HR_SEEDS for more seeds than the one CI runs.

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto/internal/ghash"
)

// hrSource is a KeySource over a map, with a per-batch behaviour switch.
type hrSource struct {
	m     map[string]*Key
	calls int
}

func (s *hrSource) Key(id string) (*Key, error) {
	s.calls++
	if k, ok := s.m[id]; ok {
		if k == nil {
			return nil, nil // a KeySource that returns nil, nil
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
}

func hrKey(t testing.TB, id, ks string) *Key {
	t.Helper()
	s := make([]byte, KeySize)
	_, _ = rand.Read(s)
	k, err := NewKey(id, ks, SM4GCM, s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type hrVal struct {
	stored []byte
	text   bool
}

func toText(bin []byte) []byte { return appendText(nil, bin) }

// mutate returns a hostile variant of a binary envelope.
func hrMutate(r *mrand.Rand, b []byte) []byte {
	c := bytes.Clone(b)
	switch r.IntN(12) {
	case 0: // flip version 1<->2
		c[0] ^= 3
	case 1:
		c[1] = byte(r.IntN(4))
	case 2: // shorten the id length byte (header becomes a prefix of another)
		if c[2] > 1 {
			c[2]--
		}
	case 3:
		c[2]++
	case 4: // edit a key id byte
		c[3+r.IntN(int(c[2]))] ^= byte(1 + r.IntN(3))
	case 5: // truncate around the tag
		if n := len(c) - r.IntN(40); n >= 0 {
			c = c[:n]
		}
	case 6: // extend
		c = append(c, byte(r.IntN(256)))
	case 7: // flip a bit anywhere
		i := r.IntN(len(c))
		c[i] ^= 1 << r.IntN(8)
	case 8: // drop the id's last byte (id "ab" -> header of id "a" + shifted)
		if c[2] > 1 {
			c = append(c[:3+int(c[2])-1], c[3+int(c[2]):]...)
			c[2]--
		}
	case 9: // append a byte to the id
		l := int(c[2])
		c = append(c[:3+l], append([]byte{'b'}, c[3+l:]...)...)
		c[2]++
	case 10:
		c = c[:min(len(c), r.IntN(40))]
	case 11:
		// nothing: an exact duplicate
	}
	return c
}

func hrSingle(keys KeySource, it *Item) ([]byte, error) {
	if it.Text {
		return OpenText(nil, keys, it.Loc, it.Stored)
	}
	return Open(nil, keys, it.Loc, it.Stored)
}

// TestHostileDifferential: random batches against Open/OpenText, one Opener
// reused across batches whose KeySource changes.
func TestHostileDifferential(t *testing.T) {
	saved := ecbLanes
	defer func() { ecbLanes = saved }()
	for seed := uint64(1); seed <= hrSeeds; seed++ {
		for _, l := range []int{1, 8, 16} {
			ecbLanes = l
			t.Run(fmt.Sprint(seed, "/", l), func(t *testing.T) { hostileDifferential(t, seed) })
		}
	}
}

var hrSeeds = func() uint64 {
	if n, err := strconv.ParseUint(os.Getenv("HR_SEEDS"), 10, 64); err == nil {
		return n
	}
	return 1
}()

func hostileDifferential(t *testing.T, seed uint64) {
	r := mrand.New(mrand.NewPCG(seed, 2))
	ids := []string{"a", "ab", "abc", "b", "k0123456789abcdef", strings.Repeat("z", 64), strings.Repeat("z", 63)}
	kss := []string{"", "ks1", "ks2"}
	// Keys: for every id, two incarnations in each keyspace.
	type inc struct{ k [2]*Key }
	incs := map[string]map[string]*inc{}
	for _, id := range ids {
		incs[id] = map[string]*inc{}
		for _, ks := range kss {
			incs[id][ks] = &inc{[2]*Key{hrKey(t, id, ks), hrKey(t, id, ks)}}
		}
	}
	var locs []Location
	for _, ks := range kss {
		for _, sc := range []string{"", "s"} {
			for _, tc := range [][2]string{{"t", "c"}, {"t", "d"}, {"u", "c"}} {
				for _, rk := range []string{"", "1"} {
					locs = append(locs, Location{Keyspace: ks, Schema: sc, Table: tc[0], Column: tc[1], RowKey: rk})
				}
			}
		}
	}
	for i := range 24 {
		locs = append(locs, Location{Keyspace: "ks1", Table: "w", Column: fmt.Sprint("c", i)})
	}
	locs = append(locs, Location{Table: "", Column: "c"})
	var o Opener
	var dstBuf []byte
	for round := 0; round < 3000; round++ {
		// This batch's key source.
		src := &hrSource{m: map[string]*Key{}}
		for _, id := range ids {
			switch r.IntN(8) {
			case 0: // absent
			case 1:
				src.m[id] = nil
			case 2: // a key with another id
				src.m[id] = incs[ids[r.IntN(len(ids))]][kss[r.IntN(3)]].k[0]
			default:
				src.m[id] = incs[id][kss[r.IntN(3)]].k[r.IntN(2)]
			}
		}
		n := 1 + r.IntN(60)
		items := make([]Item, 0, n)
		var vals []hrVal
		for len(items) < n {
			loc := locs[r.IntN(len(locs)-1)]
			// seal a value somewhere with some key
			id := ids[r.IntN(len(ids))]
			k := incs[id][loc.Keyspace].k[r.IntN(2)]
			if r.IntN(6) == 0 {
				k = incs[id][kss[r.IntN(3)]].k[r.IntN(2)]
			} else if sk := src.m[id]; sk != nil && sk.id == id && r.IntN(3) > 0 {
				k = sk // the key this batch's source gives
				loc.Keyspace = k.keyspace
			}
			size := r.IntN(50)
			switch r.IntN(10) {
			case 0:
				size = 4096 - 3 + r.IntN(6) // around maxBatched
			case 1:
				size = 0
			}
			plain := make([]byte, size)
			_, _ = rand.Read(plain)
			sealLoc := loc
			sealLoc.Keyspace = k.keyspace
			var bin []byte
			if r.IntN(3) == 0 {
				sealLoc.Schema = ""
				nonce := make([]byte, NonceSize)
				_, _ = rand.Read(nonce)
				bin = sealV1(t, k, sealLoc, plain, nonce)
			} else {
				var err error
				bin, err = k.Seal(nil, sealLoc, plain)
				if err != nil {
					t.Fatal(err)
				}
			}
			if r.IntN(3) == 0 {
				bin = hrMutate(r, bin)
			}
			v := hrVal{stored: bin, text: r.IntN(2) == 0}
			if v.text {
				v.stored = toText(bin)
				if r.IntN(10) == 0 {
					v.stored[r.IntN(len(v.stored))] ^= 1
				}
			}
			vals = append(vals, v)
			// open it at 1..3 places, sometimes its own
			for range 1 + r.IntN(3) {
				at := sealLoc
				if r.IntN(3) == 0 {
					at = locs[r.IntN(len(locs))]
				}
				items = append(items, Item{Loc: at, Stored: v.stored, Text: v.text})
			}
			// re-use an earlier value
			if len(vals) > 1 && r.IntN(3) == 0 {
				w := vals[r.IntN(len(vals))]
				items = append(items, Item{Loc: locs[r.IntN(len(locs))], Stored: w.stored, Text: w.text})
			}
		}
		r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		// Prior garbage in the item results.
		for i := range items {
			items[i].Plain, items[i].Err = []byte("junk"), fmt.Errorf("junk")
		}
		prefix := []byte("PREFIX")
		dst := append(dstBuf[:0], prefix...)
		if round%7 == 3 {
			dst, prefix = nil, nil
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("round %d: panic %v", round, p)
				}
			}()
			dst = o.Open(dst, src, items)
		}()
		if !bytes.Equal(dst[:len(prefix)], prefix) {
			t.Fatalf("round %d: dst prefix overwritten", round)
		}
		for i := range items {
			it := &items[i]
			want, werr := hrSingle(src, it)
			if (werr == nil) != (it.Err == nil) {
				t.Fatalf("round %d item %d at %+v: batch err %v, single err %v", round, i, it.Loc, it.Err, werr)
			}
			if werr != nil {
				if werr.Error() != it.Err.Error() {
					t.Fatalf("round %d item %d: batch err %q, single %q", round, i, it.Err, werr)
				}
				if it.Plain != nil {
					t.Fatalf("round %d: plain with error", round)
				}
				continue
			}
			if !bytes.Equal(want, it.Plain) || it.Plain == nil {
				t.Fatalf("round %d item %d: plaintext differs", round, i)
			}
			if cap(it.Plain) != len(it.Plain) {
				t.Fatalf("round %d: Plain cap not limited", round)
			}
		}
		// Secrets left after Open.
		if c := o.ctr[:cap(o.ctr)]; !allZero(c) {
			t.Fatalf("round %d: keystream left in o.ctr", round)
		}
		for i := range o.places.list[:cap(o.places.list)] {
			if o.places.list[:cap(o.places.list)][i].p != (ghash.Prefix{}) {
				t.Fatalf("round %d: prefix left", round)
			}
		}
		for _, k := range o.keys[:cap(o.keys)] {
			if k != nil {
				t.Fatalf("round %d: key left", round)
			}
		}
		if o.places.next != 0 {
			t.Fatalf("round %d: state left", round)
		}
		dstBuf = dst
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

type panicSource struct {
	ok    KeySource
	after int
}

func (p *panicSource) Key(id string) (*Key, error) {
	if p.after--; p.after < 0 {
		panic("key source")
	}
	return p.ok.Key(id)
}

// TestHostilePanicThenReuse: a KeySource that panics mid-batch, then the
// Opener reused: same results as Open, nothing left.
func TestHostilePanicThenReuse(t *testing.T) {
	a, b := hrKey(t, "a", ""), hrKey(t, "ab", "")
	src := &hrSource{m: map[string]*Key{"a": a, "ab": b}}
	loc := Location{Table: "t", Column: "c"}
	va, _ := a.Seal(nil, loc, []byte("one"))
	vb, _ := b.Seal(nil, loc, []byte("two"))
	// One arena: items alias each other's tails.
	arena := append(append(bytes.Clone(va), vb...), va...)
	items := []Item{{Loc: loc, Stored: arena[:len(va)]}, {Loc: loc, Stored: arena[len(va) : len(va)+len(vb)]}, {Loc: loc, Stored: arena[len(va)+len(vb):]}}
	var o Opener
	func() {
		defer func() { _ = recover() }()
		o.Open(nil, &panicSource{ok: src, after: 1}, items)
	}()
	if !allZero(o.ctr[:cap(o.ctr)]) {
		t.Fatal("keystream left")
	}
	for _, p := range o.places.list[:cap(o.places.list)] {
		if p.p != (ghash.Prefix{}) {
			t.Fatal("prefix left after panic")
		}
	}
	// Reuse with a source that now refuses "a".
	src2 := &hrSource{m: map[string]*Key{"ab": b}}
	o.Open(nil, src2, items)
	for i := range items {
		want, err := hrSingle(src2, &items[i])
		if fmt.Sprint(err) != fmt.Sprint(items[i].Err) || !bytes.Equal(want, items[i].Plain) {
			t.Fatalf("item %d: batch %v %q, single %v %q", i, items[i].Err, items[i].Plain, err, want)
		}
	}
	o.Open(nil, src, items)
	for i := range items {
		if items[i].Err != nil {
			t.Fatal(items[i].Err)
		}
	}
}

// TestHostileAloneFailureLeavesNothing: a long value (alone, gmsm's GCM)
// whose tag fails leaves no unauthenticated plaintext in dst's capacity.
func TestHostileAloneFailureLeavesNothing(t *testing.T) {
	k := hrKey(t, "a", "")
	loc := Location{Table: "t", Column: "c"}
	plain := bytes.Repeat([]byte{0xAA}, 6000)
	v, _ := k.Seal(nil, loc, plain)
	v[len(v)-1] ^= 1
	var o Opener
	items := []Item{{Loc: loc, Stored: v}}
	dst := o.Open(nil, k, items)
	if items[0].Err == nil {
		t.Fatal("opened")
	}
	if bytes.Contains(dst[:cap(dst)], plain[:64]) {
		t.Fatal("unauthenticated plaintext left in dst")
	}
	t.Logf("cap %d, zero %v", cap(dst), allZero(dst[:cap(dst)]))
}
