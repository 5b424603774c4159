package crypto

import (
	"fmt"

	"github.com/gmfield/gmfield/crypto/internal/ghash"
)

// The parts Opener and Sealer share: a key cache, the keys of a batch in
// order, and the hashes of the additional data each column's values
// share.

// keyCache asks a KeySource once per key id (and once per failing id).
type keyCache struct {
	keys  KeySource
	ids   []string
	found []*Key
	errs  []error
}

func (c *keyCache) reset(keys KeySource) {
	clear(c.found)
	clear(c.errs)
	c.keys, c.ids, c.found, c.errs = keys, c.ids[:0], c.found[:0], c.errs[:0]
}

// Key implements KeySource.
func (c *keyCache) Key(id string) (*Key, error) {
	for i, have := range c.ids {
		if have == id {
			return c.found[i], c.errs[i]
		}
	}
	if c.keys == nil {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
	}
	k, err := c.keys.Key(id)
	c.ids, c.found, c.errs = append(c.ids, id), append(c.found, k), append(c.errs, err)
	return k, err
}

// keyList is the keys of a batch in order of first use.
type keyList []*Key

func (l *keyList) index(k *Key) int {
	for i, have := range *l {
		if have == k {
			return i
		}
	}
	*l = append(*l, k)
	return len(*l) - 1
}

// places holds, for a batch, the GHASH of the additional data up to the
// row key (appendAADPlace) per key, envelope header and column, so that
// each value hashes only its row key, its ciphertext and the lengths.
// The hashes are as secret as the keys: a batch clears them when done.
type places struct {
	list []place
	next int // where match looks first: after the last place found
	buf  []byte
	none ghash.Prefix // always empty
}

// maxPlaces bounds the search of places: a batch over more columns than
// this hashes the rest of its values' additional data in full.
const maxPlaces = 16

type place struct {
	key                             *Key
	keyspace, schema, table, column string
	// header is the envelope header (version, algorithm, key id) of the
	// values of this place: a value whose header has the same bytes, at
	// the same location, was sealed under the same key id and version
	// and passes the same checks (Envelope.key).
	header [fixedHeaderLen + MaxKeyIDLen]byte
	hlen   int
	p      ghash.Prefix
}

// at reports whether e is the place of loc.
func (e *place) at(loc *Location) bool {
	return e.column == loc.Column && e.table == loc.Table && e.schema == loc.Schema && e.keyspace == loc.Keyspace
}

// find returns the index of the hash of the additional data up to the
// row key of a value sealed by k with header at loc, computing it on first
// use, or -1 when places is full. The whole header is compared, not only
// the key: the hash covers it.
func (c *places) find(k *Key, header []byte, loc *Location) int {
	for i := range c.list {
		e := &c.list[i]
		if e.key == k && e.hlen == len(header) && string(e.header[:e.hlen]) == string(header) && e.at(loc) {
			return i
		}
	}
	if len(c.list) == maxPlaces {
		return -1
	}
	if c.list == nil {
		// Never grown by append: an array left behind would keep hashes.
		c.list = make([]place, 0, maxPlaces)
	}
	c.list = append(c.list, place{key: k, keyspace: loc.Keyspace, schema: loc.Schema, table: loc.Table, column: loc.Column})
	e := &c.list[len(c.list)-1]
	e.hlen = copy(e.header[:], header)
	c.buf = appendAADPlace(c.buf[:0], header, *loc)
	k.gcm.h.Reset(&e.p, c.buf)
	return len(c.list) - 1
}

// match returns the index of the place found earlier in the batch for
// the envelope b (any bytes, unchecked) at loc: one whose header, checked
// then, b starts with, at the same location. It returns -1 if there is
// none. It looks first after the place it found last, which is where
// the next column of a row lies.
func (c *places) match(b []byte, loc *Location) int {
	n := len(c.list)
	for j := range n {
		i := c.next + j
		if i >= n {
			i -= n
		}
		e := &c.list[i]
		if len(b) >= e.hlen && string(b[:e.hlen]) == string(e.header[:e.hlen]) && e.at(loc) {
			c.next = i + 1
			if c.next == n {
				c.next = 0
			}
			return i
		}
	}
	return -1
}

// prefix returns the hash at i, or the empty prefix for -1.
func (c *places) prefix(i int) *ghash.Prefix {
	if i < 0 {
		return &c.none
	}
	return &c.list[i].p
}

// appendRest appends the additional data the hash at i leaves for loc:
// LP(row key), or all of it for -1.
func (c *places) appendRest(dst []byte, i int, header []byte, loc *Location) []byte {
	if i < 0 {
		return appendAAD(dst, header, *loc)
	}
	return appendLP(dst, loc.RowKey)
}

// reset erases the hashes.
func (c *places) reset() {
	for i := range c.list {
		c.list[i].p.Clear()
	}
	clear(c.list)
	c.list, c.next = c.list[:0], 0
}

// maxKept is the largest buffer an Opener or a Sealer keeps from one
// batch to the next: one long value does not pin its memory for good.
const maxKept = 1 << 20

// trim returns b for reuse, or nil if it has grown past maxKept.
func trim(b []byte) []byte {
	if cap(b) > maxKept {
		return nil
	}
	return b[:0]
}
