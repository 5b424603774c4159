package keyring

import (
	"fmt"

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
	// one tenant's data can be rotated or shredded alone.
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

// Keyspace returns the keyspace of a value of table.column (and tenant,
// for PerTenantColumn, where it must not be empty): "table.column",
// "table", or "tenant/TENANT/table.column".
func (s Scope) Keyspace(tenant, table, column string) (string, error) {
	switch s {
	case PerColumn:
		return ColumnKeyspace(table, column), nil
	case PerTable:
		return table, nil
	case PerTenantColumn:
		if tenant == "" {
			return "", fmt.Errorf("%w: per-tenant keyspace without a tenant", crypto.ErrInvalidInput)
		}
		return "tenant/" + tenant + "/" + ColumnKeyspace(table, column), nil
	}
	return "", fmt.Errorf("%w: unknown keyspace scope %d", crypto.ErrInvalidInput, int(s))
}
