//go:build !unix

package audit

import (
	"fmt"
	"io"
	"os"
)

// lockFile creates name exclusively, and removes it on Close; where
// flock is missing, a lock file left by a crash must be removed by hand.
func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is held by another writer (or left by a crash)", ErrUnavailable, name)
	}
	return removeOnClose{f}, nil
}

type removeOnClose struct{ f *os.File }

func (r removeOnClose) Close() error {
	err := r.f.Close()
	if rerr := os.Remove(r.f.Name()); err == nil {
		err = rerr
	}
	return err
}
