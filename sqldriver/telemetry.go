package sqldriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// instrumentation names the driver's meter and tracer.
const instrumentation = "github.com/gmfield/gmfield/sqldriver"

// Attribute keys of the driver's metrics and spans (docs/observability.md).
// Every value is bounded: configured table and column names, and the fixed
// words of the driver's actions, reasons and kinds. Never a principal, a
// tenant, a value or SQL text.
const (
	attrTable  = attribute.Key("gmfield.table")
	attrColumn = attribute.Key("gmfield.column")
	attrAction = attribute.Key("gmfield.action")
	attrReason = attribute.Key("gmfield.reason")
	attrRule   = attribute.Key("gmfield.rule")
	attrKind   = attribute.Key("gmfield.kind")
	attrResult = attribute.Key("gmfield.result")
	attrIndex  = attribute.Key("gmfield.index")
)

// valueAction is what the driver did with one protected value.
type valueAction int

const (
	valueSealed valueAction = iota
	valueOpened             // decrypted and shown (plain)
	valueMasked             // decrypted and masked
	valueHashed             // shown as a pseudonym, not decrypted
	valueNulled             // shown as NULL, not decrypted
	valueDenied             // a statement reading the column was denied
	numValueActions
)

var valueActionNames = [numValueActions]string{"sealed", "opened", "masked", "hashed", "nulled", "denied"}

// readAction is the valueAction of a read under action a.
func readAction(a masking.Action) valueAction {
	switch a {
	case masking.ActionPlain:
		return valueOpened
	case masking.ActionMask:
		return valueMasked
	case masking.ActionHash:
		return valueHashed
	}
	return valueNulled
}

// telemetry holds the driver's instruments, tracer and logger. With no
// SDK installed they are OpenTelemetry's no-ops.
type telemetry struct {
	tracer   trace.Tracer
	log      *slog.Logger
	values   metric.Int64Counter
	refusals metric.Int64Counter
	openErrs metric.Int64Counter
	lookups  metric.Int64Counter
	plans    metric.Int64Counter
	hit      metric.AddOption
	miss     metric.AddOption
}

func newTelemetry(cfg *Config) (*telemetry, error) {
	mp, tp := cfg.MeterProvider, cfg.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := mp.Meter(instrumentation)
	t := &telemetry{tracer: tp.Tracer(instrumentation), log: log,
		hit:  metric.WithAttributeSet(attribute.NewSet(attrResult.String("hit"))),
		miss: metric.WithAttributeSet(attribute.NewSet(attrResult.String("miss"))),
	}
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{value}"))
		errs = append(errs, err)
		return c
	}
	t.values = counter("gmfield.values", "Protected values sealed, opened, masked, hashed or nulled, and reads denied, by table, column and action")
	t.refusals = counter("gmfield.refusals", "Statements on protected tables refused, denied or blocked, by reason")
	t.openErrs = counter("gmfield.open.errors", "Stored values that failed to open, by table, column and kind")
	t.lookups = counter("gmfield.index.lookups", "Searches answered through a blind index, by table, column and index")
	t.plans = counter("gmfield.plan.cache", "Statement plans taken from the cache (hit) or analyzed (miss)")
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: telemetry: %w", ErrInvalidConfig, err)
	}
	return t, nil
}

// columnMetrics are a protected column's precomputed attribute sets.
type columnMetrics struct {
	values  [numValueActions]metric.AddOption
	lookups map[crypto.Transform]metric.AddOption
}

func newColumnMetrics(table, column string, transforms []crypto.Transform) *columnMetrics {
	cm := &columnMetrics{lookups: map[crypto.Transform]metric.AddOption{}}
	for a := range numValueActions {
		cm.values[a] = metric.WithAttributeSet(attribute.NewSet(attrTable.String(table), attrColumn.String(column), attrAction.String(valueActionNames[a])))
	}
	for _, tr := range transforms {
		cm.lookups[tr] = metric.WithAttributeSet(attribute.NewSet(attrTable.String(table), attrColumn.String(column), attrIndex.String(string(tr))))
	}
	return cm
}

// value counts n values of pc.
func (t *telemetry) value(ctx context.Context, pc *protCol, a valueAction, n int64) {
	if n > 0 {
		t.values.Add(ctx, n, pc.metrics.values[a])
	}
}

// lookup counts a search of pc through its tr index.
func (t *telemetry) lookup(ctx context.Context, pc *protCol, tr crypto.Transform) {
	if o, ok := pc.metrics.lookups[tr]; ok {
		t.lookups.Add(ctx, 1, o)
	}
}

// Reason names why the driver refused a statement, in the fixed words of
// the gmfield.reason attribute (docs/observability.md): "unsupported_use",
// "denied", "blocked", "bad_value" and so on; "" for an error that is no
// refusal (the database's own, a key provider's, a value that does not
// open). It is bounded and holds no value, so an instrumentation outside
// the driver (otelsql's span error attributes) can record it in place of
// the error's text.
func Reason(err error) string { return reasonOf(err) }

func reasonOf(err error) string {
	var blocked *guard.Error
	switch {
	case errors.As(err, &blocked):
		return "blocked"
	case errors.Is(err, masking.ErrDenied):
		return "denied"
	case errors.Is(err, sqlplan.ErrMultiStatement):
		return "multi_statement"
	case errors.Is(err, sqlplan.ErrUnparsable):
		return "unparsable"
	case errors.Is(err, sqlplan.ErrRowKeyRequired):
		return "row_key_required"
	case errors.Is(err, sqlplan.ErrNoIndex):
		return "no_index"
	case errors.Is(err, sqlplan.ErrSession):
		return "session"
	case errors.Is(err, sqlplan.ErrUnsupportedStatement):
		return "unsupported_statement"
	case errors.Is(err, sqlplan.ErrUnsupportedUse):
		return "unsupported_use"
	case errors.Is(err, ErrNamedArgs):
		return "named_args"
	case errors.Is(err, ErrBadValue):
		return "bad_value"
	case errors.Is(err, ErrNoTenant):
		return "no_tenant"
	case errors.Is(err, ErrAudit):
		return "audit"
	}
	return ""
}

// refusal counts and logs a statement on a protected table that ended
// with err before or while it ran (not an error of the database). Table
// and column attributes name only configured ones.
func (s *schema) refusal(ctx context.Context, p *sqlplan.Plan, err error) {
	reason := reasonOf(err)
	if reason == "" {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, attrReason.String(reason))
	la := make([]slog.Attr, 0, 6)
	la = append(la, slog.String("reason", reason))
	var (
		ref     *sqlplan.Refusal
		blocked *guard.Error
	)
	switch {
	case errors.As(err, &ref):
		if t := s.cat.Table(ref.Table); t != nil {
			attrs = append(attrs, attrTable.String(t.Name))
			la = append(la, slog.String("table", t.Name))
			if t.Columns[ref.Column] != nil || t.IndexColumns[ref.Column] != nil {
				attrs = append(attrs, attrColumn.String(ref.Column))
				la = append(la, slog.String("column", ref.Column))
			}
		}
	case errors.As(err, &blocked):
		attrs = append(attrs, attrRule.String(string(blocked.Rule)))
		la = append(la, slog.String("rule", string(blocked.Rule)))
	}
	s.tel.refusals.Add(ctx, 1, metric.WithAttributes(attrs...))
	// The record holds fixed words and configured names only, not the
	// error's text: that can quote a tenant (a keyspace, a malformed
	// tenant id) or a name the statement made up.
	if p != nil {
		la = append(la, slog.String("kind", p.Kind.String()), slog.String("fingerprint", p.Fingerprint))
	}
	s.tel.log.LogAttrs(ctx, slog.LevelInfo, "gmfield: statement refused", la...)
}

// openKind names why a stored value failed to open.
func openKind(err error) string {
	switch {
	case errors.Is(err, crypto.ErrAuthentication):
		return "authentication"
	case errors.Is(err, crypto.ErrKeyMismatch):
		return "key_mismatch"
	case errors.Is(err, keyring.ErrKeyDestroyed):
		return "key_destroyed"
	case errors.Is(err, crypto.ErrKeyNotFound):
		return "key_not_found"
	case errors.Is(err, keyring.ErrProviderUnavailable), errors.Is(err, keyring.ErrCannotUnwrap):
		return "provider"
	case errors.Is(err, crypto.ErrMalformed), errors.Is(err, crypto.ErrUnsupportedVersion), errors.Is(err, crypto.ErrUnsupportedAlgorithm):
		return "malformed"
	}
	return "other"
}

// openFailure counts and logs a stored value of pc that failed to open.
func (s *schema) openFailure(ctx context.Context, pc *protCol, err error) {
	kind := openKind(err)
	s.tel.openErrs.Add(ctx, 1, metric.WithAttributes(attrTable.String(pc.table), attrColumn.String(pc.column), attrKind.String(kind)))
	// Not the error's text: under key_scope tenant it names the reader's
	// keyspace, and so its tenant.
	s.tel.log.LogAttrs(ctx, slog.LevelWarn, "gmfield: stored value does not open",
		slog.String("table", pc.table), slog.String("column", pc.column), slog.String("kind", kind))
}

// analyze plans query (a cache miss) in a span.
func (s *schema) analyze(ctx context.Context, query string) (*sqlplan.Plan, error) {
	_, span := s.tel.tracer.Start(ctx, "gmfield.analyze", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	p, err := s.dialect.Analyze(s.cat, query)
	if err != nil {
		reason := reasonOf(err)
		span.SetAttributes(attrReason.String(reason))
		span.SetStatus(codes.Error, "refused: "+reason)
		return p, err
	}
	span.SetAttributes(attrKind.String(p.Kind.String()), attribute.Bool("gmfield.protected", p.Protected))
	if p.Protected {
		span.SetAttributes(attribute.String("gmfield.fingerprint", p.Fingerprint), attribute.StringSlice("gmfield.tables", p.Tables))
	}
	return p, nil
}
