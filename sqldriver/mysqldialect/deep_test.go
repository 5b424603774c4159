package mysqldialect_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver/mysqldialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan/sqlplantest"
)

// TestDeepStatements: no nesting crashes the process (the analyzer used
// to overflow its stack on TABLE and VALUES ROW forms), every plan keeps
// the invariants, and wide flat statements still pass.
func TestDeepStatements(t *testing.T) {
	cat := sqlplantest.Catalog()
	for name, q := range map[string]string{
		"subqueries": strings.Repeat("SELECT (", 20000) + "1" + strings.Repeat(")", 20000) + " FROM citizen",
		"plus chain": "SELECT id FROM citizen WHERE id = 1" + strings.Repeat("+1", 100000),
		"NOT chain":  "SELECT id FROM citizen WHERE " + strings.Repeat("NOT ", 100000) + "true",
		"parens":     "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " FROM citizen",
		"unions":     "SELECT id FROM citizen" + strings.Repeat(" UNION SELECT id FROM citizen", 20000),
		"joins":      "SELECT 1 FROM citizen" + strings.Repeat(" JOIN orders ON true", 20000),
		"minus":      "SELECT id FROM citizen WHERE id = " + strings.Repeat("- ", 100000) + "1",
	} {
		start := time.Now()
		p, err := mysqldialect.MySQL.Analyze(cat, q)
		sqlplantest.CheckPlan(t, q, p, err)
		t.Logf("%s: %v", name, time.Since(start))
	}
	_, err := mysqldialect.MySQL.Analyze(cat, "INSERT INTO citizen (id, phone) VALUES "+strings.TrimSuffix(strings.Repeat("(1, ?),", 8000), ","))
	require.NoError(t, err)
}
