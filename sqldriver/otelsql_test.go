package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/XSAM/otelsql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/gmfield/gmfield/sqldriver"
)

// safeOtelsql is otelsql configured as docs/observability.md advises
// beside gmfield: no query text on spans, and an error recorded as the
// driver's reason only (a database's message can quote a value).
func safeOtelsql(o *observed, query bool) []otelsql.Option {
	return []otelsql.Option{
		otelsql.WithTracerProvider(o.tp), otelsql.WithMeterProvider(o.mp),
		otelsql.WithSpanOptions(otelsql.SpanOptions{DisableQuery: !query, RecordError: func(error) bool { return false }}),
		otelsql.WithSpanErrorAttributesGetter(func(err error) []attribute.KeyValue {
			return []attribute.KeyValue{attribute.String("gmfield.reason", sqldriver.Reason(err))}
		}),
	}
}

// TestOtelsqlComposition wraps otelsql outside gmfield (it sees the
// application's SQL) and inside it (it sees the rewritten SQL and sealed
// arguments), and checks that no value, literal or principal reaches a
// span, a metric or a log — and, as a control, that with query text on
// the outer otelsql does record a literal, so the check can fail.
func TestOtelsqlComposition(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		dialect, ok := sqldriver.DialectNamed(map[string]string{"sqlite": "sqlite", "postgres": "postgres", "libpq": "postgres", "mysql": "mysql"}[b.name])
		require.True(t, ok)
		run := func(t *testing.T, o *observed, db *sql.DB) {
			d := tdb{DB: db, ph: b.ph}
			seed(t, b, d)
			_, err := d.ExecContext(as("admin"), `UPDATE citizen SET city = '北京', phone = '13700001234' WHERE id = 3`)
			require.NoError(t, err)
			var name, phone string
			require.NoError(t, d.QueryRowContext(as("clerk"), `SELECT name, phone FROM citizen WHERE phone = ?`, "13700001234").Scan(&name, &phone))
			assert.Equal(t, []string{"欧***", "137****1234"}, []string{name, phone})
			_, err = d.QueryContext(as("admin"), `SELECT id FROM citizen WHERE phone = '13800138000' ORDER BY phone`)
			require.ErrorIs(t, err, sqldriver.ErrRefused)
			assert.NotEmpty(t, o.spans.Ended())
		}
		t.Run("otelsql outside", func(t *testing.T) {
			o := observe(t)
			raw, dsn := b.connect(t)
			_ = raw
			inner := connectorOf(t, b.driver, dsn)
			gm, err := sqldriver.Wrap(inner, o.config(newConfig(t, testConfig)))
			require.NoError(t, err)
			db := otelsql.OpenDB(gm, safeOtelsql(o, false)...)
			t.Cleanup(func() { db.Close() })
			run(t, o, db)
			_, text := o.everything(t)
			assertNothingSecret(t, text)
			assert.Contains(t, text, "span gmfield.analyze")
			assert.Contains(t, text, "gmfield.reason=unsupported_use", "the refusal's reason on otelsql's span")
		})
		t.Run("otelsql inside", func(t *testing.T) {
			o := observe(t)
			_, dsn := b.connect(t)
			inner := connectorOf(t, b.driver, dsn)
			wrapped := otelsql.WrapDriver(inner.Driver(), safeOtelsql(o, false)...)
			otc := connectorOfDriver(t, wrapped, dsn)
			cfg := o.config(newConfig(t, testConfig))
			cfg.Dialect = dialect // the driver's type no longer says it
			gm, err := sqldriver.Wrap(otc, cfg)
			require.NoError(t, err)
			db := sql.OpenDB(gm)
			t.Cleanup(func() { db.Close() })
			run(t, o, db)
			_, text := o.everything(t)
			assertNothingSecret(t, text)
			assert.Contains(t, text, "span gmfield.analyze")
		})
		t.Run("control: query text on", func(t *testing.T) {
			o := observe(t)
			_, dsn := b.connect(t)
			gm, err := sqldriver.Wrap(connectorOf(t, b.driver, dsn), o.config(newConfig(t, testConfig)))
			require.NoError(t, err)
			db := otelsql.OpenDB(gm, safeOtelsql(o, true)...)
			t.Cleanup(func() { db.Close() })
			run(t, o, db)
			_, text := o.everything(t)
			assert.Contains(t, text, "13700001234", "otelsql outside, with query text, records the application's literals")
		})
	})
}

func connectorOfDriver(t *testing.T, d driver.Driver, dsn string) driver.Connector {
	if dc, ok := d.(driver.DriverContext); ok {
		c, err := dc.OpenConnector(dsn)
		require.NoError(t, err)
		return c
	}
	return dsnConnector{d: d, dsn: dsn}
}

// connectorOf returns a connector of the driver registered as name.
func connectorOf(t *testing.T, name, dsn string) driver.Connector {
	db, err := sql.Open(name, dsn)
	require.NoError(t, err)
	defer db.Close()
	return connectorOfDriver(t, db.Driver(), dsn)
}

// dsnConnector is a connector of a driver without OpenConnector.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }
