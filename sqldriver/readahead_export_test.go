package sqldriver

// PooledPlaintexts takes a read-ahead buffer from the pool and returns a
// copy of its plaintext buffer up to its capacity, then puts it back.
func PooledPlaintexts() []byte {
	ra := readAheads.Get().(*readAhead)
	defer readAheads.Put(ra)
	return append([]byte(nil), ra.opened[:cap(ra.opened)]...)
}
