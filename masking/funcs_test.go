package masking

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func rule(t testing.TB, name string, params Params) *Rule {
	t.Helper()
	r, err := NewRule(name, params, WithKey(testKey))
	require.NoError(t, err, name)
	return r
}

func TestFunctionExamples(t *testing.T) {
	cases := []struct {
		fn     string
		params Params
		in     string
		want   string
	}{
		// The examples.
		{"chinese_name", nil, "张三", "张*"},
		{"chinese_name", nil, "欧阳娜娜", "欧***"},
		{"id_card", nil, "11010519491231002X", "110105********002X"},
		{"mobile", nil, "13800138000", "138****8000"},
		{"landline", nil, "010-12345678", "010-******78"},
		{"bank_card", nil, "6222021234567890123", "622202*********0123"},
		{"email", nil, "zhangsan@example.gov.cn", "z***@example.gov.cn"},
		{"address", nil, "北京市海淀区中关村大街27号", "北京市海淀区********"},
		{"plate", nil, "京A12345", "京A1***5"},
		{"passport", nil, "E12345678", "E*****678"},
		{"ipv4", nil, "192.168.1.10", "192.168.*.*"},
		{"date", nil, "1990-03-07", "1990"},

		// Names.
		{"chinese_name", nil, "张", "*"},
		{"chinese_name", nil, "阿卜杜拉·买买提", "阿***·***"},
		{"chinese_name", Params{"char": "×"}, "李四", "李×"},
		{"chinese_name", Params{"keep_first": "2"}, "欧阳娜娜", "欧阳**"},
		{"chinese_name", Params{"keep_first": "2"}, "张三", "**"},

		// Resident IDs: 15-digit legacy, full-width, lower-case x, malformed.
		{"id_card", nil, "110105491231002", "110105*****1002"},
		{"id_card", nil, "１１０１０５１９４９１２３１００２Ｘ", "１１０１０５********００２Ｘ"},
		{"id_card", nil, "11010519491231002x", "110105********002x"},
		{"id_card", nil, "1101051949123100", "****************"},
		{"id_card", nil, "11010519491X31002X", "******************"},

		// Mobiles: prefixes and separators kept as given, full-width.
		{"mobile", nil, "+86 138 0013 8000", "+86 138 **** 8000"},
		{"mobile", nil, "+8613800138000", "+86138****8000"},
		{"mobile", nil, "8613800138000", "86138****8000"},
		{"mobile", nil, "0086-13800138000", "0086-138****8000"},
		{"mobile", nil, "138-0013-8000", "138-****-8000"},
		{"mobile", nil, "１３８００１３８０００", "１３８****８０００"},
		{"mobile", nil, "1380013800", "**********"},
		{"mobile", nil, "138001380001", "************"},
		{"mobile", nil, "138a0138000", "***********"},

		// Landlines: 3- and 4-digit area codes, no area code, extension.
		{"landline", nil, "021-87654321", "021-******21"},
		{"landline", nil, "0755-8765432", "0755-*****32"},
		{"landline", nil, "(010)12345678", "(010)******78"},
		{"landline", nil, "01012345678", "010******78"},
		{"landline", nil, "87654321", "******21"},
		{"landline", nil, "010-12", "******"},

		// Bank cards.
		{"bank_card", nil, "6222 0212 3456 7890 123", "6222 02** **** ***0 123"},
		{"bank_card", nil, "4111111111111111", "411111******1111"},
		{"bank_card", nil, "12345678901", "***********"},

		// E-mail.
		{"email", nil, "a@example.cn", "***@example.cn"},
		{"email", nil, "张三@例子.中国", "张***@例子.中国"},
		{"email", nil, "zhang＠example.cn", "z***＠example.cn"},
		{"email", nil, "no-at-sign", "**********"},
		{"email", nil, "@example.cn", "***********"},
		{"email", nil, "a@", "**"},

		// Address.
		{"address", nil, "北京市海淀区", "******"},
		{"address", Params{"keep_first": "3"}, "上海市浦东新区", "上海市****"},

		// Plates: new energy, separators, malformed.
		{"plate", nil, "京AD12345", "京AD****5"},
		{"plate", nil, "京A·12345", "京A·1***5"},
		{"plate", nil, "京A1234", "******"},

		// USCC.
		{"uscc", nil, "91350100M000100Y43", "91************0Y43"},
		{"uscc", nil, "9135010", "*******"},

		// Passport.
		{"passport", nil, "EA1234567", "E*****567"},
		{"passport", nil, "E123", "****"},

		// IPs.
		{"ipv4", nil, "１９２．１６８．１．１０", "192.168.*.*"},
		{"ipv4", Params{"keep_groups": "3"}, "10.1.2.3", "10.1.2.*"},
		{"ipv4", nil, "192.168.01.1", "************"},
		{"ipv4", nil, "2001:db8::1", "***********"},
		{"ipv6", nil, "2001:0DB8:85a3::8a2e:370:7334", "2001:db8:*:*:*:*:*:*"},
		{"ipv6", nil, "fe80::1%eth0", "fe80:0:*:*:*:*:*:*"},
		{"ipv6", nil, "192.168.1.1", "***********"},

		// Dates.
		{"date", nil, "1990/3/7", "1990"},
		{"date", nil, "19900307", "1990"},
		{"date", nil, "1990年3月7日", "1990"},
		{"date", nil, "1990-03-07 12:30:00", "1990"},
		{"date", nil, "1990-03-07T12:30:00Z", "1990"},
		{"date", Params{"to": "month"}, "1990-03-07", "1990-03"},
		{"date", Params{"to": "month"}, "1990.3.7", "1990.03"},
		{"date", Params{"to": "month"}, "1990年3月7日", "1990年03月"},
		{"date", Params{"to": "month"}, "19900307", "199003"},
		{"date", nil, "1990-02-30", "**********"},
		{"date", nil, "１９９０－０３－０７", "1990"},
		{"date", nil, "yesterday", "*********"},

		// Generic functions.
		{"keep_first_last", Params{"first": "1", "last": "1"}, "abcdef", "a****f"},
		{"keep_first_last", Params{"first": "3", "last": "4"}, "abc", "***"},
		{"keep_first_last", Params{"first": "0", "last": "0"}, "abc", "***"},
		{"mask_first_last", Params{"first": "1", "last": "2"}, "abcdef", "*bcd**"},
		{"mask_first_last", Params{"first": "2", "last": "2"}, "abcd", "****"},
		{"keep_range", Params{"from": "1", "to": "3"}, "abcdef", "*bc***"},
		{"keep_range", Params{"from": "0", "to": "3"}, "abc", "***"},
		{"mask_range", Params{"from": "1", "to": "3"}, "abcdef", "a**def"},
		{"mask_range", Params{"from": "1", "to": "30"}, "abcdef", "a*****"},
		{"mask_range", Params{"from": "6", "to": "9"}, "abcdef", "******"},
		{"mask_before", Params{"at": "@"}, "zhang@example.cn", "*****@example.cn"},
		{"mask_before", Params{"at": "@"}, "@example.cn", "***********"},
		{"mask_before", Params{"at": "@"}, "nothing", "*******"},
		{"mask_after", Params{"at": "-"}, "010-12345678", "010-********"},
		{"mask_after", Params{"at": "-"}, "010-", "****"},
		{"mask_all", nil, "张三", "**"},
		{"redact", nil, "anything", "***"},
		{"redact", Params{"text": "[已脱敏]"}, "anything", "[已脱敏]"},
		{"empty", nil, "anything", ""},

		// Never the input unchanged, even when it is already masked.
		{"chinese_name", nil, "张*", "**"},
		{"email", nil, "z***@example.gov.cn", "*******************"},
		{"mask_all", nil, "***", "****"},
		{"date", nil, "1990", "****"},
		{"redact", nil, "***", "****"},
	}
	for _, c := range cases {
		r := rule(t, c.fn, c.params)
		got := r.Mask(c.in)
		assert.Equal(t, c.want, got, "%s(%q) %v", c.fn, c.in, c.params)
		assert.True(t, utf8.ValidString(got))
		if c.in != "" {
			assert.NotEqual(t, c.in, got, "%s returned its input", c.fn)
		}
		// The append form gives the same bytes after a prefix.
		assert.Equal(t, "pre:"+c.want, string(r.Append([]byte("pre:"), c.in)))
	}
}

func TestNullAndEmpty(t *testing.T) {
	r := rule(t, "null", nil)
	assert.True(t, r.Null())
	assert.Equal(t, "", r.Mask("x"))
	assert.False(t, rule(t, "empty", nil).Null())
	assert.Equal(t, "", rule(t, "mobile", nil).Mask(""))
	assert.Equal(t, "***", rule(t, "redact", nil).Mask(""))
}

func TestNewRuleErrors(t *testing.T) {
	cases := []struct {
		fn     string
		params Params
		want   error
	}{
		{"soundex", nil, ErrUnknownFunction},
		{"mobile", Params{"keep": "3"}, ErrBadParameter},
		{"mobile", Params{"keep_first": "x"}, ErrBadParameter},
		{"mobile", Params{"keep_first": "-1"}, ErrBadParameter},
		{"mobile", Params{"char": "**"}, ErrBadParameter},
		{"mobile", Params{"char": ""}, ErrBadParameter},
		{"bank_card", Params{"keep_first": "8"}, ErrBadParameter},
		{"bank_card", Params{"keep_last": "5"}, ErrBadParameter},
		{"keep_first_last", Params{"first": "1"}, ErrBadParameter},
		{"mask_first_last", Params{"first": "0", "last": "0"}, ErrBadParameter},
		{"keep_range", Params{"from": "3", "to": "3"}, ErrBadParameter},
		{"mask_before", nil, ErrBadParameter},
		{"date", Params{"to": "day"}, ErrBadParameter},
		{"redact", Params{"text": ""}, ErrBadParameter},
		{"hash", Params{"length": "4"}, ErrBadParameter},
		{"hash", Params{"encoding": "base64"}, ErrBadParameter},
		{"pseudonym", nil, ErrBadParameter},
		{"pseudonym", Params{"type": "name"}, ErrBadParameter},
	}
	for _, c := range cases {
		_, err := NewRule(c.fn, c.params, WithKey(testKey))
		assert.ErrorIs(t, err, c.want, "%s %v", c.fn, c.params)
	}
	_, err := NewRule("hash", nil)
	assert.ErrorIs(t, err, ErrMissingKey)
	_, err = NewRule("pseudonym", Params{"type": "mobile"}, WithKey([]byte("short")))
	assert.ErrorIs(t, err, ErrMissingKey)
}

func TestFunctionsAndDescribe(t *testing.T) {
	names := Functions()
	for _, want := range []string{"chinese_name", "id_card", "mobile", "landline", "bank_card", "email", "address",
		"plate", "uscc", "passport", "ipv4", "ipv6", "date", "keep_first_last", "mask_first_last", "keep_range",
		"mask_range", "mask_before", "mask_after", "redact", "empty", "null", "hash", "pseudonym"} {
		assert.Contains(t, names, want)
		assert.NotEmpty(t, Describe(want))
	}
	assert.Contains(t, Describe("mobile"), "keep_first=3")
	assert.Contains(t, Describe("pseudonym"), "required")
	assert.Empty(t, Describe("nope"))
}

func TestWithMaskChar(t *testing.T) {
	r, err := NewRule("mobile", nil, WithMaskChar('#'))
	require.NoError(t, err)
	assert.Equal(t, "138####8000", r.Mask("13800138000"))
	r, err = NewRule("mobile", Params{"char": "x"}, WithMaskChar('#'))
	require.NoError(t, err)
	assert.Equal(t, "138xxxx8000", r.Mask("13800138000"), "the rule's own char wins")
}
