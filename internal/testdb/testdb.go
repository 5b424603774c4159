// Package testdb gives tests a private database on each backend gmfield
// supports: an SQLite file, a PostgreSQL schema, a MariaDB/MySQL
// database, each removed when the test ends. PostgreSQL and MySQL come
// from GMFIELD_TEST_PG_DSN and GMFIELD_TEST_MYSQL_DSN; a test whose
// variable is unset is skipped with a message (scripts/test.sh sets both).
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers pgx
	_ "github.com/lib/pq"              // registers postgres
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // registers sqlite
)

// Suffix returns a random name suffix.
func Suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SQLite returns a fresh SQLite file opened with driver "sqlite", and its
// DSN.
func SQLite(t testing.TB) (*sql.DB, string) {
	path := filepath.Join(t.TempDir(), "test.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	return raw, path
}

// Postgres returns a fresh schema, first on the search path, opened with
// driver (pgx or postgres), and its DSN.
func Postgres(t testing.TB, driver string) (*sql.DB, string) {
	dsn := os.Getenv("GMFIELD_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("GMFIELD_TEST_PG_DSN is not set; scripts/test.sh sets it")
	}
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	schema := "gmf_" + Suffix()
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	raw, err := sql.Open(driver, u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		raw.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return raw, u.String()
}

// MySQL returns a fresh utf8mb4 database opened with driver "mysql", and
// its DSN.
func MySQL(t testing.TB) (*sql.DB, string) {
	dsn := os.Getenv("GMFIELD_TEST_MYSQL_DSN")
	if dsn == "" {
		t.Skip("GMFIELD_TEST_MYSQL_DSN is not set; scripts/test.sh sets it")
	}
	mc, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	admin, err := sql.Open("mysql", mc.FormatDSN())
	require.NoError(t, err)
	name := "gmf_" + Suffix()
	_, err = admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4")
	require.NoError(t, err)
	mc.DBName = name
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["charset"] = "utf8mb4"
	raw, err := sql.Open("mysql", mc.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() {
		raw.Close()
		_, _ = admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	return raw, mc.FormatDSN()
}

// Dollar rewrites the "?" placeholders of q as PostgreSQL's $1, $2, ….
func Dollar(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
