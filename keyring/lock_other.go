//go:build !unix

package keyring

// lockFile is a no-op where flock is not available: the directory is then
// safe for one process (Dir's mutex) but not for several.
func lockFile(string) (func(), error) { return func() {}, nil }
