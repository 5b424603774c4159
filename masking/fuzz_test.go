package masking

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRules is every masking function, some with non-default parameters.
func fuzzRules(t testing.TB) []*Rule {
	var rs []*Rule
	for _, name := range Functions() {
		var p Params
		switch name {
		case "keep_first_last", "mask_first_last":
			p = Params{"first": "2", "last": "1"}
		case "keep_range", "mask_range":
			p = Params{"from": "1", "to": "4"}
		case "mask_before", "mask_after":
			p = Params{"at": "@"}
		case "pseudonym":
			for _, typ := range []string{"id_card", "mobile", "bank_card", "uscc"} {
				rs = append(rs, rule(t, name, Params{"type": typ}))
			}
			continue
		}
		rs = append(rs, rule(t, name, p))
	}
	rs = append(rs, rule(t, "date", Params{"to": "month"}), rule(t, "ipv6", Params{"keep_groups": "7"}),
		rule(t, "chinese_name", Params{"char": "×"}), rule(t, "hash", Params{"encoding": "base32"}))
	return rs
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"", "张三", "欧阳娜娜", "11010519491231002X", "１１０１０５１９４９１２３１００２Ｘ",
		"13800138000", "+86 138 0013 8000", "010-12345678", "6222021234567890123", "zhangsan@example.gov.cn",
		"北京市海淀区中关村大街27号", "京A12345", "京AD12345", "91350100M000100Y43", "E12345678", "192.168.1.10",
		"2001:db8::1", "1990-03-07", "1990年3月7日", "***", "*", "张*", "z***@x.cn", "\xff\xfe", "a\x00b", "@", "@@"} {
		for i := range 32 {
			f.Add(uint8(i), s)
		}
	}
	rs := fuzzRules(f)
	f.Fuzz(func(t *testing.T, which uint8, in string) {
		r := rs[int(which)%len(rs)]
		out := r.Mask(in)
		if b := []byte(in); string(r.AppendBytes([]byte("x"), b)) != "x"+out || string(b) != in {
			t.Fatalf("%s: AppendBytes(%q) differs from Mask, or changed its input", r.Name(), in)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%s(%q) = %q: not UTF-8", r.Name(), in, out)
		}
		if r.Null() {
			if out != "" {
				t.Fatalf("null returned %q", out)
			}
			return
		}
		if in != "" && out == in {
			t.Fatalf("%s(%q) returned its input", r.Name(), in)
		}
		if r.KeepsLength() && utf8.ValidString(in) {
			n, m := utf8.RuneCountInString(in), utf8.RuneCountInString(out)
			allMask := strings.Trim(out, string(r.char)) == ""
			if m != n && !(m == n+1 && allMask) {
				t.Fatalf("%s(%q) = %q: %d runes, want %d", r.Name(), in, out, m, n)
			}
		}
	})
}
