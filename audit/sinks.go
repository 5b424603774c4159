package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// SlogSink writes each event as one structured record at level Info
// (blocked statements at Warn), message "gmfield audit", for shipping to
// an existing log pipeline. It keeps no tree: pair it with a Log when
// the record must be tamper-evident.
type SlogSink struct {
	Logger *slog.Logger
}

// Record implements Sink.
func (s SlogSink) Record(ctx context.Context, e *Event) error {
	level := slog.LevelInfo
	if e.Outcome != OK {
		level = slog.LevelWarn
	}
	cols := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		cols[i] = c.Column + ":" + c.Action
	}
	attrs := []slog.Attr{
		slog.Time("time", e.Time), slog.String("instance", e.Instance), slog.String("principal", e.Principal),
		slog.Any("roles", e.Roles), slog.String("kind", e.Kind), slog.String("fp", e.Fingerprint),
		slog.Any("tables", e.Tables), slog.Any("columns", cols), slog.Int64("rows", e.Rows),
		slog.Int64("decrypted", e.Decrypted), slog.String("outcome", string(e.Outcome)),
	}
	if len(e.Grants) > 0 {
		reasons := make([]string, len(e.Grants))
		for i, g := range e.Grants {
			reasons[i] = g.Reason
		}
		attrs = append(attrs, slog.Any("grants", reasons))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	if e.Rule != "" {
		attrs = append(attrs, slog.String("rule", e.Rule))
	}
	s.Logger.LogAttrs(ctx, level, "gmfield audit", attrs...)
	return nil
}

// Fanout writes every event to each of its sinks, in order: Record fails
// if any of them fails (after trying all), Reserve if any cannot take the
// event, and Close closes those that are io.Closers.
type Fanout []Sink

// Record implements Sink.
func (f Fanout) Record(ctx context.Context, e *Event) error {
	var errs []error
	for _, s := range f {
		if err := s.Record(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reserve implements Gate: every sink must take the event; when one
// cannot, the others' reservations are released.
func (f Fanout) Reserve() error {
	for i, s := range f {
		if g, ok := s.(Gate); ok {
			if err := g.Reserve(); err != nil {
				f[:i].Release()
				return err
			}
		}
	}
	return nil
}

// Release implements Gate.
func (f Fanout) Release() {
	for _, s := range f {
		if g, ok := s.(Gate); ok {
			g.Release()
		}
	}
}

// Close closes the sinks that are io.Closers.
func (f Fanout) Close() error {
	var errs []error
	for _, s := range f {
		if c, ok := s.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
