package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey(t testing.TB, id string) *Key {
	t.Helper()
	k, err := NewKey(id, "", SM4GCM, bytes.Repeat([]byte{0x42}, KeySize))
	require.NoError(t, err)
	return k
}

var phoneLoc = Location{Table: "citizen", Column: "phone", RowKey: "7"}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, "dek-1")
	for _, pt := range []string{"", "1", "13800138000", "张三", strings.Repeat("北京", 2048), "\x00\xff binary"} {
		bin, err := k.Seal(nil, phoneLoc, []byte(pt))
		require.NoError(t, err)
		assert.Len(t, bin, BinaryLen(len("dek-1"), len(pt)))
		got, err := Open(nil, k, phoneLoc, bin)
		require.NoError(t, err)
		assert.Equal(t, pt, string(got))

		txt, err := k.SealText(nil, phoneLoc, []byte(pt))
		require.NoError(t, err)
		assert.Len(t, txt, TextLen(len("dek-1"), len(pt)))
		assert.True(t, IsText(txt))
		got, err = OpenText(nil, k, phoneLoc, txt)
		require.NoError(t, err)
		assert.Equal(t, pt, string(got))
	}
}

func TestSealAppendsAndUsesFreshNonces(t *testing.T) {
	k := testKey(t, "dek-1")
	prefix := []byte("keep:")
	out, err := k.Seal(prefix, phoneLoc, []byte("13800138000"))
	require.NoError(t, err)
	assert.Equal(t, "keep:", string(out[:5]))
	got, err := Open([]byte("pt:"), k, phoneLoc, out[5:])
	require.NoError(t, err)
	assert.Equal(t, "pt:13800138000", string(got))

	seen := map[string]bool{}
	for range 1000 {
		b, err := k.Seal(nil, phoneLoc, []byte("same"))
		require.NoError(t, err)
		e, err := Parse(b)
		require.NoError(t, err)
		require.False(t, seen[string(e.Nonce)], "nonce repeated")
		seen[string(e.Nonce)] = true
	}
}

func TestEveryBitFlipIsRejected(t *testing.T) {
	k := testKey(t, "dek-1")
	bin, err := k.Seal(nil, phoneLoc, []byte("11010519491231002X"))
	require.NoError(t, err)
	for i := range len(bin) * 8 {
		mut := bytes.Clone(bin)
		mut[i/8] ^= 1 << (i % 8)
		_, err := Open(nil, k, phoneLoc, mut)
		require.Error(t, err, "bit %d", i)
		require.True(t, errors.Is(err, ErrAuthentication) || errors.Is(err, ErrMalformed) ||
			errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrUnsupportedAlgorithm) ||
			errors.Is(err, ErrKeyNotFound), "bit %d: untyped error %v", i, err)
	}
	txt, err := k.SealText(nil, phoneLoc, []byte("11010519491231002X"))
	require.NoError(t, err)
	for i := range len(txt) * 8 {
		mut := bytes.Clone(txt)
		mut[i/8] ^= 1 << (i % 8)
		got, err := OpenText(nil, k, phoneLoc, mut)
		require.Error(t, err, "text bit %d opened to %q", i, got)
	}
}

func TestOpenElsewhereIsRejected(t *testing.T) {
	k := testKey(t, "dek-1")
	bin, err := k.Seal(nil, phoneLoc, []byte("13800138000"))
	require.NoError(t, err)
	for name, loc := range map[string]Location{
		"other table":   {Table: "citizen2", Column: "phone", RowKey: "7"},
		"other column":  {Table: "citizen", Column: "mobile", RowKey: "7"},
		"other row":     {Table: "citizen", Column: "phone", RowKey: "8"},
		"no row key":    {Table: "citizen", Column: "phone"},
		"shifted bytes": {Table: "citizenp", Column: "hone", RowKey: "7"},
		"case":          {Table: "Citizen", Column: "phone", RowKey: "7"},
	} {
		_, err := Open(nil, k, loc, bin)
		assert.ErrorIs(t, err, ErrAuthentication, name)
	}
	// Same id, other key material.
	other, err := NewKey("dek-1", "", SM4GCM, bytes.Repeat([]byte{0x43}, KeySize))
	require.NoError(t, err)
	_, err = Open(nil, other, phoneLoc, bin)
	assert.ErrorIs(t, err, ErrAuthentication)
	// Unknown id.
	_, err = Open(nil, testKey(t, "dek-2"), phoneLoc, bin)
	assert.ErrorIs(t, err, ErrKeyNotFound)
	assert.Contains(t, err.Error(), "dek-1")
	assert.Contains(t, err.Error(), "citizen.phone")
}

func TestMalformedInput(t *testing.T) {
	k := testKey(t, "dek-1")
	bin, err := k.Seal(nil, phoneLoc, []byte("13800138000"))
	require.NoError(t, err)
	txt, err := k.SealText(nil, phoneLoc, []byte("13800138000"))
	require.NoError(t, err)

	binCases := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrMalformed},
		{"one byte", []byte{1}, ErrMalformed},
		{"version 0", append([]byte{0}, bin[1:]...), ErrUnsupportedVersion},
		{"version 3", append([]byte{3}, bin[1:]...), ErrUnsupportedVersion},
		{"downgraded to version 1", append([]byte{1}, bin[1:]...), ErrAuthentication},
		{"AES reserved", append([]byte{2, 2}, bin[2:]...), ErrUnsupportedAlgorithm},
		{"algorithm 0", append([]byte{2, 0}, bin[2:]...), ErrUnsupportedAlgorithm},
		{"key id length 0", append([]byte{2, 1, 0}, bin[3:]...), ErrMalformed},
		{"key id length 65", append([]byte{2, 1, 65}, bytes.Repeat([]byte("a"), 100)...), ErrMalformed},
		{"key id byte", append([]byte{2, 1, 5, 'd', 'e', 'k', ' ', '1'}, bin[8:]...), ErrMalformed},
		{"key id upper case", append([]byte{2, 1, 5, 'D', 'e', 'k', '-', '1'}, bin[8:]...), ErrMalformed},
		{"key id reserved", append(append([]byte{2, 1, 10}, "index-root"...), bin[8:]...), ErrMalformed},
		{"key id ..", append([]byte{2, 1, 2, '.', '.'}, bin[8:]...), ErrMalformed},
		{"key id longer than data", []byte{2, 1, 60, 'a', 'b'}, ErrMalformed},
		{"no tag", bin[:3+5+NonceSize+TagSize-1], ErrMalformed},
		{"truncated by one", bin[:len(bin)-1], ErrAuthentication},
		{"extended by one", append(bytes.Clone(bin), 0), ErrAuthentication},
		{"garbage", bytes.Repeat([]byte{0xa5}, 64), ErrUnsupportedVersion},
		{"text given as binary", txt, ErrUnsupportedVersion},
	}
	for _, c := range binCases {
		_, err := Open(nil, k, phoneLoc, c.in)
		assert.ErrorIs(t, err, c.want, c.name)
	}

	body := string(txt[len(TextPrefix):])
	textCases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"prefix only", TextPrefix, ErrMalformed},
		{"no prefix", body, ErrMalformed},
		{"other prefix", "gmf3:" + body, ErrMalformed},
		{"version 1 prefix on a version 2 value", TextPrefixV1 + body, ErrMalformed},
		{"upper-case prefix", "GMF2:" + body, ErrMalformed},
		{"line break", TextPrefix + body[:8] + "\n" + body[8:], ErrMalformed},
		{"CRLF at end", TextPrefix + body + "\r\n", ErrMalformed},
		{"space", " " + TextPrefix + body, ErrMalformed},
		{"padding removed", TextPrefix + strings.TrimRight(body, "="), ErrMalformed},
		{"url alphabet", TextPrefix + strings.NewReplacer("+", "-", "/", "_").Replace(body) + "-_", ErrMalformed},
		{"truncated", string(txt[:len(txt)-4]), ErrAuthentication},
		{"extended after padding", string(txt) + "AAAA", ErrMalformed},
		{"garbage", TextPrefix + "!!!!", ErrMalformed},
		{"binary given as text", string(bin), ErrMalformed},
	}
	for _, c := range textCases {
		_, err := OpenText(nil, k, phoneLoc, []byte(c.in))
		assert.ErrorIs(t, err, c.want, c.name)
	}
}

func TestInvalidArguments(t *testing.T) {
	k := testKey(t, "dek-1")
	for _, loc := range []Location{{}, {Table: "t"}, {Column: "c"}} {
		_, err := k.Seal(nil, loc, []byte("x"))
		assert.ErrorIs(t, err, ErrInvalidLocation)
		_, err = Open(nil, k, loc, []byte("x"))
		assert.ErrorIs(t, err, ErrInvalidLocation)
	}
	_, err := k.Seal(nil, phoneLoc, make([]byte, MaxPlaintextSize+1))
	assert.ErrorIs(t, err, ErrTooLarge)

	for _, id := range []string{"", strings.Repeat("a", 65), "a b", "a/b", "密钥", "a\x00", ".", "..", ".hidden", "-x", "Dek-1", "index-root", "index-root-0123", "index-rootx"} {
		_, err := NewKey(id, "", SM4GCM, make([]byte, KeySize))
		assert.ErrorIs(t, err, ErrInvalidKey, "id %q", id)
	}
	for _, n := range []int{0, 15, 17, 32} {
		_, err := NewKey("k", "", SM4GCM, make([]byte, n))
		assert.ErrorIs(t, err, ErrInvalidKey, "size %d", n)
	}
	_, err = NewKey("k", "", AES256GCM, make([]byte, 32))
	assert.ErrorIs(t, err, ErrUnsupportedAlgorithm)
	_, err = Envelope{}.Open(nil, k, phoneLoc)
	assert.ErrorIs(t, err, ErrMalformed)
}

type nilKeySource struct{}

func (nilKeySource) Key(string) (*Key, error) { return nil, nil }

func TestKeySourceMisbehaving(t *testing.T) {
	k := testKey(t, "dek-1")
	bin, err := k.Seal(nil, phoneLoc, []byte("x"))
	require.NoError(t, err)
	_, err = Open(nil, nilKeySource{}, phoneLoc, bin)
	assert.ErrorIs(t, err, ErrKeyNotFound)
	// A source that answers with a key of another id is not trusted.
	_, err = Open(nil, keyFunc(func(string) (*Key, error) { return testKey(t, "dek-2"), nil }), phoneLoc, bin)
	assert.ErrorIs(t, err, ErrKeyNotFound)
	boom := errors.New("vault sealed")
	_, err = Open(nil, keyFunc(func(string) (*Key, error) { return nil, boom }), phoneLoc, bin)
	assert.ErrorIs(t, err, boom)
}

type keyFunc func(string) (*Key, error)

func (f keyFunc) Key(id string) (*Key, error) { return f(id) }

func TestParseExposesHeader(t *testing.T) {
	k := testKey(t, "citizen.phone:3")
	txt, err := k.SealText(nil, phoneLoc, []byte("13800138000"))
	require.NoError(t, err)
	e, err := ParseText(txt)
	require.NoError(t, err)
	assert.Equal(t, Version2, e.Version)
	assert.Equal(t, SM4GCM, e.Algorithm)
	assert.Equal(t, "SM4-GCM", e.Algorithm.String())
	assert.Equal(t, "citizen.phone:3", e.KeyID)
	assert.Len(t, e.Nonce, NonceSize)
	assert.Len(t, e.Ciphertext, len("13800138000")+TagSize)
	pt, err := e.Open(nil, k, phoneLoc)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(pt))
}

func TestConcurrentSealOpen(t *testing.T) {
	k := testKey(t, "dek-1")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				loc := Location{Table: "t", Column: "c", RowKey: fmt.Sprint(g, "-", i)}
				pt := fmt.Sprintf("value %d/%d 张三", g, i)
				txt, err := k.SealText(nil, loc, []byte(pt))
				if err != nil {
					errs <- err
					return
				}
				got, err := OpenText(nil, k, loc, txt)
				if err != nil || string(got) != pt {
					errs <- fmt.Errorf("goroutine %d value %d: %q %v", g, i, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestKeyspaceBinding: a DEK seals and opens only the values of its own
// keyspace, and the keyspace and schema are bound into the AAD.
func TestKeyspaceBinding(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, KeySize)
	phone, err := NewKey("k1", "citizen.phone", SM4GCM, secret)
	require.NoError(t, err)
	at := Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone", RowKey: "7"}
	txt, err := phone.SealText(nil, at, []byte("13800138000"))
	require.NoError(t, err)

	// Sealing for a place of another keyspace is refused.
	_, err = phone.SealText(nil, Location{Keyspace: "other.col", Table: "other", Column: "col"}, []byte("x"))
	assert.ErrorIs(t, err, ErrKeyMismatch)
	_, err = phone.SealText(nil, Location{Table: "citizen", Column: "phone"}, []byte("x"))
	assert.ErrorIs(t, err, ErrKeyMismatch, "a keyspace is never optional for a key that has one")

	// The leaked citizen.phone DEK forges a value for other.col: the
	// reader at other.col finds the DEK by id and refuses it before
	// decrypting, whatever the AAD says.
	forger, err := NewKey("k1", "other.col", SM4GCM, secret)
	require.NoError(t, err)
	other := Location{Keyspace: "other.col", Table: "other", Column: "col", RowKey: "7"}
	forged, err := forger.SealText(nil, other, []byte("13800000000"))
	require.NoError(t, err)
	_, err = OpenText(nil, phone, other, forged)
	assert.ErrorIs(t, err, ErrKeyMismatch)
	assert.NotErrorIs(t, err, ErrAuthentication)
	assert.Contains(t, err.Error(), "other.col")

	// Read through a place that maps to another keyspace.
	_, err = OpenText(nil, phone, Location{Keyspace: "tenant/b/citizen.phone", Table: "citizen", Column: "phone", RowKey: "7"}, txt)
	assert.ErrorIs(t, err, ErrKeyMismatch)

	// The keyspace is in the AAD: a DEK record edited to claim another
	// keyspace (with the reader's place mapping to it) does not open.
	relabelled, err := NewKey("k1", "citizen.mobile", SM4GCM, secret)
	require.NoError(t, err)
	_, err = OpenText(nil, relabelled, Location{Keyspace: "citizen.mobile", Table: "citizen", Column: "phone", RowKey: "7"}, txt)
	assert.ErrorIs(t, err, ErrAuthentication)

	// The schema is bound: a value copied to the same table in another
	// schema does not open there.
	pub := Location{Keyspace: "public.citizen.phone", Schema: "public", Table: "citizen", Column: "phone", RowKey: "7"}
	k2, err := NewKey("k2", "public.citizen.phone", SM4GCM, secret)
	require.NoError(t, err)
	sealed, err := k2.Seal(nil, pub, []byte("13800138000"))
	require.NoError(t, err)
	moved := pub
	moved.Schema = "other"
	_, err = Open(nil, k2, moved, sealed)
	assert.ErrorIs(t, err, ErrAuthentication)
	moved.Schema = ""
	_, err = Open(nil, k2, moved, sealed)
	assert.ErrorIs(t, err, ErrAuthentication)
	got, err := Open(nil, k2, pub, sealed)
	require.NoError(t, err)
	assert.Equal(t, "13800138000", string(got))
}
