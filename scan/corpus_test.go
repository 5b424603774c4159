package scan

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/internal/testdb"
)

// backend is a database the corpus is loaded into.
type backend struct {
	dialect string
	connect func(t testing.TB) (*sql.DB, string)
}

var backends = []backend{
	{"sqlite", testdb.SQLite},
	{"postgres", func(t testing.TB) (*sql.DB, string) { return testdb.Postgres(t, "pgx") }},
	{"mysql", testdb.MySQL},
}

// open opens a fresh, empty database or schema of b, or skips, and names
// the schema (PostgreSQL) or database (MySQL) the scan is to be given.
func (b backend) open(t testing.TB) (*sql.DB, string) {
	t.Helper()
	db, _ := b.connect(t)
	schema := ""
	switch b.dialect {
	case "postgres":
		require.NoError(t, db.QueryRow("SELECT current_schema()").Scan(&schema))
	case "mysql":
		require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&schema))
	}
	return db, schema
}

// sqlType maps a corpus column type to the dialect's.
func sqlType(dialect, typ string) string {
	switch typ {
	case "int:pk":
		return map[string]string{"sqlite": "INTEGER PRIMARY KEY", "postgres": "bigint PRIMARY KEY", "mysql": "BIGINT PRIMARY KEY"}[dialect]
	case "text":
		return map[string]string{"sqlite": "TEXT", "postgres": "text", "mysql": "VARCHAR(255)"}[dialect]
	case "blob":
		return map[string]string{"sqlite": "BLOB", "postgres": "bytea", "mysql": "BLOB"}[dialect]
	case "double":
		return map[string]string{"sqlite": "REAL", "postgres": "double precision", "mysql": "DOUBLE"}[dialect]
	case "numeric":
		return map[string]string{"sqlite": "NUMERIC", "postgres": "numeric(14,2)", "mysql": "DECIMAL(14,2)"}[dialect]
	case "timestamp":
		return map[string]string{"sqlite": "TIMESTAMP", "postgres": "timestamp", "mysql": "DATETIME"}[dialect]
	}
	return strings.ToUpper(typ) // date
}

// loadCorpus creates the corpus tables in db and fills them.
func loadCorpus(t testing.TB, db *sql.DB, dialect, schema string) map[string]string {
	t.Helper()
	ctx := context.Background()
	q := map[string]func(string) string{"sqlite": pgDialect.quote, "postgres": pgDialect.quote, "mysql": mysqlDialect.quote}[dialect]
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv")
		fh, err := os.Open(f)
		require.NoError(t, err)
		rows, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		require.NoError(t, err)
		qualified := q(name)
		if schema != "" {
			qualified = q(schema) + "." + qualified
		}
		var defs, names []string
		var blob []bool
		for _, h := range rows[0] {
			n, typ, _ := strings.Cut(h, ":")
			defs = append(defs, q(n)+" "+sqlType(dialect, typ))
			names = append(names, q(n))
			blob = append(blob, typ == "blob")
		}
		_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", qualified, strings.Join(defs, ", ")))
		require.NoError(t, err)
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		phs := make([]string, len(names))
		for i := range phs {
			phs[i] = "?"
			if dialect == "postgres" {
				phs[i] = fmt.Sprintf("$%d", i+1)
			}
		}
		ins := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", qualified, strings.Join(names, ", "), strings.Join(phs, ", "))
		for _, r := range rows[1:] {
			args := make([]any, len(r))
			for i, v := range r {
				switch {
				case blob[i]:
					b, err := hex.DecodeString(v)
					require.NoError(t, err)
					args[i] = b
				case v == "":
					args[i] = nil
				default:
					args[i] = v
				}
			}
			_, err := tx.ExecContext(ctx, ins, args...)
			require.NoError(t, err)
		}
		require.NoError(t, tx.Commit())
	}
	if dialect == "postgres" {
		_, err := db.ExecContext(ctx, "ANALYZE")
		require.NoError(t, err)
	}
	lb, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	require.NoError(t, err)
	var labels map[string]string
	require.NoError(t, json.Unmarshal(lb, &labels))
	return labels
}

// TestCorpus scans the labelled corpus on every backend and requires a
// precision and a recall of at least 0.95 for every kind. It prints the
// per-kind table.
func TestCorpus(t *testing.T) {
	for _, b := range backends {
		t.Run(b.dialect, func(t *testing.T) {
			db, schema := b.open(t)
			labels := loadCorpus(t, db, b.dialect, schema)
			rep, err := Scan(context.Background(), db, Options{Dialect: b.dialect, Schema: schema})
			require.NoError(t, err)
			got := map[string]string{}
			for _, tb := range rep.Tables {
				for _, c := range tb.Columns {
					got[tb.Name+"."+c.Name] = string(c.Kind)
				}
			}
			require.Len(t, got, len(labels), "every labelled column is scanned, and only those")
			var out strings.Builder
			fmt.Fprintf(&out, "%-14s %4s %4s %4s %9s %6s\n", "kind", "tp", "fp", "fn", "precision", "recall")
			positives := 0
			for _, want := range labels {
				if want != "" {
					positives++
				}
			}
			for _, k := range corpusKinds(labels) {
				tp, fp, fn := 0, 0, 0
				var wrong []string
				for col, want := range labels {
					g := got[col]
					switch {
					case g == k && want == k:
						tp++
					case g == k:
						fp++
						wrong = append(wrong, col+" (labelled "+want+")")
					case want == k:
						fn++
						wrong = append(wrong, col+" (found "+g+")")
					}
				}
				p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
				fmt.Fprintf(&out, "%-14s %4d %4d %4d %9.2f %6.2f\n", k, tp, fp, fn, p, r)
				require.GreaterOrEqualf(t, p, 0.95, "precision of %s: %v", k, wrong)
				require.GreaterOrEqualf(t, r, 0.95, "recall of %s: %v", k, wrong)
			}
			t.Logf("%s: %d columns, %d labelled personal, %d not:\n%s", b.dialect, len(labels), positives, len(labels)-positives, out.String())
			require.GreaterOrEqual(t, len(labels), 30)
			require.GreaterOrEqual(t, 2*positives, len(labels)*4/5, "about half the corpus is personal")
		})
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}
