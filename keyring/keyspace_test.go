package keyring_test

import (
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScopes(t *testing.T) {
	cases := []struct {
		scope                         string
		tenant, schema, table, column string
		want                          string
	}{
		{"column", "", "", "citizen", "phone", "citizen.phone"},
		{"", "", "", "citizen", "phone", "citizen.phone"},
		{"column", "", "public", "citizen", "phone", "public.citizen.phone"},
		{"table", "", "", "citizen", "phone", "citizen.*"},
		{"table", "", "gov", "citizen", "phone", "gov.citizen.*"},
		{"tenant", "acme", "", "citizen", "phone", "tenant/acme/citizen.phone"},
		{"tenant", "Acme-2.x_y", "s", "citizen", "phone", "tenant/Acme-2.x_y/s.citizen.phone"},
	}
	for _, c := range cases {
		s, err := keyring.ParseScope(c.scope)
		require.NoError(t, err)
		loc := crypto.Location{Schema: c.schema, Table: c.table, Column: c.column}
		ks, err := s.Keyspace(c.tenant, loc)
		require.NoError(t, err)
		assert.Equal(t, c.want, ks)
		require.NoError(t, keyring.ValidateKeyspace(ks))
		located, err := s.Locate(c.tenant, loc)
		require.NoError(t, err)
		assert.Equal(t, ks, located.Keyspace)
	}
	_, err := keyring.PerTenantColumn.Keyspace("", crypto.Location{Table: "citizen", Column: "phone"})
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = keyring.PerColumn.Keyspace("acme", crypto.Location{Table: "citizen", Column: "phone"})
	assert.ErrorIs(t, err, crypto.ErrInvalidInput, "a tenant outside the tenant scope is a mistake")
	_, err = keyring.ParseScope("row")
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)
	_, err = keyring.Scope(9).Keyspace("", crypto.Location{Table: "t", Column: "c"})
	assert.ErrorIs(t, err, crypto.ErrInvalidInput)

	// Two tenants never share a DEK.
	r, _ := newRing(t, sm4Provider(t, 1))
	a, err := keyring.PerTenantColumn.Keyspace("acme", crypto.Location{Table: "citizen", Column: "phone"})
	require.NoError(t, err)
	b, err := keyring.PerTenantColumn.Keyspace("globex", crypto.Location{Table: "citizen", Column: "phone"})
	require.NoError(t, err)
	ka, err := r.Current(ctx, a)
	require.NoError(t, err)
	kb, err := r.Current(ctx, b)
	require.NoError(t, err)
	assert.NotEqual(t, ka.ID(), kb.ID())
	assert.Equal(t, a, ka.Keyspace())
}

// TestKeyspaceNamesDoNotCollide is the regression test of the ambiguous
// "table.column" names: (a.b, c) and (a, b.c) named one keyspace, so that
// rotating or destroying one hit the other. Names with the separators
// are refused at every entry point.
func TestKeyspaceNamesDoNotCollide(t *testing.T) {
	for _, c := range []struct{ tenant, schema, table, column string }{
		{"", "", "a.b", "c"},
		{"", "", "a", "b.c"},
		{"", "", "a/b", "c"},
		{"", "", "a", "*"},
		{"", "", "A", "c"},
		{"", "", "1a", "c"},
		{"", "", strings.Repeat("a", 64), "c"},
		{"", "x.y", "a", "c"},
		{"t/1", "", "a", "c"},
		{".t", "", "a", "c"},
		{"t t", "", "a", "c"},
	} {
		scope := keyring.PerColumn
		if c.tenant != "" {
			scope = keyring.PerTenantColumn
		}
		_, err := scope.Keyspace(c.tenant, crypto.Location{Schema: c.schema, Table: c.table, Column: c.column})
		assert.ErrorIs(t, err, crypto.ErrInvalidInput, "%+v", c)
	}
	r, _ := newRing(t, sm4Provider(t, 1))
	for _, ks := range []string{
		"", "a", "a.b.c.d", "a.b.", ".a.b", "a..b", "a.B", "tenant/acme/citizen", "tenant/acme/citizen.*",
		"tenant//citizen.phone", "tenant/a/b/c.d", "gmfield:index-root", "gmfield:x", "a.b c", "表.列",
	} {
		assert.ErrorIs(t, keyring.ValidateKeyspace(ks), crypto.ErrInvalidInput, "%q", ks)
		_, err := r.Current(ctx, ks)
		assert.ErrorIs(t, err, crypto.ErrInvalidInput, "Current(%q)", ks)
		_, err = r.Rotate(ctx, ks)
		assert.ErrorIs(t, err, crypto.ErrInvalidInput, "Rotate(%q)", ks)
	}
	// The three readings of a dotted name are three keyspaces.
	seen := map[string]string{}
	for _, c := range []struct {
		scope keyring.Scope
		loc   crypto.Location
	}{
		{keyring.PerColumn, crypto.Location{Table: "a", Column: "b"}},
		{keyring.PerColumn, crypto.Location{Schema: "a", Table: "b", Column: "c"}},
		{keyring.PerTable, crypto.Location{Table: "a", Column: "b"}},
		{keyring.PerTable, crypto.Location{Schema: "a", Table: "b", Column: "c"}},
		{keyring.PerColumn, crypto.Location{Schema: "b", Table: "a", Column: "c"}},
	} {
		ks, err := c.scope.Keyspace("", c.loc)
		require.NoError(t, err)
		_, dup := seen[ks]
		assert.False(t, dup, "%s named twice", ks)
		seen[ks] = ks
	}
}

// TestKeyspaceGrammarMatchesTheVerifier: the same names as the
// independent verifier's (crypto/testdata/verify_vectors.py) self-check.
func TestKeyspaceGrammarMatchesTheVerifier(t *testing.T) {
	for _, ks := range []string{"citizen.phone", "public.citizen.phone", "citizen.*", "public.citizen.*", "tenant/acme/citizen.phone",
		"tenant/a.b-c_D/public.citizen.phone", "_t._c"} {
		assert.NoError(t, keyring.ValidateKeyspace(ks), ks)
	}
	for _, ks := range []string{"citizen", "a.b.c.d", "Citizen.phone", "citizen.*.x", "tenant/acme/citizen.*", "tenant//t.c", "tenant/.a/t.c",
		"gmfield:index-root", "t.c/", "t.1c", "t." + strings.Repeat("c", 64), "tenant/" + strings.Repeat("a", 65) + "/t.c"} {
		assert.Error(t, keyring.ValidateKeyspace(ks), ks)
	}
}
