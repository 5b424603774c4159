package crypto

import (
	"unicode"

	"bytes"
	"fmt"
	"golang.org/x/text/unicode/norm"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testRoot(t testing.TB) *IndexRoot {
	t.Helper()
	r, err := NewIndexRoot(bytes.Repeat([]byte{7}, IndexRootSize))
	require.NoError(t, err)
	return r
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		tr        Transform
		in, want  string
		wantError bool
	}{
		{TransformFull, "13800138000", "13800138000", false},
		{TransformFull, "  13800138000\t\n", "13800138000", false},
		{TransformFull, "\u3000１３８００１３８０００\u3000", "13800138000", false},
		{TransformFull, "张 三", "张 三", false},
		{TransformFull, "ＡＢＣ", "ABC", false},
		{TransformFull, "", "", false},
		{TransformFull, "   ", "", false},
		{TransformLower, "ZhangSan@Example.GOV.CN", "zhangsan@example.gov.cn", false},
		{TransformLower, "ＺＨＡＮＧ@例子.中国", "zhang@例子.中国", false},
		{TransformLower, "ÄÖÜ", "äöü", false},
		{TransformUpper, "11010519491231002x", "11010519491231002X", false},
		{TransformUpper, "京a12345", "京A12345", false},
		{TransformDigits, "+86 138-0013-8000", "8613800138000", false},
		{TransformDigits, "电话：０１０－１２３４５６７８", "01012345678", false},
		{TransformDigits, "no digits", "", false},
		{TransformLast4, "138 0013 8000", "8000", false},
		{TransformLast4, "12", "12", false},
		{TransformLast4, "6222 0212 3456 7890 123", "0123", false},
		{TransformFull, "bad \xff utf8", "", true},
		{Transform("soundex"), "x", "", true},
	}
	for _, c := range cases {
		got, err := c.tr.Normalize([]byte("pre:"), []byte(c.in))
		if c.wantError {
			assert.ErrorIs(t, err, ErrInvalidInput, "%s %q", c.tr, c.in)
			continue
		}
		require.NoError(t, err, "%s %q", c.tr, c.in)
		assert.Equal(t, "pre:"+c.want, string(got), "%s %q", c.tr, c.in)
	}
}

func TestIndexProperties(t *testing.T) {
	r := testRoot(t)
	mk := func(table, col string, tr Transform, size int) *Index {
		ix, err := r.Index(IndexSpec{Table: table, Column: col, Transform: tr, Size: size})
		require.NoError(t, err)
		return ix
	}
	sum := func(ix *Index, v string) string {
		s, err := ix.SumHex(nil, []byte(v))
		require.NoError(t, err)
		return string(s)
	}
	phone := mk("citizen", "phone", TransformFull, 0)
	assert.Equal(t, DefaultIndexSize, phone.Spec().Size)
	a := sum(phone, "13800138000")
	assert.Len(t, a, 2*DefaultIndexSize)
	assert.Equal(t, a, sum(phone, "１３８００１３８０００"), "full-width equals ASCII")
	assert.NotEqual(t, a, sum(phone, "13800138001"))
	assert.NotEqual(t, a, sum(mk("citizen", "mobile", TransformFull, 0), "13800138000"), "per-column keys")
	assert.NotEqual(t, a, sum(mk("citizen2", "phone", TransformFull, 0), "13800138000"), "per-table keys")
	assert.NotEqual(t, a, sum(mk("citizen", "phone", TransformDigits, 0), "13800138000"), "per-transform keys")
	r2, err := NewIndexRoot(bytes.Repeat([]byte{8}, IndexRootSize))
	require.NoError(t, err)
	ix2, err := r2.Index(IndexSpec{Table: "citizen", Column: "phone", Transform: TransformFull})
	require.NoError(t, err)
	assert.NotEqual(t, a, sum(ix2, "13800138000"), "per-root keys")

	// Truncation is a prefix of the longer index under the same key.
	long := sum(mk("citizen", "phone", TransformFull, 32), "13800138000")
	assert.Equal(t, long[:16], sum(mk("citizen", "phone", TransformFull, 8), "13800138000"))
	assert.Equal(t, long[:32], a)

	last4 := mk("citizen", "phone", TransformLast4, 0)
	assert.Equal(t, sum(last4, "13800138000"), sum(last4, "8000"))

	raw, err := phone.Sum([]byte{0xee}, []byte("13800138000"))
	require.NoError(t, err)
	assert.Len(t, raw, 1+DefaultIndexSize)
	assert.Equal(t, byte(0xee), raw[0])
	_, err = phone.Sum(nil, []byte{0xff})
	assert.ErrorIs(t, err, ErrInvalidInput)
}

func TestIndexInvalidSpecs(t *testing.T) {
	r := testRoot(t)
	for _, spec := range []IndexSpec{
		{Table: "t", Column: "c", Transform: "full", Size: 7},
		{Table: "t", Column: "c", Transform: "full", Size: 33},
		{Table: "t", Column: "c", Transform: "soundex"},
		{Table: "t", Column: "c"},
	} {
		_, err := r.Index(spec)
		assert.ErrorIs(t, err, ErrInvalidInput, "%+v", spec)
	}
	_, err := r.Index(IndexSpec{Column: "c", Transform: "full"})
	assert.ErrorIs(t, err, ErrInvalidLocation)
	for _, n := range []int{0, 16, 31, 33} {
		_, err := NewIndexRoot(make([]byte, n))
		assert.ErrorIs(t, err, ErrInvalidKey)
	}
	_, err = ParseTransform("last4")
	assert.NoError(t, err)
}

func TestIndexConcurrent(t *testing.T) {
	ix, err := testRoot(t).Index(IndexSpec{Table: "t", Column: "c", Transform: TransformLower})
	require.NoError(t, err)
	want := map[int]string{}
	for i := range 50 {
		s, err := ix.SumHex(nil, fmt.Appendf(nil, "User%d@Example.CN", i))
		require.NoError(t, err)
		want[i] = string(s)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range 50 {
				s, err := ix.SumHex(nil, fmt.Appendf(nil, "user%d@example.cn", i))
				assert.NoError(t, err)
				assert.Equal(t, want[i], string(s))
			}
		})
	}
	wg.Wait()
}

// TestUnicodeTablesPinned fails when an upgrade of Go or golang.org/x/text
// changes the Unicode tables that blind-index normalization uses
// (docs/format.md §5): a different table could change stored indexes, so
// such an upgrade is a format change that must be made on purpose.
func TestUnicodeTablesPinned(t *testing.T) {
	assert.Equal(t, "15.0.0", norm.Version, "golang.org/x/text/unicode/norm (NFKC)")
	assert.Equal(t, "15.0.0", unicode.Version, "Go's unicode package (White_Space, case mappings)")
	// Digits keep ASCII 0-9 only: other scripts' digits that NFKC leaves
	// alone are dropped.
	out, err := TransformDigits.Normalize(nil, []byte("١٢٣ 45 ٤"))
	require.NoError(t, err)
	assert.Equal(t, "45", string(out))
}
