package sqldriver_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/guard/redisbudget"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

const benchConfig = `
keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
      name:  {mask: chinese_name}
roles:
  admin:   {default: plain}
  default: {default: "null"}
`

// BenchmarkDriver compares the same driver unwrapped over a plaintext
// table (plain) with gmfield over the protected table of the same shape
// (3 protected columns, 3 blind indexes): one-row INSERT, reading 100 rows,
// and an equality lookup. It runs on in-memory SQLite, and on PostgreSQL
// (prefix pg/) when GMFIELD_TEST_PG_DSN is set. Report ratios with
//
//	go test ./sqldriver -run '^$' -bench Driver -benchmem -count 6 | benchstat -col /side -
func BenchmarkDriver(b *testing.B) {
	mem := memSQLite()
	benchDriver(b, mem)
	if os.Getenv("GMFIELD_TEST_PG_DSN") != "" {
		b.Run("pg", func(b *testing.B) { benchDriver(b, postgresBackend) })
	}
	if os.Getenv("GMFIELD_TEST_MYSQL_DSN") != "" {
		b.Run("mysql", func(b *testing.B) { benchDriver(b, mysqlBackend) })
	}
}

func benchDriver(b *testing.B, be backend) {
	raw, db := be.open(b, newConfig(b, benchConfig))
	ctx := sqldriver.WithRoles(context.Background(), "bench", "admin")
	for _, ddl := range []string{
		fmt.Sprintf(`CREATE TABLE citizen_plain (id %s PRIMARY KEY, id_no %s, phone %s, name %s)`, be.id, be.short, be.short, be.text),
		fmt.Sprintf(`CREATE TABLE citizen (id %s PRIMARY KEY, id_no %s, id_no_bidx %s, phone %s, phone_bidx %s, phone_last4_bidx %s, name %s)`, be.id, be.text, be.short, be.text, be.short, be.short, be.text),
		`CREATE INDEX citizen_plain_phone ON citizen_plain (phone)`,
		`CREATE INDEX citizen_phone_bidx ON citizen (phone_bidx)`,
	} {
		_, err := db.ExecContext(ctx, ddl)
		require.NoError(b, err)
	}
	plain := tdb{DB: raw, ph: be.ph}
	sides := []struct {
		name  string
		db    tdb
		table string
	}{{"plain", plain, "citizen_plain"}, {"gmfield", db, "citizen"}}
	const seeded = 1000
	row := func(i int) (int, string, string, string) {
		return i, fmt.Sprintf("1101051949%08d", i), fmt.Sprintf("138%08d", i), "张三丰"
	}
	for _, s := range sides {
		for i := 0; i < seeded; i++ {
			id, idNo, phone, name := row(i)
			_, err := s.db.ExecContext(ctx, `INSERT INTO `+s.table+` (id, id_no, phone, name) VALUES (?, ?, ?, ?)`, id, idNo, phone, name)
			require.NoError(b, err)
		}
	}
	b.Run("select100", func(b *testing.B) {
		for _, s := range sides {
			b.Run(s.name, func(b *testing.B) { benchSelect100(b, ctx, s.db, s.table) })
		}
		// stored: the unwrapped driver reading the protected table's
		// envelopes, what the database and the inner driver spend on the
		// wider rows, apart from gmfield's own work.
		b.Run("stored", func(b *testing.B) { benchSelect100(b, ctx, plain, "citizen") })
	})
	b.Run("lookup", func(b *testing.B) {
		for _, s := range sides {
			b.Run(s.name, func(b *testing.B) { benchLookup(b, ctx, s.db, s.table, seeded) })
		}
	})
	b.Run("insert", func(b *testing.B) {
		for _, s := range sides {
			b.Run(s.name, func(b *testing.B) {
				st, err := s.db.PrepareContext(ctx, `INSERT INTO `+s.table+` (id, id_no, phone, name) VALUES (?, ?, ?, ?)`)
				require.NoError(b, err)
				defer st.Close()
				next := seeded + 1_000_000*int(suffixInt())
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%5000 == 4999 { // keep the table near its seeded size
						b.StopTimer()
						if _, err := s.db.ExecContext(ctx, `DELETE FROM `+s.table+` WHERE id >= ?`, seeded); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					id, idNo, phone, name := row(next + i)
					if _, err := st.ExecContext(ctx, id, idNo, phone, name); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	// insert100: one INSERT of 100 rows, whose 300 protected values are
	// sealed in one batch.
	b.Run("insert100", func(b *testing.B) {
		const rows = 100
		q := `INSERT INTO %s (id, id_no, phone, name) VALUES (?, ?, ?, ?)` + strings.Repeat(", (?, ?, ?, ?)", rows-1)
		for _, s := range sides {
			b.Run(s.name, func(b *testing.B) {
				st, err := s.db.PrepareContext(ctx, fmt.Sprintf(q, s.table))
				require.NoError(b, err)
				defer st.Close()
				next := seeded + 1_000_000*int(suffixInt())
				args := make([]any, 0, 4*rows)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%50 == 49 {
						b.StopTimer()
						if _, err := s.db.ExecContext(ctx, `DELETE FROM `+s.table+` WHERE id >= ?`, seeded); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					args = args[:0]
					for r := range rows {
						id, idNo, phone, name := row(next + i*rows + r)
						args = append(args, id, idNo, phone, name)
					}
					if _, err := st.ExecContext(ctx, args...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

var benchRuns int

func suffixInt() int { benchRuns++; return benchRuns }

// BenchmarkAudit runs lookup and select100 of BenchmarkDriver through
// gmfield with no audit sink (none), with an asynchronous directory log
// (async-dir), and on PostgreSQL also with a synchronous log in a table
// of the same database (sync-table), over one table in one run. Report
// ratios with
//
//	go test ./sqldriver -run '^$' -bench Audit -benchmem -count 6 | benchstat -col /side -
func BenchmarkAudit(b *testing.B) {
	mem := memSQLite()
	benchAudit(b, mem, "sqlite")
	if os.Getenv("GMFIELD_TEST_PG_DSN") != "" {
		b.Run("pg", func(b *testing.B) { benchAudit(b, postgresBackend, "postgres") })
	}
}

func benchAudit(b *testing.B, be backend, dialect string) {
	cfg := newConfig(b, benchConfig)
	raw, db, wrap := be.openMore(b, cfg)
	ctx := sqldriver.WithRoles(context.Background(), "bench", "admin")
	const seeded = 1000
	seedCitizens(b, ctx, db, be, seeded)
	key, err := crypto.GenerateSM2Key()
	require.NoError(b, err)
	withSink := func(open func() (*audit.Log, error)) tdb {
		l, err := open()
		require.NoError(b, err)
		c := *cfg
		c.Audit = l
		return wrap(&c) // closing the handle closes the log
	}
	sides := []benchSide{
		{"none", wrap(cfg)}, // a handle of its own, as each side has
		{"async-dir", withSink(func() (*audit.Log, error) {
			return audit.OpenDir(context.Background(), b.TempDir(), audit.Options{Key: key, Mode: audit.Async, Queue: 1 << 16})
		})},
	}
	if dialect == "postgres" {
		sides = append(sides, benchSide{"sync-table", withSink(func() (*audit.Log, error) {
			return audit.OpenTable(context.Background(), audit.Table{DB: raw, Dialect: dialect}, audit.Options{Key: key})
		})})
	}
	benchSides(b, ctx, sides, seeded)
	if dialect != "postgres" {
		return
	}
	// 16 callers at once: a synchronous log's callers share appends.
	b.Run("lookup16", func(b *testing.B) {
		for _, s := range sides {
			b.Run("side="+s.name, func(b *testing.B) {
				st, err := s.db.PrepareContext(ctx, `SELECT id, name FROM citizen WHERE phone = ?`)
				require.NoError(b, err)
				defer st.Close()
				b.ReportAllocs()
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						var id int
						var name string
						if err := st.QueryRowContext(ctx, fmt.Sprintf("138%08d", i%seeded)).Scan(&id, &name); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	})
}

// benchSelect100 reads the 100 rows id < 100 of table, three protected
// columns each, per iteration.
func benchSelect100(b *testing.B, ctx context.Context, db tdb, table string) {
	st, err := db.PrepareContext(ctx, `SELECT id, id_no, phone, name FROM `+table+` WHERE id < 100`)
	require.NoError(b, err)
	defer st.Close()
	b.ReportAllocs()
	for b.Loop() {
		rows, err := st.QueryContext(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var id int
			var idNo, phone, name string
			if err := rows.Scan(&id, &idNo, &phone, &name); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Close(); err != nil || n != 100 {
			b.Fatal(err, n)
		}
	}
}

// benchSide is one way of running the same statements, to compare with
// the others (benchstat -col /side).
type benchSide struct {
	name string
	db   tdb
}

// benchSides runs select100 and lookup on the citizen table of each side.
func benchSides(b *testing.B, ctx context.Context, sides []benchSide, seeded int) {
	b.Run("select100", func(b *testing.B) {
		for _, s := range sides {
			b.Run("side="+s.name, func(b *testing.B) { benchSelect100(b, ctx, s.db, "citizen") })
		}
	})
	b.Run("lookup", func(b *testing.B) {
		for _, s := range sides {
			b.Run("side="+s.name, func(b *testing.B) { benchLookup(b, ctx, s.db, "citizen", seeded) })
		}
	})
}

// seedCitizens creates the protected citizen table of benchConfig, with
// an index on its phone blind index, and writes seeded rows.
func seedCitizens(b *testing.B, ctx context.Context, db tdb, be backend, seeded int) {
	_, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE citizen (id %s PRIMARY KEY, id_no %s, id_no_bidx %s, phone %s, phone_bidx %s, phone_last4_bidx %s, name %s)`, be.id, be.text, be.short, be.text, be.short, be.short, be.text))
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `CREATE INDEX citizen_phone_bidx ON citizen (phone_bidx)`)
	require.NoError(b, err)
	for i := 0; i < seeded; i++ {
		_, err := db.ExecContext(ctx, `INSERT INTO citizen (id, id_no, phone, name) VALUES (?, ?, ?, ?)`, i, fmt.Sprintf("1101051949%08d", i), fmt.Sprintf("138%08d", i), "张三丰")
		require.NoError(b, err)
	}
}

// benchLookup finds one row of table by phone per iteration.
func benchLookup(b *testing.B, ctx context.Context, db tdb, table string, seeded int) {
	st, err := db.PrepareContext(ctx, `SELECT id, name FROM `+table+` WHERE phone = ?`)
	require.NoError(b, err)
	defer st.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var id int
		var name string
		if err := st.QueryRowContext(ctx, fmt.Sprintf("138%08d", i%seeded)).Scan(&id, &name); err != nil {
			b.Fatal(err)
		}
	}
}

// memSQLite is SQLite in memory, shared by the handles of one benchmark,
// on one connection each.
func memSQLite() backend {
	mem := sqliteBackend
	mem.maxConns = 1
	mem.connect = func(t testing.TB) (*sql.DB, string) {
		dsn := "file:bench" + suffix() + "?mode=memory&cache=shared"
		raw, err := sql.Open("sqlite", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { raw.Close() })
		return raw, dsn
	}
	return mem
}

// BenchmarkGuard measures the guard (docs/guard.md) on lookup and
// select100: side none (no guard), memory (an in-process window budget,
// a per-statement budget and an enforced whitelist) and, when
// GMFIELD_TEST_REDIS_ADDR is set, redis (the same, the window budget
// counted in Redis). Report ratios with
//
//	go test ./sqldriver -run '^$' -bench Guard -benchmem -count 6 | benchstat -col /side -
func BenchmarkGuard(b *testing.B) {
	be := memSQLite()
	keys := keyDir(b)
	parse := func() *sqldriver.Config {
		cfg, err := config.Parse([]byte(benchConfig), keys)
		require.NoError(b, err)
		return cfg
	}
	_, db, wrap := be.openMore(b, parse())
	ctx := sqldriver.WithRoles(context.Background(), "bench", "admin")
	const seeded = 1000
	seedCitizens(b, ctx, db, be, seeded)
	// The whitelist: the two statements' fingerprints, learned.
	var learned bytes.Buffer
	lg, err := guard.New(guard.Config{Whitelist: guard.WhitelistLearn, Learn: &learned, Roles: map[string]guard.Role{"admin": {}}})
	require.NoError(b, err)
	cfg := parse()
	cfg.Guard = lg
	ldb := wrap(cfg)
	rows, err := ldb.QueryContext(ctx, `SELECT id, id_no, phone, name FROM citizen WHERE id < 100`)
	require.NoError(b, err)
	require.NoError(b, rows.Close())
	var id int
	var name string
	require.NoError(b, ldb.QueryRowContext(ctx, `SELECT id, name FROM citizen WHERE phone = ?`, "13800000001").Scan(&id, &name))
	ls, err := guard.ReadLearned(&learned)
	require.NoError(b, err)
	var fps []string
	for _, l := range ls {
		fps = append(fps, l.Fingerprint)
	}
	require.Len(b, fps, 2)
	role := guard.Role{PerStatement: 1 << 40, Budget: guard.Budget{Values: 1 << 50, Window: time.Hour}, Statements: fps}
	withGuard := func(c guard.Counter) tdb {
		g, err := guard.New(guard.Config{Whitelist: guard.WhitelistEnforce, Counter: c, Roles: map[string]guard.Role{"admin": role}})
		require.NoError(b, err)
		cfg := parse()
		cfg.Guard = g
		return wrap(cfg)
	}
	// Every side is a handle of its own, as alike as can be.
	sides := []benchSide{{"none", wrap(parse())}, {"memory", withGuard(nil)}}
	if addr := os.Getenv("GMFIELD_TEST_REDIS_ADDR"); addr != "" {
		c := redis.NewClient(&redis.Options{Addr: addr})
		b.Cleanup(func() { c.Close() })
		sides = append(sides, benchSide{"redis", withGuard(redisbudget.New(c, redisbudget.Options{Prefix: "gmfield-bench:" + suffix() + ":", Timeout: time.Second}))})
	}
	benchSides(b, ctx, sides, seeded)
}

// BenchmarkTelemetry runs select100 and lookup of BenchmarkDriver with
// OpenTelemetry's no-op providers (side none) and with the SDK's meter and
// tracer providers recording every instrument (sdk), on in-memory SQLite
// and, when GMFIELD_TEST_PG_DSN is set, PostgreSQL. Report ratios with
//
//	go test ./sqldriver -run '^$' -bench Telemetry -benchmem -count 6 | benchstat -col /side -
func BenchmarkTelemetry(b *testing.B) {
	benchTelemetry(b, memSQLite())
	if os.Getenv("GMFIELD_TEST_PG_DSN") != "" {
		b.Run("pg", func(b *testing.B) { benchTelemetry(b, postgresBackend) })
	}
}

func benchTelemetry(b *testing.B, be backend) {
	cfg := newConfig(b, benchConfig)
	cfg.MeterProvider, cfg.TracerProvider = metricnoop.NewMeterProvider(), tracenoop.NewTracerProvider()
	_, db, wrap := be.openMore(b, cfg)
	ctx := sqldriver.WithRoles(context.Background(), "bench", "admin")
	const seeded = 1000
	seedCitizens(b, ctx, db, be, seeded)
	o := observe(b)
	withSDK := *cfg
	withSDK.MeterProvider, withSDK.TracerProvider = o.mp, o.tp
	benchSides(b, ctx, []benchSide{{"none", wrap(cfg)}, {"sdk", wrap(&withSDK)}}, seeded)
}
