package masking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixedNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// loadExample builds the policy of docs/policy.md (the YAML form is
// tested in masking/policyfile).
func loadExample(t testing.TB) *Policy {
	t.Helper()
	rules := map[string]*Rule{}
	for col, spec := range map[string]struct {
		fn     string
		params Params
	}{
		"id_no": {"id_card", nil}, "phone": {"mobile", nil}, "name": {"chinese_name", nil},
		"card": {"bank_card", Params{"keep_last": "4"}}, "note": {"null", nil},
	} {
		rules["citizen."+col] = rule(t, spec.fn, spec.params)
	}
	roles := map[string]Role{
		"admin":   {Default: ActionPlain},
		"clerk":   {Default: ActionMask},
		"auditor": {Default: ActionMask, Columns: map[string]Action{"citizen.phone": ActionPlain}},
		"analyst": {Default: ActionHash, Columns: map[string]Action{"citizen.name": ActionDeny}},
		"default": {Default: ActionNull},
	}
	p, err := NewPolicy(roles, rules, WithHashRule(rule(t, "hash", nil)))
	require.NoError(t, err)
	p.now = func() time.Time { return fixedNow }
	return p
}

func TestPolicyDecide(t *testing.T) {
	p := loadExample(t)
	cases := []struct {
		name   string
		pr     Principal
		column string
		want   Action
	}{
		{"admin", Principal{Roles: []string{"admin"}}, "phone", ActionPlain},
		{"clerk", Principal{Roles: []string{"clerk"}}, "phone", ActionMask},
		{"auditor override", Principal{Roles: []string{"auditor"}}, "phone", ActionPlain},
		{"auditor default", Principal{Roles: []string{"auditor"}}, "id_no", ActionMask},
		{"analyst", Principal{Roles: []string{"analyst"}}, "id_no", ActionHash},
		{"analyst deny", Principal{Roles: []string{"analyst"}}, "name", ActionDeny},
		{"no role", Principal{}, "phone", ActionNull},
		{"unknown role", Principal{Roles: []string{"root"}}, "phone", ActionNull},
		{"unknown and known", Principal{Roles: []string{"root", "clerk"}}, "phone", ActionMask},
		{"role names are case-insensitive", Principal{Roles: []string{"ADMIN"}}, "phone", ActionPlain},
		{"most permissive of two", Principal{Roles: []string{"analyst", "clerk"}}, "name", ActionMask},
		{"most permissive of three", Principal{Roles: []string{"analyst", "clerk", "auditor"}}, "phone", ActionPlain},
		{"role grant", Principal{Grants: []Grant{{Role: "auditor", Expires: fixedNow.Add(time.Hour), Reason: "TICKET-1"}}}, "phone", ActionPlain},
		{"expired role grant", Principal{Grants: []Grant{{Role: "auditor", Expires: fixedNow.Add(-time.Second)}}}, "phone", ActionNull},
		{"grant without expiry", Principal{Grants: []Grant{{Role: "admin"}}}, "phone", ActionNull},
		{"column grant", Principal{Roles: []string{"clerk"}, Grants: []Grant{{Column: "citizen.id_no", Expires: fixedNow.Add(time.Minute)}}}, "id_no", ActionPlain},
		{"column grant elsewhere", Principal{Roles: []string{"clerk"}, Grants: []Grant{{Column: "citizen.id_no", Expires: fixedNow.Add(time.Minute)}}}, "phone", ActionMask},
		{"column grant with action", Principal{Grants: []Grant{{Column: "citizen.phone", Action: ActionMask, Expires: fixedNow.Add(time.Minute)}}}, "phone", ActionMask},
		{"grant never lowers", Principal{Roles: []string{"admin"}, Grants: []Grant{{Column: "citizen.phone", Action: ActionDeny, Expires: fixedNow.Add(time.Minute)}}}, "phone", ActionPlain},
		{"malformed grant", Principal{Grants: []Grant{{Role: "admin", Column: "citizen.phone", Expires: fixedNow.Add(time.Minute)}}}, "phone", ActionNull},
		{"undeclared column", Principal{Roles: []string{"auditor"}}, "secret", ActionMask},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.Decide(c.pr, "citizen", c.column), c.name)
	}
	assert.Equal(t, ActionPlain, p.Decide(Principal{Roles: []string{"auditor"}}, "CITIZEN", "Phone"), "identifiers are case-insensitive")
}

func TestGrantsUsed(t *testing.T) {
	p := loadExample(t)
	ticket := Grant{Column: "citizen.id_no", Expires: fixedNow.Add(time.Minute), Reason: "TICKET-7"}
	role := Grant{Role: "auditor", Expires: fixedNow.Add(time.Hour), Reason: "TICKET-8"}
	expired := Grant{Column: "citizen.id_no", Expires: fixedNow.Add(-time.Second), Reason: "OLD"}
	cases := []struct {
		name   string
		pr     Principal
		column string
		want   []Grant
	}{
		{"no grants", Principal{Roles: []string{"clerk"}}, "id_no", nil},
		{"column grant raises", Principal{Roles: []string{"clerk"}, Grants: []Grant{ticket, role}}, "id_no", []Grant{ticket}},
		{"role grant raises", Principal{Roles: []string{"clerk"}, Grants: []Grant{ticket, role}}, "phone", []Grant{role}},
		{"roles already give it", Principal{Roles: []string{"admin"}, Grants: []Grant{ticket}}, "id_no", nil},
		{"expired grant", Principal{Roles: []string{"clerk"}, Grants: []Grant{expired}}, "id_no", nil},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.GrantsUsed(c.pr, "citizen", c.column), c.name)
	}
}

func TestPolicyApply(t *testing.T) {
	p := loadExample(t)
	apply := func(roles []string, col, v string) (string, bool, error) {
		return p.Apply(Principal{ID: "u1", Roles: roles}, "citizen", col, v)
	}
	out, null, err := apply([]string{"clerk"}, "phone", "13800138000")
	require.NoError(t, err)
	assert.Equal(t, "138****8000", out)
	assert.False(t, null)

	out, _, err = apply([]string{"admin"}, "id_no", "11010519491231002X")
	require.NoError(t, err)
	assert.Equal(t, "11010519491231002X", out)

	out, _, err = apply([]string{"analyst"}, "phone", "13800138000")
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{32}$`, out)

	_, null, err = apply(nil, "phone", "13800138000")
	require.NoError(t, err)
	assert.True(t, null)

	_, null, err = apply([]string{"clerk"}, "note", "free text")
	require.NoError(t, err)
	assert.True(t, null, "a column masked with the null function")

	out, _, err = apply([]string{"clerk"}, "undeclared", "secret")
	require.NoError(t, err)
	assert.Equal(t, "******", out, "undeclared columns are masked entirely")

	_, _, err = apply([]string{"analyst"}, "name", "张三")
	assert.ErrorIs(t, err, ErrDenied)
	assert.Contains(t, err.Error(), "citizen.name")
	assert.NotContains(t, err.Error(), "张三")
}

func TestNoDefaultRoleDenies(t *testing.T) {
	rules := map[string]*Rule{"t.c": rule(t, "mobile", nil)}
	p, err := NewPolicy(map[string]Role{"clerk": {Default: ActionMask}}, rules)
	require.NoError(t, err)
	assert.Equal(t, ActionDeny, p.Decide(Principal{}, "t", "c"))
	p, err = NewPolicy(map[string]Role{"guest": {Default: ActionMask}}, rules, WithDefaultRole("guest"))
	require.NoError(t, err)
	assert.Equal(t, ActionMask, p.Decide(Principal{}, "t", "c"))
}

func TestContext(t *testing.T) {
	_, ok := FromContext(context.Background())
	assert.False(t, ok)
	ctx := NewContext(context.Background(), Principal{ID: "u1", Roles: []string{"clerk"}})
	pr, ok := FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, "u1", pr.ID)
}

func TestNewPolicyGoAPI(t *testing.T) {
	mobile := rule(t, "mobile", nil)
	hash := rule(t, "hash", Params{"length": "8"})
	p, err := NewPolicy(map[string]Role{
		"clerk":   {Default: ActionMask},
		"default": {Default: ActionHash, Columns: map[string]Action{"Citizen.Phone": ActionNull}},
	}, map[string]*Rule{"citizen.phone": mobile}, WithHashRule(hash), WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	assert.Equal(t, ActionNull, p.Decide(Principal{}, "citizen", "phone"))
	assert.Equal(t, ActionHash, p.Decide(Principal{}, "citizen", "other"))
	assert.ElementsMatch(t, []string{"clerk", "default"}, p.Roles())

	_, err = NewPolicy(map[string]Role{"a": {}}, nil)
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	_, err = NewPolicy(map[string]Role{"a": {Default: ActionHash}}, nil)
	assert.ErrorIs(t, err, ErrMissingKey)
	ext, err := NewPolicy(map[string]Role{"a": {Default: ActionHash}}, nil, WithExternalHash())
	require.NoError(t, err, "the caller pseudonymizes (the SQL driver)")
	assert.Equal(t, ActionHash, ext.Decide(Principal{Roles: []string{"a"}}, "t", "c"))
	_, _, err = ext.Apply(Principal{Roles: []string{"a"}}, "t", "c", "v")
	assert.ErrorIs(t, err, ErrMissingKey, "Apply cannot hash without a rule")
	_, err = NewPolicy(map[string]Role{"a": {Default: ActionMask, Columns: map[string]Action{"t.x": ActionPlain}}}, nil)
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	_, err = NewPolicy(nil, map[string]*Rule{"nodot": mobile})
	assert.ErrorIs(t, err, ErrInvalidPolicy)
}

func TestActions(t *testing.T) {
	for _, s := range []string{"plain", "mask", "hash", "null", "deny"} {
		a, err := ParseAction(s)
		require.NoError(t, err)
		assert.Equal(t, s, a.String())
	}
	_, err := ParseAction("show")
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	assert.True(t, ActionPlain > ActionMask && ActionMask > ActionHash && ActionHash > ActionNull && ActionNull > ActionDeny)
	assert.True(t, ActionMask.NeedsPlaintext())
	assert.False(t, ActionHash.NeedsPlaintext())
	assert.False(t, ActionNull.NeedsPlaintext())
	assert.Equal(t, "Action(0)", Action(0).String())
}
