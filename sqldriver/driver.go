package sqldriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/mysqldialect"
	"github.com/gmfield/gmfield/sqldriver/pgdialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Wrap returns a connector whose connections encrypt, search and mask the
// protected columns of cfg over the connections of inner:
//
//	db := sql.OpenDB(connector)
//
// It validates cfg and loads the blind-index root from the keyring.
func Wrap(inner driver.Connector, cfg *Config) (driver.Connector, error) {
	s, err := newSchema(context.Background(), cfg, dialectFor(cfg, inner.Driver()))
	if err != nil {
		return nil, err
	}
	return &connector{inner: inner, s: s, drv: &Driver{inner: inner.Driver(), s: s}}, nil
}

// Register registers, under name, a driver that wraps the driver
// registered under innerName, for callers of sql.Open(name, dsn). Like
// sql.Register, it panics if name is taken; it returns an error if
// innerName is not registered or cfg does not validate.
func Register(name, innerName string, cfg *Config) error {
	inner, err := registered(innerName)
	if err != nil {
		return err
	}
	s, err := newSchema(context.Background(), cfg, dialectFor(cfg, inner))
	if err != nil {
		return err
	}
	sql.Register(name, &Driver{inner: inner, s: s})
	return nil
}

// DialectNamed returns the dialect called name: "sqlite", "postgres" (or
// "postgresql"), "mysql" (or "mariadb").
func DialectNamed(name string) (sqlplan.Dialect, bool) {
	switch name {
	case "sqlite":
		return pgdialect.SQLite, true
	case "postgres", "postgresql":
		return pgdialect.PostgreSQL, true
	case "mysql", "mariadb":
		return mysqldialect.MySQL, true
	}
	return nil, false
}

// registered returns the driver registered as name.
func registered(name string) (driver.Driver, error) {
	db, err := sql.Open(name, "")
	if err != nil {
		return nil, fmt.Errorf("gmfield/sqldriver: %w", err)
	}
	defer db.Close()
	return db.Driver(), nil
}

func dialectFor(cfg *Config, d driver.Driver) sqlplan.Dialect {
	if cfg.Dialect != nil {
		return cfg.Dialect
	}
	t := reflect.TypeOf(d)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path := strings.ToLower(t.PkgPath() + "." + t.Name())
	switch {
	case strings.Contains(path, "sqlite"):
		return pgdialect.SQLite
	case strings.Contains(path, "pgx"), strings.Contains(path, "lib/pq"), strings.Contains(path, "postgres"):
		return pgdialect.PostgreSQL
	case strings.Contains(path, "mysql"):
		return mysqldialect.MySQL
	}
	return unknownDialect{}
}

// unknownDialect refuses every statement on a protected table.
type unknownDialect struct{}

func (unknownDialect) Name() string { return "unknown" }

func (unknownDialect) Analyze(cat sqlplan.Catalog, q string) (*sqlplan.Plan, error) {
	if cat.Mentions(q) {
		return nil, sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "no dialect for this driver; set Config.Dialect")
	}
	return sqlplan.PassThrough(q), nil
}

// Driver is the wrapping driver.Driver.
type Driver struct {
	inner driver.Driver
	s     *schema
}

// Open implements driver.Driver.
func (d *Driver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return newConn(c, d.s), nil
}

// OpenConnector implements driver.DriverContext when the inner driver does;
// otherwise it opens connections with Open.
func (d *Driver) OpenConnector(name string) (driver.Connector, error) {
	if dc, ok := d.inner.(driver.DriverContext); ok {
		c, err := dc.OpenConnector(name)
		if err != nil {
			return nil, err
		}
		return &connector{inner: c, s: d.s, drv: d}, nil
	}
	return &connector{inner: dsnConnector{name: name, d: d.inner}, s: d.s, drv: d}, nil
}

type dsnConnector struct {
	name string
	d    driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.name) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

type connector struct {
	inner driver.Connector
	s     *schema
	drv   *Driver
}

// Connect implements driver.Connector.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	ic, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(ic, c.s), nil
}

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return c.drv }

// Close implements io.Closer, closing the inner connector if it is one.
func (c *connector) Close() error {
	if cl, ok := c.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
