package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var loc = crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone"}

func TestInitOpenRotateKEK(t *testing.T) {
	for _, kind := range []string{"sm4", "sm2"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			k, err := local.Init(ctx, dir, local.KEKConfig{Kind: local.KEKKind(kind)})
			require.NoError(t, err)
			_, err = local.Init(ctx, dir, local.KEKConfig{Kind: local.KEKKind(kind)})
			assert.ErrorIs(t, err, keyring.ErrExists)

			key, err := k.Current(ctx, "citizen.phone")
			require.NoError(t, err)
			ct, err := key.SealText(nil, loc, []byte("13800138000"))
			require.NoError(t, err)
			root, err := k.IndexRoot(ctx)
			require.NoError(t, err)
			ix, err := root.Index(crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull})
			require.NoError(t, err)
			bidx, err := ix.SumHex(nil, []byte("13800138000"))
			require.NoError(t, err)

			c, err := local.ReadConfig(dir)
			require.NoError(t, err)
			assert.Equal(t, local.KEKKind(kind), c.KEK.Kind)
			fi, err := os.Stat(filepath.Join(dir, c.KEK.File))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

			n, err := local.RotateKEK(ctx, dir, "")
			require.NoError(t, err)
			assert.Equal(t, 2, n, "one DEK and the index root")
			c2, err := local.ReadConfig(dir)
			require.NoError(t, err)
			assert.NotEqual(t, c.KEK.File, c2.KEK.File)
			assert.Empty(t, c2.Previous)

			reopened, err := local.Open(dir)
			require.NoError(t, err)
			pt, err := crypto.OpenText(nil, reopened, loc, ct)
			require.NoError(t, err)
			assert.Equal(t, "13800138000", string(pt))
			root2, err := reopened.IndexRoot(ctx)
			require.NoError(t, err)
			ix2, err := root2.Index(crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformFull})
			require.NoError(t, err)
			bidx2, err := ix2.SumHex(nil, []byte("13800138000"))
			require.NoError(t, err)
			assert.Equal(t, bidx, bidx2)

			// The old KEK alone no longer opens anything.
			old, err := c.KEK.Provider(dir)
			require.NoError(t, err)
			store, err := keyring.OpenDir(dir)
			require.NoError(t, err)
			_, err = crypto.OpenText(nil, keyring.New(store, old), loc, ct)
			assert.Error(t, err)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := local.Open(dir)
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, local.ConfigFile), []byte(`{"format":"other"}`), 0o600))
	_, err = local.Open(dir)
	assert.ErrorIs(t, err, keyring.ErrCorrupt)
	require.NoError(t, os.WriteFile(filepath.Join(dir, local.ConfigFile), []byte(`{"format":"gmfield-keyring/1","kek":{"kind":"rot13"}}`), 0o600))
	_, err = local.Open(dir)
	assert.ErrorIs(t, err, keyring.ErrCorrupt)
	_, err = local.Init(context.Background(), t.TempDir(), local.KEKConfig{Kind: "aes"})
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)

	// An sm4 KEK taken from the environment.
	env := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(env, local.ConfigFile), []byte(`{"format":"gmfield-keyring/1","kek":{"kind":"sm4","env":"GMFIELD_TEST_MASTER"}}`), 0o600))
	t.Setenv("GMFIELD_TEST_MASTER", "")
	_, err = local.Open(env)
	assert.ErrorIs(t, err, crypto.ErrInvalidKey)
	t.Setenv("GMFIELD_TEST_MASTER", "000102030405060708090a0b0c0d0e0f")
	k, err := local.Open(env)
	require.NoError(t, err)
	_, err = k.Current(context.Background(), "t.c")
	require.NoError(t, err)
}

// TestOpenRefusesAWritableDirectory: whoever may write the directory
// itself may name another KEK in keyring.json (its previous KEKs are
// trusted fallbacks).
func TestOpenRefusesAWritableDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	_, err := local.Init(context.Background(), dir, local.KEKConfig{Kind: local.KindSM4})
	require.NoError(t, err)
	_, err = local.Open(dir)
	require.NoError(t, err)
	for _, name := range []string{dir, filepath.Join(dir, local.ConfigFile)} {
		fi, err := os.Stat(name)
		require.NoError(t, err)
		require.NoError(t, os.Chmod(name, fi.Mode().Perm()|0o022))
		_, err = local.Open(dir)
		assert.ErrorIs(t, err, crypto.ErrInvalidKey, name)
		require.NoError(t, os.Chmod(name, fi.Mode().Perm()))
	}
}
