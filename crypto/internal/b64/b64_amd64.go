//go:build amd64 && !purego

package b64

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

// decodeAVX2 decodes up to blocks 32-character blocks of src into dst, 24
// bytes each, stopping before the first block that holds a character
// outside the alphabet, and returns the blocks decoded.
//
//go:noescape
func decodeAVX2(dst, src []byte, blocks int) int
