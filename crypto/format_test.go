package crypto

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/gmfield/gmfield/internal/verifier"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*-vectors*.json from the inputs in format_test.go")

// formatVector is one case of testdata/format-vectors.json (and of the
// version 1 file); docs/format.md §6 documents every field.
type formatVector struct {
	Comment   string `json:"comment"`
	DEKHex    string `json:"dek_hex"`
	DEKID     string `json:"dek_id"`
	Keyspace  string `json:"keyspace"`
	NonceHex  string `json:"nonce_hex"`
	Schema    string `json:"schema"`
	Table     string `json:"table"`
	Column    string `json:"column"`
	RowKey    string `json:"row_key"`
	Plaintext string `json:"plaintext"`
	AADHex    string `json:"aad_hex"`
	BinaryHex string `json:"binary_hex"`
	Text      string `json:"text"`
}

func (v formatVector) loc() Location {
	return Location{Keyspace: v.Keyspace, Schema: v.Schema, Table: v.Table, Column: v.Column, RowKey: v.RowKey}
}

// negativeVector is one case of testdata/negative-vectors.json: a stored
// value that must not open at the place given, and why.
type negativeVector struct {
	Comment     string `json:"comment"`
	DEKHex      string `json:"dek_hex"`
	DEKID       string `json:"dek_id"`
	DEKKeyspace string `json:"dek_keyspace"`
	Keyspace    string `json:"keyspace"`
	Schema      string `json:"schema"`
	Table       string `json:"table"`
	Column      string `json:"column"`
	RowKey      string `json:"row_key"`
	Input       string `json:"input,omitempty"`
	InputHex    string `json:"input_hex,omitempty"`
	Error       string `json:"error"`
}

// negativeErrors maps the vectors' error names to the sentinels.
var negativeErrors = map[string]error{
	"malformed":           ErrMalformed,
	"unsupported-version": ErrUnsupportedVersion,
	"key-mismatch":        ErrKeyMismatch,
	"authentication":      ErrAuthentication,
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

const (
	vecDEK1 = "0123456789abcdeffedcba9876543210"
	vecDEK2 = "8f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

func formatInputs() []formatVector {
	long := strings.Repeat("0123456789abcdef", 256)
	id64 := strings.Repeat("k", 32) + strings.Repeat("9", 32)
	return []formatVector{
		{Comment: "ASCII mobile number, no row key", DEKHex: vecDEK1, DEKID: "k0123456789abcdef", Keyspace: "citizen.phone", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "phone", Plaintext: "13800138000"},
		{Comment: "resident ID with a row key", DEKHex: vecDEK2, DEKID: "k00000000000000a1", Keyspace: "citizen.id_no", NonceHex: "0f0e0d0c0b0a090807060504", Table: "citizen", Column: "id_no", RowKey: "42", Plaintext: "11010519491231002X"},
		{Comment: "Chinese name with a row key", DEKHex: vecDEK2, DEKID: "k-2026-11", Keyspace: "citizen.name", NonceHex: "a1a2a3a4a5a6a7a8a9aaabac", Table: "citizen", Column: "name", RowKey: "1", Plaintext: "张三"},
		{Comment: "Chinese address in a table that declares schema public", DEKHex: vecDEK2, DEKID: "k-2026-12", Keyspace: "public.citizen.address", NonceHex: "5f5e5d5c5b5a595857565554", Schema: "public", Table: "citizen", Column: "address", Plaintext: "北京市海淀区中关村大街27号"},
		{Comment: "empty plaintext: only the tag", DEKHex: vecDEK1, DEKID: "k0123456789abcd00", Keyspace: "citizen.remark", NonceHex: "ffffffffffffffffffffffff", Table: "citizen", Column: "remark", Plaintext: ""},
		{Comment: "4 KiB value under a table keyspace", DEKHex: vecDEK2, DEKID: "bulk_1", Keyspace: "document.*", NonceHex: "000000000000000000000001", Table: "document", Column: "body", RowKey: "doc-0001", Plaintext: long},
		{Comment: "64-byte key id, e-mail address", DEKHex: vecDEK1, DEKID: id64, Keyspace: "citizen.email", NonceHex: "1234567890abcdef12345678", Table: "citizen", Column: "email", Plaintext: "zhangsan@example.gov.cn"},
		{Comment: "table keyspace citizen.*, column phone", DEKHex: vecDEK1, DEKID: "k0000000000000007", Keyspace: "citizen.*", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "phone", Plaintext: "13800138000"},
		{Comment: "same DEK, keyspace, value and nonce as the case before, column mobile: the AAD differs, so the tag differs", DEKHex: vecDEK1, DEKID: "k0000000000000007", Keyspace: "citizen.*", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "mobile", Plaintext: "13800138000"},
		{Comment: "tenant keyspace with a row key", DEKHex: vecDEK2, DEKID: "k00000000000acme1", Keyspace: "tenant/acme/citizen.phone", NonceHex: "0a0a0a0a0b0b0b0b0c0c0c0c", Table: "citizen", Column: "phone", RowKey: "7", Plaintext: "13912345678"},
		{Comment: "a key outside a key ring (empty keyspace); non-ASCII table, column and row key; full-width digits left as given", DEKHex: vecDEK2, DEKID: "k-2026-11", Keyspace: "", NonceHex: "00000000ffffffff00000000", Table: "户籍", Column: "电话", RowKey: "用户-0001", Plaintext: "１３８００１３８０００"},
		{Comment: "value with a NUL byte and an emoji", DEKHex: vecDEK1, DEKID: "k0123456789abcdef", Keyspace: "t.c", NonceHex: "0a0b0c0d0e0f000102030405", Table: "t", Column: "c", RowKey: "0", Plaintext: "a\x00b 👍"},
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
		{Comment: "lower is the simple mapping: U+0130 becomes i, not i + U+0307", RootHex: root2, Table: "citizen", Column: "email", Transform: "lower", Value: "İSTANBUL@GOV.TR"},
		{Comment: "upper is the simple mapping: ß stays, U+1FB3 becomes U+1FBC, not SS and ΑΙ", RootHex: root2, Table: "citizen", Column: "name", Transform: "upper", Value: "straße ᾳ"},
		{Comment: "lower of final sigma is σ (no context), Cyrillic and full-width letters", RootHex: root2, Table: "citizen", Column: "name", Transform: "lower", Value: "ΟΔΟΣ Ж ＡＢ"},
		{Comment: "digits keeps ASCII 0-9 only: Arabic-Indic and Devanagari digits are dropped, full-width ones are NFKC-folded first", RootHex: root, Table: "citizen", Column: "phone", Transform: "digits", Value: "١٢٣ १२३ １２３ 456"},
	}
}

func vectorKey(t testing.TB, v formatVector) *Key {
	t.Helper()
	key, err := NewKey(v.DEKID, v.Keyspace, SM4GCM, unhex(t, v.DEKHex))
	require.NoError(t, err)
	return key
}

func TestFormatVectors(t *testing.T) {
	path := "testdata/format-vectors.json"
	if *update {
		var out []formatVector
		for _, v := range formatInputs() {
			key := vectorKey(t, v)
			bin, err := key.seal(nil, getScratch(), v.loc(), []byte(v.Plaintext), unhex(t, v.NonceHex))
			require.NoError(t, err)
			e, err := Parse(bin)
			require.NoError(t, err)
			v.AADHex = hex.EncodeToString(appendAAD(nil, e.header, v.loc()))
			v.BinaryHex = hex.EncodeToString(bin)
			v.Text = string(appendText(nil, bin))
			out = append(out, v)
		}
		writeJSON(t, path, out)
	}
	var vs []formatVector
	loadJSON(t, path, &vs)
	require.GreaterOrEqual(t, len(vs), 12)
	for i, v := range vs {
		key := vectorKey(t, v)
		loc := v.loc()
		nonce := unhex(t, v.NonceHex)

		bin, err := key.seal(nil, getScratch(), loc, []byte(v.Plaintext), nonce)
		require.NoError(t, err)
		assert.Equal(t, v.BinaryHex, hex.EncodeToString(bin), "case %d (%s): binary form", i, v.Comment)
		text, err := key.sealText(nil, loc, []byte(v.Plaintext), nonce)
		require.NoError(t, err)
		assert.Equal(t, v.Text, string(text), "case %d: text form", i)
		assert.True(t, strings.HasPrefix(v.Text, TextPrefix), "case %d: gmf2", i)

		e, err := Parse(unhex(t, v.BinaryHex))
		require.NoError(t, err)
		assert.Equal(t, Version2, e.Version)
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
	// The worked example of docs/format.md §4.2.
	assert.True(t, strings.HasPrefix(vs[0].AADHex, "676d6669656c643a6161643a7632"+"0201116b30313233343536373839616263646566"+"0000000d636974697a656e2e70686f6e65"+"00000000"))
	// Two columns under one table keyspace, same nonce: different tags.
	assert.NotEqual(t, vs[7].BinaryHex, vs[8].BinaryHex)
}

// TestFormatVectorsV1 opens the values earlier releases wrote (version 1,
// "gmf1:"): they stay readable where no schema is declared, under the
// keyspace check (docs/format.md §4.1).
func TestFormatVectorsV1(t *testing.T) {
	path := "testdata/format-vectors-v1.json"
	if *update {
		var vs []formatVector
		loadJSON(t, path, &vs)
		for i := range vs {
			v := &vs[i]
			require.Empty(t, v.Schema)
			if v.Keyspace == "" && v.Table == "citizen" {
				v.Keyspace = "citizen." + v.Column
			}
			key := vectorKey(t, *v)
			bin := sealV1(t, key, v.loc(), []byte(v.Plaintext), unhex(t, v.NonceHex))
			require.Equal(t, v.BinaryHex, hex.EncodeToString(bin), "version 1 bytes must not change")
			v.AADHex = hex.EncodeToString(appendAAD(nil, bin[:fixedHeaderLen+len(v.DEKID)], v.loc()))
		}
		writeJSON(t, path, vs)
	}
	var vs []formatVector
	loadJSON(t, path, &vs)
	require.GreaterOrEqual(t, len(vs), 8)
	for i, v := range vs {
		key := vectorKey(t, v)
		loc := v.loc()
		bin := sealV1(t, key, loc, []byte(v.Plaintext), unhex(t, v.NonceHex))
		assert.Equal(t, v.BinaryHex, hex.EncodeToString(bin), "case %d", i)
		assert.Equal(t, v.Text, string(appendText(nil, bin)), "case %d", i)
		assert.True(t, strings.HasPrefix(v.Text, TextPrefixV1))
		e, err := Parse(bin)
		require.NoError(t, err)
		assert.Equal(t, Version1, e.Version)
		assert.Equal(t, v.AADHex, hex.EncodeToString(appendAAD(nil, e.header, loc)), "case %d: AAD", i)
		pt, err := OpenText(nil, key, loc, []byte(v.Text))
		require.NoError(t, err, "case %d", i)
		assert.Equal(t, v.Plaintext, string(pt))

		// Not where a schema is declared, and not through a DEK of another keyspace.
		withSchema := loc
		withSchema.Schema = "public"
		_, err = OpenText(nil, key, withSchema, []byte(v.Text))
		assert.ErrorIs(t, err, ErrUnsupportedVersion, "case %d", i)
		elsewhere := loc
		elsewhere.Keyspace = "other.col"
		_, err = OpenText(nil, key, elsewhere, []byte(v.Text))
		assert.ErrorIs(t, err, ErrKeyMismatch, "case %d", i)
	}
}

// negativeInputs builds the negative vectors: each value is stored text
// or bytes that a reader must refuse, for the reason given.
func negativeInputs(t testing.TB) []negativeVector {
	phone := formatVector{DEKHex: vecDEK1, DEKID: "k0123456789abcdef", Keyspace: "citizen.phone", NonceHex: "000102030405060708090a0b", Table: "citizen", Column: "phone", RowKey: "7", Plaintext: "13800138000"}
	key := vectorKey(t, phone)
	bin, err := key.seal(nil, getScratch(), phone.loc(), []byte(phone.Plaintext), unhex(t, phone.NonceHex))
	require.NoError(t, err)
	text := string(appendText(nil, bin))
	body := text[len(TextPrefix):]
	at := func(c negativeVector) negativeVector {
		c.DEKHex, c.DEKID = vecDEK1, phone.DEKID
		if c.DEKKeyspace == "" {
			c.DEKKeyspace = phone.Keyspace
		}
		if c.Keyspace == "" {
			c.Keyspace = phone.Keyspace
		}
		if c.Table == "" {
			c.Table, c.Column = phone.Table, phone.Column
		}
		if c.RowKey == "" {
			c.RowKey = phone.RowKey
		}
		return c
	}
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		return c
	}
	// A well-formed value under a key id that breaks the rules, sealed
	// with the same DEK: the reader must reject the id before any lookup.
	badID := func(id string) string {
		h := append([]byte{Version2, byte(SM4GCM), byte(len(id))}, id...)
		nonce := unhex(t, phone.NonceHex)
		env := append(append([]byte(nil), h...), nonce...)
		env = key.aead.Seal(env, nonce, []byte(phone.Plaintext), appendAAD(nil, h, phone.loc()))
		return string(appendText(nil, env))
	}
	// The same DEK, leaked, used by an attacker to seal a value for
	// another place and keyspace.
	forger, err := NewKey(phone.DEKID, "other.col", SM4GCM, unhex(t, vecDEK1))
	require.NoError(t, err)
	forged, err := forger.seal(nil, getScratch(), Location{Keyspace: "other.col", Table: "other", Column: "col", RowKey: "7"}, []byte("13800138000"), unhex(t, phone.NonceHex))
	require.NoError(t, err)
	v1 := sealV1(t, key, phone.loc(), []byte(phone.Plaintext), unhex(t, phone.NonceHex))
	downgraded := append([]byte{Version1}, bin[1:]...)
	// The last character before "=" carries two padding bits, zero in the
	// canonical form; set the lower one.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	require.True(t, strings.HasSuffix(body, "=") && !strings.HasSuffix(body, "=="))
	last := strings.IndexByte(alphabet, body[len(body)-2])
	require.Zero(t, last&3)
	nonZeroPad := body[:len(body)-2] + string(alphabet[last|1]) + "="
	return []negativeVector{
		at(negativeVector{Comment: "prefix of an unknown version", Input: "gmf3:" + body, Error: "malformed"}),
		at(negativeVector{Comment: "upper-case prefix", Input: "GMF2:" + body, Error: "malformed"}),
		at(negativeVector{Comment: "gmf1: prefix on a version 2 body", Input: TextPrefixV1 + body, Error: "malformed"}),
		at(negativeVector{Comment: "non-zero padding bits", Input: TextPrefix + nonZeroPad, Error: "malformed"}),
		at(negativeVector{Comment: "padding removed", Input: TextPrefix + strings.TrimRight(body, "="), Error: "malformed"}),
		at(negativeVector{Comment: "line break inside", Input: TextPrefix + body[:8] + "\n" + body[8:], Error: "malformed"}),
		at(negativeVector{Comment: "URL-safe alphabet", Input: TextPrefix + strings.NewReplacer("+", "-", "/", "_").Replace(body) + "-_", Error: "malformed"}),
		at(negativeVector{Comment: "key id in upper case", Input: badID("K0123456789ABCDEF"), Error: "malformed"}),
		at(negativeVector{Comment: "reserved key id index-root", Input: badID("index-root"), Error: "malformed"}),
		at(negativeVector{Comment: "key id ..", Input: badID(".."), Error: "malformed"}),
		at(negativeVector{Comment: "shorter than a header, nonce and tag", InputHex: hex.EncodeToString(bin[:3+len(phone.DEKID)+NonceSize+TagSize-1]), Error: "malformed"}),
		at(negativeVector{Comment: "version byte 0x03", InputHex: hex.EncodeToString(append([]byte{3}, bin[1:]...)), Error: "unsupported-version"}),
		at(negativeVector{Comment: "a version 1 value where a schema is declared", Input: string(appendText(nil, v1)), Schema: "public", Error: "unsupported-version"}),
		at(negativeVector{Comment: "the value read at another place, whose keyspace is not the DEK's", Input: text, Keyspace: "citizen.id_no", Table: "citizen", Column: "id_no", Error: "key-mismatch"}),
		at(negativeVector{Comment: "a forged value: the leaked citizen.phone DEK sealed a value for other.col; the reader at other.col finds a DEK of keyspace citizen.phone", Input: string(appendText(nil, forged)), Keyspace: "other.col", Table: "other", Column: "col", Error: "key-mismatch"}),
		at(negativeVector{Comment: "a version 1 value read at another keyspace", Input: string(appendText(nil, v1)), Keyspace: "citizen.id_no", Table: "citizen", Column: "id_no", Error: "key-mismatch"}),
		at(negativeVector{Comment: "the value read in another schema", Input: text, Schema: "other", Error: "authentication"}),
		at(negativeVector{Comment: "the value read at another row", Input: text, RowKey: "8", Error: "authentication"}),
		at(negativeVector{Comment: "the DEK record claims another keyspace and the reader's place maps to it too", Input: text, DEKKeyspace: "citizen.mobile", Keyspace: "citizen.mobile", Error: "authentication"}),
		at(negativeVector{Comment: "version byte downgraded to 1", InputHex: hex.EncodeToString(downgraded), Error: "authentication"}),
		at(negativeVector{Comment: "last tag bit flipped", InputHex: hex.EncodeToString(flip(bin, len(bin)-1)), Error: "authentication"}),
		at(negativeVector{Comment: "first ciphertext bit flipped", InputHex: hex.EncodeToString(flip(bin, 3+len(phone.DEKID)+NonceSize)), Error: "authentication"}),
		at(negativeVector{Comment: "nonce bit flipped", InputHex: hex.EncodeToString(flip(bin, 3+len(phone.DEKID))), Error: "authentication"}),
	}
}

func TestNegativeVectors(t *testing.T) {
	path := "testdata/negative-vectors.json"
	if *update {
		writeJSON(t, path, negativeInputs(t))
	}
	var vs []negativeVector
	loadJSON(t, path, &vs)
	require.GreaterOrEqual(t, len(vs), 20)
	seen := map[string]bool{}
	for i, v := range vs {
		want := negativeErrors[v.Error]
		require.NotNil(t, want, "case %d: unknown error %q", i, v.Error)
		seen[v.Error] = true
		key, err := NewKey(v.DEKID, v.DEKKeyspace, SM4GCM, unhex(t, v.DEKHex))
		require.NoError(t, err)
		loc := Location{Keyspace: v.Keyspace, Schema: v.Schema, Table: v.Table, Column: v.Column, RowKey: v.RowKey}
		var pt []byte
		if v.InputHex != "" {
			pt, err = Open(nil, key, loc, unhex(t, v.InputHex))
		} else {
			pt, err = OpenText(nil, key, loc, []byte(v.Input))
		}
		assert.Nil(t, pt, "case %d", i)
		assert.ErrorIs(t, err, want, "case %d (%s): %v", i, v.Comment, err)
		for name, other := range negativeErrors {
			if name != v.Error {
				assert.False(t, errors.Is(err, other), "case %d (%s): also %s", i, v.Comment, name)
			}
		}
	}
	assert.Len(t, seen, len(negativeErrors), "every error class has a vector")
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

// TestFormatVectorsIndependently opens every format vector (both
// versions), refuses every negative vector for its reason, and recomputes
// every index vector with Python's cryptography package (OpenSSL), from
// docs/format.md alone: testdata/verify_vectors.py shares no code with Go.
func TestFormatVectorsIndependently(t *testing.T) {
	out := verifier.Run(t, "testdata/verify_vectors.py", false, "testdata/format-vectors.json", "testdata/index-vectors.json",
		"testdata/format-vectors-v1.json", "testdata/negative-vectors.json")
	assert.Contains(t, out, "all vectors verified")
	t.Logf("%s", out)
}

// The base64 of the negative vectors is checked by encoding/base64 too,
// so that a vector meant to be non-canonical really is.
func TestNegativeVectorsAreNonCanonical(t *testing.T) {
	var vs []negativeVector
	loadJSON(t, "testdata/negative-vectors.json", &vs)
	for _, v := range vs {
		if !strings.Contains(v.Comment, "padding bits") {
			continue
		}
		body := v.Input[len(TextPrefix):]
		_, err := base64.StdEncoding.Strict().DecodeString(body)
		assert.Error(t, err, "strict base64 refuses non-zero padding bits")
	}
}
