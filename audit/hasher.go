package audit

import (
	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle"
)

// Hasher is the tree's hash (docs/format.md §9.2): RFC 6962's leaf and
// node hashes with SM3.
var Hasher merkle.LogHasher = sm3Hasher{}

type sm3Hasher struct{}

func (sm3Hasher) EmptyRoot() []byte {
	h := sm3.Sum(nil)
	return h[:]
}

func (sm3Hasher) HashLeaf(leaf []byte) []byte {
	h := sm3.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return h.Sum(nil)
}

func (sm3Hasher) HashChildren(l, r []byte) []byte {
	h := sm3.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func (sm3Hasher) Size() int { return sm3.Size }
