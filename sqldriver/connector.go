package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"time"
)

// connector is the wrapping driver.Connector.
type connector struct {
	inner driver.Connector
	s     *schema
	drv   *drv
	// owner: the connector of Wrap, whose Close closes the audit sink; the
	// connectors of a registered driver share theirs.
	owner bool
	open  *openSet
}

var (
	_ driver.Connector = (*connector)(nil)
	_ io.Closer        = (*connector)(nil)
)

// Connect implements driver.Connector.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	ic, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(ic, c.s, c.open), nil
}

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return c.drv }

// Close implements io.Closer, closing the inner connector if it is one,
// then, for the connector of Wrap, recording the results still open,
// closing the audit sink if it is an io.Closer, and closing the guard.
func (c *connector) Close() error {
	var err error
	if cl, ok := c.inner.(io.Closer); ok {
		err = cl.Close()
	}
	err = errors.Join(err, c.open.finish())
	if !c.owner {
		return err
	}
	c.s.drain(30 * time.Second)
	if cl, ok := c.s.sink.(io.Closer); ok {
		err = errors.Join(err, cl.Close())
	}
	if c.s.guard != nil {
		err = errors.Join(err, c.s.guard.Close())
	}
	return err
}

// dsnConnector is the connector of an inner driver without
// driver.DriverContext: it opens connections by name.
type dsnConnector struct {
	name string
	d    driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.name) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }
