package sqldriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Open opens dsn with the driver registered as driverName, wrapped by
// cfg: a shortcut for Wrap over that driver's connector.
func Open(driverName, dsn string, cfg *Config) (*sql.DB, error) {
	d, err := registered(driverName)
	if err != nil {
		return nil, err
	}
	var inner driver.Connector
	if dc, ok := d.(driver.DriverContext); ok {
		if inner, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	} else {
		inner = dsnConnector{name: dsn, d: d}
	}
	c, err := Wrap(inner, cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// WithRoles returns a copy of ctx whose caller is principal id with roles;
// reads of protected columns are decided by these roles.
func WithRoles(ctx context.Context, id string, roles ...string) context.Context {
	return masking.NewContext(ctx, masking.Principal{ID: id, Roles: roles})
}

// WithPrincipal returns a copy of ctx carrying p (roles and grants).
func WithPrincipal(ctx context.Context, p masking.Principal) context.Context {
	return masking.NewContext(ctx, p)
}

// Analyze returns the plan of query under cfg, for cfg.Dialect: the
// statement the driver would send, what it binds to each placeholder and
// which result columns it decrypts; or the refusal (wrapping ErrRefused).
// Tests of an application can run their SQL through it, and so does
// `gmfield plan`.
func Analyze(cfg *Config, query string) (*sqlplan.Plan, error) {
	if cfg.Dialect == nil {
		return nil, fmt.Errorf("%w: Analyze needs Config.Dialect", ErrInvalidConfig)
	}
	cat, err := cfg.catalog()
	if err != nil {
		return nil, err
	}
	return cfg.Dialect.Analyze(cat, query)
}
