package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Unwrapper is implemented by the connections of a wrapped database: with
// sql.Conn.Raw, Unwrap gives the inner driver's connection, whose
// statements bypass gmfield entirely (for migrations, routines and other
// statements the driver refuses).
//
//	err := conn.Raw(func(dc any) error {
//		inner := dc.(sqldriver.Unwrapper).Unwrap()
//		…
//	})
type Unwrapper interface {
	Unwrap() driver.Conn
}

var _ Unwrapper = (*conn)(nil)

// conn is a wrapped connection. Through sql.Conn.Raw, Unwrap gives the
// inner connection, whose statements bypass gmfield entirely.
type conn struct {
	inner driver.Conn
	s     *schema
	// settled: the connection's settings were checked and nothing sent
	// since may have changed them (session.go).
	settled bool
	// open holds its handle's results whose events are not written.
	open *openSet
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func newConn(c driver.Conn, s *schema, open *openSet) *conn {
	return &conn{inner: c, s: s, open: open}
}

// Unwrap returns the inner driver connection.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext: it prepares the
// rewritten statement on the inner connection.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	p, err := c.s.plan(ctx, query)
	if err != nil {
		return nil, c.s.refused(ctx, err)
	}
	if p.Protected {
		if err := c.checkSession(ctx, p.SQL); err != nil {
			return nil, err
		}
	} else {
		c.forwarded(query)
	}
	st, err := c.prepareInner(ctx, p.SQL)
	if err != nil {
		return nil, err
	}
	return &stmt{inner: st, conn: c, plan: p}, nil
}

// Close implements driver.Conn.
func (c *conn) Close() error { return c.inner.Close() }

// Begin implements driver.Conn.
//
// Deprecated: use BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.inner.Begin()
}

// BeginTx implements driver.ConnBeginTx, forwarding to the inner
// connection (transactions need no rewriting).
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bt, ok := c.inner.(driver.ConnBeginTx); ok {
		return bt.BeginTx(ctx, opts)
	}
	if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errors.New("gmfield/sqldriver: the inner driver does not support isolation levels or read-only transactions")
	}
	//lint:ignore SA1019 the inner driver has only Begin
	return c.inner.Begin()
}

// ExecContext implements driver.ExecerContext. Without an inner
// ExecerContext it returns driver.ErrSkip and database/sql prepares.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	p, err := c.s.plan(ctx, query)
	if err != nil {
		return nil, c.s.refused(ctx, err)
	}
	if !p.Protected {
		c.forwarded(query)
		return ex.ExecContext(ctx, query, args)
	}
	return c.s.exec(ctx, p, args, func(bound []driver.NamedValue) (driver.Result, error) {
		if err := c.checkSession(ctx, p.SQL); err != nil {
			return nil, err
		}
		res, err := ex.ExecContext(ctx, p.SQL, bound)
		if err == driver.ErrSkip {
			return c.execSkipped(ctx, p.SQL, bound)
		}
		return res, err
	})
}

// QueryContext implements driver.QueryerContext. Without an inner
// QueryerContext it returns driver.ErrSkip and database/sql prepares.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	p, err := c.s.plan(ctx, query)
	if err != nil {
		return nil, c.s.refused(ctx, err)
	}
	if !p.Protected {
		c.forwarded(query)
		return q.QueryContext(ctx, query, args)
	}
	return c.s.query(ctx, c.open, p, args, func(bound []driver.NamedValue) (driver.Rows, error) {
		if err := c.checkSession(ctx, p.SQL); err != nil {
			return nil, err
		}
		rows, err := q.QueryContext(ctx, p.SQL, bound)
		if err == driver.ErrSkip {
			return c.querySkipped(ctx, p.SQL, bound)
		}
		return rows, err
	})
}

// Ping implements driver.Pinger.
func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession implements driver.SessionResetter.
func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid implements driver.Validator.
func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue implements driver.NamedValueChecker, forwarding to the
// inner connection; driver.ErrSkip selects database/sql's default conversion.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// query binds args, decides each protected result column for the caller,
// runs the statement and wraps its rows.
func (s *schema) query(ctx context.Context, open *openSet, p *sqlplan.Plan, args []driver.NamedValue, run func([]driver.NamedValue) (driver.Rows, error)) (driver.Rows, error) {
	pr, use, bound, err := s.start(ctx, p, args)
	if err != nil {
		return nil, err
	}
	rows, err := run(bound)
	if err != nil {
		return nil, s.record(ctx, p, use, 0, 0, scrub(err, p, bound), true)
	}
	if len(p.Results) == 0 {
		// No protected column in the result: the rows are not counted
		// (docs/audit.md), and the event is written now.
		if err := s.record(ctx, p, use, -1, 0, nil, false); err != nil {
			_ = rows.Close()
			return nil, err
		}
		return rows, nil
	}
	wrapped, err := s.wrapRows(ctx, open, pr, p, use, rows)
	if err != nil {
		return nil, s.record(ctx, p, use, 0, 0, err, false)
	}
	return wrapped, nil
}
