package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const instrumentation = "github.com/gmfield/gmfield/keyring"

// WithMeterProvider sets where the key ring's metrics go (unwraps, their
// latency, provider errors; docs/observability.md). The default is
// OpenTelemetry's global provider, a no-op until an SDK is installed.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(k *Keyring) { k.mp = mp }
}

// WithTracerProvider sets where the key ring's spans of KEK provider calls
// go. The default is OpenTelemetry's global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(k *Keyring) { k.tp = tp }
}

// telemetry holds the key ring's instruments. Attributes name the
// provider's kind (its Go type), the operation and a fixed result word:
// never a key id, a keyspace (which can name a tenant) or key material.
type telemetry struct {
	tracer  trace.Tracer
	unwraps metric.Int64Counter
	latency metric.Float64Histogram
	errs    metric.Int64Counter
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) *telemetry {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(instrumentation)
	// An instrument that fails to register is a no-op: metrics never
	// stop the key ring.
	t := &telemetry{tracer: tp.Tracer(instrumentation)}
	t.unwraps, _ = m.Int64Counter("gmfield.keyring.unwraps", metric.WithUnit("{unwrap}"),
		metric.WithDescription("Wrapped keys (DEKs, blind-index roots) unwrapped by the KEK provider on a cache miss, by provider and result"))
	t.latency, _ = m.Float64Histogram("gmfield.keyring.unwrap.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the KEK provider took to unwrap a key"),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	t.errs, _ = m.Int64Counter("gmfield.keyring.provider.errors", metric.WithUnit("{error}"),
		metric.WithDescription("KEK provider calls that failed, by provider, operation and kind"))
	return t
}

var (
	attrProvider = attribute.Key("gmfield.provider")
	attrOp       = attribute.Key("gmfield.op")
	attrResult   = attribute.Key("gmfield.result")
	attrKind     = attribute.Key("gmfield.kind")
)

// providerKind names p for metrics: its Go type ("local.SM4",
// "vault.Transit"); a fallback is named by its primary.
func providerKind(p Provider) string {
	if f, ok := p.(fallback); ok {
		return providerKind(f.primary)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", p), "*")
}

// errorKind sorts a provider's error for metrics.
func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrProviderUnavailable):
		return "unavailable"
	case errors.Is(err, ErrCannotUnwrap):
		return "cannot_unwrap"
	}
	return "failed"
}

// openRecord is open(p, rec) in a span, counted and timed.
func (k *Keyring) openRecord(ctx context.Context, p Provider, rec Record) ([]byte, bool, error) {
	kind := attrProvider.String(providerKind(p))
	ctx, span := k.tel.tracer.Start(ctx, "gmfield.keyring.unwrap", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(kind))
	defer span.End()
	start := time.Now()
	secret, trusted, err := open(p, rec)
	k.tel.latency.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(kind))
	if err != nil {
		k.failed(ctx, span, kind, "unwrap", err)
		k.tel.unwraps.Add(ctx, 1, metric.WithAttributes(kind, attrResult.String("error")))
		return nil, false, err
	}
	k.tel.unwraps.Add(ctx, 1, metric.WithAttributes(kind, attrResult.String("ok")))
	return secret, trusted, nil
}

// call runs a wrapping provider call (op "wrap" or "rewrap") of p in a
// span, counting its failure.
func (k *Keyring) call(ctx context.Context, p Provider, op string, f func() ([]byte, error)) ([]byte, error) {
	kind := attrProvider.String(providerKind(p))
	ctx, span := k.tel.tracer.Start(ctx, "gmfield.keyring."+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(kind))
	defer span.End()
	out, err := f()
	if err != nil {
		k.failed(ctx, span, kind, op, err)
	}
	return out, err
}

func (k *Keyring) failed(ctx context.Context, span trace.Span, kind attribute.KeyValue, op string, err error) {
	ek := errorKind(err)
	k.tel.errs.Add(ctx, 1, metric.WithAttributes(kind, attrOp.String(op), attrKind.String(ek)))
	// The status names the kind only: a provider's message may quote
	// what it was sent.
	span.SetStatus(codes.Error, op+": "+ek)
}
