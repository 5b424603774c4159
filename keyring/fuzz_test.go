package keyring_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gmfield/gmfield/keyring"
)

// FuzzDirRecord writes arbitrary bytes as a key record file: reading it
// never panics, and whatever reads back passes the record checks.
func FuzzDirRecord(f *testing.F) {
	f.Add([]byte(`{"id":"k1","keyspace":"t.c","state":"active","created":"2026-11-27T10:00:00Z","kek":"x","wrapped":"AQID","seals":0,"rev":1}`))
	f.Add([]byte(`{"id":"k1","keyspace":"t.c","state":"destroyed","created":"2026-11-27T10:00:00Z","kek":"x","seals":9,"rev":3}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"k1"`))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := keyring.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.Path(), "keys", "k1.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := d.Get(ctx, "k1")
		if err != nil {
			return
		}
		if r.ID != "k1" || r.Keyspace == "" || r.Rev == 0 || r.Created.IsZero() {
			t.Fatalf("an invalid record read back: %+v", r)
		}
		switch r.State {
		case keyring.StateActive, keyring.StateDecryptOnly:
			if len(r.Wrapped) == 0 {
				t.Fatalf("usable record without a wrapped key")
			}
		case keyring.StateDestroyed:
			if len(r.Wrapped) != 0 {
				t.Fatalf("destroyed record with key material")
			}
		default:
			t.Fatalf("unknown state %q read back", r.State)
		}
	})
}
