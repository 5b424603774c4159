package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	for run2 := 0; run2 < 2; run2++ { // a second run reopens the same keys
		var out strings.Builder
		require.NoError(t, run(&out, path))
		s := out.String()
		stored := s[strings.Index(s, "Stored"):strings.Index(s, "As admin")]
		assert.Contains(t, stored, "phone=gmf2:")
		for _, c := range citizens {
			assert.NotContains(t, stored, c.phone)
		}
		section := func(role string) string {
			i := strings.Index(s, "As "+role+":")
			j := strings.Index(s[i+1:], "\n\n")
			return strings.Join(strings.Fields(s[i:i+1+j]), " ")
		}
		assert.Contains(t, section("admin"), "张三 11010519491231002X 13800138000")
		assert.Contains(t, section("clerk"), "张* 110105********002X 138****8000")
		assert.Contains(t, section("auditor"), "110105********002X 13800138000")
		assert.Contains(t, section("visitor"), "NULL NULL NULL")
		assert.Equal(t, 3, strings.Count(section("admin"), " 100"), "three rows")
		assert.Contains(t, s, "found id=1002 name=李* phone=139****5678")
		assert.Contains(t, s, "LIKE '%1234' (last4 index): id=1003")
		assert.Contains(t, s, "errors.Is(err, sqldriver.ErrRefused) = true")
		g := s[strings.Index(s, "Guard"):strings.Index(s, "Audit log:")]
		assert.Contains(t, g, "high-risk statement: rule delete_all")
		assert.Contains(t, g, "high-risk statement: rule bulk_select")
		assert.Contains(t, g, "张* 138****8000\n    李* 139****5678\n    gmfield/guard: decryption budget exceeded: rule statement_budget, role intern, column citizen.name, limit 4")
		assert.Contains(t, g, "errors.Is(err, guard.ErrBudgetExceeded) = true")
		audit := s[strings.Index(s, "Audit log:"):]
		assert.Regexp(t, `intern-1 +intern +select +mask +rows=2 +decrypted=4 +blocked`, audit)
		assert.Regexp(t, `user-1 +clerk +select +mask +rows=3 +decrypted=12 +ok`, audit)
		assert.Regexp(t, `user-2 +clerk +select +search +rows=1`, audit)
		assert.Contains(t, audit, "audit verify --log ")
		assert.True(t, strings.HasSuffix(s, "\nok\n"), "the log verifies")
		for _, c := range citizens {
			assert.NotContains(t, audit, c.phone)
		}
	}
}
