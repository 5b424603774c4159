//go:build amd64 && !purego

package ghash

import "golang.org/x/sys/cpu"

// Accelerated reports whether Update uses carry-less multiplication
// instructions (PCLMULQDQ, with SSSE3's PSHUFB).
var Accelerated = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSSE3

// updateCLMUL folds blocks (a multiple of 16 bytes, at least one block)
// into y, with H, H², H³, H⁴ byte-reversed in pow.
//
//go:noescape
func updateCLMUL(pow *[4][16]byte, y *[16]byte, blocks []byte)

func update(k *Key, y *[16]byte, blocks []byte) {
	if Accelerated {
		updateCLMUL(&k.pow, y, blocks)
		return
	}
	updateGeneric(k, y, blocks)
}
