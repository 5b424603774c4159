//go:build (!amd64 && !arm64) || purego

package ghash

func update(k *Key, y *[16]byte, blocks []byte) { updateGeneric(k, y, blocks) }

// Accelerated reports whether Update uses carry-less multiplication
// instructions.
const Accelerated = false
