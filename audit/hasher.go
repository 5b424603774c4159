package audit

import (
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle"
)

// Hasher is the tree's hash (docs/format.md §9.2): RFC 6962's leaf and
// node hashes with SM3.
var Hasher merkle.LogHasher = sm3Hasher{}

type sm3Hasher struct{}

var digests = sync.Pool{New: func() any { return sm3.New() }}

func (sm3Hasher) EmptyRoot() []byte {
	h := sm3.Sum(nil)
	return h[:]
}

func (sm3Hasher) HashLeaf(leaf []byte) []byte { return sum(0, leaf, nil) }

func (sm3Hasher) HashChildren(l, r []byte) []byte { return sum(1, l, r) }

// sum is SM3(prefix ‖ a ‖ b).
func sum(prefix byte, a, b []byte) []byte {
	h := digests.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte{prefix})
	h.Write(a)
	h.Write(b)
	out := h.Sum(make([]byte, 0, sm3.Size))
	digests.Put(h)
	return out
}

func (sm3Hasher) Size() int { return sm3.Size }
