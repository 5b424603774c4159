package keyring_test

import (
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScopes(t *testing.T) {
	cases := []struct {
		scope                 string
		tenant, table, column string
		want                  string
	}{
		{"column", "", "citizen", "phone", "citizen.phone"},
		{"", "acme", "citizen", "phone", "citizen.phone"},
		{"table", "", "citizen", "phone", "citizen"},
		{"tenant", "acme", "citizen", "phone", "tenant/acme/citizen.phone"},
	}
	for _, c := range cases {
		s, err := keyring.ParseScope(c.scope)
		require.NoError(t, err)
		ks, err := s.Keyspace(c.tenant, c.table, c.column)
		require.NoError(t, err)
		assert.Equal(t, c.want, ks)
	}
	_, err := keyring.PerTenantColumn.Keyspace("", "citizen", "phone")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = keyring.ParseScope("row")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = keyring.Scope(9).Keyspace("", "t", "c")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)

	// Two tenants never share a DEK.
	r, _ := newRing(t, sm4Provider(t, 1))
	a, err := keyring.PerTenantColumn.Keyspace("acme", "citizen", "phone")
	require.NoError(t, err)
	b, err := keyring.PerTenantColumn.Keyspace("globex", "citizen", "phone")
	require.NoError(t, err)
	ka, err := r.Current(ctx, a)
	require.NoError(t, err)
	kb, err := r.Current(ctx, b)
	require.NoError(t, err)
	assert.NotEqual(t, ka.ID(), kb.ID())
}
