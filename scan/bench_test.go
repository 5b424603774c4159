package scan

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	benchSchema = "gmfscan_bench"
	benchTables = 100
	benchRows   = 10_000 // per table: 1,000,000 in all
)

// benchDB opens PostgreSQL with the benchmark's 100 tables of 10,000 rows
// each, made once and kept (schema gmfscan_bench) for later runs.
func benchDB(b *testing.B) *sql.DB {
	dsn := os.Getenv("GMFIELD_TEST_PG_DSN")
	if dsn == "" {
		b.Skip("GMFIELD_TEST_PG_DSN is not set: no PostgreSQL to benchmark against")
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	var n int
	require.NoError(b, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND c.reltuples >= $2`, benchSchema, benchRows).Scan(&n))
	if n == benchTables {
		return db
	}
	_, err = db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+benchSchema+" CASCADE; CREATE SCHEMA "+benchSchema)
	require.NoError(b, err)
	surnames := "'" + strings.Join(surnames[:60], "','") + "'"
	given := "'" + strings.Join(givenChars[:60], "','") + "'"
	for i := range benchTables {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %[1]s.t%03[2]d (id bigint PRIMARY KEY, xm text, shouji text, sfzh text,
			dz text, note text, amount numeric(12,2), created timestamp);
			INSERT INTO %[1]s.t%03[2]d SELECT g,
			  (ARRAY[%[3]s])[1 + (random()*59)::int] || (ARRAY[%[4]s])[1 + (random()*59)::int],
			  '1' || (3 + (random()*6)::int) || lpad((random()*999999999)::bigint::text, 9, '0'),
			  '110105' || (1950 + (random()*50)::int) || lpad((1 + (random()*11)::int)::text, 2, '0') || lpad((1 + (random()*27)::int)::text, 2, '0') || lpad((random()*9999)::int::text, 4, '0'),
			  '北京市朝阳区建国路' || (random()*300)::int || '号',
			  '材料齐全,已受理,等待审批',
			  (random()*10000)::numeric(12,2),
			  now() - random() * interval '700 days'
			FROM generate_series(1, %[5]d) g;
			ANALYZE %[1]s.t%03[2]d`, benchSchema, i, surnames, given, benchRows))
		require.NoError(b, err)
	}
	return db
}

// BenchmarkScanPostgres scans 100 tables holding 1,000,000 rows with the
// default sample (1000 rows per table). Its baseline reads the same
// samples without classifying them: the ratio is the classifiers' cost.
func BenchmarkScanPostgres(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	b.Run("side=sample-only", func(b *testing.B) {
		for b.Loop() {
			tables, err := readCatalog(ctx, db, pgDialect, Options{Schema: benchSchema})
			require.NoError(b, err)
			for _, t := range tables {
				var exprs []string
				for _, c := range t.Columns {
					if sampled(c.Type) {
						exprs = append(exprs, pgDialect.text(pgDialect.quote(c.Name)))
					}
				}
				rows, err := db.QueryContext(ctx, pgDialect.sample(strings.Join(exprs, ", "), benchSchema+"."+t.Name, 1000, benchRows))
				require.NoError(b, err)
				dest := make([]any, len(exprs))
				for i := range dest {
					dest[i] = new(sql.NullString)
				}
				for rows.Next() {
					require.NoError(b, rows.Scan(dest...))
				}
				require.NoError(b, rows.Err())
				rows.Close()
			}
		}
	})
	b.Run("side=scan", func(b *testing.B) {
		for b.Loop() {
			rep, err := Scan(ctx, db, Options{Dialect: "postgres", Schema: benchSchema})
			require.NoError(b, err)
			if len(rep.Tables) != benchTables || rep.Summary.Personal < 3*benchTables {
				b.Fatalf("scanned %d tables, %d personal columns", len(rep.Tables), rep.Summary.Personal)
			}
		}
	})
}
