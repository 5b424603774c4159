package keyring_test

import (
	"strings"

	"github.com/gmfield/gmfield/crypto"
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

// FuzzKeyspace: every keyspace that validates is the one name of exactly
// one place, which maps back to it (no two places share a keyspace).
func FuzzKeyspace(f *testing.F) {
	for _, s := range []string{"citizen.phone", "public.citizen.phone", "citizen.*", "s.t.*", "tenant/acme/citizen.phone",
		"tenant/a.b/s.t.c", "a.b.c.d", "tenant/x/t.*", "gmfield:index-root", "a..b", ".a", "a."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ks string) {
		if keyring.ValidateKeyspace(ks) != nil {
			return
		}
		scope, tenant, rest := keyring.PerColumn, "", ks
		if after, ok := strings.CutPrefix(ks, "tenant/"); ok {
			scope = keyring.PerTenantColumn
			tenant, rest, _ = strings.Cut(after, "/")
		}
		parts := strings.Split(rest, ".")
		if parts[len(parts)-1] == "*" {
			scope, parts[len(parts)-1] = keyring.PerTable, "x"
		}
		loc := crypto.Location{Table: parts[len(parts)-2], Column: parts[len(parts)-1]}
		if len(parts) == 3 {
			loc.Schema = parts[0]
		}
		got, err := scope.Keyspace(tenant, loc)
		if err != nil || got != ks {
			t.Fatalf("%q parses to a place that maps to %q (%v)", ks, got, err)
		}
	})
}
