package masking

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Action is what a principal gets for a column. Actions are ordered from
// the most restrictive (ActionDeny) to the most permissive (ActionPlain);
// when several roles or grants apply, the most permissive wins.
type Action int

// The actions, least permissive first.
const (
	// ActionDeny refuses the read with an error wrapping ErrDenied.
	ActionDeny Action = iota + 1
	// ActionNull shows SQL NULL.
	ActionNull
	// ActionHash shows a keyed pseudonym (HMAC-SM3): equal values give
	// equal pseudonyms, so joins and counts still work.
	ActionHash
	// ActionMask shows the value through the column's masking function.
	ActionMask
	// ActionPlain shows the value.
	ActionPlain
)

var actionNames = map[Action]string{ActionDeny: "deny", ActionNull: "null", ActionHash: "hash", ActionMask: "mask", ActionPlain: "plain"}

// String returns the action's name as policies spell it.
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// ParseAction returns the action named s: plain, mask, hash, null or deny.
func ParseAction(s string) (Action, error) {
	for a, n := range actionNames {
		if n == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown action %q (plain, mask, hash, null, deny)", ErrInvalidPolicy, s)
}

// NeedsPlaintext reports whether carrying out a needs the decrypted value:
// true for plain and mask only.
func (a Action) NeedsPlaintext() bool { return a == ActionPlain || a == ActionMask }

// Role is a named set of permissions: a default action for every column,
// and per-column overrides keyed by "table.column".
type Role struct {
	Default Action
	Columns map[string]Action
}

// Grant is a time-limited permission carried by a principal: either a role
// (Role set) or an action on one column (Column set, as "table.column";
// a zero Action means ActionPlain). A grant counts only before Expires;
// a grant with no expiry, or with both or neither of Role and Column set,
// counts for nothing.
type Grant struct {
	Role    string
	Column  string
	Action  Action
	Expires time.Time
	// Reason records why the grant exists, such as a ticket id.
	Reason string
}

// Principal is who is asking: an id for the audit log, roles, and grants.
type Principal struct {
	ID     string
	Roles  []string
	Grants []Grant
}

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, and false if there is none. A
// caller with no principal gets the policy's default role.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// DefaultRole is the name of the role that a principal with no known role
// gets, unless the policy names another.
const DefaultRole = "default"

// Policy maps principals and columns to actions and holds each column's
// masking function. It is immutable once built and safe for concurrent
// use.
type Policy struct {
	roles       map[string]Role
	columns     map[string]*Rule
	defaultRole string
	hash        *Rule
	extHash     bool
	fallback    *Rule
	now         func() time.Time
}

// PolicyOption configures NewPolicy.
type PolicyOption func(*Policy)

// WithDefaultRole names the role for principals with no known role
// (DefaultRole if not set). If the policy defines no such role, they get
// ActionDeny.
func WithDefaultRole(name string) PolicyOption { return func(p *Policy) { p.defaultRole = name } }

// WithHashRule sets the rule the hash action applies (a "hash" rule built
// with a key). Without one, a policy that uses the hash action does not
// validate.
func WithHashRule(r *Rule) PolicyOption { return func(p *Policy) { p.hash = r } }

// WithExternalHash declares that the caller carries out the hash action
// itself, without a hash rule: the SQL driver shows a keyed pseudonym of
// the stored blind index, so that hash never needs the plaintext. Apply
// then fails for hash with ErrMissingKey.
func WithExternalHash() PolicyOption { return func(p *Policy) { p.extHash = true } }

// WithClock sets the clock used to expire grants (time.Now by default).
func WithClock(now func() time.Time) PolicyOption { return func(p *Policy) { p.now = now } }

// NewPolicy builds and validates a policy from roles by name and masking
// rules by "table.column". Names are case-insensitive (stored in lower
// case). Every role needs a default action; overrides must name declared
// columns.
func NewPolicy(roles map[string]Role, columns map[string]*Rule, opts ...PolicyOption) (*Policy, error) {
	p := &Policy{roles: map[string]Role{}, columns: map[string]*Rule{}, defaultRole: DefaultRole, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	p.defaultRole = strings.ToLower(p.defaultRole)
	for name, r := range columns {
		key, err := ColumnKey(name)
		if err != nil {
			return nil, &PolicyError{Msg: err.Error()}
		}
		if r == nil {
			return nil, &PolicyError{Msg: fmt.Sprintf("column %s has no masking function", name)}
		}
		p.columns[key] = r
	}
	usesHash := false
	for name, r := range roles {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			return nil, &PolicyError{Msg: "a role has an empty name"}
		}
		if _, ok := actionNames[r.Default]; !ok {
			return nil, &PolicyError{Msg: fmt.Sprintf("role %s has no valid default action", name)}
		}
		usesHash = usesHash || r.Default == ActionHash
		cols := make(map[string]Action, len(r.Columns))
		for c, a := range r.Columns {
			key, err := ColumnKey(c)
			if err != nil {
				return nil, &PolicyError{Msg: fmt.Sprintf("role %s: %v", name, err)}
			}
			if _, ok := p.columns[key]; !ok {
				return nil, &PolicyError{Msg: fmt.Sprintf("role %s: column %s is not declared", name, key)}
			}
			if _, ok := actionNames[a]; !ok {
				return nil, &PolicyError{Msg: fmt.Sprintf("role %s: column %s has no valid action", name, key)}
			}
			usesHash = usesHash || a == ActionHash
			cols[key] = a
		}
		p.roles[name] = Role{Default: r.Default, Columns: cols}
	}
	if usesHash && !p.extHash && (p.hash == nil || p.hash.kind != kHash) {
		return nil, &PolicyError{Msg: "the hash action needs a key (a hash rule)", Err: ErrMissingKey}
	}
	p.fallback, _ = NewRule("mask_all", nil)
	return p, nil
}

// ColumnKey returns the key of a column in a policy, "table.column" in
// lower case, or an error if s is not of that form.
func ColumnKey(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	t, c, ok := strings.Cut(s, ".")
	if !ok || t == "" || c == "" || strings.Contains(c, ".") {
		return "", fmt.Errorf("column %q must be written table.column", s)
	}
	return s, nil
}

// Decide returns the action principal pr gets for table.column: the most
// permissive among its known roles and unexpired grants; with no known
// role, the default role's action (ActionDeny if there is no default
// role). Unknown roles count for nothing.
func (p *Policy) Decide(pr Principal, table, column string) Action {
	key := strings.ToLower(table) + "." + strings.ToLower(column)
	now := p.now()
	best, known := Action(0), false
	consider := func(role string) {
		r, ok := p.roles[strings.ToLower(role)]
		if !ok {
			return
		}
		known = true
		a := r.Default
		if ca, ok := r.Columns[key]; ok {
			a = ca
		}
		best = max(best, a)
	}
	for _, role := range pr.Roles {
		consider(role)
	}
	for _, g := range pr.Grants {
		if !g.valid(now) || g.Role == "" {
			continue
		}
		consider(g.Role)
	}
	if !known {
		best = ActionDeny
		if r, ok := p.roles[p.defaultRole]; ok {
			best = r.Default
			if ca, ok := r.Columns[key]; ok {
				best = ca
			}
		}
	}
	for _, g := range pr.Grants {
		if !g.valid(now) || g.Column == "" || strings.ToLower(g.Column) != key {
			continue
		}
		a := g.Action
		if a == 0 {
			a = ActionPlain
		}
		if _, ok := actionNames[a]; ok {
			best = max(best, a)
		}
	}
	return best
}

// GrantsUsed returns the grants of pr that raise its action on
// table.column above what its roles alone give: each unexpired grant
// that by itself gives the action Decide returns. The audit log records
// them, with their reasons.
func (p *Policy) GrantsUsed(pr Principal, table, column string) []Grant {
	if len(pr.Grants) == 0 {
		return nil
	}
	final := p.Decide(pr, table, column)
	if p.Decide(Principal{ID: pr.ID, Roles: pr.Roles}, table, column) >= final {
		return nil
	}
	var used []Grant
	for _, g := range pr.Grants {
		if p.Decide(Principal{ID: pr.ID, Roles: pr.Roles, Grants: []Grant{g}}, table, column) == final {
			used = append(used, g)
		}
	}
	return used
}

func (g Grant) valid(now time.Time) bool {
	return !g.Expires.IsZero() && now.Before(g.Expires) && (g.Role == "") != (g.Column == "")
}

// Rule returns the masking function of table.column; a column the policy
// does not declare is masked entirely (mask_all).
func (p *Policy) Rule(table, column string) *Rule {
	if r, ok := p.columns[strings.ToLower(table)+"."+strings.ToLower(column)]; ok {
		return r
	}
	return p.fallback
}

// Apply carries out the action pr gets for table.column on the plaintext
// value: the value itself, its mask, its keyed pseudonym, null (null is
// true), or an error wrapping ErrDenied.
func (p *Policy) Apply(pr Principal, table, column, value string) (out string, null bool, err error) {
	switch a := p.Decide(pr, table, column); a {
	case ActionPlain:
		return value, false, nil
	case ActionMask:
		r := p.Rule(table, column)
		if r.Null() {
			return "", true, nil
		}
		return r.Mask(value), false, nil
	case ActionHash:
		if p.hash == nil {
			return "", false, fmt.Errorf("%s.%s: %w", table, column, ErrMissingKey)
		}
		return p.hash.Mask(value), false, nil
	case ActionNull:
		return "", true, nil
	default:
		return "", false, fmt.Errorf("%w: %s.%s for %q", ErrDenied, table, column, pr.ID)
	}
}

// Roles returns the names of the policy's roles.
func (p *Policy) Roles() []string {
	names := make([]string, 0, len(p.roles))
	for n := range p.roles {
		names = append(names, n)
	}
	return names
}
