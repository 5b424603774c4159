package sqldriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/internal/analysis"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Wrap returns a connector whose connections encrypt, search and mask the
// protected columns of cfg over the connections of inner:
//
//	db := sql.OpenDB(connector)
//
// It validates cfg and loads the blind-index root from the keyring. The
// dialect is cfg.Dialect, or the registered dialect of inner's driver
// (import the dialect package: pgdialect, mysqldialect).
func Wrap(inner driver.Connector, cfg *Config) (driver.Connector, error) {
	s, err := newSchema(context.Background(), cfg, dialectFor(cfg, inner.Driver()))
	if err != nil {
		return nil, err
	}
	return &connector{inner: inner, s: s, drv: &drv{inner: inner.Driver(), s: s}, owner: true, open: &openSet{}}, nil
}

// Register registers, under name, a driver that wraps the driver
// registered under innerName, for callers of sql.Open(name, dsn). Like
// sql.Register, it panics if name is taken; it returns an error if
// innerName is not registered or cfg does not validate. Every database
// opened by name shares cfg.Audit, and closing one does not close it:
// the application closes the sink after the last of them.
func Register(name, innerName string, cfg *Config) error {
	inner, err := registered(innerName)
	if err != nil {
		return err
	}
	s, err := newSchema(context.Background(), cfg, dialectFor(cfg, inner))
	if err != nil {
		return err
	}
	sql.Register(name, &drv{inner: inner, s: s})
	return nil
}

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

// DialectNamed returns the registered dialect called name: "sqlite",
// "postgres" (or "postgresql"), "mysql" (or "mariadb") once their packages
// are imported.
func DialectNamed(name string) (sqlplan.Dialect, bool) { return sqlplan.Lookup(name) }

// registered returns the driver registered as name.
func registered(name string) (driver.Driver, error) {
	db, err := sql.Open(name, "")
	if err != nil {
		return nil, fmt.Errorf("gmfield/sqldriver: %w", err)
	}
	defer db.Close()
	return db.Driver(), nil
}

// dialectFor returns cfg's dialect, or the one registered for d's type.
func dialectFor(cfg *Config, d driver.Driver) sqlplan.Dialect {
	if cfg.Dialect != nil {
		return cfg.Dialect
	}
	t := reflect.TypeOf(d)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if dl, ok := sqlplan.Detect(strings.ToLower(t.PkgPath() + "." + t.Name())); ok {
		return dl
	}
	return unknownDialect{}
}

// unknownDialect refuses every statement that may touch a protected table.
type unknownDialect struct{}

func (unknownDialect) Name() string { return "unknown" }

func (unknownDialect) Analyze(cat sqlplan.Catalog, q string) (*sqlplan.Plan, error) {
	if analysis.Mentions(cat, q, 63, nil) {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "no dialect for this driver: set Config.Dialect (or dialect: in the YAML) and import its package")
	}
	return sqlplan.PassThrough(q), nil
}

// drv is the wrapping driver.Driver.
type drv struct {
	inner driver.Driver
	s     *schema
}

var (
	_ driver.Driver        = (*drv)(nil)
	_ driver.DriverContext = (*drv)(nil)
)

// Open implements driver.Driver.
func (d *drv) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return newConn(c, d.s, &d.s.open), nil
}

// OpenConnector implements driver.DriverContext when the inner driver does;
// otherwise it opens connections with Open.
func (d *drv) OpenConnector(name string) (driver.Connector, error) {
	if dc, ok := d.inner.(driver.DriverContext); ok {
		c, err := dc.OpenConnector(name)
		if err != nil {
			return nil, err
		}
		return &connector{inner: c, s: d.s, drv: d, open: &openSet{}}, nil
	}
	return &connector{inner: dsnConnector{name: name, d: d.inner}, s: d.s, drv: d, open: &openSet{}}, nil
}

// Analyze returns the plan of query under cfg, for cfg.Dialect: the
// statement the driver would send, what it binds to each placeholder,
// which result columns it decrypts and what it does with each protected
// column; or the refusal (wrapping ErrRefused). Tests of an application
// can run their SQL through it, and so does `gmfield plan`.
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
