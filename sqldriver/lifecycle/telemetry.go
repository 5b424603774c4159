package lifecycle

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gmfield/gmfield/sqldriver"
)

const instrumentation = "github.com/gmfield/gmfield/sqldriver/lifecycle"

// traced runs a job (migrate, reencrypt, shred, verify, export) of table
// in a span "gmfield.lifecycle.JOB" of cfg's tracer provider (the global
// one by default), with the rows it scanned and changed. Its status names
// no value: a failed job's span says only that it failed.
func traced(ctx context.Context, cfg *sqldriver.Config, job, table string, f func(context.Context) (Summary, error)) (Summary, error) {
	var tp trace.TracerProvider
	if cfg != nil {
		tp = cfg.TracerProvider
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	ctx, span := tp.Tracer(instrumentation).Start(ctx, "gmfield.lifecycle."+job,
		trace.WithAttributes(attribute.String("gmfield.table", strings.ToLower(table))))
	defer span.End()
	sum, err := f(ctx)
	span.SetAttributes(attribute.Int64("gmfield.rows.scanned", sum.Scanned), attribute.Int64("gmfield.rows.changed", sum.Changed),
		attribute.Int64("gmfield.values", sum.Values), attribute.Bool("gmfield.resumed", sum.Resumed), attribute.Bool("gmfield.dry_run", sum.DryRun))
	if err != nil {
		span.SetStatus(codes.Error, job+" failed")
	}
	return sum, err
}
