package scan

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// maxText is the number of characters of a value the scanner reads: enough
// for every detector, and it bounds the memory of a sample.
const maxText = 256

// dialect is what the scanner needs of a database: its catalog and how to
// draw a random sample.
type dialect struct {
	name string
	// quote quotes an identifier read from the catalog.
	quote func(string) string
	// text is an expression giving the first maxText characters of a
	// column as text.
	text func(col string) string
	// catalog lists the columns of every table of schema ("": the
	// connection's), in table order and column order.
	catalog func(ctx context.Context, tx *sql.Tx, schema string) ([]catalogRow, error)
	// rows estimates the rows of a table, -1 when unknown.
	rows func(ctx context.Context, tx *sql.Tx, schema, table string) (int64, error)
	// sample is the query drawing about n random rows of a table of about
	// est rows (-1: unknown).
	sample func(cols, table string, n int, est int64) string
}

type catalogRow struct {
	table, column, typ string
	pk                 bool
}

func dialectNamed(name string) (*dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return pgDialect, nil
	case "mysql", "mariadb":
		return mysqlDialect, nil
	case "sqlite", "sqlite3":
		return sqliteDialect, nil
	}
	return nil, fmt.Errorf("%w: dialect %q (sqlite, postgres or mysql)", ErrInvalid, name)
}

func quoteWith(q string) func(string) string {
	return func(s string) string { return q + strings.ReplaceAll(s, q, q+q) + q }
}

// share is the fraction of a table of est rows that holds about three
// times n rows, as a percentage.
func share(n int, est int64) float64 { return min(100, 300*float64(n)/float64(est)) }

var pgDialect = &dialect{
	name:  "postgres",
	quote: quoteWith(`"`),
	text:  func(c string) string { return "left(" + c + "::text, " + fmt.Sprint(maxText) + ")" },
	catalog: func(ctx context.Context, tx *sql.Tx, schema string) ([]catalogRow, error) {
		return catalogRows(tx.QueryContext(ctx, `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
			COALESCE(a.attnum = ANY(SELECT i.indkey[0] FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1), false)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
			WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = COALESCE(NULLIF($1, ''), current_schema())
			  AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY c.relname, a.attnum`, schema))
	},
	rows: func(ctx context.Context, tx *sql.Tx, schema, table string) (int64, error) {
		name := quoteWith(`"`)(table)
		if schema != "" {
			name = quoteWith(`"`)(schema) + "." + name
		}
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT CASE WHEN c.relkind = 'p' THEN
			  (SELECT COALESCE(SUM(GREATEST(p.reltuples, 0)), 0)::bigint FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)
			ELSE c.reltuples::bigint END FROM pg_class c WHERE c.oid = to_regclass($1)`, name).Scan(&n)
		return n, err
	},
	sample: func(cols, table string, n int, est int64) string {
		if est < 0 || est <= 10*int64(n) {
			return fmt.Sprintf("SELECT %s FROM %s ORDER BY random() LIMIT %d", cols, table, n)
		}
		return fmt.Sprintf("SELECT %s FROM %s TABLESAMPLE SYSTEM (%g) ORDER BY random() LIMIT %d", cols, table, share(n, est), n)
	},
}

var mysqlDialect = &dialect{
	name:  "mysql",
	quote: quoteWith("`"),
	text:  func(c string) string { return "LEFT(CAST(" + c + " AS CHAR), " + fmt.Sprint(maxText) + ")" },
	catalog: func(ctx context.Context, tx *sql.Tx, schema string) ([]catalogRow, error) {
		return catalogRows(tx.QueryContext(ctx, `SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE,
			c.COLUMN_KEY = 'PRI' AND (SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE k
			  WHERE k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY') = 1
			FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
			  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
			WHERE c.TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE())
			ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`, schema))
	},
	rows: func(ctx context.Context, tx *sql.Tx, schema, table string) (int64, error) {
		var n sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?`, schema, table).Scan(&n)
		if !n.Valid {
			return -1, err
		}
		return n.Int64, err
	},
	sample: func(cols, table string, n int, est int64) string {
		if est < 0 || est <= 10*int64(n) {
			return fmt.Sprintf("SELECT %s FROM %s ORDER BY RAND() LIMIT %d", cols, table, n)
		}
		return fmt.Sprintf("SELECT %s FROM %s WHERE RAND() < %g ORDER BY RAND() LIMIT %d", cols, table, share(n, est)/100, n)
	},
}

var sqliteDialect = &dialect{
	name:  "sqlite",
	quote: quoteWith(`"`),
	text:  func(c string) string { return "substr(CAST(" + c + " AS TEXT), 1, " + fmt.Sprint(maxText) + ")" },
	catalog: func(ctx context.Context, tx *sql.Tx, _ string) ([]catalogRow, error) {
		return catalogRows(tx.QueryContext(ctx, `SELECT m.name, p.name, p.type,
			p.pk > 0 AND (SELECT COUNT(*) FROM pragma_table_info(m.name) q WHERE q.pk > 0) = 1
			FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
			ORDER BY m.name, p.cid`))
	},
	rows: func(ctx context.Context, tx *sql.Tx, _, table string) (int64, error) {
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteWith(`"`)(table)).Scan(&n)
		return n, err
	},
	sample: func(cols, table string, n int, est int64) string {
		if est < 0 || est <= 10*int64(n) {
			return fmt.Sprintf("SELECT %s FROM %s ORDER BY random() LIMIT %d", cols, table, n)
		}
		k := max(1, int64(100/share(n, est)))
		return fmt.Sprintf("SELECT %s FROM %s WHERE abs(random() %% %d) = 0 ORDER BY random() LIMIT %d", cols, table, k, n)
	},
}

func catalogRows(rows *sql.Rows, err error) ([]catalogRow, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalogRow
	for rows.Next() {
		var r catalogRow
		if err := rows.Scan(&r.table, &r.column, &r.typ, &r.pk); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// sampled reports whether a column of type t is read: everything but
// binary and boolean columns (a binary column is classified by its name).
func sampled(t string) bool {
	t = strings.ToLower(t)
	return !binaryType(t) && !strings.HasPrefix(t, "bool") && t != "tinyint(1)" && t != "uuid"
}
