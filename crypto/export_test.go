package crypto

import (
	"crypto/hkdf"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/stretchr/testify/require"
)

// derivedKey recomputes an index's HKDF-SM3 key for the vectors file.
func derivedKey(t testing.TB, r *IndexRoot, spec IndexSpec) []byte {
	t.Helper()
	k, err := hkdf.Key(sm3.New, r.secret, nil, indexInfo(spec), indexKeySize)
	require.NoError(t, err)
	return k
}
