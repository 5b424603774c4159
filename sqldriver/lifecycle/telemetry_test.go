package lifecycle_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestJobsTraceAndLog: each job runs in a span of the configuration's
// tracer provider with its row counts, and logs through the
// configuration's Logger when it has none of its own; neither holds a
// value.
func TestJobsTraceAndLog(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	var log bytes.Buffer
	e := newEnv(t, backends[0], opts{migrating: true})
	e.cfg.TracerProvider = tp
	e.cfg.Logger = slog.New(slog.NewJSONHandler(&log, nil))
	e.fill(t, 1, 10)
	e.ddl(t)
	sum, err := e.job().Migrate(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 10, sum.Changed)
	rep, err := e.job().Verify(t.Context(), 0)
	require.NoError(t, err)
	require.EqualValues(t, 10, rep.Rows)

	spans := map[string]map[string]string{}
	for _, s := range sr.Ended() {
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		spans[s.Name()] = attrs
	}
	require.Contains(t, spans, "gmfield.lifecycle.migrate")
	require.Contains(t, spans, "gmfield.lifecycle.verify")
	assert.Equal(t, "citizen", spans["gmfield.lifecycle.migrate"]["gmfield.table"])
	assert.Equal(t, "10", spans["gmfield.lifecycle.migrate"]["gmfield.rows.changed"])
	assert.Equal(t, "10", spans["gmfield.lifecycle.verify"]["gmfield.rows.scanned"])
	assert.Contains(t, log.String(), `"msg":"gmfield: job start"`)
	assert.Contains(t, log.String(), `"msg":"gmfield: job done"`)
	for i := 1; i <= 10; i++ {
		idNo, phone, _ := person(i)
		assert.False(t, strings.Contains(log.String(), idNo) || strings.Contains(log.String(), phone), "no value in the log")
	}
}
