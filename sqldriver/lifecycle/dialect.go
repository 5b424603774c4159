package lifecycle

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dialect is what the jobs need to know of a database's SQL: quoting,
// placeholders, NULL-safe comparison, the multi-row compare-and-set
// update, and reading the live schema. Identifiers reaching it are
// validated plain identifiers (sqldriver's config), so quoting cannot be
// escaped.
type dialect struct {
	name string
	// q quotes an identifier.
	q func(string) string
	// ph is the n-th (1-based) placeholder.
	ph func(int) string
	// same is a NULL-safe, byte-exact equality of two expressions.
	same func(a, b string) string
	// columns reads the live columns of a table.
	columns func(ctx context.Context, db *sql.DB, schema, table string) (map[string]liveColumn, error)
	// primaryKey returns the single-column primary key of a table, or "".
	primaryKey func(ctx context.Context, db *sql.DB, schema, table string) (string, error)
	// indexed returns the columns that lead some index of a table.
	indexed func(ctx context.Context, db *sql.DB, schema, table string) (map[string]bool, error)
}

// liveColumn is a column as the database declares it.
type liveColumn struct {
	Type     string // as the catalog prints it: "character varying(20)", "varchar(20)", "TEXT"
	Nullable bool
	Charset  string // MySQL: the column's character set
	// Chars is the declared maximum length in characters (or bytes for
	// binary types); -1 when unbounded (text, bytea, BLOB), 0 when unknown.
	Chars int64
	// Pos is the column's place in the table (0-based).
	Pos int
}

func dialectNamed(name string) (*dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return postgres, nil
	case "mysql", "mariadb":
		return mysql, nil
	case "sqlite", "sqlite3":
		return sqlite, nil
	}
	return nil, fmt.Errorf("%w: dialect %q (sqlite, postgres or mysql)", ErrInvalid, name)
}

func dquote(s string) string { return `"` + s + `"` }

var postgres = &dialect{
	name: "postgres",
	q:    dquote,
	ph:   func(i int) string { return "$" + strconv.Itoa(i) },
	same: func(a, b string) string { return a + " IS NOT DISTINCT FROM " + b },
	columns: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]liveColumn, error) {
		rows, err := db.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
			CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar','bpchar') THEN a.atttypmod - 4
			     WHEN t.typname IN ('text','bytea') THEN -1 ELSE 0 END, ''
			FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
			WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, pgName(schema, table))
		if err != nil {
			return nil, err
		}
		return scanColumns(rows, false)
	},
	primaryKey: func(ctx context.Context, db *sql.DB, schema, table string) (string, error) {
		return oneKey(db.QueryContext(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = to_regclass($1) AND i.indisprimary`, pgName(schema, table)))
	},
	indexed: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]bool, error) {
		return nameSet(db.QueryContext(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = to_regclass($1)`, pgName(schema, table)))
	},
}

func pgName(schema, table string) string {
	if schema != "" {
		return dquote(schema) + "." + dquote(table)
	}
	return dquote(table)
}

var mysql = &dialect{
	name: "mysql",
	q:    func(s string) string { return "`" + s + "`" },
	ph:   func(int) string { return "?" },
	same: func(a, b string) string { return "CAST(" + a + " AS BINARY) <=> CAST(" + b + " AS BINARY)" },
	columns: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]liveColumn, error) {
		rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES',
			COALESCE(CASE WHEN DATA_TYPE IN ('varchar','char','varbinary','binary') THEN CHARACTER_MAXIMUM_LENGTH
			              WHEN DATA_TYPE LIKE '%text' OR DATA_TYPE LIKE '%blob' THEN -1 END, 0),
			COALESCE(CHARACTER_SET_NAME, '')
			FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?
			ORDER BY ORDINAL_POSITION`, schema, table)
		if err != nil {
			return nil, err
		}
		return scanColumns(rows, true)
	},
	primaryKey: func(ctx context.Context, db *sql.DB, schema, table string) (string, error) {
		return oneKey(db.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
			WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'`, schema, table))
	},
	indexed: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]bool, error) {
		return nameSet(db.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1`, schema, table))
	},
}

var sqlite = &dialect{
	name: "sqlite",
	q:    dquote,
	ph:   func(int) string { return "?" },
	// As blobs: a text and a blob of the same bytes (as drivers bind
	// them) are the same value.
	same: func(a, b string) string { return "CAST(" + a + " AS BLOB) IS CAST(" + b + " AS BLOB)" },
	columns: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]liveColumn, error) {
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull" = 0, -1, '' FROM pragma_table_info(?) ORDER BY cid`, table)
		if err != nil {
			return nil, err
		}
		// SQLite does not limit lengths: every column is unbounded.
		return scanColumns(rows, false)
	},
	primaryKey: func(ctx context.Context, db *sql.DB, schema, table string) (string, error) {
		return oneKey(db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0`, table))
	},
	indexed: func(ctx context.Context, db *sql.DB, schema, table string) (map[string]bool, error) {
		return nameSet(db.QueryContext(ctx, `SELECT ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii WHERE ii.seqno = 0`, table))
	},
}

func scanColumns(rows *sql.Rows, charset bool) (map[string]liveColumn, error) {
	defer rows.Close()
	out := map[string]liveColumn{}
	for rows.Next() {
		var name string
		var c liveColumn
		if err := rows.Scan(&name, &c.Type, &c.Nullable, &c.Chars, &c.Charset); err != nil {
			return nil, err
		}
		c.Pos = len(out)
		out[strings.ToLower(name)] = c
	}
	return out, rows.Err()
}

func oneKey(rows *sql.Rows, err error) (string, error) {
	set, err := nameList(rows, err)
	if err != nil || len(set) != 1 {
		return "", err
	}
	return set[0], nil
}

func nameSet(rows *sql.Rows, err error) (map[string]bool, error) {
	list, err := nameList(rows, err)
	set := make(map[string]bool, len(list))
	for _, n := range list {
		set[n] = true
	}
	return set, err
}

func nameList(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, strings.ToLower(n))
	}
	return out, rows.Err()
}

// tableName is the table as statements name it: schema-qualified when the
// configuration declares a schema.
func (d *dialect) tableName(schema, table string) string {
	if schema != "" {
		return d.q(schema) + "." + d.q(table)
	}
	return d.q(table)
}

// casUpdate builds the statement, and its arguments, that writes rows in
// one round trip, each only if its protected columns still hold what was
// read. Each row is: the key, the old value of each cas column, the new
// value of each set column. On PostgreSQL the rows go as one array per
// column (unnest), so the statement is small, prepared once and planned
// as index lookups; types gives the arrays' element types. Elsewhere they
// go as a VALUES list (SQLite) or a UNION ALL (MySQL) of placeholders.
func (d *dialect) casUpdate(table, key string, cas, set []string, types map[string]string, rows [][]driver.Value) (string, []any, error) {
	width := 1 + len(cas) + len(set)
	vcols := make([]string, 0, width)
	vcols = append(vcols, "k")
	for i := range cas {
		vcols = append(vcols, "o"+strconv.Itoa(i))
	}
	for i := range set {
		vcols = append(vcols, "n"+strconv.Itoa(i))
	}
	colOf := func(j int) string {
		switch {
		case j == 0:
			return key
		case j <= len(cas):
			return cas[j-1]
		}
		return set[j-1-len(cas)]
	}
	var b strings.Builder
	where := func() {
		b.WriteString("t." + d.q(key) + " = v.k")
		for i, c := range cas {
			b.WriteString(" AND " + d.same("t."+d.q(c), "v.o"+strconv.Itoa(i)))
		}
	}
	assign := func(qualify string) {
		for i, c := range set {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(qualify + d.q(c) + " = v.n" + strconv.Itoa(i))
		}
	}
	var args []any
	switch d {
	case postgres:
		b.WriteString("UPDATE " + table + " AS t SET ")
		assign("")
		b.WriteString(" FROM unnest(")
		for j := 0; j < width; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.ph(j+1) + "::" + types[colOf(j)] + "[]")
			lit, err := pgArray(rows, j, strings.HasPrefix(types[colOf(j)], "bytea"))
			if err != nil {
				return "", nil, fmt.Errorf("column %s: %w", colOf(j), err)
			}
			args = append(args, lit)
		}
		b.WriteString(") AS v(" + strings.Join(vcols, ", ") + ") WHERE ")
		where()
	case mysql:
		b.WriteString("UPDATE " + table + " AS t JOIN (")
		list(&b, len(rows), " UNION ALL ", func(i int) {
			b.WriteString("SELECT ")
			list(&b, width, ", ", func(j int) {
				if j == 0 {
					b.WriteString("?")
				} else {
					// Bytes as they are: no character set conversion of
					// binary values, exact comparison.
					b.WriteString("CAST(? AS BINARY)")
				}
				if i == 0 {
					b.WriteString(" AS " + vcols[j])
				}
				args = append(args, rows[i][j])
			})
		})
		b.WriteString(") AS v ON ")
		where()
		b.WriteString(" SET ")
		assign("t.")
	default:
		b.WriteString("WITH v(" + strings.Join(vcols, ", ") + ") AS (VALUES ")
		list(&b, len(rows), ", ", func(i int) {
			b.WriteString("(")
			list(&b, width, ", ", func(j int) {
				b.WriteString(d.ph(len(args) + 1))
				args = append(args, rows[i][j])
			})
			b.WriteString(")")
		})
		b.WriteString(") UPDATE " + table + " AS t SET ")
		assign("")
		b.WriteString(" FROM v WHERE ")
		where()
	}
	return b.String(), args, nil
}

// list writes n items, separated by sep.
func list(b *strings.Builder, n int, sep string, item func(i int)) {
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		item(i)
	}
}

// pgArray is column j of rows as the text of a PostgreSQL array, for a
// cast to the column's type: each element quoted (or NULL), bytea as hex.
func pgArray(rows [][]driver.Value, j int, bytea bool) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		var s string
		switch x := r[j].(type) {
		case nil:
			b.WriteString("NULL")
			continue
		case string:
			s = x
		case []byte:
			if bytea {
				s = `\\x` + hex.EncodeToString(x)
			} else {
				s = string(x)
			}
		case int64:
			s = strconv.FormatInt(x, 10)
		case uint64:
			s = strconv.FormatUint(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		case time.Time:
			s = x.Format("2006-01-02 15:04:05.999999999Z07:00")
		default:
			return "", fmt.Errorf("a value of type %T", x)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return "", errors.New("a NUL byte in text")
		}
		b.WriteByte('"')
		if !bytea {
			s = strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)
		}
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}
