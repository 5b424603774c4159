package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func gmfield(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMask(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"mask", "--type", "mobile", "13800138000"}, "138****8000\n"},
		{[]string{"mask", "--type", "id_card", "11010519491231002X"}, "110105********002X\n"},
		{[]string{"mask", "--type", "date", "--param", "to=month", "1990-03-07"}, "1990-03\n"},
		{[]string{"mask", "--type", "keep_first_last", "--param", "first=1", "--param", "last=1", "--param", "char=#", "abcd"}, "a##d\n"},
		{[]string{"mask", "--type", "null", "x"}, "NULL\n"},
		{[]string{"mask", "--type", "chinese_name", "张三"}, "张*\n"},
	}
	for _, c := range cases {
		code, out, errOut := gmfield(t, "", c.args...)
		assert.Equal(t, 0, code, "%v: %s", c.args, errOut)
		assert.Equal(t, c.want, out, "%v", c.args)
	}
}

func TestMaskStdin(t *testing.T) {
	code, out, _ := gmfield(t, "13800138000\r\n+86 139-1234-5678\n\n", "mask", "--type", "mobile", "-")
	assert.Equal(t, 0, code)
	assert.Equal(t, "138****8000\n+86 139-****-5678\n\n", out)
}

func TestMaskKeyed(t *testing.T) {
	key := strings.Repeat("ab", 16)
	code, out, _ := gmfield(t, "", "mask", "--type", "hash", "--key-hex", key, "13800138000")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^[0-9a-f]{32}\n$`, out)

	t.Setenv("GMFIELD_MASK_KEY", key)
	code, out2, _ := gmfield(t, "", "mask", "--type", "hash", "13800138000")
	assert.Equal(t, 0, code)
	assert.Equal(t, out, out2)

	code, out, _ = gmfield(t, "", "mask", "--type", "pseudonym", "--param", "type=id_card", "11010519491231002X")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^110105\d{11}[\dX]\n$`, out)
}

func TestMaskErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"mask", "13800138000"}, 2, "--type"},
		{[]string{"mask", "--type", "mobile"}, 2, "VALUE"},
		{[]string{"mask", "--type", "soundex", "x"}, 1, "unknown masking function"},
		{[]string{"mask", "--type", "mobile", "--param", "keep_first", "x"}, 2, "k=v"},
		{[]string{"mask", "--type", "mobile", "--param", "keep=3", "x"}, 1, "no parameter"},
		{[]string{"mask", "--type", "hash", "x"}, 1, "key"},
		{[]string{"mask", "--type", "hash", "--key-hex", "zz", "x"}, 2, "hex"},
		{[]string{"mask", "--bogus"}, 2, "unknown flag"},
		{[]string{"detect"}, 2, "VALUE"},
	}
	t.Setenv("GMFIELD_MASK_KEY", "")
	for _, c := range cases {
		code, out, errOut := gmfield(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
		assert.True(t, strings.HasPrefix(errOut, "gmfield: "), "%v: %q", c.args, errOut)
	}
}

func TestMaskList(t *testing.T) {
	code, out, _ := gmfield(t, "", "mask", "--list")
	assert.Equal(t, 0, code)
	for _, name := range []string{"chinese_name:", "id_card:", "pseudonym:", "keep_first_last:"} {
		assert.Contains(t, out, name)
	}
}

func TestDetect(t *testing.T) {
	code, out, _ := gmfield(t, "11010519491231002X\nhello\n", "detect", "-")
	assert.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[0], "id_card:0.99"), lines[0])
	assert.Equal(t, "none", lines[1])
}
