package vault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
)

type oneRecord struct{ r keyring.Record }

func (s *oneRecord) Create(context.Context, keyring.Record) error { return errors.New("ro") }
func (s *oneRecord) Update(context.Context, keyring.Record) error { return errors.New("ro") }
func (s *oneRecord) Get(_ context.Context, id string) (keyring.Record, error) {
	if id == s.r.ID {
		return s.r, nil
	}
	return keyring.Record{}, keyring.ErrKeyNotFound
}
func (s *oneRecord) List(context.Context) ([]keyring.Record, error) {
	return []keyring.Record{s.r}, nil
}

// A Transit-wrapped record whose version separator is missing (corrupted
// or edited) is answered by Vault with "invalid ciphertext: ...", which
// classify maps to ErrAuthentication; unwrapError then names the KEK with
// KEKName, which takes everything after "vault:" as the "version".
func TestUnwrapErrorDoesNotQuoteTheWrappedKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"errors":["invalid ciphertext: no prefix"]}`))
	}))
	defer srv.Close()
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken("x")
	wrapped := "vault:SECRETWRAPPEDDEKBASE64AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	id := "k1"
	store := &oneRecord{keyring.Record{ID: id, Keyspace: "citizen.phone", State: keyring.StateActive, KEK: "transit:gmfield:v1", Wrapped: []byte(wrapped)}}
	k := keyring.New(store, NewTransit(c, "", "gmfield"))
	_, err = k.KeyContext(context.Background(), id)
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorIs(t, err, crypto.ErrAuthentication)
	if strings.Contains(err.Error(), strings.TrimPrefix(wrapped, "vault:")) {
		t.Errorf("the error quotes the whole wrapped DEK: %v", err)
	}
}
