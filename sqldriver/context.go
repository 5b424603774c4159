package sqldriver

import (
	"context"

	"github.com/gmfield/gmfield/masking"
)

// WithRoles returns a copy of ctx whose caller is principal id with roles;
// reads of protected columns are decided by these roles.
func WithRoles(ctx context.Context, id string, roles ...string) context.Context {
	return masking.NewContext(ctx, masking.Principal{ID: id, Roles: roles})
}

// WithPrincipal returns a copy of ctx carrying p (roles and grants).
func WithPrincipal(ctx context.Context, p masking.Principal) context.Context {
	return masking.NewContext(ctx, p)
}

type tenantKey struct{}

// WithTenant returns a copy of ctx whose statements act for tenant, for
// key_scope: tenant (keyring.PerTenantColumn): writes are sealed under the
// tenant's DEKs and indexed under its blind-index root, searches use that
// root, and reads open only values sealed for the tenant (another
// tenant's values fail with crypto.ErrKeyMismatch). Without a tenant,
// such statements fail with ErrNoTenant. Destroying a tenant's DEKs
// shreds its values and, with its last DEK, its blind indexes.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

func principalOf(ctx context.Context) masking.Principal {
	pr, _ := masking.FromContext(ctx)
	return pr
}
