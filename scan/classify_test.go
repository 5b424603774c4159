package scan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gmfield/gmfield/masking"
)

func repeatGen(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestClassify(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	phones := repeatGen(100, func(int) string { return g.mobile() })
	ids := repeatGen(100, func(int) string { return g.idCard(g.birth(1950, 2000)) })
	names := repeatGen(100, func(int) string { return g.name() })
	words := []string{"正常", "冻结", "注销", "待审核", "已归档", "退回", "办结", "受理"}
	now := time.Now()
	kids := repeatGen(50, func(int) string { return g.idCard(now.AddDate(-3, 0, 0)) })
	tests := []struct {
		name, column, typ string
		values            []string
		kind              masking.Kind
		review, protected bool
		minors            bool
		note              string
	}{
		{name: "mobiles by value", column: "c1", typ: "text", values: phones, kind: masking.KindMobile},
		{name: "mobiles, pinyin name", column: "shouji", typ: "varchar(20)", values: phones, kind: masking.KindMobile},
		{name: "ids, Chinese name", column: "身份证号码", typ: "text", values: ids, kind: masking.KindIDCard},
		{name: "ids of children are minors", column: "sfzh", typ: "text", values: kids, kind: masking.KindIDCard, minors: true},
		{name: "names by value alone", column: "c2", typ: "text", values: names, kind: masking.KindChineseName},
		{name: "status words are not names", column: "zt", typ: "text", values: repeatGen(100, func(i int) string { return words[i%len(words)] })},
		{name: "phone-shaped order numbers by name", column: "order_no", typ: "text", values: phones, review: true, note: "no person's data"},
		{name: "phone-shaped sequence without a name", column: "c3", typ: "text",
			values: repeatGen(100, func(i int) string { return fmt.Sprint(13800000000 + i*3) }), review: true, note: "sequence"},
		{name: "a hint with too few values", column: "sfzh", typ: "text", values: ids[:2], kind: masking.KindIDCard, review: true},
		{name: "a hint the values contradict", column: "phone", typ: "text", values: repeatGen(50, func(i int) string { return "N/A" })},
		{name: "a strong hint the values contradict", column: "sfzh", typ: "text", values: repeatGen(50, func(i int) string { return fmt.Sprint(i) }), review: true, note: "no sampled value"},
		{name: "the name disagrees with the values", column: "email", typ: "text", values: phones, kind: masking.KindMobile, review: true, note: "the name suggests email"},
		{name: "gmfield envelopes", column: "sfzh", typ: "text",
			values: repeatGen(20, func(int) string { return "gmf2:AAAA" + g.digits(20) }), kind: masking.KindIDCard, protected: true},
		{name: "binary by name", column: "fingerprint", typ: "bytea", kind: KindBiometric, review: true},
		{name: "binary without a hint", column: "photo_blob", typ: "blob"},
		{name: "birth dates", column: "birth_date", typ: "date", values: repeatGen(50, func(int) string { return g.birth(1950, 2000).Format(time.DateOnly) }), kind: KindBirthDate},
		{name: "dates that are not birth dates", column: "created_at", typ: "timestamp", values: repeatGen(50, func(int) string { return g.timestamp() })},
		{name: "free text with phones", column: "notes", typ: "text",
			values: repeatGen(100, func(i int) string {
				if i%4 == 0 {
					return "请联系" + g.mobile() + "办理"
				}
				return "材料齐全,已受理,等待审批"
			}), kind: KindFreeText, review: true},
		{name: "free text without", column: "notes", typ: "text", values: repeatGen(100, func(int) string { return "材料齐全,已受理,等待审批" })},
		{name: "product names are not names", column: "product_name", typ: "text", values: []string{"王老吉", "康师傅", "李宁", "周黑鸭", "金龙鱼", "白象"}, review: true, note: "no person's data"},
		{name: "diagnosis by name", column: "zdjg", typ: "text", values: []string{"高血压", "糖尿病", "感冒", "哮喘", "胃炎"}, kind: KindHealth, review: true},
		{name: "nothing", column: "amount", typ: "numeric", values: repeatGen(50, func(i int) string { return fmt.Sprintf("%d.%02d", i*37, i) })},
		{name: "empty column with no hint", column: "c4", typ: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Classify(tt.column, tt.typ, tt.values)
			assert.Equal(t, tt.kind, c.Kind, "%+v", c.Evidence)
			assert.Equal(t, tt.review, c.Review, "review: %+v", c.Evidence)
			assert.Equal(t, tt.protected, c.Protected)
			assert.Equal(t, tt.minors, c.Minors > 0, "minors %d", c.Minors)
			if tt.note != "" {
				assert.Contains(t, strings.Join(c.Evidence.Notes, "; "), tt.note)
			}
			if tt.kind != "" {
				assert.Greater(t, c.Confidence, 0.0)
				assert.LessOrEqual(t, c.Confidence, 1.0)
			}
		})
	}
}

func TestNameHint(t *testing.T) {
	tests := []struct {
		column   string
		kinds    []masking.Kind
		negative bool
	}{
		{"sfzh", []masking.Kind{masking.KindIDCard}, false},
		{"holder_id_no", []masking.Kind{masking.KindIDCard}, false},
		{"IdCardNo", []masking.Kind{masking.KindIDCard}, false},
		{"gmsfhm", []masking.Kind{masking.KindIDCard}, false},
		{"公民身份号码", []masking.Kind{masking.KindIDCard}, false},
		{"contact_phone", []masking.Kind{masking.KindMobile, masking.KindLandline}, false},
		{"phone2", []masking.Kind{masking.KindMobile, masking.KindLandline}, false},
		{"user_name", []masking.Kind{masking.KindChineseName}, false},
		{"company_name", nil, false},
		{"product_name", nil, true},
		{"order_no", nil, true},
		{"订单编号", nil, true},
		{"jtzz", []masking.Kind{masking.KindAddress}, false},
		{"id", nil, false},
		{"status", nil, false},
	}
	for _, tt := range tests {
		h, neg := nameHint(tt.column)
		assert.Equal(t, tt.kinds, h.kinds, tt.column)
		assert.Equal(t, tt.negative, neg, tt.column)
	}
}

func TestGrade(t *testing.T) {
	var g Grading
	assert.Equal(t, Grade{Level: LevelGeneral, Sublevel: 1, Rule: g.grade("", 10, false).Rule}, g.grade("", 10, false))
	id := g.grade(masking.KindIDCard, 1000, false)
	assert.True(t, id.Sensitive)
	assert.Equal(t, "特定身份", id.Basis)
	assert.Equal(t, 3, id.Sublevel)
	phone := g.grade(masking.KindMobile, 1000, false)
	assert.True(t, phone.Personal)
	assert.False(t, phone.Sensitive)
	assert.Equal(t, 2, phone.Sublevel)
	assert.True(t, g.grade(masking.KindMobile, 1000, true).Sensitive, "minors make personal information sensitive")
	big := g.grade(masking.KindIDCard, 2_000_000, false)
	assert.Equal(t, LevelImportant, big.Level)
	assert.True(t, big.Candidate)
	assert.Equal(t, LevelGeneral, g.grade(masking.KindMobile, 2_000_000, false).Level, "not sensitive: below the personal scale")
	assert.Equal(t, LevelImportant, g.grade(masking.KindMobile, 20_000_000, false).Level)
	assert.Equal(t, LevelGeneral, Grading{SensitiveRows: 10}.grade(masking.KindUSCC, 100, false).Level, "organisations' codes are never important by scale")
	assert.Equal(t, LevelImportant, Grading{SensitiveRows: 10}.grade(masking.KindBankCard, 100, false).Level)
	for _, k := range append(masking.Kinds(), KindBirthDate, KindHealth, KindBiometric, KindLocation, KindFreeText) {
		_, ok := info[k]
		assert.True(t, ok, "every kind is graded: %s", k)
		assert.NotEqual(t, LevelCore, g.grade(k, 1<<40, true).Level, "core data is never assigned automatically")
	}
}

func TestDense(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	assert.False(t, dense(repeatGen(200, func(int) string { return g.mobile() })))
	assert.True(t, dense(repeatGen(200, func(i int) string { return fmt.Sprint(15900000000 + i*11) })))
	assert.False(t, dense(repeatGen(10, func(i int) string { return fmt.Sprint(15900000000 + i) })), "too few to tell")
}
