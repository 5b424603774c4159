package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// stmt is a wrapped prepared statement. It is prepared once and may be used
// by callers of different roles: each execution decides for its own context.
type stmt struct {
	inner driver.Stmt
	conn  *conn
	plan  *sqlplan.Plan
}

var (
	_ driver.Stmt              = (*stmt)(nil)
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

// Close implements driver.Stmt.
func (s *stmt) Close() error { return s.inner.Close() }

// NumInput implements driver.Stmt: the number of arguments the caller
// binds, not the number the rewritten statement takes.
func (s *stmt) NumInput() int {
	if !s.plan.Protected {
		return s.inner.NumInput()
	}
	return s.plan.NumInput
}

// Exec implements driver.Stmt.
//
// Deprecated: use ExecContext.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

// Query implements driver.Stmt.
//
// Deprecated: use QueryContext.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

// ExecContext implements driver.StmtExecContext.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	run := func(bound []driver.NamedValue) (driver.Result, error) { return execStmt(ctx, s.inner, bound) }
	if !s.plan.Protected {
		s.conn.forwarded(s.plan.SQL)
		return run(args)
	}
	return s.conn.s.exec(ctx, s.plan, args, func(bound []driver.NamedValue) (driver.Result, error) {
		// Some drivers send the text again, or only now.
		if err := s.conn.checkSession(ctx, s.plan.SQL); err != nil {
			return nil, err
		}
		return run(bound)
	})
}

// QueryContext implements driver.StmtQueryContext.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	run := func(bound []driver.NamedValue) (driver.Rows, error) {
		if s.plan.Protected {
			if err := s.conn.checkSession(ctx, s.plan.SQL); err != nil {
				return nil, err
			}
		} else {
			s.conn.forwarded(s.plan.SQL)
		}
		return queryStmt(ctx, s.inner, bound)
	}
	if !s.plan.Protected {
		return run(args)
	}
	return s.conn.s.query(ctx, s.conn.open, s.plan, args, run)
}

// CheckNamedValue implements driver.NamedValueChecker: the inner
// statement's checker, else (driver.ErrSkip) the connection's.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// execStmt runs st with args, through StmtExecContext when st has it.
func execStmt(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Result, error) {
	if ec, ok := st.(driver.StmtExecContext); ok {
		return ec.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 the inner driver has only Exec
	return st.Exec(vals)
}

// queryStmt queries st with args, through StmtQueryContext when st has it.
func queryStmt(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Rows, error) {
	if qc, ok := st.(driver.StmtQueryContext); ok {
		return qc.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 the inner driver has only Query
	return st.Query(vals)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("gmfield/sqldriver: the inner driver does not support named arguments")
		}
		out[i] = a.Value
	}
	return out, nil
}
