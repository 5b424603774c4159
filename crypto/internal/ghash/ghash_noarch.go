//go:build !arm64 || purego

package ghash

// archKey is empty: this build's Update needs nothing beyond Key.pow.
type archKey struct{}

// initArch has nothing to derive in this build.
func initArch(*Key) {}
