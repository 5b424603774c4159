//go:build unix

package audit

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockFile opens name and holds an exclusive flock on it.
func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gmfield/audit: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s is held by another writer", ErrUnavailable, name)
	}
	return f, nil
}
