package lifecycle

// SetDecided lets the external tests change rows between a batch's read
// and its write; the returned function removes the hook.
func SetDecided(f func()) func() {
	testHookDecided = f
	return func() { testHookDecided = nil }
}

// Redact exposes redacted to tests.
func Redact(err error) error { return redacted{err} }
