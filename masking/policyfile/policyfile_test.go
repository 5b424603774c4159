package policyfile_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/masking/policyfile"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

const examplePolicy = `# The policy of docs/policy.md.
mask_char: "*"
columns:
  citizen.id_no: id_card
  citizen.phone: {function: mobile}
  citizen.name: chinese_name
  citizen.card: {function: bank_card, params: {keep_last: 4}}
  citizen.note: "null"
roles:
  admin:    {default: plain}
  clerk:    {default: mask}
  auditor:  {default: mask, columns: {citizen.phone: plain}}
  analyst:  {default: hash, columns: {citizen.name: deny}}
  default:  {default: null}
`

// TestExamplePolicy: the document of docs/policy.md decides as it says.
func TestExamplePolicy(t *testing.T) {
	p, err := policyfile.Load([]byte(examplePolicy), masking.WithKey(testKey))
	require.NoError(t, err)
	for role, want := range map[string]masking.Action{"admin": masking.ActionPlain, "clerk": masking.ActionMask, "auditor": masking.ActionPlain, "analyst": masking.ActionHash, "nobody": masking.ActionNull} {
		assert.Equal(t, want, p.Decide(masking.Principal{Roles: []string{role}}, "citizen", "phone"), role)
	}
	assert.Equal(t, masking.ActionDeny, p.Decide(masking.Principal{Roles: []string{"analyst"}}, "citizen", "name"))
	out, null, err := p.Apply(masking.Principal{Roles: []string{"clerk"}}, "citizen", "card", "6222020200112233445")
	require.NoError(t, err)
	assert.False(t, null)
	assert.Equal(t, "622202*********3445", out)
	_, null, err = p.Apply(masking.Principal{Roles: []string{"clerk"}}, "citizen", "note", "x")
	require.NoError(t, err)
	assert.True(t, null)
	p, err = policyfile.Load([]byte("default_role: guest\ncolumns: {t.c: mobile}\nroles: {guest: {default: mask}}\n"))
	require.NoError(t, err)
	assert.Equal(t, masking.ActionMask, p.Decide(masking.Principal{}, "t", "c"))
}

func TestLoadErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
		is        error
		contains  string
	}{
		{"unknown function", "columns:\n  t.c: soundex\nroles: {a: {default: plain}}\n", 2, masking.ErrUnknownFunction, "soundex"},
		{"bad parameter", "columns:\n  t.a: mobile\n  t.c: {function: mobile, params: {keep_first: many}}\nroles: {a: {default: plain}}\n", 3, masking.ErrBadParameter, "keep_first"},
		{"unknown parameter", "columns:\n  t.c:\n    function: mobile\n    params: {keep: 3}\nroles: {a: {default: plain}}\n", 4, masking.ErrBadParameter, "keep"},
		{"unknown action", "columns: {t.c: mobile}\nroles:\n  a: {default: show}\n", 3, nil, "show"},
		{"undeclared column", "columns: {t.c: mobile}\nroles:\n  a:\n    default: mask\n    columns: {t.d: plain}\n", 5, nil, "t.d"},
		{"undefined default role", "default_role: guest\ncolumns: {t.c: mobile}\nroles: {a: {default: plain}}\n", 1, nil, "guest"},
		{"role without default", "columns: {t.c: mobile}\nroles:\n  a: {columns: {t.c: plain}}\n", 3, nil, "default"},
		{"unknown key", "columns: {t.c: mobile}\nrole: {}\n", 2, nil, "role"},
		{"bad column name", "columns:\n  phone: mobile\nroles: {a: {default: plain}}\n", 2, nil, "table.column"},
		{"duplicate column", "columns:\n  t.c: mobile\n  T.C: mobile\nroles: {a: {default: plain}}\n", 3, nil, "twice"},
		{"hash without key", "columns: {t.c: mobile}\nroles:\n  a: {default: hash}\n", 3, masking.ErrMissingKey, "key"},
		{"keyed function without key", "columns:\n  t.c: {function: pseudonym, params: {type: mobile}}\nroles: {a: {default: plain}}\n", 2, masking.ErrMissingKey, "key"},
		{"no roles", "columns: {t.c: mobile}\n", 1, nil, "roles"},
		{"not a mapping", "- a\n- b\n", 1, nil, "mapping"},
		{"bad mask char", "mask_char: '**'\nroles: {a: {default: plain}}\n", 1, nil, "mask_char"},
	}
	for _, c := range cases {
		_, err := policyfile.Load([]byte(c.doc))
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, masking.ErrInvalidPolicy, c.name)
		if c.is != nil {
			assert.ErrorIs(t, err, c.is, c.name)
		}
		var pe *masking.PolicyError
		require.True(t, errors.As(err, &pe), c.name)
		assert.Equal(t, c.line, pe.Line, "%s: %v", c.name, err)
		assert.Contains(t, err.Error(), c.contains, c.name)
	}
	_, err := policyfile.Load([]byte("roles: [\n"))
	assert.ErrorIs(t, err, masking.ErrInvalidPolicy)
}

// FuzzLoad feeds arbitrary documents to the policy loader: it never
// panics, and every error is a *masking.PolicyError wrapping masking.ErrInvalidPolicy.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(examplePolicy))
	f.Add([]byte("roles: {a: {default: plain}}\n"))
	f.Add([]byte("columns: {t.c: {function: keep_first_last, params: {first: 1, last: 1}}}\nroles: {a: {default: mask}}\n"))
	f.Add([]byte("roles: [\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("columns: &x {t.c: mobile}\nroles: {a: {default: mask, columns: *x}}\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := policyfile.Load(doc, masking.WithKey(testKey))
		if err != nil {
			var pe *masking.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, masking.ErrInvalidPolicy) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, role := range p.Roles() {
			_ = p.Decide(masking.Principal{Roles: []string{role}}, "t", "c")
		}
	})
}
