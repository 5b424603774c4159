package crypto

import (
	"crypto/rand"
	"fmt"
	"slices"
)

// SealItem is one value for Sealer.Seal: the key to seal it with, where
// it will be stored, its plaintext and form, and, once sealed, its
// envelope or its error.
type SealItem struct {
	Key   *Key
	Loc   Location
	Plain []byte
	// Text asks for the text form "gmf2:…" (SealText), else the binary
	// form (Seal).
	Text bool

	// Sealed is the envelope, a slice of the buffer Seal returns (valid
	// until that buffer is reused), or nil with Err set.
	Sealed []byte
	// Err is why the value was not sealed; it wraps the sentinels Seal's
	// errors wrap. The other items of a batch are sealed regardless.
	Err error
}

// Sealer seals many values at once, the way Opener opens them: for each
// key it computes the SM4 blocks of every value — the keystream and the
// tag mask — in one multi-block pass, hashes what the values of one
// column share once, and draws every nonce in one read from crypto/rand.
// Each envelope is what Key.Seal or Key.SealText would write with the
// same nonce.
//
// A Sealer keeps its buffers from one call to the next, so that a batch
// allocates nothing per value; it is not safe for concurrent use. The
// zero Sealer is ready to use.
type Sealer struct {
	bin    []byte // binary envelopes
	aad    []byte // every item's additional data past its place's hash
	ctr    []byte // counter blocks, then their SM4 encryption
	nonces []byte
	work   []sealWork
	keys   keyList
	places places
	sc     scratchBufs // for values sealed alone
}

type sealWork struct {
	key      int // in Sealer.keys; -1: failed; -2: sealed alone
	place    int
	aad      [2]int
	ctr      int
	from, to int // its binary envelope in Sealer.bin
}

// Seal seals items, appending their envelopes to dst, and returns the
// extended buffer; each item's Sealed is a slice of it, the envelopes in
// the items' order, or Err says why the item was not sealed. No
// plaintext may overlap dst.
func (s *Sealer) Seal(dst []byte, items []SealItem) []byte {
	s.bin, s.aad, s.ctr, s.keys = s.bin[:0], s.aad[:0], s.ctr[:0], s.keys[:0]
	if cap(s.work) < len(items) {
		s.work = make([]sealWork, len(items))
	}
	s.work = s.work[:len(items)]
	clear(s.work)
	defer s.places.reset()
	s.nonces = slices.Grow(s.nonces[:0], NonceSize*len(items))[:NonceSize*len(items)]
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(s.nonces)
	// Pass 1: check, lay out each envelope's header and nonce, hash what
	// columns share.
	need := 0
	for i := range items {
		it, w := &items[i], &s.work[i]
		it.Sealed, it.Err, w.key = nil, nil, -1
		k := it.Key
		if k == nil {
			it.Err = fmt.Errorf("%s.%s: %w: no key given", it.Loc.Table, it.Loc.Column, ErrKeyNotFound)
			continue
		}
		if err := k.check(&it.Loc, len(it.Plain)); err != nil {
			it.Err = err
			continue
		}
		nonce := s.nonces[i*NonceSize : (i+1)*NonceSize]
		w.from = len(s.bin)
		if len(it.Plain)+TagSize > maxBatched {
			bin, err := k.seal(s.bin, &s.sc, it.Loc, it.Plain, nonce)
			if err != nil {
				it.Err = err
				continue
			}
			s.bin, w.key, w.to = bin, -2, len(bin)
			continue
		}
		var env []byte
		s.bin, env = sliceForAppend(s.bin, BinaryLen(len(k.id), len(it.Plain)))
		hdrLen := k.putHeader(env)
		copy(env[hdrLen:], nonce)
		w.to = len(s.bin)
		start := len(s.aad)
		w.place = s.places.find(k, env[:hdrLen], &it.Loc)
		s.aad = s.places.appendRest(s.aad, w.place, env[:hdrLen], &it.Loc)
		w.aad = [2]int{start, len(s.aad)}
		w.key = s.keys.index(k)
		need += 16 * blocks(len(it.Plain)+TagSize)
	}
	// Pass 2: per key, every value's counter blocks in one SM4 pass, then
	// each ciphertext and tag. The buffer is grown once, padding included,
	// so that no keystream is left behind in a smaller one.
	s.ctr = slices.Grow(s.ctr, need+len(s.keys)*padded(16))
	for ki, k := range s.keys {
		start := len(s.ctr)
		hdrLen := fixedHeaderLen + len(k.id)
		for i := range s.work {
			if w := &s.work[i]; w.key == ki {
				w.ctr = len(s.ctr)
				s.ctr = appendCounters(s.ctr, s.nonces[i*NonceSize:(i+1)*NonceSize], len(items[i].Plain)+TagSize)
			}
		}
		k.gcm.encrypt(s.ctr[start:]) // its padding fits: grown above
		for i := range s.work {
			if w := &s.work[i]; w.key == ki {
				out := s.bin[w.from+hdrLen+NonceSize : w.to]
				k.gcm.sealTo(out, items[i].Plain, s.places.prefix(w.place), s.aad[w.aad[0]:w.aad[1]], s.ctr[w.ctr:])
			}
		}
	}
	clear(s.ctr[:cap(s.ctr)]) // keystream
	clear(s.keys)
	// Pass 3: the envelopes, in the items' order and forms.
	for i := range items {
		w, it := &s.work[i], &items[i]
		if w.key == -1 {
			continue
		}
		from := len(dst)
		if it.Text {
			dst = appendText(dst, s.bin[w.from:w.to])
		} else {
			dst = append(dst, s.bin[w.from:w.to]...)
		}
		w.from, w.to = from, len(dst)
	}
	for i := range items {
		if w := &s.work[i]; w.key != -1 {
			items[i].Sealed = dst[w.from:w.to:w.to]
		}
	}
	s.bin, s.aad, s.ctr, s.nonces = trim(s.bin), trim(s.aad), trim(s.ctr), trim(s.nonces)
	return dst
}
