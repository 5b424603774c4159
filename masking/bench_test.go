package masking

import (
	"testing"

	gomask "github.com/showa-93/go-mask"
)

var sinkString string

// typical holds a realistic value for each function.
var typical = []struct {
	fn     string
	params Params
	value  string
}{
	{"chinese_name", nil, "欧阳娜娜"},
	{"id_card", nil, "11010519491231002X"},
	{"mobile", nil, "13800138000"},
	{"landline", nil, "010-12345678"},
	{"bank_card", nil, "6222021234567890123"},
	{"email", nil, "zhangsan@example.gov.cn"},
	{"address", nil, "北京市海淀区中关村大街27号"},
	{"plate", nil, "京A12345"},
	{"uscc", nil, "91350100M000100Y43"},
	{"passport", nil, "E12345678"},
	{"ipv4", nil, "192.168.1.10"},
	{"ipv6", nil, "2001:db8:85a3::8a2e:370:7334"},
	{"date", nil, "1990-03-07"},
	{"keep_first_last", Params{"first": "1", "last": "1"}, "zhangsan"},
	{"mask_first_last", Params{"first": "1", "last": "1"}, "zhangsan"},
	{"keep_range", Params{"from": "0", "to": "3"}, "13800138000"},
	{"mask_range", Params{"from": "3", "to": "7"}, "13800138000"},
	{"mask_before", Params{"at": "@"}, "zhangsan@example.gov.cn"},
	{"mask_after", Params{"at": "@"}, "zhangsan@example.gov.cn"},
	{"mask_all", nil, "张三"},
	{"redact", nil, "13800138000"},
	{"empty", nil, "13800138000"},
	{"null", nil, "13800138000"},
	{"hash", nil, "11010519491231002X"},
	{"pseudonym/id_card", Params{"type": "id_card"}, "11010519491231002X"},
	{"pseudonym/mobile", Params{"type": "mobile"}, "13800138000"},
	{"pseudonym/bank_card", Params{"type": "bank_card"}, "6222021234567890123"},
	{"pseudonym/uscc", Params{"type": "uscc"}, "91350100M000100Y43"},
}

// BenchmarkMask measures each function on a typical value.
func BenchmarkMask(b *testing.B) {
	for _, c := range typical {
		name := c.fn
		if len(name) > 10 && name[:10] == "pseudonym/" {
			name = "pseudonym"
		}
		r := rule(b, name, c.params)
		b.Run(c.fn, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkString = r.Mask(c.value)
			}
		})
	}
}

// BenchmarkVersusGoMask runs go-mask's string rules beside their
// equivalents here, on the same value: filled ↔ mask_all, fixed ↔ redact,
// hash (unkeyed SHA-1) ↔ hash (keyed HMAC-SM3).
func BenchmarkVersusGoMask(b *testing.B) {
	const v = "11010519491231002X"
	pairs := []struct {
		name, gomaskTag, fn string
	}{
		{"filled", gomask.MaskTypeFilled, "mask_all"},
		{"fixed", gomask.MaskTypeFixed, "redact"},
		{"hash", gomask.MaskTypeHash, "hash"},
	}
	for _, p := range pairs {
		b.Run(p.name+"/gomask", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := gomask.String(p.gomaskTag, v)
				if err != nil {
					b.Fatal(err)
				}
				sinkString = s
			}
		})
		r := rule(b, p.fn, nil)
		b.Run(p.name+"/gmfield", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkString = r.Mask(v)
			}
		})
	}
}

func BenchmarkDecide(b *testing.B) {
	p := loadExample(b)
	pr := Principal{ID: "u1", Roles: []string{"analyst", "clerk"}}
	b.ReportAllocs()
	for b.Loop() {
		if p.Decide(pr, "citizen", "phone") != ActionMask {
			b.Fatal("wrong action")
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(Detect("11010519491231002X")) == 0 {
			b.Fatal("not detected")
		}
	}
}
