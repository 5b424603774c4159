//go:build !arm64 || purego

package ghash

// archKey is empty: this build's Update needs nothing beyond Key.pow.
type archKey struct{}

// init has nothing to derive in this build.
func (*archKey) init(*[4][16]byte) {}
