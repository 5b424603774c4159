package crypto

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*-vectors.json from the inputs in format_test.go")

// formatVector is one case of testdata/format-vectors.json; docs/format.md
// documents every field.
type formatVector struct {
	Comment   string `json:"comment"`
	DEKHex    string `json:"dek_hex"`
	DEKID     string `json:"dek_id"`
	NonceHex  string `json:"nonce_hex"`
	Table     string `json:"table"`
	Column    string `json:"column"`
	RowKey    string `json:"row_key"`
	Plaintext string `json:"plaintext"`
	AADHex    string `json:"aad_hex"`
	BinaryHex string `json:"binary_hex"`
	Text      string `json:"text"`
}

// indexVector is one case of testdata/index-vectors.json.
type indexVector struct {
	Comment    string `json:"comment"`
	RootHex    string `json:"root_hex"`
	Table      string `json:"table"`
	Column     string `json:"column"`
	Transform  string `json:"transform"`
	Size       int    `json:"size"`
	Value      string `json:"value"`
	InfoHex    string `json:"info_hex"`
	KeyHex     string `json:"key_hex"`
	Normalized string `json:"normalized"`
	IndexHex   string `json:"index_hex"`
}

func formatInputs() []formatVector {
	const dek1 = "0123456789abcdeffedcba9876543210"
	const dek2 = "8f1e2d3c4b5a69788796a5b4c3d2e1f0"
	long := strings.Repeat("0123456789abcdef", 256)
	id64 := strings.Repeat("k", 32) + strings.Repeat("9", 32)
	return []formatVector{
		{Comment: "ASCII mobile number, no row key", DEKHex: dek1, DEKID: "citizen.phone:1", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "phone", Plaintext: "13800138000"},
		{Comment: "resident ID with a row key", DEKHex: dek1, DEKID: "citizen.phone:1", NonceHex: "0f0e0d0c0b0a090807060504", Table: "citizen", Column: "id_no", RowKey: "42", Plaintext: "11010519491231002X"},
		{Comment: "Chinese name with a row key", DEKHex: dek2, DEKID: "k-2026-11", NonceHex: "a1a2a3a4a5a6a7a8a9aaabac", Table: "citizen", Column: "name", RowKey: "1", Plaintext: "张三"},
		{Comment: "Chinese address, no row key", DEKHex: dek2, DEKID: "k-2026-11", NonceHex: "5f5e5d5c5b5a595857565554", Table: "citizen", Column: "address", Plaintext: "北京市海淀区中关村大街27号"},
		{Comment: "empty plaintext: only the tag", DEKHex: dek1, DEKID: "citizen.phone:1", NonceHex: "ffffffffffffffffffffffff", Table: "citizen", Column: "remark", Plaintext: ""},
		{Comment: "4 KiB value", DEKHex: dek2, DEKID: "bulk_1", NonceHex: "000000000000000000000001", Table: "document", Column: "body", RowKey: "doc-0001", Plaintext: long},
		{Comment: "64-byte key id, e-mail address", DEKHex: dek1, DEKID: id64, NonceHex: "1234567890abcdef12345678", Table: "citizen", Column: "email", Plaintext: "zhangsan@example.gov.cn"},
		{Comment: "same value and nonce as case 1 but another column: the AAD differs, so the tag differs", DEKHex: dek1, DEKID: "citizen.phone:1", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "mobile", Plaintext: "13800138000"},
		{Comment: "non-ASCII row key and full-width digits left as given", DEKHex: dek2, DEKID: "k-2026-11", NonceHex: "00000000ffffffff00000000", Table: "户籍", Column: "电话", RowKey: "用户-0001", Plaintext: "１３８００１３８０００"},
		{Comment: "value with a NUL byte and an emoji", DEKHex: dek1, DEKID: "citizen.phone:1", NonceHex: "0a0b0c0d0e0f000102030405", Table: "t", Column: "c", RowKey: "0", Plaintext: "a\x00b 👍"},
	}
}

func indexInputs() []indexVector {
	const root = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	const root2 = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
	return []indexVector{
		{Comment: "mobile, full", RootHex: root, Table: "citizen", Column: "phone", Transform: "full", Value: "13800138000"},
		{Comment: "full-width digits and spaces normalize to the same index as case 1", RootHex: root, Table: "citizen", Column: "phone", Transform: "full", Value: " １３８００１３８０００ "},
		{Comment: "digits: separators and +86 dropped", RootHex: root, Table: "citizen", Column: "phone", Transform: "digits", Value: "+86 138-0013-8000"},
		{Comment: "last4", RootHex: root, Table: "citizen", Column: "phone", Transform: "last4", Value: "138 0013 8000"},
		{Comment: "last4 with fewer than four digits", RootHex: root, Table: "citizen", Column: "phone", Transform: "last4", Value: "12"},
		{Comment: "resident ID, upper", RootHex: root, Table: "citizen", Column: "id_no", Transform: "upper", Value: "11010519491231002x"},
		{Comment: "e-mail, lower", RootHex: root2, Table: "citizen", Column: "email", Transform: "lower", Value: "ZhangSan@Example.GOV.cn"},
		{Comment: "Chinese name, full, 32-byte index", RootHex: root2, Table: "citizen", Column: "name", Transform: "full", Size: 32, Value: "张三"},
		{Comment: "8-byte index of an empty value", RootHex: root2, Table: "citizen", Column: "remark", Transform: "full", Size: 8, Value: ""},
	}
}

func TestFormatVectors(t *testing.T) {
	path := "testdata/format-vectors.json"
	if *update {
		var out []formatVector
		for _, v := range formatInputs() {
			key, err := NewKey(v.DEKID, SM4GCM, unhex(t, v.DEKHex))
			require.NoError(t, err)
			loc := Location{Table: v.Table, Column: v.Column, RowKey: v.RowKey}
			bin, _, err := key.seal(nil, nil, loc, []byte(v.Plaintext), unhex(t, v.NonceHex))
			require.NoError(t, err)
			e, err := Parse(bin)
			require.NoError(t, err)
			v.AADHex = hex.EncodeToString(appendAAD(nil, e.header, loc))
			v.BinaryHex = hex.EncodeToString(bin)
			v.Text = string(appendText(nil, bin))
			out = append(out, v)
		}
		writeJSON(t, path, out)
	}
	var vs []formatVector
	loadJSON(t, path, &vs)
	require.GreaterOrEqual(t, len(vs), 8)
	for i, v := range vs {
		key, err := NewKey(v.DEKID, SM4GCM, unhex(t, v.DEKHex))
		require.NoError(t, err, "case %d", i)
		loc := Location{Table: v.Table, Column: v.Column, RowKey: v.RowKey}
		nonce := unhex(t, v.NonceHex)

		bin, _, err := key.seal(nil, nil, loc, []byte(v.Plaintext), nonce)
		require.NoError(t, err)
		assert.Equal(t, v.BinaryHex, hex.EncodeToString(bin), "case %d (%s): binary form", i, v.Comment)
		text, err := key.sealText(nil, loc, []byte(v.Plaintext), nonce)
		require.NoError(t, err)
		assert.Equal(t, v.Text, string(text), "case %d: text form", i)

		e, err := Parse(unhex(t, v.BinaryHex))
		require.NoError(t, err)
		assert.Equal(t, v.DEKID, e.KeyID)
		assert.Equal(t, v.NonceHex, hex.EncodeToString(e.Nonce))
		assert.Equal(t, v.AADHex, hex.EncodeToString(appendAAD(nil, e.header, loc)), "case %d: AAD", i)

		pt, err := Open(nil, key, loc, unhex(t, v.BinaryHex))
		require.NoError(t, err, "case %d", i)
		assert.Equal(t, v.Plaintext, string(pt))
		pt, err = OpenText(nil, key, loc, []byte(v.Text))
		require.NoError(t, err, "case %d", i)
		assert.Equal(t, v.Plaintext, string(pt))
	}
}

func TestIndexVectors(t *testing.T) {
	path := "testdata/index-vectors.json"
	if *update {
		var out []indexVector
		for _, v := range indexInputs() {
			root, err := NewIndexRoot(unhex(t, v.RootHex))
			require.NoError(t, err)
			ix, err := root.Index(IndexSpec{Table: v.Table, Column: v.Column, Transform: Transform(v.Transform), Size: v.Size})
			require.NoError(t, err)
			v.Size = ix.Spec().Size
			v.InfoHex = hex.EncodeToString([]byte(indexInfo(ix.Spec())))
			v.KeyHex = hex.EncodeToString(derivedKey(t, root, ix.Spec()))
			n, err := Transform(v.Transform).Normalize(nil, []byte(v.Value))
			require.NoError(t, err)
			v.Normalized = string(n)
			sum, err := ix.SumHex(nil, []byte(v.Value))
			require.NoError(t, err)
			v.IndexHex = string(sum)
			out = append(out, v)
		}
		writeJSON(t, path, out)
	}
	var vs []indexVector
	loadJSON(t, path, &vs)
	require.GreaterOrEqual(t, len(vs), 8)
	for i, v := range vs {
		root, err := NewIndexRoot(unhex(t, v.RootHex))
		require.NoError(t, err)
		ix, err := root.Index(IndexSpec{Table: v.Table, Column: v.Column, Transform: Transform(v.Transform), Size: v.Size})
		require.NoError(t, err)
		assert.Equal(t, v.InfoHex, hex.EncodeToString([]byte(indexInfo(ix.Spec()))), "case %d: info", i)
		assert.Equal(t, v.KeyHex, hex.EncodeToString(derivedKey(t, root, ix.Spec())), "case %d: key", i)
		n, err := Transform(v.Transform).Normalize(nil, []byte(v.Value))
		require.NoError(t, err)
		assert.Equal(t, v.Normalized, string(n), "case %d: normalized", i)
		sum, err := ix.SumHex(nil, []byte(v.Value))
		require.NoError(t, err)
		assert.Equal(t, v.IndexHex, string(sum), "case %d (%s)", i, v.Comment)
		assert.Len(t, v.IndexHex, 2*v.Size)
	}
	// The full-width spelling of case 0 must index the same.
	assert.Equal(t, vs[0].IndexHex, vs[1].IndexHex)
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}

// TestFormatVectorsIndependently opens every format vector and recomputes
// every index vector with Python's cryptography package (OpenSSL), from
// docs/format.md alone: testdata/verify_vectors.py shares no code with Go.
func TestFormatVectorsIndependently(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: independent check skipped")
	}
	if err := exec.Command(py, "-c", "import cryptography.hazmat.primitives.ciphers.aead").Run(); err != nil {
		t.Skip("python3 has no cryptography package: independent check skipped")
	}
	out, err := exec.Command(py, "testdata/verify_vectors.py", "testdata/format-vectors.json", "testdata/index-vectors.json").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "all vectors verified")
	t.Logf("%s", out)
}
