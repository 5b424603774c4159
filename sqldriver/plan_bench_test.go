package sqldriver

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/masking"
	_ "github.com/gmfield/gmfield/sqldriver/mysqldialect"
	_ "github.com/gmfield/gmfield/sqldriver/pgdialect"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// BenchmarkPlan measures planning one statement, for each dialect: cold
// (a text the plan cache has not seen: parse and analysis) and cached (a
// hit in the driver's LRU):
//
//	go test ./sqldriver -run '^$' -bench Plan -benchmem -count 6
func BenchmarkPlan(b *testing.B) {
	kr, err := local.Init(context.Background(), filepath.Join(b.TempDir(), "keys"), local.KEKConfig{Kind: local.KindSM4})
	if err != nil {
		b.Fatal(err)
	}
	rules := map[string]*masking.Rule{}
	for col, fn := range map[string]string{"id_no": "id_card", "phone": "mobile", "name": "chinese_name"} {
		if rules["citizen."+col], err = masking.NewRule(fn, nil); err != nil {
			b.Fatal(err)
		}
	}
	policy, err := masking.NewPolicy(map[string]masking.Role{"admin": {Default: masking.ActionPlain}}, rules)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{Keyring: kr, Policy: policy, Tables: []Table{{Name: "citizen", RowKey: "id", Columns: []Column{
		{Name: "id_no", Indexes: []Index{{Column: "id_no_bidx", Transform: crypto.TransformFull}}},
		{Name: "phone", Indexes: []Index{{Column: "phone_bidx", Transform: crypto.TransformFull}, {Column: "phone_last4_bidx", Transform: crypto.TransformLast4}}},
		{Name: "name"},
	}}}}
	for _, name := range []string{"postgres", "sqlite", "mysql"} {
		d, ok := DialectNamed(name)
		if !ok {
			b.Fatal(name)
		}
		ph := "?"
		if name == "postgres" {
			ph = "$1"
		}
		q := "SELECT id, id_no, name FROM citizen WHERE phone = " + ph + " AND id > %d"
		s, err := newSchema(context.Background(), cfg, d)
		if err != nil {
			b.Fatal(err)
		}
		warm(d)
		b.Run(name+"/cold", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.plan(context.Background(), fmt.Sprintf(q, i)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/cached", func(b *testing.B) {
			stmt := fmt.Sprintf(q, -1)
			if _, err := s.plan(context.Background(), stmt); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.plan(context.Background(), stmt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanValues measures planning a multi-row INSERT of 1,000 and
// 8,000 rows, for each dialect: planning is linear in the statement's
// size when the 8,000-row plan costs about 8 times the 1,000-row one
// (issue 10 class 12: it took 0.7 s):
//
//	go test ./sqldriver -run '^$' -bench PlanValues -benchmem -count 6
func BenchmarkPlanValues(b *testing.B) {
	kr, err := local.Init(context.Background(), filepath.Join(b.TempDir(), "keys"), local.KEKConfig{Kind: local.KindSM4})
	if err != nil {
		b.Fatal(err)
	}
	policy, err := masking.NewPolicy(map[string]masking.Role{"admin": {Default: masking.ActionPlain}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{Keyring: kr, Policy: policy, Tables: []Table{{Name: "citizen", RowKey: "id", Columns: []Column{
		{Name: "phone", Indexes: []Index{{Column: "phone_bidx", Transform: crypto.TransformFull}}},
	}}}}
	for _, name := range []string{"postgres", "sqlite", "mysql"} {
		d, _ := DialectNamed(name)
		s, err := newSchema(context.Background(), cfg, d)
		if err != nil {
			b.Fatal(err)
		}
		warm(d)
		for _, rows := range []int{1000, 8000} {
			var q strings.Builder
			q.WriteString("INSERT INTO citizen (id, phone, city) VALUES ")
			for i := range rows {
				if i > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "(%d, '1380000%04d', 'x')", i, i%10000)
			}
			stmt := q.String()
			b.Run(fmt.Sprintf("%s/rows=%d", name, rows), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.Analyze(s.cat, stmt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// warm readies d's parser before timing (under wazero, the compilation of
// libpg_query, a few seconds once per process, would land in one sample).
func warm(d sqlplan.Dialect) {
	if w, ok := d.(sqlplan.Warmer); ok {
		w.Warm()
	}
}
