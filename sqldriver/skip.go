package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
)

// A connection's fast path can refuse a statement with driver.ErrSkip
// after the driver has sealed its values, admitted it to the guard and
// reserved its audit event (go-sql-driver/mysql does, for every statement
// with arguments, unless interpolateParams is set). database/sql would
// then prepare the original text and run it again: sealing twice, taking
// the guard's budget twice and recording a failed event beside the real
// one. Instead the driver runs the rewritten statement, with the values
// already bound, as a statement prepared on the inner connection.

// prepareInner prepares query on the inner connection.
func (c *conn) prepareInner(ctx context.Context, query string) (driver.Stmt, error) {
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		return pc.PrepareContext(ctx, query)
	}
	return c.inner.Prepare(query)
}

// execSkipped runs query with bound args as a prepared statement.
func (c *conn) execSkipped(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.prepareInner(ctx, query)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return execStmt(ctx, st, args)
}

// querySkipped runs query with bound args as a prepared statement, closed
// with its rows.
func (c *conn) querySkipped(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.prepareInner(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := queryStmt(ctx, st, args)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &stmtRows{Rows: rows, st: st}, nil
}

// stmtRows are the rows of a statement prepared for them, closed with
// them. It forwards the optional interfaces of the inner rows; where they
// lack one, its answer is database/sql's default.
type stmtRows struct {
	driver.Rows
	st driver.Stmt
}

var (
	_ driver.RowsNextResultSet              = (*stmtRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*stmtRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*stmtRows)(nil)
	_ driver.RowsColumnTypeLength           = (*stmtRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*stmtRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*stmtRows)(nil)
)

func (r *stmtRows) Close() error { return errors.Join(r.Rows.Close(), r.st.Close()) }

func (r *stmtRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *stmtRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *stmtRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return typeAny
}

func (r *stmtRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *stmtRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *stmtRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *stmtRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
