package crypto

import "slices"

// Item is one stored value for Opener.Open: where it lives, its stored
// bytes, and, once opened, its plaintext or its error.
type Item struct {
	Loc Location
	// Stored is the envelope: the binary form, or the text form "gmf2:…"
	// when Text is set.
	Stored []byte
	Text   bool

	// Plain is the plaintext, a slice of the buffer Open returns (valid
	// until that buffer is reused), or nil with Err set.
	Plain []byte
	// Err is why the value did not open; it wraps the sentinels Open's
	// errors wrap. The other items of a batch open regardless.
	Err error
}

// Opener opens many values at once. For each key of a batch it computes
// the SM4 blocks every value needs — the tag mask and the keystream — in
// one multi-block pass, then checks each value's tag (GHASH, compared in
// constant time) and decrypts it: about a fifth of what opening the
// values one at a time costs (docs/performance.md). The checks and the
// errors are Open's, value by value.
//
// An Opener keeps its buffers from one call to the next, so that a batch
// allocates nothing per value; it is not safe for concurrent use. The
// zero Opener is ready to use.
type Opener struct {
	need   int    // bytes of counter blocks of this batch
	bin    []byte // decoded text forms
	aad    []byte // every item's additional data past its place's hash
	ctr    []byte // counter blocks, then their SM4 encryption
	work   []work
	keys   keyList // the keys of this batch, in order of first use
	places places
	cache  keyCache
	// ids are key ids seen in earlier batches (up to maxIDs), whose
	// strings envelopes naming them reuse.
	ids []string
}

const maxIDs = 16

// work is the state of one item between the passes.
type work struct {
	sealed   []byte // the envelope past its header: nonce, ciphertext, tag
	key      int    // in Opener.keys; -1: failed
	place    int    // in Opener.places, or -1
	aad      [2]int
	ctr      int  // offset of its blocks in Opener.ctr
	from, to int  // its plaintext in the result
	alone    bool // opened alone, by gmsm's GCM (longer than maxBatched)
}

// Open opens items, appending their plaintexts to dst, and returns the
// extended buffer; each item's Plain is a slice of it, or Err says why
// the item did not open. keys is asked once per distinct key id.
func (o *Opener) Open(dst []byte, keys KeySource, items []Item) []byte {
	o.bin, o.aad, o.ctr, o.keys, o.need = o.bin[:0], o.aad[:0], o.ctr[:0], o.keys[:0], 0
	if cap(o.work) < len(items) {
		o.work = make([]work, len(items))
	}
	o.work = o.work[:len(items)]
	// Cleared when done (it points into items' stored bytes and o.bin),
	// so that the next batch starts from zero.
	defer clear(o.work)
	o.cache.reset(keys)
	defer o.cache.reset(nil)
	defer o.places.reset()
	// Pass 1: parse, find keys, check places, hash what columns share.
	plain := 0 // bytes of plaintext, at most
	for i := range items {
		it, w := &items[i], &o.work[i]
		it.Plain, it.Err, w.key = nil, nil, -1
		if err := it.Loc.validate(); err != nil {
			it.Err = err
			continue
		}
		b := it.Stored
		if it.Text {
			start := len(o.bin)
			bin, err := decodeText(o.bin, b)
			if err != nil {
				it.Err = err
				continue
			}
			o.bin = bin
			b = bin[start:]
		}
		if i := o.places.match(b, &it.Loc); i >= 0 {
			// The same header at the same place as an earlier value of
			// the batch: checked, and its key found, then.
			pl := &o.places.list[i]
			if n := len(b) - pl.hlen - NonceSize; n >= TagSize && n <= maxBatched {
				w.sealed, w.place, w.key = b[pl.hlen:], i, o.keys.index(pl.key)
				plain += o.queue(w, b[:pl.hlen], &it.Loc)
				continue
			}
		}
		var env Envelope
		if err := parse(&env, b, o.ids); err != nil {
			it.Err = err
			continue
		}
		o.remember(env.KeyID)
		k, err := env.key(&o.cache, &it.Loc)
		if err != nil {
			it.Err = err
			continue
		}
		w.key, w.sealed = o.keys.index(k), b[len(env.header):]
		if len(env.Ciphertext) > maxBatched {
			// Opened alone, with gmsm's GCM, once dst has grown.
			start := len(o.aad)
			o.aad = appendAAD(o.aad, env.header, it.Loc)
			w.aad, w.alone = [2]int{start, len(o.aad)}, true
			plain += len(env.Ciphertext) - TagSize
			continue
		}
		w.place = o.places.find(k, env.header, &it.Loc)
		plain += o.queue(w, env.header, &it.Loc)
	}
	// dst grows once, so that no plaintext of this batch is left behind
	// in a smaller array.
	dst = slices.Grow(dst, plain)
	for i := range o.work {
		w := &o.work[i]
		if !w.alone {
			continue
		}
		from := len(dst)
		out, err := o.keys[w.key].aead.Open(dst, w.sealed[:NonceSize], w.sealed[NonceSize:], o.aad[w.aad[0]:w.aad[1]])
		if err != nil {
			items[i].Err = o.authError(w, &items[i].Loc)
			w.key = -1
			continue
		}
		dst, w.from, w.to = out, from, len(out)
	}
	// Pass 2: per key, every value's counter blocks in one SM4 pass, then
	// each tag and plaintext. The buffer is grown once, padding included,
	// so that no keystream is left behind in a smaller one.
	o.ctr = slices.Grow(o.ctr, o.need+len(o.keys)*padded(16))
	for ki, k := range o.keys {
		start := len(o.ctr)
		for i := range o.work {
			if w := &o.work[i]; w.key == ki && !w.alone {
				w.ctr = len(o.ctr)
				o.ctr = appendCounters(o.ctr, w.sealed[:NonceSize], len(w.sealed)-NonceSize)
			}
		}
		k.gcm.encrypt(o.ctr[start:]) // its padding fits: grown above
		for i := range o.work {
			w := &o.work[i]
			if w.key != ki || w.alone {
				continue
			}
			from := len(dst)
			var ok bool
			dst, ok = k.gcm.finish(dst, w.sealed[NonceSize:], o.places.prefix(w.place), o.aad[w.aad[0]:w.aad[1]], o.ctr[w.ctr:])
			if !ok {
				items[i].Err = o.authError(w, &items[i].Loc)
				w.key = -1
				continue
			}
			w.from, w.to = from, len(dst)
		}
	}
	clear(o.ctr[:cap(o.ctr)]) // keystream
	for i := range items {
		if w := &o.work[i]; w.key != -1 && items[i].Err == nil {
			items[i].Plain = dst[w.from:w.to:w.to]
		}
	}
	clear(o.keys)
	o.bin, o.aad, o.ctr = trim(o.bin), trim(o.aad), trim(o.ctr)
	return dst
}

// queue adds the item of w, at loc, to the SM4 pass of its key and
// appends its additional data past its place's hash; it returns the
// length of its plaintext.
func (o *Opener) queue(w *work, header []byte, loc *Location) int {
	n := len(w.sealed) - NonceSize
	o.need += 16 * blocks(n)
	start := len(o.aad)
	o.aad = o.places.appendRest(o.aad, w.place, header, loc)
	w.aad = [2]int{start, len(o.aad)}
	return n - TagSize
}

// authError is the error of the item of w, at loc, whose tag did not
// verify.
func (o *Opener) authError(w *work, loc *Location) error {
	return Envelope{KeyID: o.keys[w.key].id}.authError(*loc)
}

// remember keeps id for the next envelopes that name it.
func (o *Opener) remember(id string) {
	for _, have := range o.ids {
		if have == id {
			return
		}
	}
	if len(o.ids) == maxIDs {
		copy(o.ids, o.ids[1:])
		o.ids = o.ids[:maxIDs-1]
	}
	o.ids = append(o.ids, id)
}
