package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f.json")
	require.NoError(t, Write(name, []byte("one"), 0o600))
	require.NoError(t, Write(name, []byte("two"), 0o600))
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	left, err := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left behind")
	assert.Error(t, Write(filepath.Join(dir, "missing", "f"), nil, 0o600))
}
