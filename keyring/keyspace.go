package keyring

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gmfield/gmfield/crypto"
)

// Scope chooses how DEKs are shared: which values of which columns (and
// tenants) are sealed under the same keyspace.
type Scope int

const (
	// PerColumn gives every table.column its own DEKs (the default).
	PerColumn Scope = iota
	// PerTable shares DEKs among the protected columns of a table.
	PerTable
	// PerTenantColumn gives every tenant its own DEKs for every column, so
	// one tenant's data can be rotated or shredded alone. Each such
	// keyspace also has its own blind-index root (Keyring.IndexRootFor).
	PerTenantColumn
)

// ParseScope returns the scope named "column", "table" or "tenant".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "", "column":
		return PerColumn, nil
	case "table":
		return PerTable, nil
	case "tenant":
		return PerTenantColumn, nil
	}
	return 0, fmt.Errorf("%w: keyspace scope %q (column, table, tenant)", crypto.ErrInvalidInput, s)
}

// String returns the scope's name as ParseScope reads it.
func (s Scope) String() string {
	switch s {
	case PerColumn:
		return "column"
	case PerTable:
		return "table"
	case PerTenantColumn:
		return "tenant"
	}
	return "Scope(" + strconv.Itoa(int(s)) + ")"
}

// Keyspace returns the keyspace that the place loc names (its Schema,
// Table and Column; tenant for PerTenantColumn, where it must not be
// empty) maps to under s, in the grammar of docs/format.md §8.1:
// "table.column" or "schema.table.column" per column, "table.*" or
// "schema.table.*" per table, "tenant/TENANT/[schema.]table.column" per
// tenant. Names must be lower-case identifiers ([a-z_][a-z0-9_]{0,62}) and
// tenants [A-Za-z0-9_-][A-Za-z0-9._-]{0,63}, so that no two places share a
// keyspace; anything else is an error wrapping crypto.ErrInvalidInput.
func (s Scope) Keyspace(tenant string, loc crypto.Location) (string, error) {
	for _, n := range []struct{ what, v string }{{"table", loc.Table}, {"column", loc.Column}} {
		if !validName(n.v) {
			return "", fmt.Errorf("%w: %s %q is not a lower-case identifier", crypto.ErrInvalidInput, n.what, n.v)
		}
	}
	q := loc.Table
	if loc.Schema != "" {
		if !validName(loc.Schema) {
			return "", fmt.Errorf("%w: schema %q is not a lower-case identifier", crypto.ErrInvalidInput, loc.Schema)
		}
		q = loc.Schema + "." + loc.Table
	}
	switch s {
	case PerColumn:
		if tenant != "" {
			return "", fmt.Errorf("%w: a tenant outside key scope tenant", crypto.ErrInvalidInput)
		}
		return q + "." + loc.Column, nil
	case PerTable:
		if tenant != "" {
			return "", fmt.Errorf("%w: a tenant outside key scope tenant", crypto.ErrInvalidInput)
		}
		return q + ".*", nil
	case PerTenantColumn:
		if tenant == "" {
			return "", fmt.Errorf("%w: per-tenant keyspace without a tenant", crypto.ErrInvalidInput)
		}
		if !validTenant(tenant) {
			return "", fmt.Errorf("%w: tenant %q: use 1 to 64 of A-Z a-z 0-9 . _ - (not starting with a dot)", crypto.ErrInvalidInput, tenant)
		}
		return "tenant/" + tenant + "/" + q + "." + loc.Column, nil
	}
	return "", fmt.Errorf("%w: unknown keyspace scope %d", crypto.ErrInvalidInput, int(s))
}

// Locate returns loc with its Keyspace set to the keyspace it maps to
// under s (see Keyspace).
func (s Scope) Locate(tenant string, loc crypto.Location) (crypto.Location, error) {
	ks, err := s.Keyspace(tenant, loc)
	loc.Keyspace = ks
	return loc, err
}

// ValidateKeyspace reports whether ks is a keyspace of the grammar of
// docs/format.md §8.1 that DEKs may belong to (reserved keyspaces, those of
// the blind-index roots, are refused).
func ValidateKeyspace(ks string) error {
	if _, err := parseKeyspace(ks); err != nil {
		return err
	}
	return nil
}

// keyspaceName is a parsed keyspace.
type keyspaceName struct {
	scope                         Scope
	tenant, schema, table, column string
}

// parseKeyspace parses a DEK keyspace (never a reserved one).
func parseKeyspace(ks string) (keyspaceName, error) {
	bad := func(why string) (keyspaceName, error) {
		return keyspaceName{}, fmt.Errorf("%w: keyspace %q: %s", crypto.ErrInvalidInput, ks, why)
	}
	if reserved(ks) {
		return bad("reserved")
	}
	var n keyspaceName
	rest := ks
	if t, ok := strings.CutPrefix(ks, "tenant/"); ok {
		tenant, q, ok := strings.Cut(t, "/")
		if !ok || !validTenant(tenant) {
			return bad("tenant must be 1 to 64 of A-Z a-z 0-9 . _ -")
		}
		n.scope, n.tenant, rest = PerTenantColumn, tenant, q
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("want table.column, schema.table.column, table.* or schema.table.*")
	}
	last := parts[len(parts)-1]
	names := parts[:len(parts)-1]
	if last == "*" {
		if n.scope == PerTenantColumn {
			return bad("a tenant keyspace names a column")
		}
		n.scope = PerTable
	} else if !validName(last) {
		return bad("names must be lower-case identifiers")
	} else {
		n.column = last
	}
	for _, p := range names {
		if !validName(p) {
			return bad("names must be lower-case identifiers")
		}
	}
	if len(names) == 2 {
		n.schema = names[0]
	}
	n.table = names[len(names)-1]
	return n, nil
}

// validName reports whether s is a keyspace name: a lower-case SQL
// identifier of at most 63 bytes (PostgreSQL's limit).
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validTenant reports whether s can name a tenant.
func validTenant(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const (
	// IndexRootID is the record id of the deployment's blind-index root key.
	IndexRootID = "index-root"
	// IndexRootKeyspace is the reserved keyspace of the deployment's root.
	// Keyspaces starting with "gmfield:" are reserved.
	IndexRootKeyspace = "gmfield:index-root"

	reservedPrefix = "gmfield:"
)

func reserved(keyspace string) bool { return strings.HasPrefix(keyspace, reservedPrefix) }

// rootKeyspace is the reserved keyspace of the blind-index root rk: the
// deployment's ("") or that of tenant keyspace rk.
func rootKeyspace(rk string) string {
	if rk == "" {
		return IndexRootKeyspace
	}
	return IndexRootKeyspace + "/" + rk
}

// rootOf is the inverse of rootKeyspace.
func rootOf(keyspace string) string {
	return strings.TrimPrefix(strings.TrimPrefix(keyspace, IndexRootKeyspace), "/")
}

// rootID is the record id of generation gen (1, 2, …) of the blind-index
// root rk (docs/format.md §8.2).
func rootID(rk string, gen int) string {
	id := IndexRootID
	if rk != "" {
		h := sm3.Sum([]byte("gmfield:index-root:" + rk))
		id = crypto.ReservedKeyIDPrefix + "-" + hex.EncodeToString(h[:16])
	}
	if gen > 1 {
		id += "." + strconv.Itoa(gen)
	}
	return id
}

// ValidateRecordID reports whether id can name a stored record: a key id
// (crypto.ValidateKeyID), or the id of a generation of a blind-index root
// (docs/format.md §8.2). Stores check it before writing.
func ValidateRecordID(id string) error { return validRecordID(id) }

func validRecordID(id string) error {
	if isDeploymentRootID(id) || isKeyspaceRootID(id) {
		return nil
	}
	return crypto.ValidateKeyID(id)
}

// isDeploymentRootID reports whether id names a generation of the
// deployment's root: "index-root" or "index-root.N", N ≥ 2.
func isDeploymentRootID(id string) bool {
	rest, ok := strings.CutPrefix(id, IndexRootID)
	return ok && (rest == "" || validGeneration(rest))
}

// validGeneration reports whether s is ".N" with N ≥ 2 in canonical
// decimal.
func validGeneration(s string) bool {
	gen, ok := strings.CutPrefix(s, ".")
	n, err := strconv.Atoi(gen)
	return ok && err == nil && n >= 2 && n <= maxRootGenerations && strconv.Itoa(n) == gen
}

// isKeyspaceRootID reports whether id has the form of a keyspace root's id.
func isKeyspaceRootID(id string) bool {
	rest, ok := strings.CutPrefix(id, crypto.ReservedKeyIDPrefix+"-")
	if !ok {
		return false
	}
	h, gen, hasGen := strings.Cut(rest, ".")
	if len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" {
		return false
	}
	return !hasGen || validGeneration("."+gen)
}

// checkRecordNames checks that a record's id and keyspace agree: a DEK id
// with a DEK keyspace, a root id with its own reserved keyspace.
func checkRecordNames(id, keyspace string) error {
	if err := validRecordID(id); err != nil {
		return err
	}
	switch {
	case isDeploymentRootID(id):
		if keyspace != IndexRootKeyspace {
			return fmt.Errorf("%w: record %s must have keyspace %s", crypto.ErrInvalidInput, id, IndexRootKeyspace)
		}
	case isKeyspaceRootID(id):
		ks, ok := strings.CutPrefix(keyspace, IndexRootKeyspace+"/")
		if !ok || ValidateKeyspace(ks) != nil {
			return fmt.Errorf("%w: record %s needs a keyspace root's keyspace", crypto.ErrInvalidInput, id)
		}
		base, _, _ := strings.Cut(id, ".")
		if base != rootID(ks, 1) {
			return fmt.Errorf("%w: record %s is not the root of %s", crypto.ErrInvalidInput, id, ks)
		}
	default:
		if err := ValidateKeyspace(keyspace); err != nil {
			return err
		}
	}
	return nil
}
