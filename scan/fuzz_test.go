package scan

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/masking"
)

var knownKinds = append(masking.Kinds(), KindBirthDate, KindHealth, KindBiometric, KindLocation, KindFreeText)

// FuzzClassify feeds column names and values from the database (which
// whoever writes the database controls) to Classify and to the masked
// examples: no panic, a known kind, counts and confidence in range, and
// no example equal to a sampled value.
func FuzzClassify(f *testing.F) {
	f.Add("sfzh", "text", "11010519491231002X\x0013800138000\x00张三")
	f.Add("order_no", "varchar(20)", "13800000001\x0013800000002")
	f.Add("备注", "text", "请联系13800138000办理\x00gmf2:AAAA")
	f.Add("IdCardNo2", "bytea", "\xff\xfe")
	f.Fuzz(func(t *testing.T, name, typ, joined string) {
		vals := strings.Split(joined, "\x00")
		c := Classify(name, typ, vals)
		if c.Kind != "" && !slices.Contains(knownKinds, c.Kind) {
			t.Fatalf("unknown kind %q", c.Kind)
		}
		if c.Confidence < 0 || c.Confidence > 1 || c.Evidence.Share < 0 || c.Evidence.Share > 1 {
			t.Fatalf("out of range: %+v", c)
		}
		if c.Evidence.Matched > c.Evidence.Values || c.Evidence.Values > len(vals) || c.Minors > len(vals) {
			t.Fatalf("counts: %+v of %d values", c.Evidence, len(vals))
		}
		for _, k := range knownKinds {
			for _, ex := range examples(k, vals) {
				for _, v := range vals {
					if strings.TrimSpace(v) != "" && ex == strings.TrimSpace(v) {
						t.Fatalf("%s example %q is a sampled value", k, ex)
					}
				}
			}
		}
	})
}

// FuzzPropose builds a report whose table and column names are fuzzed
// (they come from the catalog) and checks that the proposal is YAML whose
// structure they cannot change: the three roles of the skeleton, tables
// and columns that are plain identifiers, every key known.
func FuzzPropose(f *testing.F) {
	f.Add("citizen", "phone", "id")
	f.Add("a\nroles:\n  x: {default: plain}\n", "b: {mask: mobile}\n  evil", "k")
	f.Add("客户", "手机号 # x", "id")
	f.Fuzz(func(t *testing.T, table, column, key string) {
		rep := &Report{Dialect: "postgres", Schema: column, Tables: []Table{{Name: table, RowKey: key, Columns: []Column{
			{Name: key, Type: "bigint"},
			{Name: column, Type: "text", Classification: Classification{Kind: masking.KindMobile, Confidence: 0.9, Review: true,
				Evidence: Evidence{Notes: []string{column + "\n" + table}}}, Grade: Grade{Personal: true}},
			{Name: "x", Type: "text", Classification: Classification{Kind: masking.KindIDCard}, Grade: Grade{Personal: true, Sensitive: true, Basis: table}},
		}}}}
		var doc map[string]any
		out := Propose(rep, column)
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, out)
		}
		for k := range doc {
			if !slices.Contains([]string{"dialect", "keyring", "tables", "roles"}, k) {
				t.Fatalf("key %q injected:\n%s", k, out)
			}
		}
		roles, _ := doc["roles"].(map[string]any)
		if len(roles) != 3 || roles["admin"] == nil || roles["clerk"] == nil || roles["default"] == nil {
			t.Fatalf("roles changed: %v\n%s", roles, out)
		}
		tables, _ := doc["tables"].(map[string]any)
		for name, tv := range tables {
			tm, _ := tv.(map[string]any)
			if name != table || len(tm) > 3 {
				t.Fatalf("table %q (%v) injected:\n%s", name, tm, out)
			}
			cols, _ := tm["columns"].(map[string]any)
			for c := range cols {
				if c != column && c != "x" {
					t.Fatalf("column %q injected:\n%s", c, out)
				}
			}
		}
	})
}
