//go:build !unix

package lifecycle

import "os"

// processAlive reports whether process pid may exist: elsewhere than on
// Unix, whether it can be found.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
