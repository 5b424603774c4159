package sqldriver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// checkSession makes sure the server reads query, a protected statement
// about to be sent, as the analysis did (sqlplan.SessionChecker): it reads
// the connection's settings once, after any statement that may have
// changed them, and for every statement whose text is not ASCII.
func (c *conn) checkSession(ctx context.Context, query string) error {
	sc := c.s.session
	if sc == nil {
		return nil
	}
	nonASCII := !isASCII(query)
	if c.settled && !nonASCII {
		return nil
	}
	row, err := c.sessionRow(ctx, sc.SessionQuery())
	if err != nil {
		return sqlplan.Refuse(sqlplan.ErrSession, "", "", "cannot read the connection's settings: "+err.Error())
	}
	if err := sc.CheckSession(row, nonASCII); err != nil {
		c.settled = false
		return err
	}
	c.settled = true
	return nil
}

// forwarded notes a statement sent as written: if it may change the
// settings checkSession reads, they are read again before the next
// protected statement.
func (c *conn) forwarded(query string) {
	if c.s.session != nil && c.settled && c.s.session.Unsettles(query) {
		c.settled = false
	}
}

// sessionRow runs q on the inner connection and returns its first row as
// text.
func (c *conn) sessionRow(ctx context.Context, q string) ([]string, error) {
	var rows driver.Rows
	var err error
	if qc, ok := c.inner.(driver.QueryerContext); ok {
		rows, err = qc.QueryContext(ctx, q, nil)
	}
	if rows == nil && (err == nil || err == driver.ErrSkip) {
		var st driver.Stmt
		if st, err = c.inner.Prepare(q); err != nil {
			return nil, err
		}
		defer st.Close()
		//lint:ignore SA1019 the inner driver has only Query
		rows, err = st.Query(nil)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(vals); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("no row")
		}
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case []byte:
			out[i] = string(x)
		case string:
			out[i] = x
		case nil:
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scrubbed is an inner driver's error whose message quoted a ciphertext or
// blind index the driver bound (MySQL's duplicate-key error quotes the
// key's value): the message has them cut out. Unwrap gives the inner
// error, for errors.Is and errors.As (driver.ErrBadConn, error numbers).
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub cuts the values p's sealing and index slots bound (and the
// plaintext of a search on a migrating column) out of err's message.
func scrub(err error, p *sqlplan.Plan, bound []driver.NamedValue) error {
	if err == nil {
		return nil
	}
	msg, cut := err.Error(), false
	for i, sl := range p.Slots {
		if sl.Op != sqlplan.OpSeal && sl.Op != sqlplan.OpIndex && sl.Op != sqlplan.OpLikeLast4 && !sl.Text || i >= len(bound) {
			continue
		}
		var v string
		switch x := bound[i].Value.(type) {
		case string:
			v = x
		case []byte:
			v = string(x)
		}
		if len(v) >= 8 && strings.Contains(msg, v) {
			msg, cut = strings.ReplaceAll(msg, v, "…"), true
		}
	}
	if !cut {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}
