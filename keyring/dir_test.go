package keyring_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmfield/gmfield/keyring"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rec(id string) keyring.Record {
	return keyring.Record{ID: id, Keyspace: "t.c", State: keyring.StateActive, Created: time.Now().UTC(), KEK: "test", Wrapped: []byte{1, 2, 3}}
}

func TestDirStore(t *testing.T) {
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, d.Create(ctx, rec("k1")))
	assert.ErrorIs(t, d.Create(ctx, rec("k1")), keyring.ErrExists)

	got, err := d.Get(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), got.Rev)
	assert.Equal(t, []byte{1, 2, 3}, got.Wrapped)

	fi, err := os.Stat(filepath.Join(d.Path(), "keys", "k1.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Join(d.Path(), "keys"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	got.Seals = 10
	require.NoError(t, d.Update(ctx, got))
	assert.ErrorIs(t, d.Update(ctx, got), keyring.ErrConflict, "stale revision")
	again, err := d.Get(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, uint64(10), again.Seals)
	assert.Equal(t, uint64(2), again.Rev)

	_, err = d.Get(ctx, "k2")
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound)
	_, err = d.Get(ctx, "../etc/passwd")
	assert.ErrorIs(t, err, keyring.ErrKeyNotFound)
	assert.Error(t, d.Create(ctx, rec("../escape")))

	// An interrupted write leaves a temporary file that List ignores.
	require.NoError(t, os.WriteFile(filepath.Join(d.Path(), "keys", ".tmp-123"), []byte(`{"id":`), 0o600))
	recs, err := d.List(ctx)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

func TestDirStoreCorruptFilesAreErrors(t *testing.T) {
	good := `{"id":"k1","keyspace":"t.c","state":"active","created":"2026-11-27T10:00:00Z","kek":"x","wrapped":"AQID","seals":0,"rev":1}`
	cases := map[string]string{
		"truncated":       good[:len(good)/2],
		"empty":           "",
		"trailing data":   good + good,
		"unknown field":   strings.Replace(good, `"kek"`, `"kek2":1,"kek"`, 1),
		"wrong id":        strings.Replace(good, `"k1"`, `"k9"`, 1),
		"no wrapped key":  strings.Replace(good, `"wrapped":"AQID",`, ``, 1),
		"unknown state":   strings.Replace(good, `"active"`, `"paused"`, 1),
		"no revision":     strings.Replace(good, `"rev":1`, `"rev":0`, 1),
		"no keyspace":     strings.Replace(good, `"t.c"`, `""`, 1),
		"bad base64":      strings.Replace(good, `"AQID"`, `"A!"`, 1),
		"destroyed+bytes": strings.Replace(good, `"active"`, `"destroyed"`, 1),
	}
	for name, content := range cases {
		d, err := keyring.OpenDir(t.TempDir())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(d.Path(), "keys", "k1.json"), []byte(content), 0o600))
		_, err = d.Get(ctx, "k1")
		assert.ErrorIs(t, err, keyring.ErrCorrupt, name)
		_, err = d.List(ctx)
		assert.ErrorIs(t, err, keyring.ErrCorrupt, name)
	}
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(d.Path(), "keys", "stray.txt"), nil, 0o600))
	_, err = d.List(ctx)
	assert.ErrorIs(t, err, keyring.ErrCorrupt, "unexpected files are reported")
}

func TestDirStoreConcurrentUpdates(t *testing.T) {
	d, err := keyring.OpenDir(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, d.Create(ctx, rec("k1")))
	// Two handles on one directory, as two processes would have: every
	// increment lands exactly once through compare-and-swap.
	d2, err := keyring.OpenDir(d.Path())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		store := []*keyring.Dir{d, d2}[g%2]
		wg.Go(func() {
			for range 10 {
				for {
					r, err := store.Get(ctx, "k1")
					require.NoError(t, err)
					r.Seals++
					if err := store.Update(ctx, r); err == nil {
						break
					} else {
						require.ErrorIs(t, err, keyring.ErrConflict)
					}
				}
			}
		})
	}
	wg.Wait()
	r, err := d.Get(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, uint64(80), r.Seals)
}
