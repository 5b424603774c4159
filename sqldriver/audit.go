package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// ErrAudit wraps a failure of the audit sink (Config.Audit): the
// statement fails rather than run, or finish, unrecorded.
var ErrAudit = errors.New("gmfield/sqldriver: audit log")

// admit asks the audit sink, before a protected statement runs, whether
// it can take its event.
func (s *schema) admit() error {
	if s.sink == nil {
		return nil
	}
	if s.gate != nil {
		if err := s.gate.Reserve(); err != nil {
			return fmt.Errorf("%w: %w", ErrAudit, err)
		}
	}
	s.inflight.Add(1)
	return nil
}

// openSet holds the results of one database handle whose events are
// not written yet, so that closing the handle records those the
// application never closed.
type openSet struct {
	mu   sync.Mutex
	rows map[*rows]struct{}
}

func (o *openSet) add(r *rows) {
	o.mu.Lock()
	if o.rows == nil {
		o.rows = map[*rows]struct{}{}
	}
	o.rows[r] = struct{}{}
	o.mu.Unlock()
}

func (o *openSet) remove(r *rows) {
	o.mu.Lock()
	delete(o.rows, r)
	o.mu.Unlock()
}

// finish records the results still open (never closed nor read to
// their end), with the rows read so far: their handle is being closed.
func (o *openSet) finish() error {
	o.mu.Lock()
	open := make([]*rows, 0, len(o.rows))
	for r := range o.rows {
		open = append(open, r)
	}
	o.mu.Unlock()
	var errs []error
	for _, r := range open {
		errs = append(errs, r.finishFromClose())
	}
	return errors.Join(errs...)
}

// drain waits, at most d, for the statements admitted and not yet
// recorded: database/sql's Close does not wait for busy connections.
func (s *schema) drain(d time.Duration) {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// record writes the event of a statement on protected tables that ended
// with err (nil for success), with the rules approvals lifted for it in
// u (nil: none); fromDB says whether err came from the database. It
// returns err, or the sink's failure joined to it.
func (s *schema) record(ctx context.Context, p *sqlplan.Plan, u *guard.Use, rows, decrypted int64, err error, fromDB bool) error {
	if err != nil && !fromDB {
		s.refusal(ctx, p, err)
	}
	if s.sink == nil {
		return err
	}
	defer s.inflight.Done()
	e := s.event(ctx, p, err, fromDB)
	lifts := u.Lifts()
	if blocked := (*guard.Error)(nil); u == nil && errors.As(err, &blocked) {
		lifts = blocked.Lifted // blocked before the statement had a Use
	}
	for _, l := range lifts {
		e.Grants = append(e.Grants, audit.Grant{Rule: string(l.Rule), Reason: l.Approval.Reason, Expires: l.Approval.Expires})
	}
	e.Rows, e.Decrypted = rows, decrypted
	// A statement whose context ended is still recorded: database/sql
	// closes its rows with that context and drops Close's error.
	if rerr := s.sink.Record(context.WithoutCancel(ctx), e); rerr != nil {
		return errors.Join(err, fmt.Errorf("%w: %w", ErrAudit, rerr))
	}
	return err
}

// refused records a statement the analysis refused (p is nil).
func (s *schema) refused(ctx context.Context, err error) error {
	if s.sink == nil || !errors.Is(err, sqlplan.ErrRefused) {
		s.refusal(ctx, nil, err)
		return err
	}
	// Like every event, a refusal's takes room reserved for it.
	if aerr := s.admit(); aerr != nil {
		s.refusal(ctx, nil, err)
		return errors.Join(err, aerr)
	}
	return s.record(ctx, nil, nil, 0, 0, err, false) // counts the refusal
}

// event describes a statement: who, what it did with each protected
// column, and how it ended. Never a value.
func (s *schema) event(ctx context.Context, p *sqlplan.Plan, err error, fromDB bool) *audit.Event {
	pr := principalOf(ctx)
	e := &audit.Event{Time: time.Now(), Instance: s.instance, Principal: pr.ID, Roles: pr.Roles, Kind: "other", Outcome: audit.OK}
	var grants []masking.Grant
	if p != nil {
		e.Kind, e.Fingerprint, e.Shape, e.Tables = p.Kind.String(), p.Fingerprint, p.Shape, p.Tables
		e.Columns = make([]audit.Column, 0, len(p.Uses))
		for _, u := range p.Uses {
			action := u.Kind.String()
			if u.Kind == sqlplan.UseRead {
				action = s.policy.Decide(pr, u.Table, u.Column).String()
				if len(pr.Grants) > 0 {
					grants = append(grants, s.policy.GrantsUsed(pr, u.Table, u.Column)...)
				}
			}
			name := u.Table + "." + u.Column
			if pc := s.col(u.Table, u.Column); pc != nil {
				name = pc.name
			}
			e.Columns = append(e.Columns, audit.Column{Column: name, Action: action})
		}
	}
	for _, g := range dedupe(grants) {
		e.Grants = append(e.Grants, audit.Grant{Role: g.Role, Column: g.Column, Action: g.Action.String(), Reason: g.Reason, Expires: g.Expires})
	}
	if err == nil {
		return e
	}
	var r *sqlplan.Refusal
	var blocked *guard.Error
	switch {
	case errors.As(err, &blocked):
		e.Outcome, e.Reason, e.Rule = audit.Blocked, sentinelName(blocked.Reason), string(blocked.Rule)
	case errors.As(err, &r):
		e.Outcome, e.Reason = audit.Refused, sentinelName(r.Reason)
		if p == nil {
			e.Fingerprint, e.Shape = r.Fingerprint, r.Shape
			if r.Table != "" {
				e.Tables = []string{r.Table}
			}
		}
	case errors.Is(err, masking.ErrDenied):
		e.Outcome, e.Reason = audit.Denied, "denied"
	case errors.Is(err, ErrOpen):
		e.Outcome, e.Reason = audit.OpenError, "stored value does not open"
	case fromDB:
		e.Outcome, e.Reason = audit.DriverError, "database error"
	default:
		e.Outcome, e.Reason = audit.Error, "error"
		for _, known := range []error{ErrBadValue, ErrNoTenant, ErrNamedArgs, ErrAudit, keyring.ErrKeyNotFound, keyring.ErrKeyDestroyed} {
			if errors.Is(err, known) {
				e.Reason = sentinelName(known)
				break
			}
		}
	}
	return e
}

func dedupe(gs []masking.Grant) []masking.Grant {
	var out []masking.Grant
	for _, g := range gs {
		dup := false
		for _, o := range out {
			dup = dup || (o.Role == g.Role && o.Column == g.Column && o.Reason == g.Reason && o.Expires.Equal(g.Expires))
		}
		if !dup {
			out = append(out, g)
		}
	}
	return out
}

// sentinelName is a sentinel error's message without its package prefix.
func sentinelName(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "gmfield/") {
		msg = msg[i+2:]
	}
	return msg
}

// start readies a protected statement to run: the audit sink admits it,
// the policy authorizes the caller, the guard admits it, and its
// arguments are bound. A failure is recorded and returned.
func (s *schema) start(ctx context.Context, p *sqlplan.Plan, args []driver.NamedValue) (masking.Principal, *guard.Use, []driver.NamedValue, error) {
	pr := principalOf(ctx)
	if err := s.admit(); err != nil {
		return pr, nil, nil, err
	}
	if err := s.authorize(ctx, pr, p); err != nil {
		return pr, nil, nil, s.record(ctx, p, nil, 0, 0, err, false)
	}
	use, err := s.check(ctx, pr, p, args)
	if err != nil {
		return pr, nil, nil, s.record(ctx, p, nil, 0, 0, err, false)
	}
	bound, err := s.bind(ctx, p, args)
	if err != nil {
		return pr, nil, nil, s.record(ctx, p, use, 0, 0, err, false)
	}
	return pr, use, bound, nil
}

// exec runs a protected statement that returns no rows, recording its
// event.
func (s *schema) exec(ctx context.Context, p *sqlplan.Plan, args []driver.NamedValue, run func([]driver.NamedValue) (driver.Result, error)) (driver.Result, error) {
	_, use, bound, err := s.start(ctx, p, args)
	if err != nil {
		return nil, err
	}
	res, err := run(bound)
	if err != nil {
		return nil, s.record(ctx, p, use, 0, 0, scrub(err, p, bound), true)
	}
	var n int64
	if s.sink != nil {
		if n, err = res.RowsAffected(); err != nil {
			n = -1
		}
	}
	if err := s.record(ctx, p, use, n, 0, nil, false); err != nil {
		return nil, err
	}
	return res, nil
}
