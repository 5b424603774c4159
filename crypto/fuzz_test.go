package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds returns the binary and text forms of every format vector, and
// a few hand-made edge cases, as the seed corpus.
func fuzzSeeds(f *testing.F) (bins, texts [][]byte) {
	var vs []formatVector
	for _, name := range []string{"testdata/format-vectors.json", "testdata/format-vectors-v1.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var more []formatVector
		if err := json.Unmarshal(b, &more); err != nil {
			f.Fatal(err)
		}
		vs = append(vs, more...)
	}
	for _, v := range vs {
		bin, err := hex.DecodeString(v.BinaryHex)
		if err != nil {
			f.Fatal(err)
		}
		bins = append(bins, bin)
		texts = append(texts, []byte(v.Text))
	}
	bins = append(bins, nil, []byte{1}, []byte{2, 1, 1, 'k'}, bytes.Repeat([]byte{2}, 40), []byte{2, 1, 255})
	texts = append(texts, nil, []byte(TextPrefix), []byte(TextPrefix+"AgEB"), []byte(TextPrefix+"Ag==\n"), []byte("gmf1:===="), []byte(TextPrefixV1+"AgEB"))
	return bins, texts
}

// rebuild serializes a parsed envelope again from its fields.
func rebuild(e Envelope) []byte {
	b := append([]byte{e.Version, byte(e.Algorithm), byte(len(e.KeyID))}, e.KeyID...)
	return append(append(b, e.Nonce...), e.Ciphertext...)
}

func FuzzParse(f *testing.F) {
	bins, _ := fuzzSeeds(f)
	for _, b := range bins {
		f.Add(b)
	}
	k := testKey(f, "citizen.phone:1")
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		if ValidateKeyID(e.KeyID) != nil {
			t.Fatalf("parsed an invalid key id %q", e.KeyID)
		}
		if !bytes.Equal(rebuild(e), b) {
			t.Fatalf("parse is not lossless")
		}
		if len(e.Nonce) != NonceSize || len(e.Ciphertext) < TagSize {
			t.Fatalf("bad lengths")
		}
		// Opening random bytes must fail, never panic.
		if _, err := Open(nil, k, Location{Table: "fuzz", Column: "c"}, b); err == nil {
			t.Fatalf("random envelope opened")
		}
	})
}

func FuzzParseText(f *testing.F) {
	_, texts := fuzzSeeds(f)
	for _, s := range texts {
		f.Add(s)
	}
	k := testKey(f, "citizen.phone:1")
	f.Fuzz(func(t *testing.T, s []byte) {
		e, err := ParseText(s)
		if err != nil {
			return
		}
		if got := appendText(nil, rebuild(e)); !bytes.Equal(got, s) {
			t.Fatalf("text form is not canonical: %q re-encodes to %q", s, got)
		}
		if _, err := OpenText(nil, k, Location{Table: "fuzz", Column: "c"}, s); err == nil {
			t.Fatalf("random text opened")
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", " 13800138000 ", "１３８", "ZhangSan@Example.CN", "İıſK", "\u3000张三\u00a0", "\xff", "ǅ"} {
		for tr := range 5 {
			f.Add(uint8(tr), s)
		}
	}
	trs := []Transform{TransformFull, TransformLower, TransformUpper, TransformDigits, TransformLast4}
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		tr := trs[int(which)%len(trs)]
		out, err := tr.Normalize(nil, []byte(s))
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("accepted invalid UTF-8")
			}
			return
		}
		if err != nil {
			t.Fatalf("%s(%q): %v", tr, s, err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("%s(%q) is not UTF-8", tr, s)
		}
		switch tr {
		case TransformDigits, TransformLast4:
			for _, c := range out {
				if c < '0' || c > '9' {
					t.Fatalf("%s(%q) = %q has a non-digit", tr, s, out)
				}
			}
			if tr == TransformLast4 && len(out) > 4 {
				t.Fatalf("last4(%q) = %q", s, out)
			}
		}
	})
}

func FuzzSM2Decrypt(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add(bytes.Repeat([]byte{0x30}, 120))
	f.Add([]byte{0x30, 0x78, 0x02, 0x20})
	priv, err := GenerateSM2Key()
	if err != nil {
		f.Fatal(err)
	}
	ct, err := priv.Public().Encrypt([]byte("0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := priv.Decrypt(b)
		if err == nil && len(pt) == 0 {
			t.Fatalf("empty plaintext without error")
		}
		if err == nil && !bytes.Equal(b, ct) && bytes.Equal(pt, []byte("0123456789abcdef")) {
			t.Fatalf("another ciphertext opened to the seed's plaintext")
		}
	})
}

// FuzzKEKUnwrap feeds arbitrary wrapped keys (as read from a key store) to
// KEK.Unwrap: no panic, and whatever opens is the one key that was wrapped,
// under its own associated data (a worker process draws other nonces than
// the seed's, so the property cannot compare wrappings byte for byte).
func FuzzKEKUnwrap(f *testing.F) {
	kek, err := NewKEK(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	dek := bytes.Repeat([]byte{9}, KeySize)
	w, err := kek.Wrap(dek, []byte("ad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w, []byte("ad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte("ad"))
	f.Add(bytes.Repeat([]byte{1}, 29), []byte("ad"))
	f.Fuzz(func(t *testing.T, b, ad []byte) {
		key, err := kek.Unwrap(b, ad)
		if err == nil && (!bytes.Equal(key, dek) || string(ad) != "ad") {
			t.Fatalf("forged wrapping opened to %x under %q", key, ad)
		}
	})
}
