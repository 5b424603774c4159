package sqldriver_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
)

// observed is an OpenTelemetry SDK that keeps what it is given, and a
// JSON log.
type observed struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
	log    *bytes.Buffer
}

func observe(t testing.TB) *observed {
	o := &observed{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), log: new(bytes.Buffer)}
	o.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))
	o.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(o.spans))
	t.Cleanup(func() { _ = o.mp.Shutdown(context.Background()); _ = o.tp.Shutdown(context.Background()) })
	return o
}

func (o *observed) config(cfg *sqldriver.Config) *sqldriver.Config {
	cfg.MeterProvider, cfg.TracerProvider = o.mp, o.tp
	// Without timestamps: their digits ("…24.7777…") could match a
	// secret's last four and fail assertNothingSecret by chance.
	cfg.Logger = slog.New(slog.NewJSONHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime}))
	return cfg
}

// counters returns every counter's points as "name{k=v,…}" → value.
func (o *observed) counters(t testing.TB) map[string]int64 {
	var rm metricdata.ResourceMetrics
	require.NoError(t, o.reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					out[m.Name+labels(dp.Attributes)] += dp.Value
				}
			}
		}
	}
	return out
}

func labels(set attribute.Set) string {
	var kv []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

// everything returns all attribute keys and values, span names, events and
// statuses the SDK holds, and the log, as text to search.
func (o *observed) everything(t testing.TB) (keys map[string]bool, text string) {
	keys = map[string]bool{}
	var b strings.Builder
	var rm metricdata.ResourceMetrics
	require.NoError(t, o.reader.Collect(context.Background(), &rm))
	add := func(set attribute.Set) {
		for _, a := range set.ToSlice() {
			keys[string(a.Key)] = true
			fmt.Fprintf(&b, "%s=%s\n", a.Key, a.Value.String())
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					add(dp.Attributes)
				}
			}
		}
	}
	for _, s := range o.spans.Ended() {
		fmt.Fprintf(&b, "span %s %s\n", s.Name(), s.Status().Description)
		for _, a := range s.Attributes() {
			fmt.Fprintf(&b, "%s=%s\n", a.Key, a.Value.String())
		}
		for _, e := range s.Events() {
			fmt.Fprintf(&b, "event %s\n", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&b, "%s=%s\n", a.Key, a.Value.String())
			}
		}
	}
	b.WriteString(o.log.String())
	return keys, b.String()
}

// dropTime removes the record's time from a log line.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// secrets are the values, literals and principal ids the telemetry tests
// use: none may reach a metric, a span or a log line.
func secrets() []string {
	var out []string
	for _, p := range people {
		out = append(out, p.idNo, p.phone, p.name, p.phone[7:], p.idNo[len(p.idNo)-4:])
	}
	return append(out, "tester", "北京", "13700001234")
}

func assertNothingSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range secrets() {
		assert.NotContains(t, text, s)
	}
	assert.NotContains(t, text, "gmf2:", "no ciphertext")
}

// TestTelemetry runs known operations and checks the driver's counters,
// spans and log lines, and that none of them holds a value, a literal or
// a principal.
func TestTelemetry(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		o := observe(t)
		raw, db := b.open(t, o.config(newConfig(t, testConfig)))
		seed(t, b, db) // 3 rows: 5 values each (id_no, phone, name, note when set, photo when set)

		read := func(role, q string, args ...any) {
			rows, err := db.QueryContext(as(role), q, args...)
			require.NoError(t, err)
			for rows.Next() {
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
		}
		read("admin", `SELECT id_no, phone FROM citizen`)
		read("clerk", `SELECT name FROM citizen WHERE phone = ?`, "13800138000")
		read("analyst", `SELECT phone FROM citizen WHERE id = ?`, 1)
		read("nobody", `SELECT phone FROM citizen`)
		read("clerk", `SELECT id FROM citizen WHERE phone LIKE '%1234'`)
		_, err := db.QueryContext(as("guard"), `SELECT id_no FROM citizen`)
		require.ErrorIs(t, err, masking.ErrDenied)
		_, err = db.QueryContext(as("admin"), `SELECT id FROM citizen ORDER BY phone`)
		require.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)
		_, err = db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone, city) VALUES (40, ?, '北京')`, "\xff\xfe")
		require.ErrorIs(t, err, sqldriver.ErrBadValue)
		// a value moved to another row fails to open
		var phone string
		require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen WHERE id = 1`).Scan(&phone))
		_, err = raw.Exec(b.ph(`UPDATE citizen SET phone = ? WHERE id = 2`), phone)
		require.NoError(t, err)
		err = db.QueryRowContext(as("admin"), `SELECT phone FROM citizen WHERE id = 2`).Scan(&phone)
		require.ErrorIs(t, err, sqldriver.ErrOpen)
		// the same text again: a plan-cache hit
		err = db.QueryRowContext(as("admin"), `SELECT phone FROM citizen WHERE id = 2`).Scan(&phone)
		require.ErrorIs(t, err, sqldriver.ErrOpen)
		_, err = db.ExecContext(as("admin"), `UPDATE citizen SET city = '北京', phone = '13700001234' WHERE id = 3`)
		require.NoError(t, err)

		c := o.counters(t)
		v := func(table, column, action string) int64 {
			return c["gmfield.values{gmfield.action="+action+",gmfield.column="+column+",gmfield.table="+table+"}"]
		}
		assert.EqualValues(t, 4, v("citizen", "phone", "sealed"), "three rows and one update")
		assert.EqualValues(t, 3, v("citizen", "id_no", "sealed"))
		assert.EqualValues(t, 2, v("citizen", "photo", "sealed"), "row 3's is NULL")
		assert.EqualValues(t, 3, v("citizen", "phone", "opened"), "admin read 3 phones; the moved one did not open")
		assert.EqualValues(t, 3, v("citizen", "id_no", "opened"))
		assert.EqualValues(t, 2, v("citizen", "name", "masked"), "two people have 13800138000")
		assert.EqualValues(t, 1, v("citizen", "phone", "hashed"))
		assert.EqualValues(t, 3, v("citizen", "phone", "nulled"))
		assert.EqualValues(t, 1, v("citizen", "id_no", "denied"))
		assert.EqualValues(t, 1, c["gmfield.index.lookups{gmfield.column=phone,gmfield.index=full,gmfield.table=citizen}"])
		assert.EqualValues(t, 1, c["gmfield.index.lookups{gmfield.column=phone,gmfield.index=last4,gmfield.table=citizen}"])
		assert.EqualValues(t, 1, c["gmfield.refusals{gmfield.column=phone,gmfield.reason=unsupported_use,gmfield.table=citizen}"])
		assert.EqualValues(t, 1, c["gmfield.refusals{gmfield.reason=denied}"])
		assert.EqualValues(t, 1, c["gmfield.refusals{gmfield.reason=bad_value}"])
		assert.Zero(t, c["gmfield.refusals{gmfield.reason=open_failed}"], "a value that does not open is an open error, not a refusal")
		assert.EqualValues(t, 2, c["gmfield.open.errors{gmfield.column=phone,gmfield.kind=authentication,gmfield.table=citizen}"])
		assert.Positive(t, c["gmfield.plan.cache{gmfield.result=hit}"])
		assert.Positive(t, c["gmfield.plan.cache{gmfield.result=miss}"])

		keys, text := o.everything(t)
		for k := range keys {
			assert.Contains(t, []string{"gmfield.table", "gmfield.column", "gmfield.action", "gmfield.reason", "gmfield.kind",
				"gmfield.result", "gmfield.index", "gmfield.protected", "gmfield.fingerprint", "gmfield.tables", "gmfield.rule"}, k, "bounded attribute keys")
		}
		assertNothingSecret(t, text)
		assert.Contains(t, text, "span gmfield.analyze refused: unsupported_use")
		assert.Contains(t, o.log.String(), `"msg":"gmfield: stored value does not open"`)
		assert.Contains(t, o.log.String(), `"reason":"unsupported_use"`)
	})
}

// TestTelemetryDefaultsToGlobal checks that a Config without providers
// or logger works (OpenTelemetry's no-op globals, a discarding logger).
func TestTelemetryDefaultsToGlobal(t *testing.T) {
	_, db := sqliteBackend.open(t, newConfig(t, testConfig))
	seed(t, sqliteBackend, db)
	var n string
	require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT name FROM citizen WHERE id = 1`).Scan(&n))
	assert.Equal(t, "张*", n)
}

// TestTelemetryHoldsNoTenant: under key_scope tenant, a value of another
// tenant (key_mismatch) and a malformed tenant id (no_tenant) fail with
// errors that quote the tenant; the log records, metrics and spans must
// not.
func TestTelemetryHoldsNoTenant(t *testing.T) {
	b := sqliteBackend
	o := observe(t)
	_, db := b.open(t, o.config(newConfig(t, "key_scope: tenant\n"+testConfig)))
	b.schema(t, db)
	admin := as("admin")
	_, err := db.ExecContext(sqldriver.WithTenant(admin, "shanghai"), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 2, "13800000000")
	require.NoError(t, err)
	var p string
	err = db.QueryRowContext(sqldriver.WithTenant(admin, "tenant-beijing-secret"), `SELECT phone FROM citizen WHERE id = 2`).Scan(&p)
	require.ErrorIs(t, err, sqldriver.ErrOpen)
	_, err = db.ExecContext(sqldriver.WithTenant(admin, "acme corp/13800138000"), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 3, "13800000000")
	require.ErrorIs(t, err, sqldriver.ErrNoTenant)
	_, text := o.everything(t)
	for _, s := range []string{"tenant-beijing-secret", "acme corp", "shanghai", "13800000000", "13800138000"} {
		assert.NotContains(t, text, s)
	}
	assert.Contains(t, o.log.String(), `"kind":"key_mismatch"`)
	assert.Contains(t, o.log.String(), `"reason":"no_tenant"`)
}
